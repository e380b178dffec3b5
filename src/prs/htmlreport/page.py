"""The HTML page of a run: one self-contained file (inline CSS, figures as data URIs, no
script, nothing fetched when it is viewed).

Every number in a table carries its exact value in ``data-value`` beside the rounded text a
reader sees, and every table and figure an ``id``, so a test (or a user's script) can read
the page back and compare it with the run's files.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from prs import plot
from prs._version import __version__
from prs.htmlreport.run import RunOutputs
from prs.match import OUTCOMES, PGSC_CALC_MATCH_STATUS, pgsc_calc_names

#: Percentiles of each score's distribution tabulated in the report.
TABLE_PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1rem 2rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #0072B2;padding-bottom:.2rem;
margin-top:2rem}h3{margin-top:1.4rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.statement{background:#fff8e6;border-left:4px solid #E69F00;padding:.5rem 1rem;margin:1rem 0}
.notes{color:#555;font-size:.85rem}figure{margin:.8rem 0}figcaption{font-size:.8rem;color:#555}
img.fig{max-width:100%;height:auto}code{font-size:.85em;word-break:break-all}
nav a{margin-right:1rem}.meta{color:#555;font-size:.85rem}.wide{overflow-x:auto}
"""


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _format(value: Any) -> tuple[str, str | None]:
    """(text shown, exact value for ``data-value`` or None for text cells)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", None
    if isinstance(value, bool | np.bool_):
        return str(bool(value)), None
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v), str(v)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}", repr(v)
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.4f}".rstrip("0").rstrip("."), repr(v)
    return str(value), None


def _cell(value: Any, column: str | None = None) -> str:
    text, exact = _format(value)
    col = f' data-col="{_e(column)}"' if column is not None else ""
    if exact is None:
        return f"<td{col}>{_e(text)}</td>"
    return f'<td class="num"{col} data-value="{_e(exact)}">{_e(text)}</td>'


def table(
    frame: pd.DataFrame, *, table_id: str, caption: str | None = None, index: bool = False
) -> str:
    """An HTML table of ``frame``: header row, one ``<tr data-row=...>`` per row."""
    frame = frame.reset_index() if index else frame
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        cells = "".join(_cell(v, str(c)) for c, v in zip(frame.columns, row, strict=True))
        rows.append(f'<tr data-row="{i}">{cells}</tr>')
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (
        f'<div class="wide"><table id="{_e(table_id)}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pairs(items: Iterable[tuple[str, Any]], *, table_id: str) -> str:
    """A two-column key/value table."""
    rows = "".join(
        f'<tr data-key="{_e(k)}"><th>{_e(k)}</th>{_cell(v, "value")}</tr>' for k, v in items
    )
    return f'<table id="{_e(table_id)}"><tbody>{rows}</tbody></table>'


def _figure(fig: Any, *, fig_id: str, alt: str, caption: str | None = None) -> str:
    uri = plot.to_data_uri(fig)
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure id="{_e(fig_id)}"><img class="fig" alt="{_e(alt)}" src="{uri}">{cap}</figure>'


# -- sections ---------------------------------------------------------------------------------
def _section(section_id: str, heading: str, parts: Iterable[str]) -> str:
    """One ``<section>`` of the page: its id and ``<h2>`` heading (escaped here), then the
    HTML ``parts``."""
    return f'<section id="{_e(section_id)}"><h2>{_e(heading)}</h2>' + "".join(parts) + "</section>"


def _statements(run: RunOutputs, score_id: str) -> list[tuple[str, str]]:
    """What the score is, for whom it is calibrated, its limits."""
    from prs.calibrate import STATEMENT_CAVEATS

    entry = _scorefile_entry(run, score_id) or {}
    cats = run.categories
    rows = []
    if cats is not None and "statement_score_id" in cats.columns:
        mine = cats[cats["statement_score_id"].astype(str) == score_id]
        if len(mine):
            first = mine.iloc[0]
            return [
                (key.removeprefix("statement_").replace("_", " "), first[key])
                for key in cats.columns
                if key.startswith("statement_") and not pd.isna(first[key])
            ]
    trait = entry.get("trait_reported") or "not stated in the scoring file"
    what = f"{score_id}: {entry.get('pgs_name') or 'unnamed'} score for {trait}"
    if entry.get("trait_efo"):
        what += f" ({', '.join(entry['trait_efo'])})"
    if entry.get("weight_type"):
        what += f"; weights are {entry['weight_type']}"
    rows.append(("score", what))
    rows.append(("development ancestry", entry.get("development_ancestry") or "not stated"))
    rows.append(
        (
            "calibration",
            "none: raw scores only (no reference, no categorisation in this run); the "
            "distribution shown is of the scored samples themselves",
        )
    )
    rows.append(("caveats", STATEMENT_CAVEATS))
    return rows


def _suffix(sampleset: Any) -> str:
    """`` (<sampleset>)`` for a sample-sheet run's headings, else nothing."""
    return "" if sampleset is None or pd.isna(sampleset) else f" ({sampleset})"


