"""How many copies a call counts, by chromosome class and sex: PLINK 2's ``--score`` model.

PLINK 2 stores every call on a 0..2 scale: a VCF haploid call ``1`` is stored as ``1/1``
(2 copies), a haploid DS value as twice itself. ``--score`` then counts, per class of
chromosome and sex of the person (measured with plink2 v2.00a3.5 on generated VCFs, see
``tests/test_ploidy.py``; D is the stored 0..2 dosage; ploidy is what ALLELE_CT and DENOM
add per call):

==========================  ==============  ==============  ======  ====================
class                       sex             copies scored   ploidy  imputation frequency
==========================  ==============  ==============  ======  ====================
autosome, other contig, PAR any             D               2       D over 2 alleles
chrX outside the PARs       male            D (model 2)     2       D/2 over 1 allele
                                            D/2 (model 1)   1
chrX outside the PARs       female, unknown D               2       D over 2 alleles
chrY                        male            D/2             1       D/2 over 1 allele
chrY                        female, unknown not counted     0       not counted
MT                          any             D/2             1       D/2 over 1 allele
==========================  ==============  ==============  ======  ====================

"Model" is PLINK 2's ``--xchr-model`` (2, the default; prs ``haploid="as-diploid"``; 1:
``haploid="haploid"``). A chrY call of a female or of a person of unknown sex adds no SUM,
no ALLELE_CT, no DENOM, is not missing and is not imputed. The frequency a missing call is
imputed at is taken over observed calls as the last column says (males count one allele on
chrX although model 2 scores their calls 0..2); a missing call adds ploidy x frequency.

So a haploid ``1`` counts 2 copies on an autosome and on chrX (any sex, by default), 1 on
chrY (males) and MT; a heterozygous ``0/1`` counts 0.5 on chrY and MT (PLINK 2 halves its
stored 1). Without sex information every person is of unknown sex: chrX is scored as an
autosome and chrY adds nothing to anybody (PLINK 2 ``--vcf`` without ``--update-sex`` or
``--psam``; PLINK 2 does not infer sex from genotypes when scoring).

The PARs: a contig named ``XY`` (``PAR1``/``PAR2``), and chrX positions inside the
pseudo-autosomal regions when the genotypes' build is known, as PLINK 2 after
``--split-par b37|b38`` (bounds in :data:`prs.genome.PAR_BOUNDS`). Without a known build,
chrX is chrX throughout (PLINK 2 without ``--split-par``).

PLINK 2 refuses ``dominant``/``recessive`` scoring on chrX, chrY and MT ("cannot be used
with haploid chromosomes"), and DS without GT on them (the scale is unknown); prs refuses
the first (:class:`~prs.errors.ScoreError`) and reads the second on the 0..2 scale.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import ScoreError
from prs.genome import AUTOSOME, MT, PAR, PAR_BOUNDS, X_NONPAR, Y
from prs.kernels.accumulate import NOT_COUNTED
from prs.kernels.calls import call_dosages

#: Sex codes, as PLINK's ``.fam``/``.psam`` SEX column.
SEX_UNKNOWN, SEX_MALE, SEX_FEMALE = 0, 1, 2

_SEX_WORDS = {
    "1": SEX_MALE,
    "m": SEX_MALE,
    "male": SEX_MALE,
    "2": SEX_FEMALE,
    "f": SEX_FEMALE,
    "female": SEX_FEMALE,
    "0": SEX_UNKNOWN,
    "-9": SEX_UNKNOWN,
    "na": SEX_UNKNOWN,
    "nan": SEX_UNKNOWN,
    "n/a": SEX_UNKNOWN,
    ".": SEX_UNKNOWN,
    "": SEX_UNKNOWN,
    "u": SEX_UNKNOWN,
    "unknown": SEX_UNKNOWN,
}

#: Column names taken as the sample ID in a sex table with a header (case-insensitive).
SAMPLE_COLUMNS = ("iid", "sample", "sample_id", "sampleid", "id", "individual")

#: PLINK 2's ``--xchr-model`` number of each ``haploid=`` word (:data:`prs.vocab.HAPLOID_POLICIES`):
#: how a male's chrX call counts.
XCHR_MODELS = {"as-diploid": 2, "haploid": 1}

SexInput = str | os.PathLike[str] | Mapping[str, Any]


def parse_sex(value: Any, where: str) -> int:
    """Sex code of one value (``1``/``M``/``male``, ``2``/``F``/``female``, ``0``/``NA``/
    ``unknown``/empty); anything else is a :class:`~prs.errors.ScoreError` naming ``where``."""
    if type(value) is int and SEX_UNKNOWN <= value <= SEX_FEMALE:
        return value  # (a code already, as a PLINK source's sex_by_sample holds them)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return SEX_UNKNOWN
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip().lower()
    if isinstance(value, (int, np.integer)) or text.replace("-", "", 1).isdigit():
        text = str(int(text))
    if text not in _SEX_WORDS:
        raise ScoreError(f"{where}: sex {value!r} is not one of 1/M/male, 2/F/female, 0/NA/unknown")
    return _SEX_WORDS[text]


def read_sex(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a sample sheet: sample ID -> sex code.

    Accepted layouts: a PLINK 2 ``.psam`` (header ``#FID IID SEX ...`` or ``#IID SEX ...``),
    a PLINK ``.fam`` (no header; FID IID father mother SEX phenotype), or a table with a
    header naming a sample column (``IID``, ``sample``, ``sample_id``, ``id``) and a ``sex``
    column, tab- or space-separated. Where an FID is given (and is not ``0``) the sample is
    also known as ``FID_IID`` (PLINK's ``--double-id`` VCF sample names).

    Raises
    ------
    ScoreError
        Unreadable file, no sample or sex column, a row with the wrong number of fields, an
        unknown sex value, or one sample given two sexes; each names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoreError(f"{path}: cannot read the sex file ({exc})") from exc
    rows = [
        (number, line.split("\t") if "\t" in line else line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.startswith("##")
    ]
    if not rows:
        raise ScoreError(f"{path}: the sex file is empty (expected a .psam, .fam or TSV)")
    first_number, first = rows[0]
    names = [c.strip().lstrip("#").lower() for c in first]
    has_header = first[0].startswith("#") or (
        "sex" in names and any(c in SAMPLE_COLUMNS for c in names)
    )
    if has_header:
        if "sex" not in names:
            raise ScoreError(
                f"{path} line {first_number}: no SEX column in the header "
                f"({', '.join(c.strip() for c in first)})"
            )
        sample_col = next((names.index(c) for c in SAMPLE_COLUMNS if c in names), None)
        if sample_col is None:
            raise ScoreError(
                f"{path} line {first_number}: no sample column in the header (expected one "
                f"of IID, {', '.join(SAMPLE_COLUMNS[1:])})"
            )
        sex_col = names.index("sex")
        fid_col = names.index("fid") if "fid" in names else None
        width = len(first)
        body = rows[1:]
    elif len(first) == 6 or (path.suffix.lower() == ".fam" and len(first) >= 5):
        fid_col, sample_col, sex_col, width = 0, 1, 4, len(first)
        body = rows
    else:
        raise ScoreError(
            f"{path} line {first_number}: not a sex file: expected a .psam (#IID ... SEX), a "
            "6-column .fam, or a table with a header naming sample and sex columns"
        )
    sexes: dict[str, int] = {}
    for number, fields in body:
        if len(fields) != width:
            raise ScoreError(
                f"{path} line {number}: {len(fields)} fields, expected {width} as line "
                f"{first_number}"
            )
        code = parse_sex(fields[sex_col], f"{path} line {number}")
        sample = fields[sample_col].strip()
        keys = [sample]
        if fid_col is not None and fields[fid_col].strip() not in ("", "0"):
            keys.append(f"{fields[fid_col].strip()}_{sample}")
        for key in keys:
            if sexes.get(key, code) != code:
                raise ScoreError(f"{path} line {number}: sample {key!r} is given two sexes")
            sexes[key] = code
    return sexes


def sex_codes(
    samples: Sequence[str], sex: SexInput | None
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Sex code per sample (``int8``, :data:`SEX_UNKNOWN` for samples not given), and a
    summary for the provenance (None when no sex was given).

    Raises
    ------
    ScoreError
        A sex file or mapping that names none of ``samples``, or a bad sex value.
    """
    codes = np.zeros(len(samples), dtype=np.int8)
    if sex is None:
        return codes, None
    if isinstance(sex, Mapping):
        where = "sex mapping"
        given = {str(k): parse_sex(v, f"{where}: sample {k!r}") for k, v in sex.items()}
    else:
        where = str(sex)
        given = read_sex(sex)
    found = 0
    for i, name in enumerate(samples):
        code = given.get(name)
        if code is not None:
            codes[i] = code
            found += 1
    if samples and found == 0:
        example = next(iter(given), None)
        raise ScoreError(
            f"{where}: names none of the genotypes' {len(samples)} samples (genotypes: "
            f"{samples[0]!r}, ...; sex file: "
            + (f"{example!r}, ...)" if example is not None else "no samples)")
        )
    summary = {
        "source": where,
        "male": int((codes == SEX_MALE).sum()),
        "female": int((codes == SEX_FEMALE).sum()),
        "unknown": int((codes == SEX_UNKNOWN).sum()),
        "samples_not_in_sex_input": len(samples) - found,
    }
    return codes, summary


