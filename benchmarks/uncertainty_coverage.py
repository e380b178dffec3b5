"""Coverage and calibration of ``categorise``'s intervals and category probabilities, by simulation.

Each replicate is one "study": a published OR per SD ``b_hat ~ N(b, se^2)`` with its 95 % CI,
a reference of ``n_reference`` people (partial scores, mean and SD estimated from them), and
``people`` target people. Each person has a true partial-score z, a true full-score z
``rho z_part + sqrt(1 - rho^2) e`` (the variants the target lacks), and an observed score with
the error of their mean-imputed missing calls (``MISSING_CT`` of ``VARIANTS_USED``, each call
carrying the average variant's share of the variance). The true risks use the true ``b``
and z (baseline derived at the true ``b``); ``categorise`` sees only the observed
quantities. We count how often the nominal 95 % intervals contain the true risk (10-year
and to-80 risks from each person's age, NICE's 20-to-80 measure) and tabulate the predicted
category probabilities against the frequency of the true category (reliability table).

``python -m benchmarks.uncertainty_coverage [--replicates 1000] [--people 400]`` prints the
figures; ``tests/test_calibrate_uncertainty.py`` runs a smaller version and asserts them.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prs.calibrate.absolute import fit_absolute_risk_model
from prs.calibrate.categorisation import categorise
from prs.calibrate.reference import build_reference
from prs.calibrate.schemes import load_scheme
from prs.calibrate.uncertainty import Z_LEVEL

#: Bins of predicted probability for the reliability table.
BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)


@dataclass(frozen=True)
class SimulationResult:
    """Coverage per risk column (share of intervals holding the true value), its standard
    error over replicates, and the reliability table (one row per bin of predicted
    probability, all categories pooled)."""

    coverage: dict[str, float]
    coverage_se: dict[str, float]
    reliability: pd.DataFrame
    people: int
    replicates: int
    seconds: float

    def summary(self) -> str:
        lines = [
            f"{self.replicates} replicates x {self.people} people ({self.seconds:.1f} s)",
            "coverage of nominal 95 % intervals (SE over replicates):",
        ]
        for name, value in self.coverage.items():
            lines.append(f"  {name}: {100 * value:.2f} % (SE {100 * self.coverage_se[name]:.2f})")
        lines.append("reliability (category probabilities, all categories pooled):")
        lines.append(self.reliability.to_string(index=False))
        return "\n".join(lines)


def simulate(
    *,
    replicates: int = 100,
    people: int = 300,
    seed: int = 20261130,
    or_per_sd: float = 1.61,
    log_or_se: float = 0.04,
    rho2: float = 0.85,
    n_reference: int = 1000,
    mean_missing: float = 4.0,
    variants: int = 100,
    z_shift: float = 1.2,
    ages: tuple[int, ...] = (35, 45, 55, 65),
) -> SimulationResult:
    """Run the simulation (see the module notes); returns coverage and reliability.

    ``z_shift`` moves the target people's partial z (``N(z_shift, 1)``) towards NICE's
    thresholds so that category probabilities between 0 and 1 are common; the intervals'
    model (the full-score z given the partial one, reference and call errors) holds for any
    distribution of the partial z.
    """
    rng = np.random.default_rng(seed)
    b = math.log(or_per_sd)
    truth = fit_absolute_risk_model(or_per_sd=or_per_sd)
    scheme = load_scheme("nice-cg164-lifetime")
    hits: dict[str, list[float]] = {"risk_10y": [], "risk_to_80": [], "scheme_measure": []}
    predicted: list[np.ndarray] = []
    observed: list[np.ndarray] = []
    start = time.perf_counter()
    ref_mean, ref_sd = 3.0, 0.7  # the partial score's population mean and SD (score units)
    for _ in range(replicates):
        b_hat = b + log_or_se * rng.normal()
        ci = (
            (math.exp(b_hat - Z_LEVEL * log_or_se), math.exp(b_hat + Z_LEVEL * log_or_se))
            if log_or_se > 0
            else None
        )
        reference = build_reference(ref_mean + ref_sd * rng.normal(size=n_reference), check=False)
        z_part = z_shift + rng.normal(size=people)
        missing = np.minimum(rng.poisson(mean_missing, size=people), variants)
        z_observed = z_part + np.sqrt(missing / variants) * rng.normal(size=people)
        z_full = math.sqrt(rho2) * z_part + math.sqrt(1.0 - rho2) * rng.normal(size=people)
        age = rng.choice(np.asarray(ages, dtype=float), size=people)
        table = pd.DataFrame(
            {
                "sample_id": [f"P{i}" for i in range(people)],
                "score": "SIM",
                "SUM": ref_mean + ref_sd * z_observed,
                "VARIANTS_USED": variants,
                "MISSING_CT": missing,
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no trait metadata: "cannot check" warnings
            out = categorise(
                table,
                reference=reference,
                or_per_sd=math.exp(b_hat),
                or_per_sd_ci=ci,
                coverage=rho2,
                age=age,
                horizons=(10,),
                sex="female",
                pathway=None,
            ).to_frame()
        log_rr = b * z_full - b * b / 2.0
        true = {
            "risk_10y": truth.risk(log_rr, age_start=age, years=10),
            "risk_to_80": truth.risk(log_rr, age_start=age, years=80 - age),
            "scheme_measure": 100.0 * truth.risk(log_rr, age_start=20.0, years=60),
        }
        for name, value in true.items():
            inside = (out[f"{name}_lo"] <= value) & (value <= out[f"{name}_hi"])
            hits[name].append(float(inside.mean()))
        true_category = scheme.assign(true["scheme_measure"])
        for label in scheme.labels:
            predicted.append(out[f"p_{label}"].to_numpy(float))
            observed.append((true_category == label).astype(float))
    seconds = time.perf_counter() - start
    pred = np.concatenate(predicted)
    obs = np.concatenate(observed)
    which = np.digitize(pred, BINS[1:-1])
    rows = []
    for k in range(len(BINS) - 1):
        sel = which == k
        count = int(sel.sum())
        rows.append(
            {
                "bin": f"[{BINS[k]:.2f}, {BINS[k + 1]:.2f}{']' if k == len(BINS) - 2 else ')'}",
                "n": count,
                "mean_predicted": float(pred[sel].mean()) if count else math.nan,
                "observed": float(obs[sel].mean()) if count else math.nan,
            }
        )
    return SimulationResult(
        coverage={k: float(np.mean(v)) for k, v in hits.items()},
        coverage_se={k: float(np.std(v, ddof=1) / math.sqrt(len(v))) for k, v in hits.items()},
        reliability=pd.DataFrame(rows),
        people=people,
        replicates=replicates,
        seconds=seconds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument(
        "--by-source",
        action="store_true",
        help="also each source alone (OR CI, reference n=200, coverage 0.7, missing calls)",
    )
    args = parser.parse_args(argv)
    result = simulate(replicates=args.replicates, people=args.people, seed=args.seed)
    print("all sources (OR CI se 0.04, reference n=1000, coverage 0.85, ~4 % missing calls)")
    print(result.summary())
    if args.by_source:
        alone = {
            "OR CI alone (se 0.04)": {"rho2": 1.0, "n_reference": 10**6, "mean_missing": 0.0},
            "reference n=200 alone": {"log_or_se": 0.0, "rho2": 1.0, "n_reference": 200,
                                      "mean_missing": 0.0},
            "coverage rho^2=0.7 alone": {"log_or_se": 0.0, "rho2": 0.7, "n_reference": 10**6,
                                         "mean_missing": 0.0},
            "missing calls alone (~10 %)": {"log_or_se": 0.0, "rho2": 1.0, "n_reference": 10**6,
                                            "mean_missing": 10.0},
        }  # fmt: skip
        for title, options in alone.items():
            print(f"\n{title}")
            one = simulate(
                replicates=args.replicates, people=args.people, seed=args.seed, **options
            )
            print(one.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
