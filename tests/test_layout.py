"""The package's layout (issue 12, docs/layout.md): imports point down the data flow, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Layer of each module prefix (the longest prefix wins): a module may import only modules of
#: its own or a lower layer. Stages in data-flow order; the shared concepts at the bottom; the
#: command line and the demo on top.
LAYERS = {
    "prs._version": 0,
    "prs._compat": 0,
    "prs.errors": 0,
    "prs.vocab": 0,
    "prs.genome": 0,
    "prs.memory": 0,
    "prs.columns": 0,
    "prs.kernels": 0,
    "prs.provenance": 0,
    "prs.output": 0,
    "prs.ploidy": 1,
    "prs.weights": 2,
    "prs.catalog": 2,
    "prs.genotypes": 2,
    "prs.match": 3,
    # ancestry (issue 14): reads genotypes; used by scoring (reference frequencies) and calibrate
    "prs.ancestry": 3,
    "prs.scoring": 4,
    "prs.calibrate": 5,
    "prs.report": 6,
    # issue 16: figures (matplotlib, imported when drawn) and the HTML report built from a
    # run's outputs and the figures
    "prs.plot": 6,
    "prs.htmlreport": 6,
    "prs.example": 7,
    # sample sheets (issue 13): score each sampleset and write its outputs (uses prs.report)
    "prs.samplesheet": 7,
    "prs.cli.calibrate": 8,
    "prs.cli": 8,
    "prs.__main__": 8,
}
#: Stages of one layer that must not import each other.
SIBLINGS = [("prs.weights", "prs.genotypes"), ("prs.match", "prs.ancestry")]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return None if best is None else best[1]


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The prs modules ``path`` imports (not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = depth + isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if top_level_only and inner:
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("prs"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.startswith("prs"):
                    found.add(child.module)
                    for alias in child.names:  # `from prs.x import y` where y is a module
                        candidate = f"{child.module}.{alias.name}"
                        if _exists(candidate):
                            found.add(candidate)
            visit(child, inner)

    visit(tree, 0)
    return found


def _exists(module: str) -> bool:
    base = SRC.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


MODULES = {
    _module_name(p): p for p in sorted(SRC.joinpath("prs").rglob("*.py")) if p.name != "__init__.py"
} | {_module_name(p): p for p in sorted(SRC.joinpath("prs").rglob("__init__.py"))}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != "prs" and _layer(m) is None] == []


def test_imports_point_down_the_data_flow():
    """No module imports a later stage (lazy imports inside functions included)."""
    upward = []
    for module, path in MODULES.items():
        if module == "prs":  # the package root re-exports the public API
            continue
        mine = _layer(module)
        for target in _imports(path, top_level_only=False):
            theirs = _layer(target)
            if target == "prs" or theirs is None:
                continue
            if theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
            for a, b in SIBLINGS:
                for x, y in ((a, b), (b, a)):
                    if module.startswith(x) and target.startswith(y):
                        upward.append(f"{module} imports its sibling stage {target}")
    assert upward == []


def test_no_import_cycle():
    """Module-level imports form no cycle (a package's __init__ importing its own modules
    is not a cycle of the modules)."""
    graph = {
        m: {t for t in _imports(p, top_level_only=True) if t in MODULES} for m, p in MODULES.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            # a module importing its own package's __init__ (or vice versa) is package plumbing
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            walk(module, [module])
    assert cycles == []


#: Modules issue 12 retired: their concepts live elsewhere now (docs/layout.md).
RETIRED = [
    "prs.score",
    "prs.chrom",
    "prs.kernels.vcf_text",
    "prs.score_cli",
    "prs.calibrate.categorise",
    "prs.calibrate.categories",
    "prs.calibrate.cli",
]


@pytest.mark.parametrize("module", RETIRED)
def test_retired_modules_are_gone(module):
    assert not _exists(module)