def _scorefile_entry(run: RunOutputs, score_id: str) -> Mapping[str, Any] | None:
    for entry in (run.provenance or {}).get("scorefiles") or []:
        if score_id in (entry.get("scores") or []):
            return entry
    return None


def _provenance_section(run: RunOutputs) -> str:
    prov = run.provenance
    if prov is None:
        return ""
    out: list[str] = []
    out.append(
        _pairs(
            [
                ("prs version", prov.get("prs_version")),
                ("created", prov.get("created")),
                ("python", prov.get("python")),
                ("numpy", prov.get("numpy")),
                ("seconds", prov.get("seconds")),
                ("genome build used", (prov.get("genome_build") or {}).get("used")),
                ("genome build detected", (prov.get("genome_build") or {}).get("detected")),
                ("samples", (prov.get("counts") or {}).get("samples")),
            ],
            table_id="run-facts",
        )
    )
    geno = pd.DataFrame(prov.get("genotypes") or [])
    if len(geno):
        out.append("<h3>Genotype files</h3>" + table(geno, table_id="genotype-files"))
    sf = prov.get("scorefiles") or []
    if sf:
        keep = [
            "path",
            "sha256",
            "scores",
            "genome_build",
            "harmonized",
            "rows",
            "trait_reported",
            "weight_type",
            "pgs_name",
        ]
        frame = pd.DataFrame([{k: _joined(e.get(k)) for k in keep} for e in sf])
        out.append("<h3>Scoring files</h3>" + table(frame, table_id="scoring-files"))
    options = prov.get("options") or {}
    if options:
        out.append(
            "<h3>Options</h3>"
            + _pairs(((k, _joined(v)) for k, v in options.items()), table_id="options")
        )
    execution = prov.get("execution") or {}
    if execution:
        out.append(
            "<h3>Execution</h3>"
            + _pairs(((k, _joined(v)) for k, v in execution.items()), table_id="execution")
        )
    warns = prov.get("warnings") or []
    notes = list(prov.get("genotype_notes") or [])
    if warns or notes:
        items = [f"{w.get('category', 'warning')}: {w.get('message', '')}" for w in warns] + notes
        out.append(
            '<h3>Warnings and notes</h3><ul id="run-warnings">'
            + "".join(f"<li>{_e(i)}</li>" for i in items)
            + "</ul>"
        )
    return _section("provenance", "Inputs and provenance", out)


def _joined(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items()) or ""
    return value


def _match_block(run: RunOutputs, score_id: str, rows: pd.DataFrame) -> str:
    """The outcome counts of one score (per sampleset when the run had several)."""
    out = []
    for _, row in rows.iterrows():
        label = score_id + (f" / {row['sampleset']}" if "sampleset" in rows.columns else "")
        slug = _slug(label)
        n_rows = int(row["n_rows"])
        fates = pd.DataFrame(
            {
                "outcome": list(OUTCOMES),
                "pgsc_calc_match_status": [PGSC_CALC_MATCH_STATUS.get(o, "") for o in OUTCOMES],
                "rows": [int(row[o]) if o in row.index else 0 for o in OUTCOMES],
            }
        )
        fates["percent_of_rows"] = 100.0 * fates["rows"] / n_rows if n_rows else math.nan
        out.append(f"<h3>Variant matching{_e(_suffix(row.get('sampleset')))}</h3>")
        out.append(
            table(
                fates,
                table_id=f"match-{slug}",
                caption=f"every scoring-file row's fate ({n_rows:,} rows)",
            )
        )
        used = ((run.provenance or {}).get("counts") or {}).get("variants_used", {}).get(score_id)
        missing = (
            ((run.provenance or {}).get("counts") or {}).get("missing_calls", {}).get(score_id)
        )
        out.append(
            _pairs(
                [
                    ("rows in the scoring file", n_rows),
                    ("matched", int(row["matched"])),
                    ("match rate (coverage of rows)", float(row["match_rate"])),
                    ("variants used", used),
                    ("missing calls (imputed)", missing),
                    *_variance_coverage(run, score_id),
                ],
                table_id=f"coverage-{slug}",
            )
        )
        out.append(_match_type_table(run, score_id, slug))
        out.append(
            _figure(
                plot.match_summary(
                    row[[o for o in OUTCOMES if o in row.index]],
                    names=PGSC_CALC_MATCH_STATUS,
                    title=label,
                ),
                fig_id=f"fig-match-{slug}",
                alt=f"match outcomes of {label}",
            )
        )
    return "".join(out)


