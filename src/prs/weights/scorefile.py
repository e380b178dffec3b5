"""Reading and validating scoring files: PGS Catalog (format 1.0 and 2.0) and custom tables.

The reader returns a :class:`ScoringFile`: the header metadata and one variant table whose
rows carry the scoring file's line number, so every later message (match report, errors)
can point back at the line it came from.

Positions: a harmonized PGS Catalog file (``#HmPOS_build=`` in its header, ``hm_chr`` /
``hm_pos`` columns) is read at its harmonized positions, in the build ``HmPOS_build`` names;
``use_harmonized=False`` reads the author-reported ``chr_name``/``chr_position`` instead.

Weights are additive effects on the log scale: ratio weights (``weight_type=OR``/``HR``)
are scored as their natural log, with a warning (:mod:`prs.weights.weight_types`).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from prs.columns import coded_strings
from prs.errors import ScoringFileError, ScoringFileWarning, warn
from prs.genome import (
    KNOWN_BUILDS_TEXT,
    MAX_POSITION,
    build_not_reported,
    canonical_build,
    normalize_chrom,
)
from prs.memory import release_memory
from prs.vocab import ADDITIVE, DOMINANT, EFFECT_TYPE_CODES, EFFECT_TYPES, RECESSIVE
from prs.weights.columns import NUCLEOTIDES_REGEX, alleles, numbers, positions
from prs.weights.weight_types import KNOWN_TEXT, classify, ratio_name

__all__ = [
    "EFFECT_TYPES",
    "VARIANT_COLUMNS",
    "ScoringFile",
    "TraitInfo",
    "parse_header",
    "read_header",
    "read_scorefile",
]

#: Columns of :attr:`ScoringFile.variants`, in order.
VARIANT_COLUMNS = (
    "line",
    "rsid",
    "chrom",
    "pos",
    "effect_allele",
    "other_allele",
    "effect_type",
    "allele_frequency",
)

# ASCII digits only: \d (and float()) would also read other scripts' digits ("١٢" as 12).
_DECIMAL = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_NUCLEOTIDES = re.compile(r"^[ACGTN]+$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n", ""}

# Format 1.0 header keys ("# PGS ID = PGS000004") -> format 2.0 names.
_V1_KEYS = {
    "pgs id": "pgs_id",
    "pgs name": "pgs_name",
    "reported trait": "trait_reported",
    "mapped trait(s) (efo label)": "trait_mapped",
    "mapped trait(s) (ontology id)": "trait_efo",
    "original genome build": "genome_build",
    "number of variants": "variants_number",
    "pgp id": "pgp_id",
    "citation": "citation",
    "license": "license",
}

# Column aliases accepted in custom tables (lower-cased) -> canonical PGS Catalog names.
_COLUMN_ALIASES = {
    "rsid": "rsID",
    "snp": "rsID",
    "chr_name": "chr_name",
    "chrom": "chr_name",
    "chr": "chr_name",
    "#chrom": "chr_name",
    "chromosome": "chr_name",
    "chr_position": "chr_position",
    "pos": "chr_position",
    "position": "chr_position",
    "bp": "chr_position",
    "effect_allele": "effect_allele",
    "ea": "effect_allele",
    "a1": "effect_allele",
    "other_allele": "other_allele",
    "reference_allele": "other_allele",
    "oa": "other_allele",
    "a2": "other_allele",
    "effect_weight": "effect_weight",
    "weight": "effect_weight",
    "beta": "effect_weight",
    "allelefrequency_effect": "allelefrequency_effect",
    "is_dominant": "is_dominant",
    "is_recessive": "is_recessive",
    "is_haplotype": "is_haplotype",
    "is_diplotype": "is_diplotype",
    "is_interaction": "is_interaction",
    "hm_chr": "hm_chr",
    "hm_pos": "hm_pos",
    "hm_rsid": "hm_rsID",
    "hm_source": "hm_source",
    "hm_inferotherallele": "hm_inferOtherAllele",
    "id": "ID",
}

# Columns that are neither weights nor used for matching (never read as a score).
_METADATA_COLUMNS = {
    "locus_name",
    "variant_description",
    "variant_type",
    "imputation_method",
    "or",
    "hr",
    "ci",
    "pvalue",
    "p",
    "p_value",
    "se",
    "ref",
    "alt",
    "hm_match_chr",
    "hm_match_pos",
    "hm_source",
    "hm_rsid",
    "hm_inferotherallele",
    "hm_chr",
    "hm_pos",
    "rsid",
    "id",
    "allelefrequency_effect",
    "allelefrequency_effect_ancestry",
    "is_dominant",
    "is_recessive",
    "is_haplotype",
    "is_diplotype",
    "is_interaction",
    "weight_type",
    "info",
    "maf",
    "n",
    "z",
    "effect_type",
    "is_duplicated",
    "accession",
    "row_nr",
}
_DOSAGE_WEIGHT_COLUMNS = ("dosage_0_weight", "dosage_1_weight", "dosage_2_weight")

# Magic numbers of formats a scoring file is sometimes mistaken for.
_OTHER_FORMATS = (
    (b"PK\x03\x04", "zip archive (or an Excel workbook)"),
    (b"BZh", "bzip2 file"),
    (b"\xfd7zXZ\x00", "xz file"),
    (b"\x28\xb5\x2f\xfd", "zstd file"),
    (b"PAR1", "Parquet file"),
    (b"\xd0\xcf\x11\xe0", "Microsoft Office (OLE2) file"),
    (b"%PDF", "PDF file"),
)
# What a gzip stream raises when its data is corrupt or cut short.
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def _show(value: str) -> str:
    """A value as put in a message: control characters escaped, long values cut."""
    text = value if value.isprintable() else ascii(value)[1:-1]
    return text if len(text) <= 60 else text[:57] + "..."


# Header keys a development ancestry could be given under. PGS Catalog format 2.0 headers
# (2022-) carry none; the Catalog's REST metadata has it (ancestry_distribution.dev).
_ANCESTRY_KEYS = ("development_ancestry", "ancestry_distribution", "ancestry")
# Ontology IDs in trait_efo: PGS Catalog headers list several with "," (PGS000781:
# EFO_0005543,EFO_0003833); "|" is accepted too (pgsc_calc joins with it). IDs never hold
# either character.
_TRAIT_ID_SEPARATORS = re.compile(r"[|,]")
_NOT_REPORTED = {"", "nr", "na", "n/a", "none", "not reported", "undefined"}


def _header_text(header: dict[str, str], key: str) -> str | None:
    value = header.get(key)
    if value is None or value.strip().lower() in _NOT_REPORTED:
        return None
    return value.strip()


@dataclass(frozen=True)
class TraitInfo:
    """What a score is of, as its scoring file's header states it (all None/empty when the
    header does not say: a custom table without ``#trait_*`` lines).

    Attributes
    ----------
    trait_reported
        The trait as the authors reported it (``#trait_reported=``, format 1.0
        ``# Reported Trait =``).
    trait_mapped
        Ontology label(s) (``#trait_mapped=``), as written.
    trait_efo
        Ontology IDs (EFO/MONDO/HP/...; ``#trait_efo=``, several split at ``,`` or ``|``).
    weight_type
        ``#weight_type=`` as written (``beta``, ``log(OR)``, ``OR``, ...); None for NR.
    development_ancestry
        The development sample's ancestry where the header gives it (PGS Catalog headers do
        not), else None.
    pgs_name, pgp_id, citation
        The score's name, its publication's PGP ID and citation.
    """

    trait_reported: str | None = None
    trait_mapped: str | None = None
    trait_efo: tuple[str, ...] = ()
    weight_type: str | None = None
    development_ancestry: str | None = None
    pgs_name: str | None = None
    pgp_id: str | None = None
    citation: str | None = None

    @classmethod
    def from_header(cls, header: dict[str, str]) -> TraitInfo:
        """The trait metadata of a header with format 2.0 key names.

        Examples
        --------
        >>> info = TraitInfo.from_header({"trait_efo": "EFO_0005543,EFO_0003833",
        ...                               "weight_type": "NR"})
        >>> info.trait_efo, info.weight_type
        (('EFO_0005543', 'EFO_0003833'), None)
        """
        efo = _header_text(header, "trait_efo") or ""
        ids = tuple(dict.fromkeys(x.strip() for x in _TRAIT_ID_SEPARATORS.split(efo) if x.strip()))
        ancestry = next(
            (v for v in (_header_text(header, k) for k in _ANCESTRY_KEYS) if v is not None),
            None,
        )
        return cls(
            trait_reported=_header_text(header, "trait_reported"),
            trait_mapped=_header_text(header, "trait_mapped"),
            trait_efo=ids,
            weight_type=_header_text(header, "weight_type"),
            development_ancestry=ancestry,
            pgs_name=_header_text(header, "pgs_name"),
            pgp_id=_header_text(header, "pgp_id"),
            citation=_header_text(header, "citation"),
        )

    def as_dict(self) -> dict[str, str | list[str] | None]:
        """JSON-ready fields (``trait_efo`` as a list)."""
        return {
            "trait_reported": self.trait_reported,
            "trait_mapped": self.trait_mapped,
            "trait_efo": list(self.trait_efo),
            "weight_type": self.weight_type,
            "development_ancestry": self.development_ancestry,
            "pgs_name": self.pgs_name,
            "pgp_id": self.pgp_id,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class ScoringFile:
    """A scoring file read and validated.

    Attributes
    ----------
    path
        The file read.
    header
        Header metadata with format 2.0 key names (``pgs_id``, ``genome_build``,
        ``HmPOS_build``, ...); format 1.0 keys are translated.
    score_ids
        One name per weight column (the PGS ID for Catalog files).
    genome_build
        Build of the positions in ``variants`` (HmPOS_build when read harmonized), or None.
    variants
        One row per scoring-file row kept, columns ``line`` (1-based line number), ``rsid``,
        ``chrom`` (canonical), ``pos`` (int64, -1 where missing), ``effect_allele``,
        ``other_allele`` ("" where missing), ``effect_type``, ``allele_frequency``
        (NaN where missing).
    weights
        ``float64[n_rows, n_scores]``; NaN where a row is not part of that score.
    dropped
        Rows dropped on request (``drop_unscorable=True``), counted by reason.
    warnings
        Problems found but not fatal (e.g. variants_number disagreeing with the rows).
    match_by_rsid
        Whether the rows are matched to the genotypes by rsID (:mod:`prs.match`): True for
        a file without positions (no row has one, some have an rsID); None (default) is
        decided so when the object is made. Pieces made with :func:`dataclasses.replace`
        keep the whole file's answer: rows of a file with positions that lack one (failed
        harmonization) are never matched by rsID.
    """

    path: str
    header: dict[str, str]
    score_ids: tuple[str, ...]
    genome_build: str | None
    variants: pd.DataFrame
    weights: np.ndarray
    harmonized: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    match_by_rsid: bool | None = None

    def __post_init__(self) -> None:
        """Refuse a ScoringFile that breaks what later stages rely on, naming the file.

        Checked: the variant columns (:data:`VARIANT_COLUMNS`), effect types from
        :data:`prs.vocab.EFFECT_TYPES`, one weight column per unique score name and one
        weight row per variant, a canonical build or None. These are array-wide checks
        (no Python work per row). Positions are not bounded here: a file read by
        :func:`read_scorefile` never holds one above ``MAX_POSITION``, and matching is
        exact whatever their size.
        """
        where = self.path
        missing = [c for c in VARIANT_COLUMNS if c not in self.variants.columns]
        if self.match_by_rsid is None and not missing:
            object.__setattr__(self, "match_by_rsid", _without_positions(self.variants))
        if missing:
            raise ScoringFileError(
                f"{where}: variants table lacks column(s) {', '.join(missing)} (expected "
                f"{', '.join(VARIANT_COLUMNS)})"
            )
        weights = self.weights
        if not isinstance(weights, np.ndarray) or weights.ndim != 2:
            raise ScoringFileError(
                f"{where}: weights must be a 2-D array (rows x scores), found "
                f"{type(weights).__name__} of shape {getattr(weights, 'shape', None)}"
            )
        if weights.shape != (len(self.variants), len(self.score_ids)):
            raise ScoringFileError(
                f"{where}: weights are {weights.shape[0]} x {weights.shape[1]} but there are "
                f"{len(self.variants)} variant rows and {len(self.score_ids)} score name(s)"
            )
        repeated = [s for s, k in Counter(self.score_ids).items() if k > 1]
        if repeated:
            raise ScoringFileError(f"{where}: score name {repeated[0]!r} appears twice")
        if self.genome_build is not None and canonical_build(self.genome_build) != (
            self.genome_build
        ):
            raise ScoringFileError(
                f"{where}: genome_build {self.genome_build!r} is not a canonical build name "
                "(GRCh38, GRCh37, NCBI36, NCBI35) or None; see prs.genome.canonical_build"
            )
        # Chromosomes are matched, counted and cut into pieces as text: a number (a frame
        # built by hand) would be counted as "1" yet never selected as "1" (rows lost).
        odd = [
            c
            for c in pd.unique(pd.Series(self.variants["chrom"], copy=False))
            if not isinstance(c, str) and not (c is None or c is pd.NA or c != c)
        ]
        if odd:
            raise ScoringFileError(
                f"{where}: chrom values must be text (canonical names such as '1' or 'X'; '' "
                f"or missing for none), found {odd[0]!r} ({type(odd[0]).__name__}); see "
                "prs.genome.normalize_chrom"
            )
        unknown = [t for t in _distinct(self.variants["effect_type"]) if t not in EFFECT_TYPES]
        if unknown:
            raise ScoringFileError(
                f"{where}: effect_type {unknown[0]!r} is not one of {', '.join(EFFECT_TYPES)}"
            )

    def effect_type_codes(self) -> np.ndarray:
        """``int8[n_variants]``: each row's effect type as its :mod:`prs.vocab` code."""
        codes, names = pd.factorize(self.variants["effect_type"])
        lookup = np.array([EFFECT_TYPE_CODES[str(name)] for name in names], dtype=np.int8)
        return lookup[codes] if len(codes) else np.zeros(0, dtype=np.int8)

    @property
    def n_variants(self) -> int:
        """Number of scoring rows kept."""
        return len(self.variants)

    @property
    def trait_info(self) -> TraitInfo:
        """The header's trait metadata (:class:`TraitInfo`); it applies to every score of
        the file."""
        return TraitInfo.from_header(self.header)

    @property
    def trait_reported(self) -> str | None:
        """The reported trait, or None when the header does not give it."""
        return self.trait_info.trait_reported

    @property
    def trait_mapped(self) -> str | None:
        """The mapped trait label(s), or None."""
        return self.trait_info.trait_mapped

    @property
    def trait_efo(self) -> tuple[str, ...]:
        """The trait's ontology IDs (EFO/MONDO/HP), empty when not given."""
        return self.trait_info.trait_efo

    @property
    def weight_type(self) -> str | None:
        """``#weight_type=`` as written, None when absent or NR."""
        return self.trait_info.weight_type

    @property
    def development_ancestry(self) -> str | None:
        """The development sample's ancestry where the header gives it, else None."""
        return self.trait_info.development_ancestry


def arrow_strings() -> contextlib.AbstractContextManager[object]:
    """Within it, pandas makes string columns Arrow-backed (``str``, pandas 3's default)
    instead of numpy object arrays: ~10 bytes per short allele instead of ~60 (a Python
    object and its pointer each), which is most of a million-row scoring file's or site
    table's memory under pandas 2. Missing values stay NaN and comparisons give numpy
    booleans, as with object columns."""
    if _PANDAS_MAJOR >= 3:
        return contextlib.nullcontext()
    return pd.option_context("future.infer_string", True)


_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


def _distinct(column: pd.Series) -> list[str]:
    """The distinct values of a string column (hashed once; a handful of values)."""
    return [str(v) for v in pd.unique(pd.Series(column, copy=False))]


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a byte order mark (spreadsheet exports) is not part of the first line.
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _check_path(path: Path) -> bool:
    """Refuse what is not a readable file of text, naming what it is; True when gzipped."""
    if not path.exists():
        raise ScoringFileError(f"{path}: scoring file not found")
    if path.is_dir():
        raise ScoringFileError(f"{path}: is a directory, not a scoring file")
    if not path.is_file():
        raise ScoringFileError(f"{path}: is not a regular file (a device, pipe or socket)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ScoringFileError(f"{path}: cannot read scoring file ({exc.strerror})") from exc
    if not head:
        raise ScoringFileError(f"{path}: is empty (0 bytes)")
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise ScoringFileError(
                f"{path}: is a {what}, not a scoring file; prs reads tab-separated text, "
                "plain or gzipped"
            )
    return head[:2] == b"\x1f\x8b"


def _raw_lines(path: Path, gzipped: bool):
    """The file's lines as bytes (decompressed), split as the text reader splits them
    (at ``\\n``, ``\\r\\n`` and a lone ``\\r``)."""
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as fh:
        for chunk in fh:
            yield from (part for part in re.split(rb"(?<=\r)(?!\n)", chunk) if part)


def _not_text_error(path: Path, gzipped: bool) -> ScoringFileError:
    """Name a file that is not UTF-8 text: binary, or text with one bad line."""
    what = "gzipped data" if gzipped else "file"
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as fh:
            sample = fh.read(4096)
        if sample.startswith(b"BCF\x02"):
            return ScoringFileError(
                f"{path}: is a BCF (genotypes), not a scoring file; give it as the genotypes"
            )
        control = sum(b < 32 and b not in (9, 10, 13) for b in sample)
        if b"\x00" in sample or control > len(sample) // 20:
            return ScoringFileError(
                f"{path}: is not a text file (its {what} is binary); a scoring file is "
                "tab-separated text, plain or gzipped"
            )
        for number, line in enumerate(_raw_lines(path, gzipped), 1):
            try:
                line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1].hex().upper()
                return ScoringFileError(
                    f"{path} line {number} is not UTF-8 text (byte 0x{bad} at column "
                    f"{exc.start + 1}); save the scoring file as UTF-8"
                )
    except _GZIP_ERRORS:
        return _gzip_error(path, "its compressed data is corrupt")
    return ScoringFileError(f"{path}: is not UTF-8 text; save the scoring file as UTF-8")


def _gzip_error(path: Path, what: str) -> ScoringFileError:
    return ScoringFileError(
        f"{path}: cannot read this gzip file: {what} (cut short, or damaged in transfer); "
        "download or compress it again"
    )


def _binary_line(path: Path, number: int) -> ScoringFileError:
    return ScoringFileError(
        f"{path} line {number}: holds a NUL byte; the file is binary or damaged, not "
        "tab-separated text"
    )


def _header_looks_like_a_row(names: list[str]) -> str:
    """A hint when the column header line holds numbers or chrom:pos IDs: it is a variant
    row, and the real column header line is missing (or was deleted)."""
    if any(_DECIMAL.fullmatch(n.strip()) or re.fullmatch(r"\w+:\d+\S*", n) for n in names):
        return (
            "; that line looks like a variant row, not column names: the column header "
            "line (chr_name, chr_position, effect_allele, effect_weight, ...) is missing"
        )
    return ""


def _check_column_line(path: Path, number: int, column_line: str) -> None:
    """Refuse a column header line delimited by spaces or commas, saying so."""
    text = column_line.rstrip("\r\n")
    if "\t" in text:
        return
    for name, parts in (("space", text.split()), ("comma", text.split(","))):
        if len(parts) > 1:
            shown = _show(text)
            raise ScoringFileError(
                f"{path} line {number}: the column header line is {name}-delimited "
                f"('{shown}'); PGS Catalog scoring files and custom tables are tab-separated "
                "(one tab between columns)"
            )


def _check_rows(path: Path, gzipped: bool, offset: int, skip: int, names: list[str]) -> None:
    """Every data row has as many tab-separated fields as the column header line names.

    Spreadsheet exports end the header line with empty names (trailing tabs): a row may
    leave those out. Blank lines are skipped as the table readers do.
    """
    n_fields = len(names)
    named = [i for i, name in enumerate(names) if name.strip()]
    required = named[-1] + 1 if named else n_fields
    column_number = skip + 1
    raw = _open_at(path, gzipped, offset)
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, column_number):
            if number == column_number:
                continue
            text = line.rstrip("\r\n")
            if "\x00" in text:
                raise _binary_line(path, number)
            if not text.strip():
                continue
            if text.startswith("#") and not text.lower().startswith("#chrom\t"):
                raise ScoringFileError(
                    f"{path} line {number}: a '#' metadata line after the column header line "
                    f"(line {column_number}); metadata lines come before it"
                )
            found = text.count("\t") + 1
            if required <= found <= n_fields:
                continue
            where = f"the column header line (line {column_number}) names {n_fields}"
            if found == 1 and len(text.split()) > 1:
                raise ScoringFileError(
                    f"{path} line {number} is space-delimited ({len(text.split())} fields "
                    f"separated by spaces, none by tabs; {where}); PGS Catalog scoring files "
                    "and custom tables are tab-separated"
                )
            if found < required:
                # The PGS Catalog's harmonized files leave out trailing empty fields (an
                # empty hm_inferOtherAllele): the missing fields are read as empty.
                continue
            extra = text.split("\t")[n_fields:]
            empty = " (empty: a trailing tab)" if not "".join(extra).strip() else ""
            raise ScoringFileError(
                f"{path} line {number} has {found} tab-separated fields, {where}: "
                f"{found - n_fields} extra field(s){empty}"
            )


