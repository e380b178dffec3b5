"""Start-up (issue 15 item 3): what a ``prs`` process imports, and Numba's cache.

Properties, not timings (the timings are benchmarks/startup_case.py's): ``import prs`` and the
``prs`` parser import no plotting, Dask, Zarr, scikit-learn, statsmodels, SciPy stats or Numba;
kernels start Numba at their first call and load machine code from its cache in the next
process.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

#: Imported only by the runs that use them (each costs 0.1-0.6 s of start-up).
HEAVY = (
    "matplotlib",
    "dask",
    "distributed",
    "zarr",
    "sklearn",
    "statsmodels",
    "scipy.stats",
    "scipy.linalg",
    "numba",
    "bgen",
)


def _python(code: str, *args: str, cwd=None) -> str:
    """The standard output of ``code`` run by a fresh interpreter (which must exit 0)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, cwd=cwd
    ).stdout


def _modules_after(code: str) -> set[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = _python(probe)
    loaded = set(json.loads(out.splitlines()[-1]))
    return {name for name in HEAVY if name in loaded}


def test_import_prs_imports_no_heavy_library():
    assert _modules_after("import prs") == set()


def test_the_command_line_parser_imports_no_heavy_library():
    """``prs --help`` builds every command's parser (calibration's included)."""
    code = "import prs.cli, prs.calibrate\nprs.cli.build_parser()"
    assert _modules_after(code) == set()


def _example_run(out, *options: str) -> str:
    """Code scoring the embedded example with ``prs score`` (in the process that runs it;
    ``sys`` imported), its outputs into ``out``."""
    return (
        "import sys\n"
        "from prs.cli import main\n"
        "from prs.example import example_paths\n"
        "p = example_paths()\n"
        f"argv = ['score', '--genotypes', str(p.vcf), '--scorefile', str(p.scorefile), "
        f"'--out', {str(out)!r}, '-q', *{list(options)!r}]\n"
        "assert main(argv) == 0\n"
    )


def test_a_run_on_local_files_imports_no_http_client(tmp_path):
    """The Catalog client's HTTP modules (urllib.request, http.client with ssl and email,
    ~0.03 s) are imported when a URL is opened, not by a run on local files."""
    code = _example_run(tmp_path / "o") + (
        "print(*[m in sys.modules for m in ('urllib.request', 'http.client', 'ssl')])\n"
        "from prs.weights.catalog.transport import _local_path\n"
        "_local_path('file:///tmp/x')\n"
        "print('urllib.request' in sys.modules)\n"
    )
    out = _python(code).split()
    assert out == ["False", "False", "False", "True"], out


def test_the_probe_sees_a_heavy_import():
    """The property above could fail: importing the calibration models' SciPy is seen."""
    assert "scipy.stats" in _modules_after("import prs.calibrate.evaluate as e\ne.stats.norm")


def test_constants_written_as_literals_equal_scipy():
    """Constants once computed with SciPy at import time are literals now; SciPy agrees."""
    from scipy import stats

    from prs.calibrate.reference import RANK_Z_LIMIT
    from prs.calibrate.uncertainty import LEVEL, Z_LEVEL

    assert float(-stats.norm.ppf(np.nextafter(0.0, 1.0))) == RANK_Z_LIMIT
    assert float(stats.norm.ppf(0.5 + LEVEL / 2.0)) == Z_LEVEL


def test_lazy_module_imports_at_first_use():
    from prs._compat import LazyModule

    module = LazyModule("json")
    assert module.dumps([1]) == "[1]" and module.loads is json.loads


def test_kernel_is_compiled_and_pickles_by_name():
    from numba.core.registry import CPUDispatcher

    from prs.kernels import calls, jit

    calls_in = np.array([[0, 1, 2, -9]], dtype=np.int8)
    out = np.empty((1, 4))
    calls.call_dosages(calls_in, out)  # a kernel calling a kernel (call_row_dosage)
    np.testing.assert_array_equal(out, [[0.0, 1.0, 2.0, np.nan]])
    assert jit.numba_started()
    # Once started, a kernel module's own names are Numba's dispatchers (what the compiled
    # callers resolve), and a Kernel pickles to the same kernel.
    assert isinstance(calls.call_row_dosage, CPUDispatcher)
    proxy = next(k for k in jit._state.kernels if k.__name__ == "call_dosages")
    assert pickle.loads(pickle.dumps(proxy)) is calls.call_dosages


@pytest.mark.slow
def test_second_process_loads_kernels_from_numba_cache():
    """``cache=True`` works where the package is (its cache directory writable): a fresh
    process's first call of a kernel loads it from the cache, compiling nothing."""
    code = (
        "import numpy as np\n"
        "from prs.kernels import calls\n"
        "calls.call_dosages(np.zeros((2, 3), np.int8), np.empty((2, 3)))\n"
        "from prs.kernels.calls import call_dosages as d\n"
        "print(d.stats.cache_hits.get(d.signatures[0], 0), d.stats.cache_misses)\n"
    )
    for _ in range(2):  # the first may write the cache
        out = _python(code)
    hits, misses = out.split(maxsplit=1)
    assert int(hits) == 1, out
    assert misses.strip() in ("{}", "Counter()"), out


# ---------------------------------------------------------------------------------------------
# Small jobs without Numba: the checked engine, the BGZF walk and the totals in numpy


def _score_example(out, *options: str) -> tuple[bool, str]:
    """``prs score`` on the embedded example in a fresh process: (whether Numba was
    imported by the end, the engine the provenance names)."""
    code = _example_run(out, *options) + (
        "import json\nprint(json.dumps(['numba' in sys.modules, 'llvmlite' in sys.modules]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    numba, llvmlite = json.loads(run.stdout.splitlines()[-1])
    engine = json.loads((out / "provenance.json").read_text())["options"]["engine"]
    return numba or llvmlite, engine


def test_the_embedded_example_scores_without_numba_as_with_it(tmp_path):
    """The example (what ``make demo`` runs) imports no Numba at all, and its scores are
    those of a run on the fast engine and the Numba kernels, to the byte."""
    small, small_engine = _score_example(tmp_path / "small")
    numba, numba_engine = _score_example(tmp_path / "numba", "--engine", "fast")
    assert not small and small_engine == "VcfSource"
    assert numba and numba_engine == "FastVcfSource"  # the probe sees Numba when it runs
    for name in ("scores.tsv", "match_report.tsv", "match_summary.tsv"):
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "numba" / name).read_bytes()


def test_auto_engine_small_files_checked_larger_and_started_numba_fast(tmp_path):
    """engine="auto": a small bgzipped VCF goes to the checked engine in a process where
    Numba has not started; one estimated over SMALL_VCF_RECORDS, options only the fast
    engine takes, or a process that started Numba go to the fast engine."""
    from tests.builders import random_vcf_text, write_vcf_text

    small = write_vcf_text(tmp_path / "small.vcf", random_vcf_text(1, n_records=50))
    body = "".join(f"22\t{100 + i}\t.\tA\tC\t.\t.\t.\tGT\t0/1\n" for i in range(45_000))
    big = write_vcf_text(
        tmp_path / "big.vcf", random_vcf_text(2, n_samples=1, n_records=0) + body, index=False
    )
    code = (
        "import sys\n"
        "from prs.genotypes import open_genotypes, estimated_lines\n"
        f"small, big = {str(small)!r}, {str(big)!r}\n"
        "print(estimated_lines(big))\n"
        "print(type(open_genotypes(small)).__name__)\n"
        "print(type(open_genotypes(big)).__name__)\n"
        "print(type(open_genotypes(small, threads=1)).__name__)\n"
        "print('numba' in sys.modules)\n"
        "from prs.kernels.jit import compile_kernels\n"
        "compile_kernels()\n"
        "print(type(open_genotypes(small)).__name__)\n"
    )
    out = _python(code).split()
    assert 40_000 < int(out[0]) < 50_000  # 45,000 records and a few header lines
    assert out[1:] == ["VcfSource", "FastVcfSource", "FastVcfSource", "False", "FastVcfSource"]


def test_totals_take_numpy_until_numba_starts_or_the_budget_is_spent(monkeypatch):
    """ScoreTotals' automatic choice, chunk by chunk (both give the same totals bit for
    bit, tests/test_small_accumulate.py): numpy within the process's budget of genotypes
    while Numba has not started, the kernels after."""
    import prs.scoring.totals as totals_module

    budget = totals_module._NumpyBudget()
    monkeypatch.setattr(totals_module, "_numpy_budget", budget)
    monkeypatch.setattr(totals_module, "NUMPY_GENOTYPES", 30)
    monkeypatch.setattr(totals_module, "numba_started", lambda: False)
    totals = totals_module.ScoreTotals(1, 5, 1, threads=1)
    chunk = (
        np.ones((2, 5)),
        np.full((2, 5), 2, dtype=np.int8),
        np.ones((2, 1)),
        np.ones((2, 1), dtype=bool),
        np.zeros(2, dtype=np.int8),
        np.full(2, np.nan),
    )
    for _ in range(4):  # 10 genotypes each: three within the budget of 30, then Numba
        totals.add(*chunk)
    assert totals.chunks_by_path == {"numpy": 3, "numba": 1} and budget.used == 30
    assert totals_module.arithmetic_record() == {"numpy_genotypes": 30, "numba": False}
    monkeypatch.setattr(totals_module, "numba_started", lambda: True)
    budget.used = 0
    totals.add(*chunk)
    assert totals.chunks_by_path == {"numpy": 3, "numba": 2}
    np.testing.assert_array_equal(totals.totals()["sums"], np.full((1, 5), 10.0))


def test_record_estimate_is_not_fooled_by_a_few_long_lines_at_the_end(tmp_path):
    """A long file whose last block holds a few long lines (a long INFO) is estimated from
    its densest sampled block, not its last: 40,000 short records stay over the small-file
    limit (the checked engine took 7x as long on such a file: review, 2026-12-01)."""
    from prs.genotypes import SMALL_VCF_RECORDS, estimated_lines

    path = tmp_path / "tail.vcf"
    with open(path, "w") as fh:
        fh.write(
            "##fileformat=VCFv4.2\n##contig=<ID=22,length=51304566>\n"
            '##INFO=<ID=NOTE,Number=1,Type=String,Description="n">\n'
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        )
        n = 2 * SMALL_VCF_RECORDS
        fh.writelines(f"22\t{1000 + 10 * i}\t.\tA\tC\t.\t.\t.\tGT\t0/1\n" for i in range(n))
        fh.write(f"22\t{1000 + 10 * n}\t.\tA\tC\t.\t.\tNOTE={'x' * 70_000}\tGT\t0/1\n")
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    estimate = estimated_lines(f"{path}.gz")
    assert estimate is not None and estimate >= n  # (the last block alone said ~2 lines)
    assert estimate > SMALL_VCF_RECORDS


def test_numba_starts_without_the_optional_imports_no_kernel_needs(tmp_path):
    """In the prs command (lean_start), starting Numba and calling a kernel imports neither
    SciPy's BLAS, cffi, colorama nor yaml (each answered "absent" only while Numba starts:
    those installed import as usual afterwards); with a .numba_config.yaml in the working
    directory, yaml is left to Numba (which reads that file with it). Anywhere else (a
    notebook, a program) only the BLAS probe is left out: Numba's CFFI support stays on."""
    code = (
        "import importlib, importlib.util, sys, numpy as np\n"
        "from prs.kernels import calls, jit\n"
        "lean = sys.argv[1] == 'lean'\n"
        "if lean:\n"
        "    jit.lean_start()\n"
        "calls.call_dosages(np.zeros((2, 3), np.int8), np.empty((2, 3)))\n"
        "names = ['scipy.linalg', 'cffi', 'colorama', 'yaml']\n"
        "print(*[name in sys.modules for name in names])\n"
        "installed = [n for n in names[1:] if importlib.util.find_spec(n) is not None]\n"
        "loaded = all(importlib.import_module(n) is not None for n in installed)\n"
        "from numba.core.typing import cffi_utils\n"
        "print(loaded, 'yaml' in installed, 'cffi' in installed, cffi_utils.SUPPORTED)\n"
    )
    for cwd, configured in ((tmp_path, False), (tmp_path / "configured", True)):
        cwd.mkdir(exist_ok=True)
        if configured:
            (cwd / ".numba_config.yaml").write_text("# no settings\n")
        for mode in ("lean", "library"):
            out = _python(code, mode, cwd=cwd).split()
            yaml_installed, cffi_installed = out[5] == "True", out[6] == "True"
            assert out[0] == "False", out  # never SciPy
            assert out[4] == "True", out  # importable afterwards
            if mode == "lean":
                assert out[1:3] == ["False", "False"], out
                assert out[3] == str(configured and yaml_installed), out
                assert out[7] == "False", out  # CFFI support off in the prs command
            else:
                assert out[7] == str(cffi_installed), out  # on in a library process