def _variance_coverage(run: RunOutputs, score_id: str) -> list[tuple[str, Any]]:
    """The share of the score's variance the matched variants carry (rho^2), when the
    categorisation measured it for this score."""
    inputs = run.categories_inputs or {}
    if inputs.get("score_id") not in (None, score_id):
        return []
    coverage = ((inputs.get("uncertainty") or {}).get("propagated") or {}).get("coverage")
    if not isinstance(coverage, Mapping) or coverage.get("rho2") is None:
        return []
    return [("share of the score's variance matched (rho², prs categorise)", coverage["rho2"])]


def _match_type_table(run: RunOutputs, score_id: str, slug: str) -> str:
    """Matched rows by how they matched (prs's match_type, pgsc_calc's beside it): the
    score's own rows, and the rows several scores weight ("*") where they are certainly
    this score's (:func:`_shared_rows_of`); the others are left out, as the caption says."""
    rows = run.match_types
    if rows is None:
        return ""
    matched = rows["outcome"] == "matched"
    shared = (rows["score"] == "*") & matched
    k = _shared_rows_of(run, score_id)
    certain = pd.Series(False, index=rows.index)
    if k is not None and "n_scores" in rows.columns:
        certain = shared & (pd.to_numeric(rows["n_scores"], errors="coerce") == k).to_numpy()
    mine = rows[((rows["score"] == score_id) & matched) | certain]
    left_out = int((shared & ~certain).sum()) if k != 1 else 0
    if mine.empty:
        return ""
    named = pgsc_calc_names(mine)
    counts = (
        named.groupby(["match_type", "pgsc_match_type"], sort=True)
        .size()
        .rename("rows")
        .reset_index()
        .rename(columns={"pgsc_match_type": "pgsc_calc_match_type"})
    )
    caption = "matched rows by match type"
    if certain.any():
        caption += " (with the rows every score of its scoring file weights)"
    if left_out:
        caption += (
            f"; {left_out} matched row(s) weighted by several scores of a scoring file are "
            "left out: the match report does not say which scores (score '*')"
        )
    return table(counts, table_id=f"match-types-{slug}", caption=caption)


def _shared_rows_of(run: RunOutputs, score_id: str) -> int | None:
    """The ``n_scores`` of the match report's "*" rows that are certainly ``score_id``'s:
    its scoring file's number of scores (those rows are weighted by every score of it),
    when that file has several and no other file of the run has as many. 1: the score's
    file has no other score (no "*" row is its own). None: not known (no provenance, or
    another file could have written such rows)."""
    files = [list(e.get("scores") or []) for e in (run.provenance or {}).get("scorefiles") or []]
    own = [f for f in files if score_id in f]
    if len(own) != 1:
        return None
    k = len(own[0])
    if k < 2:
        return 1
    if sum(1 for f in files if len(f) >= k) > 1:
        return None
    return k


def _percentile_table(values: np.ndarray, *, table_id: str, caption: str) -> str:
    stats = [("n", int(values.size)), ("mean", float(values.mean()))]
    if values.size > 1:
        stats.append(("sd", float(values.std(ddof=1))))
    stats.append(("min", float(values.min())))
    stats += [(f"p{p}", float(np.percentile(values, p))) for p in TABLE_PERCENTILES]
    stats.append(("max", float(values.max())))
    frame = pd.DataFrame([dict(stats)])
    return table(frame, table_id=table_id, caption=caption)


