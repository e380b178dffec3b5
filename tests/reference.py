"""Independent implementations the tests compare prs against ("slow twins").

* :func:`plink2_scores` runs PLINK 2 ``--score`` on exactly the variants prs matched;
* :func:`accumulate_reference` and :func:`all_missing_reference` are plain-numpy versions of
  the accumulate kernel's arithmetic (PLINK 2's ``--score`` rules).

Builders of the inputs live in ``tests/builders.py``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tests.builders import relabel_vcf

# --------------------------------------------------------------------------------------------
# PLINK 2


def plink2_scores(
    plink2: str,
    result,
    vcfs: Sequence[Path],
    workdir: Path,
    *,
    dosage: str = "GT",
    missing: str = "mean-impute",
    half_call: str = "error",
) -> pd.DataFrame:
    """Score with PLINK 2 exactly the variants prs matched; returns samples x scores SUM
    (plus ALLELE_CT, DENOM, NAMED per score as extra columns ``<score>_<COL>``).

    Each (score, effect type) becomes one ``--score`` run (PLINK 2 takes one effect allele
    per variant and one effect type per run); runs over several files are summed.
    """
    relabelled = relabel_vcf(vcfs, workdir / "relabel")
    report = result.match_report.variants
    matched = report[report["outcome"] == "matched"]
    frames = {}
    for score_id in result.score_ids:
        rows = matched[matched["score"] == score_id]
        effect_type = result_effect_types(result, rows)
        total = None
        for et in sorted(set(effect_type)):
            sel = rows[effect_type == et]
            allele = np.where(
                sel["match_type"].str.startswith("ref"), sel["target_ref"], sel["target_alt"]
            )
            table = pd.DataFrame(
                {
                    "ID": [f"r{r}" for r in sel["target_record"]],
                    "A1": allele,
                    "W": sel["effect_weight"].to_numpy(),
                }
            )
            wfile = workdir / f"w_{score_id}_{et}.tsv"
            table.to_csv(wfile, sep="\t", index=False)
            for k, vcf in enumerate(relabelled):
                out = workdir / f"o_{score_id}_{et}_{k}"
                mods = ["header", "cols=+scoresums,+denom,+dosagesum", "ignore-dup-ids"]
                if missing == "none":
                    mods.append("no-mean-imputation")
                if et != "additive":
                    mods.append(et)
                vcf_arg = [str(vcf)] + ([f"dosage={dosage}"] if dosage != "GT" else [])
                cmd = [
                    plink2,
                    "--vcf",
                    *vcf_arg,
                    "--vcf-half-call",
                    half_call,
                    "--score",
                    str(wfile),
                    "1",
                    "2",
                    "3",
                    *mods,
                    "--threads",
                    "1",
                    "--out",
                    str(out),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                log = out.with_suffix(".log")
                if (
                    "no valid variants" in (log.read_text() if log.exists() else "")
                    or "No valid variants" in proc.stdout
                ):
                    continue
                if proc.returncode != 0:
                    raise RuntimeError(
                        f"plink2 failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
                    )
                sscore = pd.read_csv(out.with_suffix(".sscore"), sep="\t")
                part = sscore.set_index("#IID")[
                    ["SCORE1_SUM", "ALLELE_CT", "DENOM", "NAMED_ALLELE_DOSAGE_SUM"]
                ].astype(float)
                # PLINK 2 prints 6 significant digits: half a unit of the last one, per run.
                magnitude = np.floor(np.log10(np.maximum(part["SCORE1_SUM"].abs(), 1e-300)))
                part["TOL"] = 0.5 * 10.0 ** (magnitude - 5)
                total = part if total is None else total + part
        frames[score_id] = total
    out = pd.DataFrame({sid: f["SCORE1_SUM"] for sid, f in frames.items()})
    for sid, f in frames.items():
        out[f"{sid}_ALLELE_CT"] = f["ALLELE_CT"]
        out[f"{sid}_DENOM"] = f["DENOM"]
        out[f"{sid}_NAMED"] = f["NAMED_ALLELE_DOSAGE_SUM"]
        out[f"{sid}_TOL"] = f["TOL"]
    return out


def result_effect_types(result, rows: pd.DataFrame) -> np.ndarray:
    """Effect type of each matched report row (from the provenance-free scoring lines)."""
    if "effect_type" in rows:
        return rows["effect_type"].to_numpy()
    return np.array(["additive"] * len(rows))


# --------------------------------------------------------------------------------------------
# Numpy twins of the kernels


def accumulate_reference(
    dosage, ploidy, weights, effect_type, impute, freq_given, freq_ploidy=None
):
    """Straightforward numpy version of PLINK 2's --score arithmetic.

    A call with ploidy -1 is not counted anywhere; ``freq_ploidy`` (default ``ploidy``) is
    the ploidy a call's dosage is counted on for the imputation frequency."""
    k, n = dosage.shape
    counted = ploidy >= 0
    observed = ~np.isnan(dosage) & counted
    fp = ploidy if freq_ploidy is None else freq_ploidy
    observed_alleles = np.where(observed, fp, 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq_dosage = np.where(observed, dosage * np.where(ploidy > 0, fp / ploidy, 1), 0.0)
    cohort = np.where(
        observed_alleles > 0, freq_dosage.sum(axis=1) / np.maximum(observed_alleles, 1), 0.5
    )
    freq = {
        0: np.full(k, np.nan),
        1: cohort,
        2: np.where(np.isnan(freq_given), cohort, freq_given),
    }[impute]
    x = dosage.copy()
    dom, rec = effect_type == 1, effect_type == 2
    x[dom] = np.minimum(x[dom], 1)
    x[rec] = np.where(ploidy[rec] == 1, x[rec], np.maximum(x[rec] - 1, 0))
    fill = np.where(dom | rec, freq, np.nan)[:, None] * np.ones((1, n))
    fill = np.where(
        np.isnan(fill), np.where(ploidy == 1, freq[:, None], ploidy * freq[:, None]), fill
    )
    imputed = np.where(observed, x, fill if impute else 0.0)
    imputed = np.where(np.isnan(imputed) | ~counted, 0.0, imputed)
    w = np.nan_to_num(weights)
    used = ~np.isnan(weights)
    sums = imputed.T @ w
    in_denom = np.where(counted & (observed | (impute > 0) & ~np.isnan(fill)), ploidy, 0)
    return {
        "sums": sums,
        "allele_ct": np.where(observed, ploidy, 0).T @ used,
        "denom": in_denom.T @ used,
        "named": np.where(observed, x, 0).T @ used,
        "missing": (~observed & counted).astype(int).T @ used,
    }


def all_missing_reference(dosage, ploidy):
    """Variants whose every counted call is missing (and that have a counted call)."""
    counted = ploidy >= 0
    missing = np.isnan(dosage) & counted
    return int(((missing.sum(axis=1) == counted.sum(axis=1)) & counted.any(axis=1)).sum())
