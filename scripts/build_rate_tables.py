"""Build the shipped England rate tables (``src/prs/data/incidence/england-gbd2019-*.csv``).

The source values are the Global Burden of Disease Study 2019 (IHME) estimates for England,
2019, as exported by the INTERVENE project (repository ``intervene-EU-H2020/flagship``,
MIT-licensed code; the data are IHME's). The rows used are copied verbatim, one source row per
line, into ``scripts/rate_sources/*.csv`` (see the README there for the exact source file and
commit of each). This script only

* maps GBD's 5-year age groups ("1-4 years" ... "90-94 years") to bands ``[1, 5)`` ...
  ``[90, 95)`` (``age_start,age_end``; the loader gives every year of a band the band's rate,
  a step function over single years of age);
* writes incidence rates per 100,000 verbatim (GBD metric "Rate", column ``val``);
* derives competing mortality as all-cause mortality minus the cancer's own mortality, same
  population, sex, year and age group (GBD "Deaths", "All causes" minus the cause), per
  100,000, printed with Python's shortest round-trip float repr.

Run from the repository root::

    python scripts/build_rate_tables.py          # (re)write the shipped CSVs
    python scripts/build_rate_tables.py --check  # exit 1 when a shipped CSV differs

Nothing here is estimated or interpolated: every shipped number is a source value or the
difference of two source values.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "scripts" / "rate_sources"
OUT_DIR = ROOT / "src" / "prs" / "data" / "incidence"

REPO = "github.com/intervene-EU-H2020/flagship"
#: Source file in the INTERVENE repository and the commit read, per local source file.
SOURCE_FILES = {
    "gbd2019_england_incidence.csv": (
        "AbsoluteRiskEstimation/Sex_Stratified_Incidence.csv",
        "820f71dd2fef14bc167210055bfb99aaf661f495",
    ),
    "gbd2019_england_breast_prostate_incidence.csv": (
        "AbsoluteRiskEstimation/BreastCancerProstateCancer_Incidence.csv",
        "820f71dd2fef14bc167210055bfb99aaf661f495",
    ),
    "gbd2019_england_deaths.csv": (
        "AbsoluteRiskEstimation/Sex_Stratified_Mortality.csv",
        "bea78e6c5344adaf6d3a2f4b722e37291c6c8200",
    ),
    "gbd2019_england_breast_prostate_deaths.csv": (
        "AbsoluteRiskEstimation/BreastCancerProstateCancer_Mortality.csv",
        "47b7f5137745ca716533150aa261f39a6c76c290",
    ),
}

LICENCE = (
    "data (c) Institute for Health Metrics and Evaluation (IHME), GBD 2019 results, used under "
    "IHME's terms for GBD results (a free-of-charge non-commercial user agreement; not restated "
    "in the INTERVENE repository: check IHME's terms before any other use); the INTERVENE "
    "repository holding the export is MIT-licensed (Copyright (c) 2023 INTERVENE)"
)
REGISTRY = (
    "IHME Global Burden of Disease Study 2019 (modelled estimates built from cancer registry "
    "and vital registration data; not a registry's own table)"
)
CITATION = (
    "IHME Global Burden of Disease Study 2019 (GBD 2019) results, as exported from IHME's GBD "
    "Results Tool by the INTERVENE project"
)

#: The project's cancer names, their ontology terms (as prs.calibrate.schemes.CANCER_TERMS,
#: lung added: EFO_0001071 lung carcinoma, MONDO_0008903 lung cancer) and GBD's cause name.
CANCERS = {
    "breast": ("EFO_0000305|MONDO_0007254", "Breast cancer"),
    "prostate": ("EFO_0001663|MONDO_0008315", "Prostate cancer"),
    "colorectal": ("EFO_0005842|MONDO_0005575|EFO_1001951", "Colon and rectum cancer"),
    "lung": ("EFO_0001071|MONDO_0008903", "Tracheal, bronchus, and lung cancer"),
}
GBD_SEX = {"female": "Female", "male": "Male"}
PEOPLE = {"female": "women", "male": "men"}


@dataclass(frozen=True)
class Spec:
    """One shipped table pair: incidence and competing mortality for a cancer and sex."""

    cancer: str
    sex: str
    incidence_file: str
    deaths_file: str


SPECS = (
    Spec("breast", "female", "gbd2019_england_breast_prostate_incidence.csv",
         "gbd2019_england_breast_prostate_deaths.csv"),
    Spec("prostate", "male", "gbd2019_england_breast_prostate_incidence.csv",
         "gbd2019_england_breast_prostate_deaths.csv"),
    Spec("colorectal", "female", "gbd2019_england_incidence.csv", "gbd2019_england_deaths.csv"),
    Spec("colorectal", "male", "gbd2019_england_incidence.csv", "gbd2019_england_deaths.csv"),
    Spec("lung", "female", "gbd2019_england_incidence.csv", "gbd2019_england_deaths.csv"),
    Spec("lung", "male", "gbd2019_england_incidence.csv", "gbd2019_england_deaths.csv"),
)  # fmt: skip

_AGE_GROUP = re.compile(r"^(\d+)-(\d+) years$")


def age_band(group: str) -> tuple[int, int]:
    """GBD's age group "50-54 years" as the band [50, 55) in completed years."""
    match = _AGE_GROUP.match(group)
    if match is None:
        raise ValueError(f"unexpected GBD age group {group!r}")
    low, high = int(match.group(1)), int(match.group(2))
    return low, high + 1