def _distribution_block(run: RunOutputs, score_id: str) -> str:
    scores = run.scores
    if scores is None:
        return ""
    out = []
    mine = scores[scores["score"].astype(str) == score_id]
    groups = (
        mine.groupby("sampleset", sort=False) if "sampleset" in mine.columns else [(None, mine)]
    )
    for sampleset, part in groups:
        label = score_id + (f" / {sampleset}" if sampleset is not None else "")
        slug = _slug(label)
        values = part["SUM"].to_numpy(dtype=float)
        ref = run.reference.get(score_id)
        highlight = None
        if values.size == 1:
            highlight = {str(part["sample_id"].iloc[0]): float(values[0])}
        out.append(f"<h3>Score distribution{_e(_suffix(sampleset))}</h3>")
        out.append(
            _figure(
                plot.distribution(
                    values,
                    reference=ref,
                    highlight=highlight,
                    xlabel=f"{score_id} SUM",
                    title=label,
                ),
                fig_id=f"fig-dist-{slug}",
                alt=f"distribution of {label}",
                caption=_distribution_caption(run, ref),
            )
        )
        out.append(
            _percentile_table(
                values, table_id=f"dist-{slug}", caption="SUM over the scored samples"
            )
        )
        if ref is not None:
            out.append(
                _pairs(
                    [
                        ("reference", ref.label),
                        ("kind", ref.kind),
                        ("n", ref.n),
                        ("mean", ref.mean),
                        ("sd", ref.sd),
                    ],
                    table_id=f"reference-{slug}",
                )
            )
        if values.size == 1:
            out.append(_person(run, score_id, part, ref, slug))
    return "".join(out)


#: Columns of the categorisation shown for a run of one person, when present.
PERSON_COLUMNS = (
    "z",
    "relative_risk",
    "age",
    "risk_10y",
    "risk_to_80",
    "scheme_measure",
    "category",
    "near_threshold",
    "pathway_action",
    "pathway_status",
    "population",
)


def _distribution_caption(run: RunOutputs, ref: Any) -> str:
    """What the distribution figure shows, and which reference the percentiles use."""
    if ref is None:
        return (
            "the scored samples' SUM; dashed: their 5th, 50th and 95th percentiles (no "
            "reference in this run: positions are relative to these samples only)"
        )
    text = (
        f"grey: the reference distribution ({ref.label}, n={ref.n}); blue: the scored "
        "samples; dashed: the reference's 5th, 50th and 95th percentiles"
    )
    cats = run.categories
    if cats is not None and "population_reference" in cats.columns:
        used = sorted(cats["population_reference"].dropna().astype(str).unique())
        text += (
            "; the whole panel is drawn, but each person's percentile and category use the "
            f"reference of their most similar population ({'; '.join(used)})"
        )
    return text


def _person(run: RunOutputs, score_id: str, part: pd.DataFrame, ref: Any, slug: str) -> str:
    """One scored person: their score and percentile (categorisation's, else the
    reference's), and their risks, category and pathway action when categorised."""
    sample = str(part["sample_id"].iloc[0])
    value = float(part["SUM"].iloc[0])
    facts: list[tuple[str, Any]] = [("sample", sample), ("score (SUM)", value)]
    cats = run.categories
    row = None
    if cats is not None and "sample_id" in cats.columns:
        mine = cats[cats["sample_id"].astype(str) == sample]
        if "score_id" in mine.columns:
            mine = mine[mine["score_id"].astype(str) == score_id]
        row = mine.iloc[0] if len(mine) else None
    if row is not None and "percentile" in row.index and not pd.isna(row["percentile"]):
        facts.append(("percentile", float(row["percentile"])))
    elif ref is not None:
        facts.append(("percentile", float(ref.percentile(np.array([value]))[0])))
    if row is not None:
        facts += [(c, row[c]) for c in PERSON_COLUMNS if c in row.index and not pd.isna(row[c])]
    return _pairs(facts, table_id=f"person-{slug}")


def _score_section(run: RunOutputs, score_id: str) -> str:
    slug = _slug(score_id)
    out: list[str] = []
    statements = _statements(run, score_id)
    out.append(
        '<div class="statement"><h3>What this score is, for whom, its limits</h3>'
        + _pairs(statements, table_id=f"statement-{slug}")
        + "</div>"
    )
    summary = run.match_summary
    if summary is not None:
        rows = summary[summary["score"].astype(str) == score_id]
        if len(rows):
            out.append(_match_block(run, score_id, rows))
    out.append(_distribution_block(run, score_id))
    return _section(f"score-{slug}", f"Score {score_id}", out)