def _header_entries(lines: list[str]) -> dict[str, tuple[str, int]]:
    """Header ``key=value`` lines -> (value, 1-based line number); format 2.0 key names."""
    header: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\r\n").rstrip("\t ")
        if text.startswith("##") or not text.startswith("#"):
            continue
        body = text[1:].strip()
        if "=" not in body:
            continue
        key, _, value = body.partition("=")
        key, value = key.strip(), value.strip()
        if " " in key or key.lower() in _V1_KEYS:
            key = _V1_KEYS.get(key.lower(), key.lower().replace(" ", "_"))
        header[key] = (value, number)
    return header


def parse_header(lines: Iterable[str]) -> dict[str, str]:
    """A scoring file's metadata lines -> ``{key: value}`` with format 2.0 key names.

    Format 1.0 keys (``# PGS ID = PGS000004``) are translated (``pgs_id``); ``##`` lines
    and lines without ``=`` are skipped; a repeated key keeps its last value.

    Examples
    --------
    >>> parse_header(["###PGS CATALOG SCORING FILE", "#pgs_id=PGS000004",
    ...               "# Original Genome Build = GRCh37", "#HmPOS_build=GRCh38"])
    {'pgs_id': 'PGS000004', 'genome_build': 'GRCh37', 'HmPOS_build': 'GRCh38'}
    """
    return {key: value for key, (value, _) in _header_entries(list(lines)).items()}