def read_source(name: str) -> list[dict[str, str]]:
    """The verbatim source rows of one local source file."""
    with open(SOURCE_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def source_rates(name: str, measure: str, sex: str, cause: str) -> dict[tuple[int, int], str]:
    """``{band: val}`` (per 100,000, the source's text) for England 2019, metric Rate."""
    out: dict[tuple[int, int], str] = {}
    for row in read_source(name):
        if (row["measure"], row["location"], row["sex"], row["cause"], row["metric"],
                row["year"]) != (measure, "England", sex, cause, "Rate", "2019"):  # fmt: skip
            continue
        band = age_band(row["age"])
        if band in out:
            raise ValueError(f"{name}: two rows for {measure} {sex} {cause} {row['age']}")
        out[band] = row["val"]
    bands = sorted(out)
    if not bands or any(b[0] != a[1] for a, b in itertools.pairwise(bands)):
        raise ValueError(f"{name}: {measure} {sex} {cause}: age bands not contiguous: {bands}")
    return dict(sorted(out.items()))


def source_note(name: str, what: str) -> str:
    path, commit = SOURCE_FILES[name]
    return f"{REPO}, file {path} (commit {commit}), {what}"


def table_name(spec: Spec, kind: str) -> str:
    suffix = "incidence" if kind == "incidence" else "competing-mortality"
    return f"england-gbd2019-{spec.sex}-{spec.cancer}-{suffix}"


def _header(spec: Spec, kind: str, description: str, source: str, derivation: str) -> list[str]:
    efo, _ = CANCERS[spec.cancer]
    return [
        f"# name: {table_name(spec, kind)}",
        f"# description: {description}",
        f"# source: {CITATION}; {source}",
        f"# kind: {kind}",
        f"# cancer: {spec.cancer}",
        f"# cancer_efo: {efo}",
        f"# sex: {spec.sex}",
        f"# population: England, {PEOPLE[spec.sex]}",
        f"# registry: {REGISTRY}",
        "# years: 2019",
        "# units: rate per 100,000 person-years (GBD metric 'Rate'); age bands [age_start, "
        "age_end) in completed years, every year of a band gets the band's rate",
        f"# derivation: {derivation}",
        f"# licence: {LICENCE}",
    ]


def build_incidence(spec: Spec) -> str:
    """The incidence CSV text of ``spec``: source rates verbatim, as age bands."""
    _, cause = CANCERS[spec.cancer]
    sex = GBD_SEX[spec.sex]
    rates = source_rates(spec.incidence_file, "Incidence", sex, cause)
    lines = _header(
        spec,
        "incidence",
        f"{cause} incidence, {PEOPLE[spec.sex]} in England, 2019 (GBD 2019 central "
        "estimates), ages 1-94 in GBD's 5-year age groups",
        source_note(
            spec.incidence_file,
            f"rows measure=Incidence, location=England, sex={sex}, cause={cause}, "
            "metric=Rate, year=2019, column val",
        ),
        "the source's val (central estimate) verbatim; GBD age groups '1-4 years' ... "
        "'90-94 years' written as bands [1, 5) ... [90, 95) (a step function over single "
        "years); the source has no age group below 1 or above 94; groups absent from IHME's "
        "export were filled with 0 by INTERVENE's GBD_csv_processing.R (complete(..., fill = "
        "0)), so a 0 at the youngest ages can mean 'not estimated'",
    )
    lines.append("age_start,age_end,rate_per_100000")
    lines += [f"{low},{high},{val}" for (low, high), val in rates.items()]
    return "\n".join(lines) + "\n"


def build_competing_mortality(spec: Spec) -> str:
    """The competing-mortality CSV text: all-cause minus the cancer's mortality, per band."""
    _, cause = CANCERS[spec.cancer]
    sex = GBD_SEX[spec.sex]
    all_cause = source_rates("gbd2019_england_deaths.csv", "Deaths", sex, "All causes")
    own = source_rates(spec.deaths_file, "Deaths", sex, cause)
    if set(all_cause) != set(own):
        raise ValueError(f"{spec}: all-cause and {cause} mortality cover different ages")
    lines = _header(
        spec,
        "competing mortality",
        f"mortality from causes other than {cause.lower()}, {PEOPLE[spec.sex]} in England, "
        "2019 (GBD 2019 central estimates), ages 1-94 in GBD's 5-year age groups",
        source_note(
            "gbd2019_england_deaths.csv",
            f"rows measure=Deaths, location=England, sex={sex}, cause=All causes, "
            "metric=Rate, year=2019, column val",
        )
        + "; minus "
        + source_note(
            spec.deaths_file,
            f"rows measure=Deaths, location=England, sex={sex}, cause={cause}, metric=Rate, "
            "year=2019, column val",
        ),
        f"GBD cause 'All causes' mortality minus GBD cause '{cause}' mortality (same "
        "population, sex, year and age group; central estimates), per 100,000, printed as "
        "the shortest round-trip decimal of the difference; GBD age groups written as bands "
        "[1, 5) ... [90, 95) (a step function over single years); groups absent from IHME's "
        "export were filled with 0 by INTERVENE's GBD_csv_processing.R, so the cancer's own "
        "deaths count as 0 there",
    )
    lines.append("age_start,age_end,rate_per_100000")
    for band, total in all_cause.items():
        other = float(total) - float(own[band])
        if other < 0:
            raise ValueError(f"{spec}: negative competing mortality at ages {band}")
        lines.append(f"{band[0]},{band[1]},{other!r}")
    return "\n".join(lines) + "\n"


def build_all() -> dict[str, str]:
    """Every shipped England table: file name -> CSV text."""
    out = {}
    for spec in SPECS:
        out[f"{table_name(spec, 'incidence')}.csv"] = build_incidence(spec)
        out[f"{table_name(spec, 'competing mortality')}.csv"] = build_competing_mortality(spec)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the shipped files, write nothing"
    )
    args = parser.parse_args(argv)
    differ = []
    for name, text in build_all().items():
        path = OUT_DIR / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                differ.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if differ:
        print("differ from the build: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