def _ancestry_section(run: RunOutputs) -> str:
    pcs = run.pcs
    if pcs is None:
        return ""
    id_col = "IID" if "IID" in pcs.columns else "sample_id" if "sample_id" in pcs.columns else None
    population = next(
        (c for c in ("MostSimilarPop", "population", "SuperPop") if c in pcs.columns), None
    )
    cats = run.categories
    if population is None and cats is not None and "population" in cats.columns and id_col:
        assigned = cats.drop_duplicates("sample_id").set_index("sample_id")["population"]
        pcs = pcs.assign(population=pcs[id_col].astype(str).map(assigned))
        population = "population"
    ref = run.reference_pcs
    ref_pop = (
        None
        if ref is None
        else next((c for c in ("SuperPop", "Population", "population") if c in ref.columns), None)
    )
    out: list[str] = []
    out.append(
        _figure(
            plot.pca(pcs, population=population, reference=ref, reference_population=ref_pop),
            fig_id="fig-pca",
            alt="PC1 against PC2",
            caption="the scored samples' first two principal components"
            + (" over the reference panel" if ref is not None else ""),
        )
    )
    if population:
        counts = (
            pcs[population]
            .fillna("not assigned")
            .astype(str)
            .value_counts()
            .rename_axis(population)
            .reset_index(name="samples")
        )
        out.append(table(counts, table_id="population-counts"))
    return _section("ancestry", "Ancestry", out)


def _categories_section(run: RunOutputs) -> str:
    cats = run.categories
    if cats is None:
        return ""
    out: list[str] = []
    counts = cats["category"].fillna("no category").astype(str).value_counts(sort=False)
    frame = counts.rename_axis("category").reset_index(name="people")
    out.append(table(frame, table_id="category-counts"))
    out.append(
        _figure(plot.categories(counts), fig_id="fig-categories", alt="people per risk category")
    )
    if "percentile" in cats.columns:
        out.append(_percentile_bands(cats))
    if "near_threshold" in cats.columns:
        near = int(cats["near_threshold"].astype(str).str.lower().eq("true").sum())
        out.append(
            _pairs(
                [("near a category threshold", near), ("people", len(cats))],
                table_id="near-threshold",
            )
        )
    if "pathway_action" in cats.columns:
        keys = [c for c in ("category", "pathway_action") if c in cats.columns]
        actions = (
            cats[keys]
            .fillna("")
            .astype(str)
            .value_counts(sort=False)
            .rename("people")
            .reset_index()
        )
        out.append("<h3>Pathway actions</h3>" + table(actions, table_id="pathway-actions"))
    inputs = run.categories_inputs or {}
    chosen = [
        (k, inputs.get(k))
        for k in (
            "scheme",
            "scheme_measure",
            "pathway",
            "or_per_sd",
            "incidence",
            "mortality",
            "reference",
        )
        if inputs.get(k) is not None
    ]
    if chosen:
        out.append("<h3>Categorisation inputs</h3>" + _pairs(chosen, table_id="categorise-inputs"))
    return _section("categories", "Risk categories and pathway actions", out)


#: Percentile bands of the people table: (low, high] of the reference's percentiles.
PERCENTILE_BANDS = ((0, 5), (5, 20), (20, 80), (80, 95), (95, 100))


def _percentile_bands(cats: pd.DataFrame) -> str:
    """People per band of their percentile in the reference (categorisation's)."""
    per_person = cats.drop_duplicates("sample_id") if "sample_id" in cats.columns else cats
    pct = pd.to_numeric(per_person["percentile"], errors="coerce")
    rows = [
        {"percentile": f"{lo}-{hi}", "people": int(((pct > lo) & (pct <= hi)).sum())}
        for lo, hi in PERCENTILE_BANDS
    ]
    if pct.isna().any():
        rows.append({"percentile": "not placed", "people": int(pct.isna().sum())})
    return "<h3>Percentiles in the reference</h3>" + table(
        pd.DataFrame(rows), table_id="percentile-bands"
    )