def record_classes(
    chrom: pd.Series | np.ndarray, pos: pd.Series | np.ndarray, build: str | None
) -> np.ndarray:
    """Chromosome class (:func:`prs.genome.chromosome_class`) of each canonical (chrom, pos),
    as ``int8``."""
    chrom = np.asarray(chrom, dtype=object)
    pos = np.asarray(pos, dtype=np.int64)
    out = np.full(len(chrom), AUTOSOME, dtype=np.int8)
    out[chrom == "Y"] = Y
    out[chrom == "MT"] = MT
    out[chrom == "XY"] = PAR
    on_x = chrom == "X"
    out[on_x] = X_NONPAR
    bounds = PAR_BOUNDS.get(build or "")
    if bounds is not None:
        out[on_x & ((pos <= bounds[0]) | (pos >= bounds[1]))] = PAR
    return out


def apply_ploidy_model(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    row_class: np.ndarray,
    sex: np.ndarray,
    *,
    xchr_model: int = 2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rescale one chunk of calls to PLINK 2's counting (the table in this module's doc).

    Parameters
    ----------
    dosage, ploidy
        ``float64[k, n]`` / ``int8[k, n]`` as a genotype source reads them, haploid calls
        either as read (ploidy 1) or already as PLINK 2 stores them (doubled, ploidy 2).
        ``dosage`` may be ``int8`` hard calls (negative: missing), as a PLINK source reads
        them (:class:`~prs.genotypes.base.DosageChunk`).
    row_class
        ``int8[k]`` chromosome class of each row.
    sex
        ``int8[n]`` sex codes.
    xchr_model
        2 (default): a male's chrX call counts 0..2 copies on 2 alleles; 1: 0..1 on 1.

    Returns
    -------
    (dosage, ploidy, freq_ploidy)
        New arrays (the inputs are not changed); ``dosage`` is float64 (NaN missing)
        whatever it was read as. ``ploidy`` is
        :data:`~prs.kernels.accumulate.NOT_COUNTED` for chrY calls of non-males;
        ``freq_ploidy`` is the ploidy for the imputation frequency where it differs from
        ``ploidy`` (males on chrX under model 2), else None.
    """
    if dosage.dtype == np.int8:  # hard calls: their dosages, NaN where missing
        d = np.empty(dosage.shape)
        call_dosages(np.ascontiguousarray(dosage), d)
    else:
        d = np.array(dosage, dtype=np.float64, copy=True)
    p = np.array(ploidy, dtype=np.int8, copy=True)
    haploid = p == 1
    d[haploid] *= 2.0  # stored as a homozygous diploid call, as PLINK 2's VCF import does
    p[haploid] = 2
    male = sex == SEX_MALE

    def halve(rows: np.ndarray, columns: np.ndarray) -> None:
        block = np.ix_(rows, columns)
        two = p[block] == 2
        d[block] = np.where(two, d[block] / 2.0, d[block])
        p[block] = np.where(two, 1, p[block])

    mt_rows = np.flatnonzero(row_class == MT)
    if len(mt_rows):
        halve(mt_rows, np.arange(len(sex)))
    y_rows = np.flatnonzero(row_class == Y)
    if len(y_rows):
        halve(y_rows, np.flatnonzero(male))
        others = np.ix_(y_rows, np.flatnonzero(~male))
        d[others] = np.nan
        p[others] = NOT_COUNTED
    x_rows = np.flatnonzero(row_class == X_NONPAR)
    freq_ploidy = None
    if len(x_rows) and male.any():
        males = np.flatnonzero(male)
        if xchr_model == 1:
            halve(x_rows, males)
        else:
            freq_ploidy = p.copy()
            block = np.ix_(x_rows, males)
            freq_ploidy[block] = np.where(p[block] == 2, 1, p[block])
    return d, p, freq_ploidy


#: Classes whose calls :func:`apply_ploidy_model` changes (PAR and autosomes only need
#: haploid calls doubled, which the genotype engines do themselves by default).
SPECIAL_CLASSES = (X_NONPAR, Y, MT)

__all__ = [
    "AUTOSOME",
    "MT",
    "PAR",
    "SAMPLE_COLUMNS",
    "SEX_FEMALE",
    "SEX_MALE",
    "SEX_UNKNOWN",
    "SPECIAL_CLASSES",
    "XCHR_MODELS",
    "X_NONPAR",
    "Y",
    "apply_ploidy_model",
    "parse_sex",
    "read_sex",
    "record_classes",
    "sex_codes",
]