def read_header(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata of a scoring file (plain or gzipped) without reading its table.

    Parameters
    ----------
    path
        A PGS Catalog scoring file or custom table.

    Returns
    -------
    dict
        As :func:`parse_header`: the ``#key=value`` lines before the column header line.

    Raises
    ------
    ScoringFileError
        The file is missing, not a file, empty, another format, or not UTF-8 text.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> read_header(example_paths().scorefile)["genome_build"]
    'GRCh38'
    """
    path = Path(path)
    gzipped = _check_path(path)
    lines: list[str] = []
    try:
        with _open_text(path) as fh:
            for number, line in enumerate(fh, 1):
                if "\x00" in line:
                    raise _binary_line(path, number)
                if line.strip() and not (
                    line.startswith("#") and not line.lower().startswith("#chrom\t")
                ):
                    break
                lines.append(line)
    except UnicodeDecodeError as exc:
        raise _not_text_error(path, gzipped) from exc
    except _GZIP_ERRORS as exc:
        raise _gzip_error(path, f"its compressed data is corrupt: {exc}") from exc
    return parse_header(lines)


def _bool_column(values: pd.Series, name: str, path: Path, lines: np.ndarray) -> np.ndarray:
    lowered = values.str.strip().str.lower()
    is_true = lowered.isin(_TRUE).to_numpy()
    bad = ~(is_true | lowered.isin(_FALSE).to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ScoringFileError(
            f"{path} line {lines[i]}: {name} '{_show(values.iloc[i])}' is not TRUE or FALSE"
        )
    return is_true


def _numeric_fast(values: pd.Series, allow_empty: bool) -> np.ndarray | None:
    """The column as floats when every value is valid (Arrow kernels); None otherwise."""
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    return numbers(text, allow_empty=allow_empty)


def _numeric_column(
    values: pd.Series, name: str, path: Path, lines: np.ndarray, *, allow_empty: bool
) -> np.ndarray:
    fast = _numeric_fast(values, allow_empty)
    if fast is not None:
        return fast
    text = values.str.strip()
    empty = (text == "").to_numpy()
    ok = text.str.fullmatch(_DECIMAL).to_numpy(dtype=bool)
    bad = ~ok & (~empty if allow_empty else True)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = _show(values.iloc[i])
        what = "is empty" if shown.strip() == "" else "is not a finite decimal number"
        raise ScoringFileError(
            f"{path} line {lines[i]}: {name} '{shown}' {what} "
            f"({int(bad.sum())} such value(s) in the column)"
        )
    out = np.full(len(text), np.nan)
    out[ok] = text[ok].astype(float).to_numpy()
    if not np.isfinite(out[ok]).all():  # overflow such as 1e999
        i = int(np.flatnonzero(ok & ~np.isfinite(out))[0])
        raise ScoringFileError(
            f"{path} line {lines[i]}: {name} '{_show(values.iloc[i])}' is not a finite number"
        )
    return out


def _positions_fast(values: pd.Series) -> np.ndarray | None:
    """The positions when every value is a whole number of at most 10 digits (Arrow
    kernels: no per-row temporaries of Python strings); None otherwise (the checked path
    below then reads them, and names any bad value)."""
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    return positions(text) if len(text) else None


def _positions(values: pd.Series, name: str, path: Path, lines: np.ndarray) -> np.ndarray:
    """Positions as int64, -1 where empty; anything but a whole number in
    [0, MAX_POSITION] is an error naming the line and value."""
    fast = _positions_fast(values)
    if fast is not None:
        return fast
    text = values.str.strip()
    digits = text.str.fullmatch(r"[0-9]+").to_numpy(dtype=bool)  # (\d takes other scripts)
    bad = ~digits & (text != "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = _show(values.iloc[i])
        what = "is negative" if re.fullmatch(r"-[0-9]+", text.iloc[i]) else "is not a whole number"
        raise ScoringFileError(
            f"{path} line {lines[i]}: {name} '{shown}' {what} (positions are whole numbers "
            f"up to {MAX_POSITION})"
        )
    # More than 10 significant digits cannot fit the limit (and could overflow int64).
    too_long = digits & (text.str.lstrip("0").str.len() > len(str(MAX_POSITION))).to_numpy()
    pos = np.full(len(text), -1, dtype=np.int64)
    ok = digits & ~too_long
    pos[ok] = text[ok].astype(np.int64).to_numpy()
    above = too_long | (pos > MAX_POSITION)
    if above.any():
        i = int(np.flatnonzero(above)[0])
        raise ScoringFileError(
            f"{path} line {lines[i]}: {name} '{_show(values.iloc[i])}' is above "
            f"{MAX_POSITION} (2^31 - 1), the largest position prs accepts (VCF positions are "
            "32-bit; PLINK 2 refuses larger ones)"
        )
    return pos


def _open_at(path: Path, gzipped: bool, offset: int) -> io.BufferedIOBase:
    """The (decompressed) bytes of the file from ``offset``: the column header line.

    Both table readers start there rather than skipping lines themselves, so the header
    lines are the ones Python's reader counted, whatever the line ends (``\\r`` alone:
    pandas and Arrow count blank lines before the header differently).
    """
    fh = gzip.open(path, "rb") if gzipped else open(path, "rb")
    try:
        fh.seek(offset)
    except BaseException:
        fh.close()
        raise
    return fh


def _read_table_pandas(path: Path, gzipped: bool, offset: int) -> pd.DataFrame:
    """The table as strings (pandas' C parser: its messages name the malformed line)."""
    # Universal newlines: pandas sees the lines Python's reader saw.
    with io.TextIOWrapper(_open_at(path, gzipped, offset), encoding="utf-8") as fh:
        return pd.read_csv(
            fh,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=3,
            engine="c",
        )


def _read_table_fast(
    path: Path, gzipped: bool, offset: int, column_line: str
) -> pd.DataFrame | None:
    """The table as strings, read by Arrow's multi-threaded CSV reader (about 10x faster
    than pandas on a table of many weight columns).

    None when the file needs the pandas path: duplicated or empty column names
    (trailing tabs), blank or ragged lines, bad UTF-8. That path then reads it again and
    reports the problem with its line number, so errors do not depend on the reader.
    """
    names = column_line.rstrip("\r\n").split("\t")
    if not column_line.strip() or len(set(names)) != len(names) or any(not n for n in names):
        return None
    try:
        with _open_at(path, gzipped, offset) as source:
            arrow = pcsv.read_csv(
                source,
                parse_options=pcsv.ParseOptions(
                    delimiter="\t", quote_char=False, ignore_empty_lines=False
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, *_GZIP_ERRORS):
        return None  # the pandas path reads it again and names the problem
    if arrow.column_names != names:
        return None
    # (self_destruct: each Arrow column is freed once converted, not held to the end)
    return arrow.to_pandas(self_destruct=True, split_blocks=True)


def _resolve_weight_type(
    path: Path,
    header: dict[str, tuple[str, int]],
    rows: pd.DataFrame,
    lines: np.ndarray,
    weights: np.ndarray,
    weight_columns: list[str],
    ratio_only: str | None,
    notes: list[str],
) -> np.ndarray:
    """The weights on the additive (log) scale: ratios converted to their natural log.

    Which rows hold ratios: all of them when only an OR/HR column gives the weights; else
    the row's own ``weight_type`` (format 1.0 column) or the header's. An OR/HR column
    beside effect_weight is evidence checked against the stated type, never a weight.
    Appends a note for each conversion or doubt (warned and kept in provenance).
    """
    ratios = _ratio_rows(path, header, rows, lines, weights, weight_columns, ratio_only, notes)
    if not ratios.rows.any():
        return weights
    return _ratios_to_log(path, rows, lines, weights, weight_columns, ratios, notes)


@dataclass(frozen=True)
class _Ratios:
    """Which rows hold ratio weights, named how (``OR``/``HR``), and why prs thinks so."""

    rows: np.ndarray
    short: str
    sources: list[str]
    from_evidence: bool  # effect_weight equals the OR/HR column


def _ratio_rows(
    path: Path,
    header: dict[str, tuple[str, int]],
    rows: pd.DataFrame,
    lines: np.ndarray,
    weights: np.ndarray,
    weight_columns: list[str],
    ratio_only: str | None,
    notes: list[str],
) -> _Ratios:
    """The rows holding ratios, from the weight source, the header, a ``weight_type``
    column and an OR/HR column beside effect_weight (in that order of precedence)."""
    stated, stated_line = header.get("weight_type", (None, 0))
    header_kind, short = classify(stated)
    where = f"line {stated_line}: weight_type={_show(str(stated))}"
    ratio = np.zeros(len(rows), dtype=bool)
    sources: list[str] = []
    if ratio_only is not None:
        ratio[:] = True
        sources.append(
            f"no effect_weight column: the weights are ln({ratio_only}), as the "
            "PGS Catalog computes them"
        )
        return _Ratios(ratio, ratio_only.strip().upper(), sources, False)
    if header_kind == "ratio":
        ratio[:] = True
        sources.append(where)
    elif header_kind == "unknown":
        notes.append(
            f"{path} {where} is not one prs recognises ({KNOWN_TEXT}); the weights are "
            "used as given, as additive effects (betas or log ratios)"
        )
    if "weight_type" in rows.columns:
        ratio, short = _ratio_rows_by_column(path, rows, lines, ratio, short, sources, notes)
    evidence = [c for c in rows.columns if c.strip().lower() in ("or", "hr")]
    if weight_columns == ["effect_weight"] and len(evidence) == 1:
        checked = _check_against_ratio_column(
            path, rows[evidence[0]], evidence[0], weights[:, 0], ratio, header_kind, where,
            sources, notes,
        )  # fmt: skip
        if checked is not None:
            short = evidence[0].strip().upper() if checked.any() else short
            return _Ratios(checked, short, sources, bool(checked.any()))
    return _Ratios(ratio, short, sources, False)


def _ratio_rows_by_column(
    path: Path,
    rows: pd.DataFrame,
    lines: np.ndarray,
    ratio: np.ndarray,
    short: str,
    sources: list[str],
    notes: list[str],
) -> tuple[np.ndarray, str]:
    """A per-row ``weight_type`` column (format 1.0) overrides the header where filled."""
    per_row = rows["weight_type"].str.strip()
    kinds = {value: classify(value) for value in per_row.unique() if value}
    row_kind = per_row.map(lambda v: kinds[v][0] if v else "").to_numpy(dtype=object)
    row_ratio = row_kind == "ratio"
    ratio = np.where(row_kind != "", row_ratio, ratio)
    if row_ratio.any():
        short = next(kinds[v][1] for v in per_row[row_ratio])
        sources.append(f"the weight_type column says {short} on {int(row_ratio.sum())} row(s)")
    unknown = row_kind == "unknown"
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        notes.append(
            f"{path} line {lines[i]}: weight_type '{_show(per_row.iloc[i])}' is not one "
            f"prs recognises ({KNOWN_TEXT}); {int(unknown.sum())} such row(s) used as given"
        )
    return ratio, short


def _ratios_to_log(
    path: Path,
    rows: pd.DataFrame,
    lines: np.ndarray,
    weights: np.ndarray,
    weight_columns: list[str],
    ratios: _Ratios,
    notes: list[str],
) -> np.ndarray:
    """The weights with ratio rows replaced by their natural log; ratios that are not > 0,
    or whose median says they are log ratios already, are errors."""
    ratio, short, sources = ratios.rows, ratios.short, ratios.sources
    values = weights[ratio]
    bad = ~np.isnan(values) & (values <= 0)
    if bad.any():
        k, j = (int(x[0]) for x in np.nonzero(bad))
        i = int(np.flatnonzero(ratio)[k])
        col = weight_columns[j]
        raise ScoringFileError(
            f"{path} line {lines[i]}: {col} '{_show(rows[col].iloc[i])}' cannot be "
            f"a {ratio_name(short)} (ratios are > 0), but {'; '.join(sources)}. If the "
            f"weights are already log ratios, write weight_type=log({short}) in the header"
        )
    stated_values = values[~np.isnan(values)]
    median = float(np.median(stated_values)) if stated_values.size else 1.0
    if not ratios.from_evidence and median < 0.5:
        # Ratios of a score's variants cluster around 1; small positive weights are log
        # ratios of risk alleles, labelled OR by mistake: their log would be far off.
        raise ScoringFileError(
            f"{path}: {'; '.join(sources)}, but the weights look like log ratios, not "
            f"{ratio_name(short)}s: their median is {median:.4g}, where the "
            f"{ratio_name(short)}s of a score's variants cluster around 1. If they are log "
            f"ratios, write weight_type=log({short}) in the header"
        )
    out = weights.copy()
    out[ratio] = np.log(values)
    notes.append(
        f"{path}: {'; '.join(sources)}: the weights of {int(ratio.sum())} row(s) are "
        f"{ratio_name(short)}s, scored as their natural log (weight = ln({short}))"
    )
    return out


def _check_against_ratio_column(
    path: Path,
    column: pd.Series,
    name: str,
    weights: np.ndarray,
    ratio: np.ndarray,
    header_kind: str,
    where: str,
    sources: list[str],
    notes: list[str],
) -> np.ndarray | None:
    """Compare effect_weight with an author-reported OR/HR column: equal to ln(ratio) on
    every row means log weights, equal to the ratio itself means ratios. Returns which
    rows hold ratios when the evidence decides, None when it does not."""
    reported = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(dtype=float)
    both = np.isfinite(reported) & (reported > 0) & np.isfinite(weights)
    if not both.any():
        return None
    w, r = weights[both], reported[both]
    # The column is often rounded (1.1761) while effect_weight = ln of the unrounded value.
    # (ln r <= r - 1, so no row can pass both tests.)
    is_log = bool(np.allclose(w, np.log(r), rtol=0, atol=0.01))
    is_ratio = bool(np.allclose(w, r, rtol=1e-9, atol=1e-12))
    n = int(both.sum())
    if is_log and ratio[both].all():
        notes.append(
            f"{path}: {'; '.join(sources)}, but effect_weight = ln({name}) on all {n} row(s) "
            f"with a {name}: the weights are already log ratios and are used as given"
        )
        sources.clear()
        return np.zeros_like(ratio)
    if is_ratio and not ratio[both].any():
        if header_kind == "log":
            raise ScoringFileError(
                f"{path} {where}, but effect_weight is equal to the {name} column on all {n} "
                f"row(s) with a {name}: the weights look like ratios. Correct the header "
                f"(weight_type={name.strip().upper()} to score their log) or the weights"
            )
        sources.append(
            f"effect_weight is equal to the {name} column on all {n} row(s) with a {name}"
        )
        return np.ones_like(ratio)
    return None


def read_scorefile(
    path: str | os.PathLike[str],
    *,
    use_harmonized: bool | None = None,
    drop_unscorable: bool = False,
    score_id: str | None = None,
) -> ScoringFile:
    """Read and validate a PGS Catalog scoring file or a custom weight table.

    Parameters
    ----------
    path
        Plain or gzipped tab-separated file. PGS Catalog files (format 1.0 ``# PGS ID =``
        or 2.0 ``#pgs_id=`` headers), or custom tables with columns chrom/chr_name,
        pos/chr_position, effect_allele, optional other_allele and one or more weight
        columns (``effect_weight``, or any other numeric column: one score each). A PLINK
        style ``ID`` column ``chrom:pos:ref:alt`` stands in for chrom and pos.
    use_harmonized
        Read ``hm_chr``/``hm_pos`` (the build in ``HmPOS_build``). Default: when the file
        has them.
    drop_unscorable
        Rows prs cannot score (haplotypes, diplotypes, interactions, non-additive
        ``dosage_*_weight`` rows, non-nucleotide alleles such as HLA or APOE codes) are an
        error by default; with True they are dropped and counted in ``dropped``.
    score_id
        Name of the score when the file has one weight column (default: the header's
        pgs_id, else pgs_name, else the file name).

    Returns
    -------
    ScoringFile

    Raises
    ------
    ScoringFileError
        Naming the file, line and value: a missing required column, a weight that is not
        a finite decimal number (NaN, inf, ``1_000``, text, non-ASCII digits), a position
        that is not a whole number in [0, :data:`prs.genome.MAX_POSITION`] (2^31 - 1, the
        limit VCF and PLINK 2 share), both is_dominant and is_recessive set, an
        unscorable row (unless dropped), a genome build prs does not know, ratio weights
        that are not all > 0. And what the input is when it is not a scoring file: a
        directory, an empty file, a binary, non-UTF-8, zip/bzip2/xz or damaged gzip file,
        a space- or comma-delimited table, a row with more fields than the header line.

    Warns
    -----
    ScoringFileWarning
        Each problem handled (also kept in ``ScoringFile.warnings``, which ``prs.score``
        writes to the provenance): ratio weights converted to their log, an unrecognised
        ``weight_type``, ``variants_number`` disagreeing with the rows read.

    Notes
    -----
    **Genome build.** The header's ``genome_build`` (``HmPOS_build`` when reading
    harmonized positions) must be one the PGS Catalog uses: GRCh37 (hg19), GRCh38
    (hg38), NCBI36 (hg18), also NCBI35 (hg17) as pygscatalog reads, or ``NR`` (not
    reported; also an empty or absent field), which gives ``genome_build=None`` and lets
    :func:`prs.score` assume the genotypes' build with a warning. Any other value
    (``T2T-CHM13``, ``GRCh39``) is refused: its positions would match the wrong variants.

    **Weight type.** A score is a sum of dosage x weight, right for betas and log ratios
    only. The PGS Catalog's ``weight_type`` (header, or a per-row column in format 1.0
    files) is read: ``beta``, ``log(OR)``, ``log(HR)`` and ``NR`` (or absent) are used as
    given; ``OR``, ``HR`` (and ``RR``, "odds ratio", ...) mean the weights are ratios,
    scored as their natural log, ``ln(OR)``, with a :class:`~prs.errors.ScoringFileWarning`
    (``--strict`` makes it an error); a ratio that is not > 0 is an error, and so are
    ratios whose median is below 0.5 (a score's odds ratios cluster around 1: these are
    likely log odds ratios labelled OR; write ``weight_type=log(OR)``). An unrecognised value is
    used as given, with a warning. The PGS Catalog Calculator (pgsc_calc/pygscatalog)
    reads ``weight_type`` as metadata only and converts nothing; prs converts because an
    odds ratio summed as is gives a wrong score without a word. An author-reported
    ``OR``/``HR`` column (PGS000001 has one) is never a weight beside ``effect_weight``:
    it is evidence -- ``effect_weight`` equal to ``ln(OR)`` on every row means the
    weights are already logs (even under ``weight_type=OR``, with a warning);
    ``effect_weight`` equal to the OR column means ratios (converted when the type is
    not reported, an error when the header says ``beta``/``log(OR)``). With no
    ``effect_weight`` nor other weight column, the weight is ``ln(OR)`` (or ``ln(HR)``),
    the PGS Catalog's own rule for these columns.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> sf = read_scorefile(example_paths().scorefile)
    >>> sf.score_ids, sf.genome_build
    (('EXAMPLE_BC01',), 'GRCh38')
    """
    path = Path(path)
    gzipped = _check_path(path)
    try:
        with arrow_strings():  # (a million rows of object strings: ~300 MB more)
            scoring = _read_scorefile(path, gzipped, use_harmonized, drop_unscorable, score_id)
    except ScoringFileError as exc:
        # A damaged deflate stream can decompress to wrong text before its CRC fails: the
        # damage, not the text it produced, is what to report.
        damage = _gzip_damage(path) if gzipped else None
        if damage is not None:
            raise _gzip_error(path, f"its compressed data is corrupt: {damage}") from exc
        raise
    for note in scoring.warnings:
        warn(note, ScoringFileWarning)
    return scoring


def _gzip_damage(path: Path) -> str | None:
    """Why a gzip file does not decompress whole (bad data, CRC, cut short), or None."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except _GZIP_ERRORS as exc:
        return str(exc) or type(exc).__name__
    return None


def _read_scorefile(
    path: Path,
    gzipped: bool,
    use_harmonized: bool | None,
    drop_unscorable: bool,
    score_id: str | None,
) -> ScoringFile:
    """The reader's steps, in the order their errors take precedence: a plain file
    (:func:`_read_batches`) in batches, any other whole."""
    head = _read_head(path, gzipped)
    header_entries = _header_entries(head.header_lines)
    header = {key: value for key, (value, _) in header_entries.items()}
    batched = _read_batches(path, gzipped, head, header_entries, use_harmonized, score_id)
    if batched is not None:
        return batched
    raw = _read_raw(path, gzipped, head)
    table, lines = _drop_empty(path, raw, _data_lines(raw))
    header_names = _check_header_names(path, raw.column_line)
    table, renamed = _canonical_columns(path, table)
    use_harmonized, build_name = _choose_positions(path, header_entries, table, use_harmonized)
    _require_effect_allele(path, raw, table, header_names)
    weight_columns, ratio_only = _weight_columns(path, table, renamed)
    effect = table["effect_allele"].str.strip().str.upper()
    reasons = _unscorable_reasons(path, table, lines, effect)
    table, chrom_raw, pos_raw, pos_name = _position_columns(
        path, raw, table, effect, use_harmonized, header_names
    )
    pos = _positions(pos_raw, pos_name, path, lines)
    # Normalised once per distinct name (a scoring file has few chromosomes, many rows).
    chrom_codes, chrom_names = pd.factorize(chrom_raw)  # (no per-row str objects)
    canonical = [normalize_chrom(c) if c.strip() else "" for c in chrom_names]
    type_code = _effect_type_codes(path, table, lines)
    keep, dropped = _rows_to_keep(path, table, lines, reasons, drop_unscorable)
    notes: list[str] = []
    # One view of the kept rows for every step below: a copy of a wide table (100 weight
    # columns of strings) costs hundreds of MB, and most files keep every row.
    kept = table if keep.all() else table.loc[keep]
    kept_lines = lines[keep]
    weights = _read_weights(
        path, header_entries, kept, kept_lines, weight_columns, ratio_only, notes
    )
    every = keep.all()  # (a mask selecting every row copies every column)

    def kept_rows(column: pd.Series) -> pd.Series:
        return column.reset_index(drop=True) if every else column[keep].reset_index(drop=True)

    variants = pd.DataFrame(
        {
            "line": lines[keep],
            # Columns stay as read (Arrow-backed strings, :func:`arrow_strings`): no per-row
            # objects.
            "rsid": kept_rows(_rsids(table, use_harmonized)),
            "chrom": coded_strings(chrom_codes[keep], canonical),
            "pos": pos[keep],
            "effect_allele": kept_rows(effect),
            "other_allele": kept_rows(_other_alleles(table)),
            "effect_type": coded_strings(type_code[keep], EFFECT_TYPES),
            "allele_frequency": _allele_frequency(path, kept, kept_lines),
        }
    )
    score_ids, weights = _score_columns(path, header, kept, weights, weight_columns, score_id)
    notes.extend(_rows_declared(path, header, len(table)))
    return ScoringFile(
        path=str(path),
        header=header,
        score_ids=score_ids,
        genome_build=canonical_build(build_name),
        variants=variants,
        weights=weights,
        harmonized=bool(use_harmonized),
        dropped=dropped,
        warnings=tuple(notes),
    )


#: Text per batch of :func:`_read_batches` (about 100,000 rows of a PGS Catalog file).
_BATCH_BYTES = 4 << 20
#: Batches between two :func:`prs.memory.release_memory` calls of :func:`_read_batches`.
_RELEASE_EVERY = 4
#: Columns that send a file to the whole-table reader: rows it may refuse, drop or
#: convert (non-additive dosage weights, per-row weight types, ratio evidence,
#: pgsc_calc's long format).
_WHOLE_TABLE_COLUMNS = frozenset(
    {
        "weight_type",
        "accession",
        "or",
        "hr",
        *_DOSAGE_WEIGHT_COLUMNS,
    }
)
#: Flags a batch may hold only as FALSE (:data:`_FALSE`): a TRUE row is refused, dropped
#: or not additive, for the whole-table reader to handle.
_FLAG_COLUMNS = ("is_haplotype", "is_diplotype", "is_interaction", "is_dominant", "is_recessive")
# What a batch read gives up on (the whole-table reader then reads the file and names it).
_BATCH_ERRORS = (pa.ArrowException, UnicodeDecodeError, *_GZIP_ERRORS)


def _read_batches(
    path: Path,
    gzipped: bool,
    head: _Head,
    header_entries: dict[str, tuple[str, int]],
    use_harmonized: bool | None,
    score_id: str | None,
) -> ScoringFile | None:
    """A plain file read in batches of :data:`_BATCH_BYTES` of text, each converted to
    compact columns at once (positions ``int64``, weights ``float64``, alleles Arrow
    strings, chromosomes coded) and its text freed: the peak is the result plus one
    batch, not the file's text table (~2 GB for 6 million rows, read whole).

    None -- the whole-table reader takes over, and gives the same values or names the
    problem -- unless the file is plain: unique, non-empty column names; positions from
    ``hm_chr``/``hm_pos`` or ``chr_name``/``chr_position``; every row with as many fields
    as the header line, a position (or an empty one), a nucleotide effect allele and
    finite weights; no column that makes rows refused, dropped or converted
    (:data:`_WHOLE_TABLE_COLUMNS`); a weight type stated as log/beta or not reported.
    So it never raises, and returns exactly what the whole-table reader would.
    """
    names = head.column_line.rstrip("\r\n").split("\t")
    if len(set(names)) != len(names) or any(
        not n.strip() or n.startswith("Unnamed:") for n in names
    ):
        return None
    try:
        _check_header_names(path, head.column_line)
        table, renamed = _canonical_columns(path, pd.DataFrame(columns=names))
        harmonized, build_name = _choose_positions(path, header_entries, table, use_harmonized)
        weight_columns, ratio_only = _weight_columns(path, table, renamed)
    except ScoringFileError:
        return None
    columns = list(table.columns)
    stated = header_entries.get("weight_type", (None, 0))[0]
    if (
        {c.strip().lower() for c in columns} & _WHOLE_TABLE_COLUMNS
        or "effect_allele" not in columns
        or ratio_only is not None
        or classify(stated)[0] not in ("log", "not reported")
    ):
        return None
    if harmonized:
        chrom_name, pos_name = "hm_chr", "hm_pos"
    elif {"chr_name", "chr_position"} <= set(columns):
        chrom_name, pos_name = "chr_name", "chr_position"
    else:
        return None
    index = {name: i for i, name in enumerate(columns)}  # (canonical name -> field)
    rsid_names = [c for c in ("hm_rsID", "rsID") if c in index and (harmonized or c == "rsID")]
    other_name = next((c for c in ("other_allele", "hm_inferOtherAllele") if c in index), None)
    with_freq = "allelefrequency_effect" in index
    allow_empty = len(weight_columns) > 1
    # Values of these columns a batch may hold (trimmed, lower-cased): all rows additive.
    plain_values = {c: pa.array(sorted(_FALSE)) for c in _FLAG_COLUMNS if c in index}
    if "effect_type" in index:
        plain_values["effect_type"] = pa.array(["", "additive"])

    chrom: list[pa.Array] = []
    code_of: dict[str, int] = {}  # raw chromosome name -> code into ``canonical``
    canonical: list[str] = []
    pos: list[np.ndarray] = []
    effect: list[pa.Array] = []
    other: list[pa.Array] = []
    rsid: list[pa.Array] = []
    weights: list[list[np.ndarray]] = [[] for _ in weight_columns]
    freq: list[np.ndarray] = []
    try:
        with _open_at(path, gzipped, head.offset) as source:
            reader = pcsv.open_csv(
                source,
                read_options=pcsv.ReadOptions(block_size=_BATCH_BYTES),
                parse_options=pcsv.ParseOptions(
                    delimiter="\t", quote_char=False, ignore_empty_lines=False
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            if reader.schema.names != names:
                return None
            for k, batch in enumerate(reader):
                if not batch.num_rows:
                    continue
                field_of = batch.column
                batch_pos = positions(field_of(index[pos_name]), allow_empty=True)
                batch_effect, plain = alleles(field_of(index["effect_allele"]))
                if batch_pos is None or not plain:
                    return None
                batch_weights = [
                    numbers(field_of(index[c]), allow_empty=allow_empty) for c in weight_columns
                ]
                batch_freq = (
                    numbers(field_of(index["allelefrequency_effect"]), allow_empty=True)
                    if with_freq
                    else None
                )
                if not all(_only(field_of(index[c]), values) for c, values in plain_values.items()):
                    return None
                if any(w is None for w in batch_weights) or (
                    with_freq
                    and (batch_freq is None or ((batch_freq < 0) | (batch_freq > 1)).any())
                ):
                    return None
                encoded = pc.dictionary_encode(field_of(index[chrom_name]))
                for name in encoded.dictionary.to_pylist():
                    if name not in code_of:
                        code_of[name] = len(canonical)
                        canonical.append(normalize_chrom(name) if name.strip() else "")
                lookup = np.array([code_of[n] for n in encoded.dictionary.to_pylist()], np.int32)
                codes = lookup[encoded.indices.to_numpy(zero_copy_only=False)]
                chrom.append(_named(canonical, codes))
                pos.append(batch_pos)
                effect.append(batch_effect)
                if other_name is not None:
                    other.append(_batch_other(field_of(index[other_name]), other_name))
                if rsid_names:
                    rsid.append(_batch_rsid([field_of(index[c]) for c in rsid_names]))
                for column, values in zip(weights, batch_weights, strict=True):
                    column.append(values)
                if batch_freq is not None:
                    freq.append(batch_freq)
                if k % _RELEASE_EVERY == _RELEASE_EVERY - 1:
                    # glibc keeps the batches' freed temporaries between the kept columns'
                    # pieces: handed back, the peak is ~15% lower (6M rows: 0.90 -> 0.78 GB)
                    release_memory()
    except _BATCH_ERRORS:
        return None
    sizes = [len(p) for p in pos]
    n_rows = sum(sizes)
    if not n_rows:
        return None
    first = head.column_line_number + 1
    weight_table = np.empty((n_rows, len(weight_columns)))
    for j, column in enumerate(weights):
        weight_table[:, j] = _joined(column)

    def blank() -> pd.Series:
        return _joined_strings([_named([""], np.zeros(n_rows, dtype=np.int8))])

    variants = pd.DataFrame(
        {
            "line": np.arange(first, first + n_rows, dtype=np.int64),
            "rsid": _joined_strings(rsid) if rsid_names else blank(),
            "chrom": _joined_strings(chrom),
            "pos": _joined(pos),
            "effect_allele": _joined_strings(effect),
            "other_allele": _joined_strings(other) if other_name is not None else blank(),
            "effect_type": _joined_strings(
                [_named(EFFECT_TYPES, np.full(k, ADDITIVE, np.int8)) for k in sizes]
            ),
            "allele_frequency": _joined(freq) if with_freq else np.full(n_rows, np.nan),
        },
        copy=False,  # (not consolidated: line and pos would be copied into one 2-D block)
    )
    header = {key: value for key, (value, _) in header_entries.items()}
    score_ids, weight_table = _score_columns(
        path, header, table, weight_table, weight_columns, score_id
    )
    return ScoringFile(
        path=str(path),
        header=header,
        score_ids=score_ids,
        genome_build=canonical_build(build_name),
        variants=variants,
        weights=weight_table,
        harmonized=bool(harmonized),
        warnings=tuple(_rows_declared(path, header, n_rows)),
    )


def _only(text: pa.Array, values: pa.Array) -> bool:
    """Whether every value, trimmed and lower-cased, is one of ``values``."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    return bool(pc.all(pc.is_in(lowered, value_set=values)).as_py())


def _batch_other(text: pa.Array, name: str) -> pa.Array:
    """A batch's other alleles as :func:`_other_alleles` gives them: ``other_allele``
    trimmed and upper-cased, or a single ``hm_inferOtherAllele`` (else empty)."""
    values, _ = alleles(text)
    if name == "other_allele":
        return values
    single = pc.match_substring_regex(values, NUCLEOTIDES_REGEX)
    return pc.if_else(single, values, pa.scalar("", pa.large_string()))


def _batch_rsid(texts: list[pa.Array]) -> pa.Array:
    """A batch's rsIDs as :func:`_rsids` gives them: the first column trimmed (hm_rsID,
    else rsID), the second where it is empty."""
    rsid = pc.utf8_trim_whitespace(texts[0]).cast(pa.large_string())
    if len(texts) > 1:
        fallback = pc.utf8_trim_whitespace(texts[1]).cast(pa.large_string())
        rsid = pc.if_else(pc.equal(rsid, ""), fallback, rsid)
    return rsid


def _named(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """``names[codes[i]]`` as Arrow ``large_string`` (pandas' storage: not converted)."""
    return pa.array(list(names), type=pa.large_string()).take(pa.array(codes))


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    """Batches of values as one array; the list is emptied (each batch freed)."""
    out = np.concatenate(chunks)
    chunks.clear()
    return out


def _joined_strings(chunks: list[pa.Array]) -> pd.Series:
    """Batches of strings as one pandas string column (the batches kept as Arrow chunks,
    not copied); the list is emptied."""
    column = pa.chunked_array(chunks, type=pa.large_string())
    chunks.clear()
    return column.to_pandas()


def _rows_declared(path: Path, header: dict[str, str], n_rows: int) -> list[str]:
    """A note when the header's ``variants_number`` is not the number of rows read."""
    declared = header.get("variants_number")
    if declared and declared.isdigit() and int(declared) != n_rows:
        return [
            f"{path}: header says variants_number={declared} but {n_rows} rows were read "
            "(possible truncation or an edited file)"
        ]
    return []


@dataclass(frozen=True)
class _RawTable:
    """A scoring file as read: its metadata lines, its column header line, its table of
    strings (one row per line after the column header line)."""

    header_lines: list[str]
    column_line: str
    table: pd.DataFrame

    @property
    def column_line_number(self) -> int:
        return len(self.header_lines) + 1


@dataclass(frozen=True)
class _Head:
    """What precedes a scoring file's table: its metadata lines, its column header line,
    and where that line starts in the (decompressed) bytes."""

    header_lines: list[str]
    column_line: str
    offset: int

    @property
    def column_line_number(self) -> int:
        return len(self.header_lines) + 1


@contextlib.contextmanager
def _reading_errors(path: Path, gzipped: bool) -> Iterator[None]:
    """Map what goes wrong in reading (not text, damaged gzip, malformed table) to errors."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise _not_text_error(path, gzipped) from exc
    except _GZIP_ERRORS as exc:
        if gzipped:
            raise _gzip_error(path, f"its compressed data is corrupt: {exc}") from exc
        raise ScoringFileError(f"{path}: cannot read scoring file ({exc})") from exc
    except pd.errors.ParserError as exc:
        raise ScoringFileError(f"{path}: malformed table ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise ScoringFileError(f"{path}: no column header line after the metadata") from exc


def _read_head(path: Path, gzipped: bool) -> _Head:
    """The metadata lines, the column header line and its offset (:class:`_Head`)."""
    with _reading_errors(path, gzipped):
        header_lines, column_line = _split_header(path, gzipped)
        # Where the column header line starts, in the (decompressed) bytes.
        offset = sum(len(line.encode("utf-8")) for line in header_lines)
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as raw:
            offset += 3 if raw.read(3) == b"\xef\xbb\xbf" else 0
    return _Head(header_lines, column_line, offset)


def _read_raw(path: Path, gzipped: bool, head: _Head) -> _RawTable:
    """The table after ``head`` as strings, whole (Arrow's reader, else pandas', whose
    messages name a malformed line)."""
    header_lines, column_line, offset = head.header_lines, head.column_line, head.offset
    with _reading_errors(path, gzipped):
        table = _read_table_fast(path, gzipped, offset, column_line)
        if table is None:
            names = column_line.rstrip("\r\n").split("\t")
            _check_rows(path, gzipped, offset, len(header_lines), names)
            table = _read_table_pandas(path, gzipped, offset)
    return _RawTable(header_lines, column_line, table)


def _split_header(path: Path, gzipped: bool) -> tuple[list[str], str]:
    """The metadata lines (and blank lines) before the column header line, and that line;
    refuses a file without one, and a VCF."""
    header_lines: list[str] = []
    column_line = ""
    with _open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            if "\x00" in line:
                raise _binary_line(path, number)
            if (line.startswith("#") and not line.lower().startswith("#chrom\t")) or (
                not line.strip()
            ):
                header_lines.append(line)  # metadata, or blank lines before the header
                continue
            column_line = line
            break
    if not column_line:
        if not any(line.strip() for line in header_lines):
            inside = " (a gzip file holding no text)" if gzipped else ""
            raise ScoringFileError(f"{path}: is empty{inside}: no column header line")
        raise ScoringFileError(
            f"{path}: {len(header_lines)} metadata line(s) but no column header line "
            "(the tab-separated line naming the columns, e.g. chr_name, chr_position, "
            "effect_allele, effect_weight) and no variant rows"
        )
    if (header_lines and header_lines[0].startswith("##fileformat=VCF")) or (
        column_line.upper().startswith("#CHROM\tPOS\tID\tREF\tALT")
    ):
        raise ScoringFileError(
            f"{path}: is a VCF (genotypes), not a scoring file; give it as the genotypes "
            "(--vcf) and a PGS Catalog scoring file or weight table as the scoring file"
        )
    _check_column_line(path, len(header_lines) + 1, column_line)
    return header_lines, column_line


def _data_lines(raw: _RawTable) -> np.ndarray:
    """The 1-based file line of each table row."""
    first = raw.column_line_number + 1
    return np.arange(first, first + len(raw.table), dtype=np.int64)


def _drop_empty(path: Path, raw: _RawTable, lines: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The table without unnamed empty columns (trailing tabs of spreadsheet-edited files)
    and blank rows, with the rows' line numbers; a filled unnamed field or no rows at all
    is an error."""
    table = raw.table
    unnamed = [c for c in table.columns if str(c).startswith("Unnamed:") or str(c).strip() == ""]
    for col in unnamed:
        filled = (table[col].str.strip() != "").to_numpy()
        if filled.any():
            i = int(np.flatnonzero(filled)[0])
            field_number = list(table.columns).index(col) + 1
            raise ScoringFileError(
                f"{path} line {lines[i]}: field {field_number} holds "
                f"'{_show(table[col].iloc[i])}' but the column header line (line "
                f"{raw.column_line_number}) names no column there"
            )
    if unnamed:  # (drop copies the whole table even when there is nothing to drop)
        table = table.drop(columns=unnamed)
    blank = np.zeros(len(table), dtype=bool)
    if len(table.columns):
        # A row is blank when every field is: test the first column, then only those rows.
        candidates = np.flatnonzero((table.iloc[:, 0].str.strip() == "").to_numpy())
        if len(candidates):
            rest = table.iloc[candidates]
            blank[candidates] = rest.apply(lambda s: s.str.strip() == "").all(axis=1).to_numpy()
    if blank.any():
        table = table.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    if len(table) == 0:
        raise ScoringFileError(
            f"{path}: no variant rows after the column header line (line {raw.column_line_number})"
        )
    return table, lines


def _check_header_names(path: Path, column_line: str) -> list[str]:
    """The column names as the header line writes them (pandas renames a repeated "w" to
    "w.1", which a file may also hold as a distinct column); a repeated name is an error."""
    header_names = [n for n in column_line.rstrip("\r\n").split("\t") if n.strip()]
    repeated = [n for n, k in Counter(header_names).items() if k > 1]
    if repeated:
        raise ScoringFileError(
            f"{path}: column {repeated[0]!r} appears more than once in the header line"
        )
    return header_names


# Columns two aliases may not both give (the others: the first one is used).
_UNIQUE_MEANING = ("effect_weight", "chr_name", "chr_position", "effect_allele", "other_allele")


def _canonical_columns(path: Path, table: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """The table with aliased columns under their canonical names (``_COLUMN_ALIASES``),
    and the set of names given by renaming."""
    rename: dict[str, str] = {}
    present = set(table.columns)
    for col in table.columns:
        canonical = _COLUMN_ALIASES.get(col.strip().lower())
        if canonical is None or canonical == col:
            continue
        if canonical in present or canonical in rename.values():
            if canonical in _UNIQUE_MEANING:
                other = (
                    canonical
                    if canonical in present
                    else next(k for k, v in rename.items() if v == canonical)
                )
                raise ScoringFileError(
                    f"{path}: columns {other!r} and {col!r} both mean {canonical}; keep one of them"
                )
            continue
        rename[col] = canonical
    # (rename copies the whole table even when nothing is renamed)
    return (table.rename(columns=rename) if rename else table), set(rename.values())


def _choose_positions(
    path: Path,
    header_entries: dict[str, tuple[str, int]],
    table: pd.DataFrame,
    use_harmonized: bool | None,
) -> tuple[bool, str | None]:
    """Whether to read the harmonized positions, and the build they are in (as written);
    a build prs does not know is an error naming the header line."""
    harmonized_available = {"hm_chr", "hm_pos"} <= set(table.columns)
    if use_harmonized is None:
        stated = header_entries.get("HmPOS_build", ("", 0))[0]
        use_harmonized = harmonized_available and bool(stated)
    if use_harmonized and not harmonized_available:
        raise ScoringFileError(
            f"{path}: harmonized positions requested but the file has no hm_chr/hm_pos columns"
        )
    build_key = "HmPOS_build" if use_harmonized else "genome_build"
    build_name, build_line = header_entries.get(build_key, (None, 0))
    if canonical_build(build_name) is None and not build_not_reported(build_name):
        raise ScoringFileError(
            f"{path} line {build_line}: {build_key}={_show(str(build_name))} is not a genome "
            f"build prs knows ({KNOWN_BUILDS_TEXT}); its positions would be matched as if "
            "they were another build's. Use a file harmonized to GRCh37 or GRCh38 (the PGS "
            "Catalog's hmPOS files), or lift the positions over"
        )
    return bool(use_harmonized), build_name


def _require_effect_allele(
    path: Path, raw: _RawTable, table: pd.DataFrame, header_names: list[str]
) -> None:
    if "effect_allele" not in table.columns:
        raise ScoringFileError(
            f"{path}: required column effect_allele is missing (line "
            f"{raw.column_line_number}, the column header line, names: "
            f"{_show(', '.join(header_names))})" + _header_looks_like_a_row(header_names)
        )


def _weight_columns(
    path: Path, table: pd.DataFrame, renamed: set[str]
) -> tuple[list[str], str | None]:
    """The columns holding weights (one score each), and the OR/HR column when the weights
    are its log (no effect_weight: the PGS Catalog's rule)."""
    columns = set(table.columns)
    has_dosage_weights = any(c in columns for c in _DOSAGE_WEIGHT_COLUMNS)
    if "effect_weight" in columns:
        return ["effect_weight"], None
    used = {"chr_name", "chr_position", "effect_allele", "other_allele"}
    weight_columns = [
        c
        for c in table.columns
        if c not in used
        and c.lower() not in _METADATA_COLUMNS
        and c not in _DOSAGE_WEIGHT_COLUMNS
        and c not in renamed
    ]
    ratio_columns = [c for c in table.columns if c.strip().lower() in ("or", "hr")]
    if not weight_columns and not has_dosage_weights and len(ratio_columns) == 1:
        # The PGS Catalog's rule: with no effect_weight, the weight is log(OR)/log(HR).
        return ratio_columns, ratio_columns[0]
    if not weight_columns and not has_dosage_weights:
        raise ScoringFileError(
            f"{path}: no weight column (expected effect_weight, or custom weight columns)"
        )
    return weight_columns, None


# Why a row cannot be scored, in the order a row's first reason is taken.
_UNSCORABLE = (
    ("is_haplotype", "haplotype"),
    ("is_diplotype", "diplotype"),
    ("is_interaction", "interaction"),
    ("", "non-additive dosage weights"),
    ("", "empty effect allele"),
    ("", "non-nucleotide effect allele"),
)


def _unscorable_reasons(
    path: Path, table: pd.DataFrame, lines: np.ndarray, effect: pd.Series
) -> np.ndarray:
    """Per row, the index in ``_UNSCORABLE`` of the first reason it cannot be scored, -1
    for a scorable row."""
    columns = set(table.columns)
    masks: list[np.ndarray | None] = []
    for col, _ in _UNSCORABLE[:3]:
        masks.append(_bool_column(table[col], col, path, lines) if col in columns else None)
    dosage_columns = [c for c in _DOSAGE_WEIGHT_COLUMNS if c in columns]
    any_dosage = np.zeros(len(table), dtype=bool)
    for col in dosage_columns:
        any_dosage |= (table[col].str.strip() != "").to_numpy()
    masks.append(any_dosage if dosage_columns else None)
    masks.append((effect == "").to_numpy(dtype=bool))
    masks.append(~effect.str.fullmatch(_NUCLEOTIDES).to_numpy(dtype=bool))
    reasons = np.full(len(table), -1, dtype=np.int64)
    for code, mask in enumerate(masks):
        if mask is not None:
            reasons[mask & (reasons < 0)] = code
    return reasons


def _position_columns(
    path: Path,
    raw: _RawTable,
    table: pd.DataFrame,
    effect: pd.Series,
    use_harmonized: bool,
    header_names: list[str],
) -> tuple[pd.DataFrame, pd.Series, pd.Series, str]:
    """The chromosome and position columns to read (harmonized, author-reported, a PLINK
    style ``ID`` chrom:pos:ref:alt, or none for rsID-only files) and the position's name
    for messages; an ``ID`` column's alleles give ``other_allele`` when it is absent."""
    columns = set(table.columns)
    if use_harmonized:
        return table, table["hm_chr"], table["hm_pos"], "hm_pos"
    if {"chr_name", "chr_position"} <= columns:
        return table, table["chr_name"], table["chr_position"], "chr_position"
    if "ID" in columns:
        parts = table["ID"].str.split(":", n=3, expand=True)
        if parts.shape[1] < 2:
            raise ScoringFileError(f"{path}: ID column is not of the form chrom:pos:ref:alt")
        if "other_allele" not in columns and parts.shape[1] == 4:
            ref, alt = parts[2].fillna("").str.upper(), parts[3].fillna("").str.upper()
            table = table.assign(other_allele=np.where(effect == alt, ref, alt))
        return table, parts[0].fillna(""), parts[1].fillna(""), "ID position"
    if "rsID" in columns:
        chrom_raw = table["chr_name"] if "chr_name" in columns else pd.Series([""] * len(table))
        return table, chrom_raw, pd.Series([""] * len(table)), "chr_position"
    raise ScoringFileError(
        f"{path}: required columns chr_name and chr_position (or hm_chr/hm_pos, or rsID) "
        f"are missing (line {raw.column_line_number}, the column header line, names: "
        f"{_show(', '.join(header_names))})" + _header_looks_like_a_row(header_names)
    )


def _without_positions(variants: pd.DataFrame) -> bool:
    """No row has a position and some row has an rsID: an rsID-only file."""
    if not len(variants) or (variants["pos"].to_numpy() >= 0).any():
        return False
    rsid = pd.Series(variants["rsid"], copy=False).fillna("")
    return bool((~rsid.isin(["", "."])).any())


def _effect_type_codes(path: Path, table: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
    """Each row's effect type as its code in :data:`EFFECT_TYPES`: from ``is_dominant`` /
    ``is_recessive``, else an ``effect_type`` column, else additive."""
    columns = set(table.columns)
    no = np.zeros(len(table), dtype=bool)
    dominant = (
        _bool_column(table["is_dominant"], "is_dominant", path, lines)
        if ("is_dominant" in columns)
        else no
    )
    recessive = (
        _bool_column(table["is_recessive"], "is_recessive", path, lines)
        if ("is_recessive" in columns)
        else no
    )
    both = dominant & recessive
    if both.any():
        i = int(np.flatnonzero(both)[0])
        raise ScoringFileError(
            f"{path} line {lines[i]}: is_dominant and is_recessive are both TRUE "
            "(a row is dominant, recessive or neither)"
        )
    codes = np.where(dominant, DOMINANT, np.where(recessive, RECESSIVE, ADDITIVE))
    if "effect_type" in columns:
        given = table["effect_type"].str.strip().str.lower().replace("", "additive").to_numpy()
        unknown = ~np.isin(given, EFFECT_TYPES)
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise ScoringFileError(
                f"{path} line {lines[i]}: effect_type '{_show(table['effect_type'].iloc[i])}' "
                f"is not one of {', '.join(EFFECT_TYPES)}"
            )
        given_code = np.searchsorted(np.array(EFFECT_TYPES), given)  # (sorted names)
        codes = np.where(codes == ADDITIVE, given_code, codes)
    return codes


def _rows_to_keep(
    path: Path,
    table: pd.DataFrame,
    lines: np.ndarray,
    reasons: np.ndarray,
    drop_unscorable: bool,
) -> tuple[np.ndarray, dict[str, int]]:
    """The scorable rows, and the others counted by reason; unscorable rows are an error
    unless ``drop_unscorable``."""
    scorable = reasons < 0
    names = [name for _, name in _UNSCORABLE]
    dropped = {names[code]: int(n) for code, n in Counter(reasons[~scorable].tolist()).items()}
    if not scorable.all() and not drop_unscorable:
        i = int(np.flatnonzero(~scorable)[0])
        summary = ", ".join(f"{n} {r}" for r, n in sorted(dropped.items()))
        raise ScoringFileError(
            f"{path} line {lines[i]}: row cannot be scored ({names[reasons[i]]}: effect allele "
            f"'{_show(table['effect_allele'].iloc[i])}'); {int((~scorable).sum())} such row(s) "
            f"({summary}). Pass drop_unscorable=True (--drop-unscorable) to drop and count them"
        )
    return scorable, dropped


def _read_weights(
    path: Path,
    header_entries: dict[str, tuple[str, int]],
    kept: pd.DataFrame,
    kept_lines: np.ndarray,
    weight_columns: list[str],
    ratio_only: str | None,
    notes: list[str],
) -> np.ndarray:
    """The kept rows' weights (dropped complex rows may carry no effect_weight), on the
    additive scale (:func:`_resolve_weight_type`)."""
    weights = np.empty((len(kept), len(weight_columns)))
    for j, col in enumerate(weight_columns):
        allow_empty = len(weight_columns) > 1
        weights[:, j] = _numeric_column(kept[col], col, path, kept_lines, allow_empty=allow_empty)
    return _resolve_weight_type(
        path, header_entries, kept, kept_lines, weights, weight_columns, ratio_only, notes
    )


def _allele_frequency(path: Path, kept: pd.DataFrame, kept_lines: np.ndarray) -> np.ndarray:
    """``allelefrequency_effect`` of the kept rows (NaN where absent), within [0, 1]."""
    if "allelefrequency_effect" not in kept.columns:
        return np.full(len(kept), np.nan)
    freq = _numeric_column(
        kept["allelefrequency_effect"], "allelefrequency_effect", path, kept_lines,
        allow_empty=True,
    )  # fmt: skip
    out_of_range = (freq < 0) | (freq > 1)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        raise ScoringFileError(
            f"{path} line {kept_lines[i]}: allelefrequency_effect '{freq[i]}' is outside [0, 1]"
        )
    return freq


def _other_alleles(table: pd.DataFrame) -> pd.Series:
    """``other_allele``, else a single ``hm_inferOtherAllele``, else empty."""
    if "other_allele" in table.columns:
        return table["other_allele"].str.strip().str.upper()
    if "hm_inferOtherAllele" in table.columns:
        # Only a single inferred allele is usable; "A/G" lists several candidates.
        inferred = table["hm_inferOtherAllele"].str.strip().str.upper()
        return inferred.where(inferred.str.fullmatch(_NUCLEOTIDES), "")
    return pd.Series([""] * len(table))


def _rsids(table: pd.DataFrame, use_harmonized: bool) -> pd.Series:
    """``hm_rsID`` when read harmonized (``rsID`` where it is empty), else ``rsID``."""
    columns = set(table.columns)
    rsid_col = "hm_rsID" if use_harmonized and "hm_rsID" in columns else "rsID"
    rsid = table[rsid_col].str.strip() if rsid_col in columns else pd.Series([""] * len(table))
    if rsid_col == "hm_rsID" and "rsID" in columns:
        rsid = rsid.where(rsid != "", table["rsID"].str.strip())
    return rsid


def _score_columns(
    path: Path,
    header: dict[str, str],
    kept: pd.DataFrame,
    weights: np.ndarray,
    weight_columns: list[str],
    score_id: str | None,
) -> tuple[tuple[str, ...], np.ndarray]:
    """The score names and the weights with one column per score: pgsc_calc's combined
    long format (an ``accession`` column, one row per score and variant) is spread out."""
    if "accession" in kept.columns and weight_columns == ["effect_weight"]:
        accession = kept["accession"].str.strip().to_numpy(dtype=object)
        score_ids: tuple[str, ...] = tuple(dict.fromkeys(accession))
        wide = np.full((len(accession), len(score_ids)), np.nan)
        column_of = {name: j for j, name in enumerate(score_ids)}
        wide[np.arange(len(accession)), [column_of[a] for a in accession]] = weights[:, 0]
        return score_ids, wide
    if len(weight_columns) == 1:
        name = score_id or header.get("pgs_id") or header.get("pgs_name") or _stem(path)
        return (name,), weights
    return tuple(weight_columns), weights


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".txt", ".tsv", ".scorefile"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name