def _evaluation_section(run: RunOutputs) -> str:
    doc, calib, roc_data = run.evaluation, run.calibration_table, run.roc_data
    if doc is None and calib is None:
        return ""
    out: list[str] = []
    if doc is not None:
        out.append(table(_metrics(doc), table_id="metrics"))
    if roc_data is not None:
        auc = (doc or {}).get("auc", {}).get("estimate")
        out.append(
            _figure(
                plot.roc(roc_data["score_value"], roc_data["outcome"], auc=auc),
                fig_id="fig-roc",
                alt="ROC curve",
                caption=f"{len(roc_data):,} people, {int(roc_data['outcome'].sum()):,} events",
            )
        )
    if calib is not None:
        out.append(
            "<h3>Calibration by risk group</h3>" + table(calib, table_id="calibration-table")
        )
        out.append(
            _figure(plot.calibration(calib), fig_id="fig-calibration", alt="calibration curve")
        )
    return _section("evaluation", "Discrimination and calibration", out)


def _metrics(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per estimate of ``prs evaluate``'s JSON."""
    rows = []
    names = {
        "or_per_sd": "OR per SD",
        "auc": "AUC",
        "or_top_vs_middle_quintile": "OR top vs middle quintile",
    }
    for key, name in names.items():
        if isinstance(doc.get(key), Mapping):
            rows.append(_estimate_row(name, doc[key]))
    if doc.get("c_index") is not None:
        rows.append({"metric": "C-index", "estimate": float(doc["c_index"])})
    calib = doc.get("calibration") or {}
    for key, name in (
        ("eo_ratio", "E/O ratio"),
        ("calibration_in_the_large", "calibration-in-the-large"),
        ("calibration_slope", "calibration slope"),
    ):
        if isinstance(calib.get(key), Mapping):
            rows.append(_estimate_row(name, calib[key]))
    if calib.get("hosmer_lemeshow") is not None:
        rows.append(
            {
                "metric": f"Hosmer-Lemeshow (df {calib.get('hl_df')})",
                "estimate": float(calib["hosmer_lemeshow"]),
                "p_value": calib.get("hl_p_value"),
            }
        )
    frame = pd.DataFrame(rows, columns=["metric", "estimate", "ci_low", "ci_high", "p_value"])
    frame.insert(1, "n", doc.get("n"))
    frame.insert(2, "events", doc.get("n_events"))
    return frame


def _estimate_row(name: str, est: Mapping[str, Any]) -> dict[str, Any]:
    return {"metric": name, **{k: est.get(k) for k in ("estimate", "ci_low", "ci_high", "p_value")}}


def render(run: RunOutputs, *, title: str | None = None) -> str:
    """The report page of ``run`` as one HTML document (text).

    Parameters
    ----------
    run
        From :func:`~prs.htmlreport.read_run`.
    title
        Page title (default: ``prs report: <directory name>``).

    Returns
    -------
    str
        The HTML document.
    """
    title = title or f"prs report: {run.directory.name}"
    score_ids = run.score_ids
    sections = [_score_section(run, s) for s in score_ids]
    extra = [_ancestry_section(run), _categories_section(run), _evaluation_section(run)]
    nav = ['<a href="#provenance">inputs</a>'] if run.provenance else []
    nav += [f'<a href="#score-{_e(_slug(s))}">{_e(s)}</a>' for s in score_ids]
    for anchor, present in (
        ("ancestry", run.pcs is not None),
        ("categories", run.categories is not None),
        ("evaluation", run.evaluation is not None or run.calibration_table is not None),
    ):
        if present:
            nav.append(f'<a href="#{anchor}">{anchor}</a>')
    files = "".join(f"<li>{_e(k)}: <code>{_e(v)}</code></li>" for k, v in run.files.items())
    notes = "".join(f"<li>{_e(n)}</li>" for n in run.notes)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="meta">made by prs {_e(__version__)} on {created} from '
        f"<code>{_e(run.directory)}</code></p>"
        f"<nav>{''.join(nav)}</nav></header><main>"
        + _provenance_section(run)
        + "".join(sections)
        + "".join(extra)
        + f'<section id="sources"><h2>Files read</h2><ul id="files">{files}</ul>'
        + (f'<h3>Not in this report</h3><ul class="notes" id="notes">{notes}</ul>' if notes else "")
        + "</section></main></body></html>\n"
    )
