"""Matching scoring-file rows to target variants, with every row's fate explained.

A scoring row matches a target record at the same canonical chromosome and position when
its alleles fit the record's, tried in this order:

1. ``alt``: effect allele = an ALT allele (other allele = REF, or not given);
2. ``ref``: effect allele = REF (other allele = an ALT, or not given);
3. ``alt_flip`` / ``ref_flip``: the same after complementing both alleles (the scoring file
   was written on the other strand).

Strand-ambiguous SNPs (A/T, C/G) cannot be told apart from their flip; they are excluded by
default (as the PGS Catalog Calculator does) and matched without flipping when
``keep_ambiguous=True``. Within one score a target allele is used at most once (duplicated
scoring rows and duplicated target records are excluded after the first, with a reason).

A scoring row without a position (an rsID-only file) is matched instead through the
target's variant IDs (the VCF ID column, a ``.pvar``/``.bim`` ID, a BGEN rsid), with the
same allele rules; the report's ``matched_by`` column says ``rsid`` and a
:class:`~prs.errors.RsidMatchWarning` says that an rsID carries no genome build. With
``min_r2=``, a match at a target variant whose imputation quality (the site table's ``r2``)
is below the threshold is excluded (``excluded_low_r2``). Rows lifted to the target's build
(:mod:`prs.weights.liftover`) keep their original position and liftover fate in the report.
The full vocabulary, and its translation to the PGS Catalog Calculator's, is in
``docs/matching.md`` (:func:`pgsc_calc_names`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from prs.columns import coded_strings
from prs.errors import (
    MatchError,
    RsidMatchWarning,
    ScoreError,
    ScoreWarning,
    ScoringFileError,
    ScoringFileWarning,
    warn,
)
from prs.genotypes.base import sorted_unique
from prs.memory import release_memory
from prs.vocab import LIFTOVER_FATES, MATCH_KEYS
from prs.weights.scorefile import ScoringFile, arrow_strings

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")

#: Outcomes of a scoring row, per score, as written in the match report.
OUTCOMES = (
    "matched",
    "excluded_ambiguous",
    "excluded_duplicate_row",
    "excluded_duplicate_target",
    "unmatched_no_position",
    "unmatched_no_site",
    "unmatched_allele_mismatch",
    "unmatched_no_id",
    "excluded_low_r2",
    "unmatched_unliftable",
)

_OUTCOME_CODE = {name: i for i, name in enumerate(OUTCOMES)}

#: Default minimum fraction of a score's rows that must match (as the PGS Catalog Calculator).
DEFAULT_MIN_OVERLAP = 0.75


def complement(allele: str) -> str:
    """Complement of a nucleotide string (``"AC"`` -> ``"TG"``), not reversed."""
    return allele.translate(_COMPLEMENT)


def is_ambiguous(a: str, b: str) -> bool:
    """True for a strand-ambiguous SNP pair (A/T or C/G)."""
    return len(a) == 1 and len(b) == 1 and complement(a) == b


def _shared_codes(columns: list[pd.Series]) -> tuple[list[np.ndarray], pd.Index]:
    """Integer codes of several string columns in one shared vocabulary (Arrow-backed
    columns are encoded without a Python object per row)."""
    codes: list[np.ndarray] = []
    uniques: list[np.ndarray] = []
    for column in columns:
        # Missing values (code -1) are "" below: no filled copy of the column is made, and
        # codes are kept as int32 (millions of rows: the peak of matching).
        c, u = pd.factorize(pd.Series(column, copy=False))
        codes.append(c.astype(np.int32))
        del c
        uniques.append(np.asarray(u, dtype=object))
    missing = [""] if any((c < 0).any() for c in codes) else []
    vocab = pd.Index(
        np.concatenate([*uniques, np.array(missing, dtype=object)]) if uniques else [],
        dtype=object,
    ).unique()
    shared = []
    for c, u in zip(codes, uniques, strict=True):
        # The last entry is the code of a missing value ("").
        lookup = vocab.get_indexer([*u, ""]).astype(np.int32)
        shared.append(lookup[c])
    codes.clear()
    return shared, vocab


class _Alleles:
    """Allele columns as codes in one vocabulary, with each code's complement and length.

    The complement of an allele that no column holds gets a code of its own below -1, so it
    equals nothing; comparisons of codes are then comparisons of the strings.
    """

    def __init__(self, columns: list[pd.Series]) -> None:
        self.codes, vocab = _shared_codes(columns)
        complements = vocab.get_indexer([complement(str(a)) for a in vocab]).astype(np.int32)
        absent = np.flatnonzero(complements < 0)
        complements[absent] = -2 - absent
        self.complement = complements
        self.length = np.array([len(str(a)) for a in vocab], dtype=np.int32)
        self.empty = int(vocab.get_indexer([""])[0])  # -1: no empty allele anywhere


@dataclass(frozen=True)
class MatchPlan:
    """What to read and how to weight it: one entry per (target record, allele) used.

    Attributes
    ----------
    record, allele
        ``int64[m]`` target record and allele index to count (0 = REF), sorted by record.
    effect_type
        ``int8[m]``: codes of :data:`prs.vocab.EFFECT_TYPES` (0 additive, 1 dominant,
        2 recessive), as the kernels take them.
    weights
        ``float64[m, n_scores]``; NaN where the score does not use this entry.
    allele_frequency
        ``float64[m]`` effect-allele frequency from the scoring file (NaN where absent).
    line
        ``int64[m]`` scoring-file line of the row behind each entry.
    score_ids
        Score names, one per weight column.
    """

    record: np.ndarray
    allele: np.ndarray
    effect_type: np.ndarray
    weights: np.ndarray
    allele_frequency: np.ndarray
    line: np.ndarray
    score_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.record)


@dataclass(frozen=True)
class MatchReport:
    """Every scoring row's fate.

    Attributes
    ----------
    variants
        One row per scoring row: line, score (the ID of the score that weights the row, or
        ``*`` when several do), n_scores (how many), chrom, pos, effect/other allele,
        effect_type, match_type (alt, ref, alt_flip, ref_flip or empty), effect_weight (empty
        for ``*``), target record, target ID/REF/ALT, flipped, ambiguous, multiallelic,
        matched_by (:data:`prs.vocab.MATCH_KEYS`: position or rsid; empty when unmatched),
        excluded, outcome (:data:`OUTCOMES`), reason; then, when known, source_chrom,
        source_pos and liftover (a lifted scoring file: :data:`prs.vocab.LIFTOVER_FATES`),
        target_r2 and target_imputed (genotypes with imputation quality). A row whose fate
        differs between the scores that weight it (a duplicate in one score only) is given
        one row per score instead. A PGS Catalog file (one score) therefore has exactly one
        report row per scoring row, and a table of 100 weight columns does not need 100
        times the rows. :func:`pgsc_calc_names` gives the PGS Catalog Calculator's
        ``match_status``/``match_type`` of each row.
    counts
        Outcome counts per score (index: score, columns: :data:`OUTCOMES`, n_rows, match_rate).
    notes
        Messages about the match (e.g. ``"PGS000004: 272/300 rows matched"``).

    Examples
    --------
    >>> from prs.example import example_paths
    >>> from prs.weights import read_scorefile
    >>> from prs.genotypes import open_genotypes
    >>> import warnings
    >>> paths = example_paths()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _, report = match_variants(
    ...         read_scorefile(paths.scorefile), open_genotypes(paths.vcf).sites()
    ...     )
    >>> print(repr(report).splitlines()[0])  # doctest: +ELLIPSIS
    MatchReport: 1 score, 300 scoring rows, ... matched
    """

    variants: pd.DataFrame
    counts: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def match_rate(self, score_id: str) -> float:
        """Fraction of ``score_id``'s rows that matched."""
        return float(self.counts.loc[score_id, "match_rate"])

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table (what ``prs score`` writes as ``match_report.tsv``)."""
        return self.variants.copy()

    def pgsc_calc_names(self) -> pd.DataFrame:
        """The per-variant table with the PGS Catalog Calculator's ``match_status`` and
        ``match_type`` beside prs's ``outcome`` and ``match_type`` (:func:`pgsc_calc_names`)."""
        return pgsc_calc_names(self.variants)

    # -- display: short by design (a report can hold millions of rows) -----------------

    def _summary(self, limit: int) -> tuple[list[str], pd.DataFrame]:
        """Headline lines and the counts of the first ``limit`` scores."""
        counts = self.counts
        n_scores = len(counts)
        n_rows = len(self.variants)
        matched = int(counts["matched"].sum()) if n_scores else 0
        total = int(counts["n_rows"].sum()) if n_scores else 0
        head = (
            f"MatchReport: {n_scores} score{'s' if n_scores != 1 else ''}, {n_rows} scoring "
            f"rows, {matched}/{total} (score, row) pairs matched"
        )
        by = self.variants["matched_by"] if "matched_by" in self.variants else None
        extra = []
        if by is not None and (by == "rsid").any():
            extra.append(f"{int((by == 'rsid').sum())} rows matched by rsID (no build check)")
        if "liftover" in self.variants:
            lifted = int(self.variants["liftover"].isin(["lifted", "lifted_reverse"]).sum())
            extra.append(f"{lifted}/{n_rows} rows lifted to the target's build")
        if "target_r2" in self.variants:
            low = int((self.variants["outcome"] == "excluded_low_r2").sum())
            extra.append(f"{low} rows excluded for low imputation R2")
        return [head, *extra], counts.head(limit)

    def __repr__(self) -> str:
        lines, counts = self._summary(limit=8)
        for score_id, row in counts.iterrows():
            others = ", ".join(f"{k}={int(row[k])}" for k in OUTCOMES if k != "matched" and row[k])
            lines.append(
                f"  {score_id}: {int(row['matched'])}/{int(row['n_rows'])} matched "
                f"({float(row['match_rate']):.1%})" + (f"; {others}" if others else "")
            )
        if len(self.counts) > len(counts):
            lines.append(f"  ... {len(self.counts) - len(counts)} more scores (.counts)")
        lines.append(
            "Look next: .counts (per score), .variants (every row: outcome, reason), "
            ".pgsc_calc_names(), .notes"
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        lines, counts = self._summary(limit=20)
        shown = counts[[*(k for k in OUTCOMES if counts[k].any()), "n_rows", "match_rate"]]
        parts = [f"<p><b>{html.escape(lines[0])}</b></p>"]
        parts += [f"<p>{html.escape(line)}</p>" for line in lines[1:]]
        parts.append(shown.to_html(float_format=lambda x: f"{x:.3f}"))
        if len(self.counts) > len(counts):
            parts.append(f"<p>... {len(self.counts) - len(counts)} more scores (.counts)</p>")
        excluded = self.variants[self.variants["excluded"]]
        if len(excluded):
            columns = [
                c
                for c in ("line", "score", "chrom", "pos", "effect_allele", "outcome", "reason")
                if c in excluded
            ]
            parts.append(f"<p>First excluded rows (of {len(excluded)}):</p>")
            parts.append(excluded[columns].head(5).to_html(index=False))
        parts.append(
            "<p>Look next: <code>.counts</code> (per score), <code>.variants</code> (every "
            "row: outcome, reason), <code>.pgsc_calc_names()</code>, <code>.notes</code></p>"
        )
        return "\n".join(parts)


#: prs's outcome -> the PGS Catalog Calculator's ``match_status`` (matched, excluded,
#: unmatched; its ``not_best`` labels losing candidates, which prs does not report as rows).
PGSC_CALC_MATCH_STATUS: dict[str, str] = {
    "matched": "matched",
    "excluded_ambiguous": "excluded",
    "excluded_duplicate_row": "excluded",
    "excluded_duplicate_target": "excluded",
    "unmatched_no_position": "unmatched",
    "unmatched_no_site": "unmatched",
    "unmatched_allele_mismatch": "unmatched",
    "unmatched_no_id": "unmatched",
    "excluded_low_r2": "excluded",
    "unmatched_unliftable": "unmatched",
}

#: (prs match_type, other allele given) -> the PGS Catalog Calculator's ``match_type``:
#: its ``refalt`` is effect allele = REF and other allele = ALT (prs ``ref``), ``no_oa_*``
#: a row without an other allele.
PGSC_CALC_MATCH_TYPE: dict[tuple[str, bool], str] = {
    ("ref", True): "refalt",
    ("alt", True): "altref",
    ("ref_flip", True): "refalt_flip",
    ("alt_flip", True): "altref_flip",
    ("ref", False): "no_oa_ref",
    ("alt", False): "no_oa_alt",
    ("ref_flip", False): "no_oa_ref_flip",
    ("alt_flip", False): "no_oa_alt_flip",
}


def pgsc_calc_names(variants: pd.DataFrame) -> pd.DataFrame:
    """The match report's rows with the PGS Catalog Calculator's names beside prs's.

    Adds ``pgsc_match_status`` (:data:`PGSC_CALC_MATCH_STATUS` of ``outcome``) and
    ``pgsc_match_type`` (:data:`PGSC_CALC_MATCH_TYPE` of ``match_type`` and whether the row
    has an other allele; empty where the row matched nothing) after ``match_type``. The
    table and the differences between the two matchers are in ``docs/matching.md``.

    Parameters
    ----------
    variants
        :attr:`MatchReport.variants`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``variants`` with the two columns.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"outcome": ["matched", "excluded_ambiguous", "unmatched_no_site"],
    ...                      "match_type": ["ref", "alt", ""], "other_allele": ["T", "", "G"]})
    >>> pgsc_calc_names(rows)[["pgsc_match_status", "pgsc_match_type"]].values.tolist()
    [['matched', 'refalt'], ['excluded', 'no_oa_alt'], ['unmatched', '']]
    """
    outcome = pd.Series(variants["outcome"], copy=False).astype(object)
    match_type = pd.Series(variants["match_type"], copy=False).fillna("").astype(object)
    has_other = pd.Series(variants["other_allele"], copy=False).fillna("").astype(object) != ""
    # one vectorised lookup: "<match_type>+" with an other allele, "<match_type>-" without
    lookup = {
        f"{t}{'+' if other else '-'}": name for (t, other), name in PGSC_CALC_MATCH_TYPE.items()
    }
    key = match_type + pd.Series(np.where(has_other.to_numpy(), "+", "-"), index=match_type.index)
    out = variants.copy()
    at = list(out.columns).index("match_type") + 1
    out.insert(at, "pgsc_match_status", outcome.map(PGSC_CALC_MATCH_STATUS).to_numpy())
    out.insert(at + 1, "pgsc_match_type", key.map(lookup).fillna("").to_numpy(dtype=object))
    return out


_MATCH_TYPES = ("", "alt", "ref", "alt_flip", "ref_flip")


@dataclass(frozen=True)
class _Candidates:
    """Every (scoring row, site-table row) pair whose alleles fit, and per scoring row
    whether any target site shares its key (position, or rsID for rows without one)."""

    row: np.ndarray
    site: np.ndarray
    match_type: np.ndarray  # int8 index into _MATCH_TYPES
    priority: np.ndarray  # 0 exact, 1 flipped
    ambiguous: np.ndarray
    position_hit: np.ndarray  # bool[n_rows]


def _sorted_join(key_rows: np.ndarray, key_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (row, site) pair with equal keys (a negative row key joins nothing), by a
    sorted search: ``(row, site)`` index arrays."""
    order = np.argsort(key_sites, kind="stable")
    sorted_keys = key_sites[order]
    lo = np.searchsorted(sorted_keys, key_rows, side="left")
    n_at = np.searchsorted(sorted_keys, key_rows, side="right") - lo
    del sorted_keys
    n_at[key_rows < 0] = 0
    # Pair k: row row[k] with the site at sorted place lo[row] + (k - first pair of row).
    row = np.repeat(np.arange(len(key_rows), dtype=np.int64), n_at)
    place = np.arange(len(row), dtype=np.int64)
    place += np.repeat(lo - (np.cumsum(n_at) - n_at), n_at)
    return row, order[place]


def _id_pairs(
    variants: pd.DataFrame, sites: pd.DataFrame, chrom_rows: np.ndarray, chrom_sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(row, site) pairs joining rows without a position to target records by rsID (the
    site table's ``id``, each of a VCF ID's ``;``-separated IDs); a row that names a
    chromosome joins only records on it. IDs are hashed by Arrow: no Python object per
    row or site."""
    no_pos = np.flatnonzero(variants["pos"].to_numpy(dtype=np.int64) < 0)
    if not len(no_pos) or "id" not in sites.columns or not len(sites):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rsid = _arrow_strings(variants["rsid"].iloc[no_pos].reset_index(drop=True))
    ids = _arrow_strings(sites["id"].reset_index(drop=True))
    owner = np.arange(len(ids), dtype=np.int64)
    if pc.any(pc.match_substring(ids, ";")).as_py():  # rs1;rs2: one entry per ID
        parts = pc.split_pattern(ids, ";")
        owner = pc.list_parent_indices(parts).to_numpy().astype(np.int64)
        ids = pc.list_flatten(parts)
    encoded = pc.dictionary_encode(pa.concat_arrays([rsid, ids]))
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    blank = np.flatnonzero(pc.is_in(encoded.dictionary, pa.array(["", "."])).to_numpy(False))
    id_rows, id_sites = codes[: len(rsid)], codes[len(rsid) :]
    id_rows[np.isin(id_rows, blank)] = -1  # no ID: joins nothing
    id_sites[np.isin(id_sites, blank) | (id_sites < 0)] = -2
    row, site = _sorted_join(id_rows, id_sites)
    row, site = no_pos[row], owner[site]
    named = chrom_rows[row] != _blank_code(variants["chrom"], chrom_rows)
    keep = ~named | (chrom_rows[row] == chrom_sites[site])
    return row[keep], site[keep]


def _blank_code(column: pd.Series, codes: np.ndarray) -> int:
    """The shared code of an empty chromosome in ``codes`` (-3: none is empty)."""
    blank = np.flatnonzero(column.fillna("").to_numpy(dtype=object) == "")
    return int(codes[blank[0]]) if len(blank) else -3


def _candidates(scoring: ScoringFile, sites: pd.DataFrame, *, by_id: bool) -> _Candidates:
    """All (scoring row, target ALT row) pairs that match, with their match type.

    Rows and sites are joined on (chromosome, position) by a sorted search over integer
    keys (rows without a position on their rsID when ``by_id``) and compared as allele
    codes: no Python object per row or pair.
    """
    variants = scoring.variants
    n_rows = len(variants)
    (chrom_rows, chrom_sites), _ = _shared_codes([variants["chrom"], sites["chrom"]])
    pos_rows = variants["pos"].to_numpy(dtype=np.int64)
    key_rows, key_sites = _position_keys(
        chrom_rows, np.maximum(pos_rows, 0), chrom_sites, sites["pos"].to_numpy(dtype=np.int64)
    )
    key_rows[pos_rows < 0] = -1
    row, site = _sorted_join(key_rows, key_sites)
    del key_rows, key_sites
    if by_id:
        id_row, id_site = _id_pairs(variants, sites, chrom_rows, chrom_sites)
        if len(id_row):
            row, site = np.concatenate([row, id_row]), np.concatenate([site, id_site])
            order = np.argsort(row, kind="stable")
            row, site = row[order], site[order]
    key_hit = np.bincount(row, minlength=n_rows)[:n_rows] > 0

    alleles = _Alleles(
        [variants["effect_allele"], variants["other_allele"], sites["ref"], sites["alt"]]
    )
    ea_rows, oa_rows, ref_sites, alt_sites = alleles.codes
    ea, oa, ref, alt = ea_rows[row], oa_rows[row], ref_sites[site], alt_sites[site]
    no_other = oa == alleles.empty
    ea_c, oa_c = alleles.complement[ea], alleles.complement[oa]
    # Ambiguity: from the scoring alleles, or from the target's when no other allele is given.
    partner = np.where(no_other, np.where(ea != ref, ref, alt), oa)
    ambiguous = (alleles.length[ea] == 1) & (alleles.length[partner] == 1) & (ea_c == partner)
    monomorphic = alt == alleles.empty  # a record without ALT: only REF can be the effect allele
    alt_match = (ea == alt) & (no_other | (oa == ref)) & ~monomorphic
    ref_match = (ea == ref) & (no_other | (oa == alt) | monomorphic)
    alt_flip = (ea_c == alt) & (no_other | (oa_c == ref)) & ~ambiguous & ~monomorphic
    ref_flip = (ea_c == ref) & (no_other | (oa_c == alt) | monomorphic) & ~ambiguous
    match_type = np.select([alt_match, ref_match, alt_flip, ref_flip], [1, 2, 3, 4], default=0)
    fits = match_type > 0
    return _Candidates(
        row=row[fits],
        site=site[fits],
        match_type=match_type[fits].astype(np.int8),
        priority=(match_type[fits] > 2).astype(np.int8),
        ambiguous=ambiguous[fits],
        position_hit=key_hit,
    )


def _position_keys(
    chrom_a: np.ndarray, pos_a: np.ndarray, chrom_b: np.ndarray, pos_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per (chromosome code, position), equal exactly when both are: the code
    in the high bits when positions fit in 40 bits (always, for real genomes), otherwise
    (a position typo in a scoring file) the pair's rank among all pairs."""
    top = max(int(pos_a.max(initial=0)), int(pos_b.max(initial=0)))
    n_codes = max(int(chrom_a.max(initial=0)), int(chrom_b.max(initial=0))) + 1
    if top < 2**40 and n_codes < 2**22:
        return (
            (chrom_a.astype(np.int64) << 40) | pos_a,
            (chrom_b.astype(np.int64) << 40) | pos_b,
        )
    pairs = np.stack(
        [np.concatenate([chrom_a, chrom_b]).astype(np.int64), np.concatenate([pos_a, pos_b])],
        axis=1,
    )
    rank = np.unique(pairs, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return rank[: len(pos_a)], rank[len(pos_a) :]


def _arrow_strings(column: pd.Series) -> pa.Array:
    """A string column as one Arrow array (no copy for Arrow-backed columns)."""
    try:
        values = pa.array(column, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. integer IDs from a custom source
        values = pa.array(column.astype(str), type=pa.string(), from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _take_strings(column: pd.Series, index: np.ndarray) -> pd.Series:
    """``column`` at ``index``, "" where the index is -1."""
    if not len(column):
        return pd.Series(np.full(len(index), "", dtype=object))
    taken = _arrow_strings(column).take(pa.array(np.maximum(index, 0), mask=index < 0))
    return pc.fill_null(taken, "").to_pandas()


def match_variants(
    scoring: ScoringFile,
    sites: pd.DataFrame,
    *,
    keep_ambiguous: bool = False,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    scoring_build: str | None = None,
    target_build: str | None = None,
    check_overlap: bool = True,
    match_rsids: bool = True,
    min_r2: float | None = None,
    require_r2: bool = True,
) -> tuple[MatchPlan, MatchReport]:
    """Match a scoring file's rows to a target's sites.

    Parameters
    ----------
    scoring
        A scoring file from :func:`prs.weights.read_scorefile` (or lifted by
        :func:`prs.weights.liftover.lift_scoring_file`: its rows' liftover fates are
        reported).
    sites
        The target's site table (:meth:`prs.genotypes.base.GenotypeSource.sites`), with
        ``r2`` (float, NaN where unknown) and ``imputed`` (bool) columns when the source
        knows the imputation quality.
    keep_ambiguous
        Keep strand-ambiguous A/T and C/G SNPs (matched as written, never flipped).
        Default False, as the PGS Catalog Calculator.
    min_overlap
        Minimum fraction of each score's rows that must match; below it
        :class:`~prs.errors.MatchError` is raised. Default 0.75, as the PGS Catalog
        Calculator. Zero matches always fail.
    scoring_build, target_build
        Builds, used only to explain a low match rate (:func:`check_builds` refuses a
        mismatch before matching).
    check_overlap
        False for a piece of a scoring file (:func:`scoring_by_chromosome`): no match rate
        is checked nor noted here; :func:`concat_pieces` checks the whole file's.
    match_rsids
        Match the rows of a scoring file without positions (an rsID-only file:
        ``scoring.match_by_rsid``) through the target's variant IDs (``sites["id"]``) by
        their rsID (default True; :class:`~prs.errors.RsidMatchWarning` when any does).
        False leaves them ``unmatched_no_position``, as are, always, the rows of a file
        with positions that lack one (failed harmonization).
    min_r2
        Exclude matches at target variants whose imputation quality ``sites["r2"]`` is
        below this (``excluded_low_r2``, the R2 in the report's ``target_r2``). A variant
        with no R2 (NaN: e.g. a typed variant) is kept, warned and counted in the counts'
        ``matched_r2_unknown`` column (present when ``min_r2`` is given; not an outcome,
        not in ``n_rows``). None (default): no filter.
    require_r2
        True (default): ``min_r2`` on sites without any R2 is an error. False for a piece
        of a run (the run decides over all its pieces: :func:`has_r2`,
        :func:`no_r2_error`); the piece's matches are then of unknown R2.

    Returns
    -------
    (MatchPlan, MatchReport)

    Raises
    ------
    MatchError
        A score whose match rate is below ``min_overlap`` (or zero), naming the likely cause.
    ScoringFileError
        A scoring file with no weight column (nothing to score).
    ScoreError
        ``min_r2`` set on a site table without an ``r2`` column or whose ``r2`` is NaN
        everywhere (the genotypes carry no imputation quality; unless ``require_r2`` is
        False), or outside [0, 1].

    Warns
    -----
    RsidMatchWarning
        Rows matched by rsID (no build check is possible for them).
    ScoreWarning
        Matches kept at target variants whose R2 is unknown while ``min_r2`` is set.
    """
    _require_scores(scoring)
    _require_r2(sites, min_r2, scoring.path, require=require_r2)
    variants = scoring.variants.reset_index(drop=True)
    by_id = bool(match_rsids and scoring.match_by_rsid)
    pairs = _candidates(scoring, sites, by_id=by_id)
    release_memory()  # the candidates' temporaries
    best = _best_matches(pairs, sites, len(variants))
    outcome_code = _outcome_codes(variants, best, pairs.position_hit, keep_ambiguous, by_id=by_id)
    r2_unknown = _exclude_low_r2(outcome_code, best, sites, min_r2, scoring.path)
    matched = outcome_code == _OUTCOME_CODE["matched"]
    several = np.flatnonzero(matched & (best.fitting > 1))
    if len(several):
        _warn_duplicate_targets(scoring, variants, several, best.fitting)
    by_rsid = best.has_match & (variants["pos"].to_numpy() < 0)
    if by_rsid.any():
        _warn_rsid_matches(scoring, int(by_rsid.sum()), int(matched[by_rsid].sum()))
    reason_code, reason_names = _reason_codes(outcome_code, several, best.fitting)
    weighted = ~np.isnan(scoring.weights)  # rows x scores: the score weights this row
    duplicate, duplicate_reason = _duplicates_within_scores(variants, best, matched, weighted)
    counts = _outcome_counts(scoring, outcome_code, weighted, duplicate)
    if min_r2 is not None:  # kept matches of unknown R2, per score
        kept = weighted & ~duplicate & (r2_unknown & matched)[:, None]
        counts["matched_r2_unknown"] = kept.sum(axis=0).astype(np.int64)
    with arrow_strings():  # the report's text columns: Arrow strings, no object per row
        report = _report_table(
            scoring,
            _report_base(variants, sites, best),
            _RowFates(
                outcome_code, reason_code, reason_names, weighted, duplicate, duplicate_reason
            ),
        )
    notes = (
        _check_overlap(counts, min_overlap, scoring, scoring_build, target_build, sites)
        if check_overlap
        else []
    )
    match_report = MatchReport(variants=report, counts=counts, notes=tuple(notes))
    plan = _plan(scoring, variants, best, weighted & matched[:, None] & ~duplicate)
    return plan, match_report


def has_r2(sites: pd.DataFrame) -> bool:
    """Whether a site table gives an imputation quality (a finite ``r2``) for any site."""
    return "r2" in sites.columns and bool(np.isfinite(sites["r2"].to_numpy(np.float64)).any())


def no_r2_error(min_r2: float, where: str) -> ScoreError:
    """The error of ``min_r2`` on genotypes that give no imputation quality anywhere."""
    return ScoreError(
        f"{where}: min_r2={min_r2:g} asks to drop poorly imputed variants, but the "
        "genotypes give no imputation quality (no INFO R2/DR2/INFO in the VCF, or a "
        "format without one: PLINK, BGEN); score without min_r2, or score the imputation "
        "server's VCF"
    )


def _require_r2(sites: pd.DataFrame, min_r2: float | None, path: str, *, require: bool) -> None:
    """``min_r2`` needs the sites' imputation quality: refuse rather than not filter
    (``require``; a piece of a run leaves it to the run)."""
    if min_r2 is None:
        return
    if not 0.0 <= float(min_r2) <= 1.0:
        raise ScoreError(f"min_r2={min_r2!r}: must be between 0 and 1")
    if require and not (has_r2(sites) or (len(sites) == 0 and "r2" in sites.columns)):
        raise no_r2_error(min_r2, path)


def _exclude_low_r2(
    outcome_code: np.ndarray, best: _Best, sites: pd.DataFrame, min_r2: float | None, path: str
) -> np.ndarray:
    """Matched (or ambiguous) rows whose target variant's R2 is below ``min_r2`` become
    ``excluded_low_r2`` (in place); the kept ones of unknown R2 are returned (and warned,
    with how many of them their record flags as imputed)."""
    if min_r2 is None:
        return np.zeros(len(outcome_code), dtype=bool)
    if "r2" in sites.columns:
        r2 = best.at(sites["r2"].to_numpy(dtype=np.float64), -1).astype(np.float64)
    else:  # (a piece without any R2, require_r2=False)
        r2 = np.full(len(outcome_code), np.nan)
    r2[~best.has_match] = np.nan
    hit = best.has_match & np.isin(
        outcome_code, [_OUTCOME_CODE["matched"], _OUTCOME_CODE["excluded_ambiguous"]]
    )
    low = hit & (r2 < min_r2)
    outcome_code[low] = _OUTCOME_CODE["excluded_low_r2"]
    unknown = hit & np.isnan(r2)
    if unknown.any():
        flagged = ""
        if "imputed" in sites.columns:
            imputed = best.at(sites["imputed"].to_numpy(dtype=bool), 0).astype(bool)
            n_flagged = int((unknown & imputed).sum())
            flagged = f", {n_flagged} of them flagged imputed (INFO IMPUTED or IMP)"
        warn(
            f"{path}: min_r2={min_r2:g}: {int(unknown.sum())} matched row(s) are at target "
            f"variants without an R2{flagged} (kept; counted in the match summary's "
            "matched_r2_unknown; the match report's target_r2 is empty for them)",
            ScoreWarning,
        )
    return unknown


def _warn_rsid_matches(scoring: ScoringFile, n_found: int, n_matched: int) -> None:
    """Rows matched by rsID: say so (an rsID carries no build)."""
    warn(
        f"{scoring.path}: {n_found} row(s) without a position were matched by rsID through "
        f"the genotypes' variant IDs ({n_matched} used after exclusions; matched_by=rsid in "
        "the match report); an rsID carries no genome build, so the scoring file's build is "
        "not checked against the genotypes' for them (alleles are)",
        RsidMatchWarning,
    )


def _require_scores(scoring: ScoringFile) -> None:
    """A scoring file with no weight column has nothing to match for."""
    if scoring.weights.shape[1] == 0:  # e.g. only dosage_*_weight columns, all rows dropped
        raise ScoringFileError(
            f"{scoring.path}: nothing to score: no additive weight column"
            + (f" (dropped as unscorable: {scoring.dropped})" if scoring.dropped else "")
        )


@dataclass(frozen=True)
class _Best:
    """Per scoring row, the target allele it matched best (``site`` -1 where none)."""

    site: np.ndarray  # int64 site-table row
    match_type: np.ndarray  # int8 index into _MATCH_TYPES (0: none)
    ambiguous: np.ndarray
    fitting: np.ndarray  # target records that fit as well as the best one
    record: np.ndarray  # int64 target record (-1 where none)
    allele_index: np.ndarray  # the site's ALT index (0 where none)
    counted_allele: np.ndarray  # allele whose dosage is counted (0 = REF)

    @property
    def has_match(self) -> np.ndarray:
        return self.site >= 0

    def at(self, values: np.ndarray, fill: int) -> np.ndarray:
        """The best site's value per scoring row, ``fill`` where none matched."""
        return _at_site(self.site, values, fill)


def _best_matches(pairs: _Candidates, sites: pd.DataFrame, n_rows: int) -> _Best:
    """Best candidate per scoring row: exact before flipped, then the first target record;
    and how many target records fit as well (same priority), each counted once."""
    site_record = sites["record"].to_numpy(dtype=np.int64)
    site_allele = sites["allele_index"].to_numpy(dtype=np.int64)
    order = np.lexsort(
        (site_allele[pairs.site], site_record[pairs.site], pairs.priority, pairs.row)
    )
    row, site = pairs.row[order], pairs.site[order]
    priority, pair_record = pairs.priority[order], site_record[site]
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    best_site = np.full(n_rows, -1, dtype=np.int64)
    best_site[row[first]] = site[first]
    code = np.zeros(n_rows, dtype=np.int8)
    code[row[first]] = pairs.match_type[order][first]
    ambiguous = np.zeros(n_rows, dtype=bool)
    ambiguous[row[first]] = pairs.ambiguous[order][first]
    top = priority == np.repeat(priority[first], np.diff(np.flatnonzero(np.r_[first, True])))
    new_record = first.copy()
    new_record[1:] |= pair_record[1:] != pair_record[:-1]
    fitting = np.bincount(row[top & new_record], minlength=n_rows)[:n_rows]
    allele_index = _at_site(best_site, site_allele, 0)
    return _Best(
        site=best_site,
        match_type=code,
        ambiguous=ambiguous,
        fitting=fitting,
        record=_at_site(best_site, site_record, -1),
        allele_index=allele_index,
        # A REF match (ref, ref_flip) counts the REF allele's dosage.
        counted_allele=np.where((code == 2) | (code == 4), 0, allele_index),
    )


def _at_site(best_site: np.ndarray, values: np.ndarray, fill: int) -> np.ndarray:
    """``values`` of each scoring row's best site, ``fill`` where none matched."""
    has_match = best_site >= 0
    out = np.full(len(best_site), fill, dtype=values.dtype)
    out[has_match] = values[best_site[has_match]]
    return out


def _outcome_codes(
    variants: pd.DataFrame,
    best: _Best,
    position_hit: np.ndarray,
    keep_ambiguous: bool,
    *,
    by_id: bool = False,
) -> np.ndarray:
    """Each scoring row's outcome (index into :data:`OUTCOMES`) before duplicates."""
    has_match = best.has_match
    no_pos = variants["pos"].to_numpy() < 0
    has_id = np.zeros(len(no_pos), dtype=bool)
    if by_id and no_pos.any():  # (a pass over the rsIDs only where they are used)
        rsid = pd.Series(variants["rsid"], copy=False)
        has_id = ~rsid.fillna("").isin(["", "."]).to_numpy()
    outcome_code = np.where(
        has_match,
        _OUTCOME_CODE["matched"],
        np.where(
            position_hit,
            _OUTCOME_CODE["unmatched_allele_mismatch"],
            np.where(
                ~no_pos,
                _OUTCOME_CODE["unmatched_no_site"],
                np.where(
                    by_id & has_id,
                    _OUTCOME_CODE["unmatched_no_id"],
                    _OUTCOME_CODE["unmatched_no_position"],
                ),
            ),
        ),
    )
    if "liftover" in variants.columns:  # a row that did not lift has no position to match
        # (NA: a file not lifted in a run that lifts another; its rows keep their fate.)
        fate = variants["liftover"].fillna("").to_numpy(dtype=object)
        failed = [f for f in LIFTOVER_FATES if f not in ("lifted", "lifted_reverse", "no_position")]
        unlifted = np.isin(fate, failed) & no_pos & ~has_match
        outcome_code[unlifted] = _OUTCOME_CODE["unmatched_unliftable"]
    if not keep_ambiguous:
        outcome_code[has_match & best.ambiguous] = _OUTCOME_CODE["excluded_ambiguous"]
    return outcome_code


_REASON_FOR = {
    "unmatched_no_position": "no position in the scoring file (rsID only, or harmonization failed)",
    "unmatched_no_id": "no position, and no target variant has this rsID as its ID",
    "excluded_low_r2": "target variant's imputation R2 is below min_r2",
    "unmatched_unliftable": "position could not be lifted to the target's build (liftover)",
    "unmatched_allele_mismatch": "target site at this position has other alleles",
    "unmatched_no_site": "no target variant at this position",
    "excluded_ambiguous": "strand-ambiguous A/T or C/G SNP (keep_ambiguous=False)",
    "matched": "",
}


def _reason_codes(
    outcome_code: np.ndarray, several: np.ndarray, fitting: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Reasons as codes: one text per outcome, then one per count of fitting duplicates
    (rows ``several`` matched one of several equally fitting target records)."""
    reason_names = [_REASON_FOR.get(o, "") for o in OUTCOMES]
    reason_code = outcome_code.astype(np.int64)
    counts_fitting, which = np.unique(fitting[several], return_inverse=True)
    reason_names += [
        f"{k} target records fit; the first is used, the others are duplicates"
        for k in counts_fitting.tolist()
    ]
    reason_code[several] = len(OUTCOMES) + which
    return reason_code, reason_names


def _report_base(variants: pd.DataFrame, sites: pd.DataFrame, best: _Best) -> pd.DataFrame:
    """The report columns every score shares (scoring row, then its best target site)."""
    code = best.match_type
    no_pos = variants["pos"].to_numpy() < 0
    base = pd.DataFrame(
        {
            # Scoring-file columns as they are (Arrow-backed strings stay so: no copies).
            "line": variants["line"],
            "chrom": variants["chrom"],
            "pos": variants["pos"],
            "effect_allele": variants["effect_allele"],
            "other_allele": variants["other_allele"],
            "effect_type": variants["effect_type"],
            "match_type": coded_strings(code, _MATCH_TYPES),
            "target_record": best.record,
            "target_id": _take_strings(sites["id"], best.site),
            "target_ref": _take_strings(sites["ref"], best.site),
            "target_alt": _take_strings(sites["alt"], best.site),
            "flipped": code >= 3,
            "ambiguous": best.ambiguous,
            "multiallelic": best.at(sites["n_alleles"].to_numpy(), 0) > 2,
            "matched_by": coded_strings(
                np.where(best.has_match, np.where(no_pos, 2, 1), 0), ("", *MATCH_KEYS)
            ),
        }
    )
    if "liftover" in variants.columns:  # lifted scoring file (or a run lifting one): origins
        for name in ("source_chrom", "source_pos", "liftover"):
            base[name] = variants[name]
    if "r2" in sites.columns:
        r2 = best.at(sites["r2"].to_numpy(dtype=np.float64), -1).astype(np.float64)
        base["target_r2"] = np.where(best.has_match, r2, np.nan)
    if "imputed" in sites.columns:
        imputed = best.at(sites["imputed"].to_numpy(dtype=bool).astype(np.int8), -1)
        base["target_imputed"] = pd.array(
            np.where(imputed < 0, pd.NA, imputed == 1), dtype="boolean"
        )
    return base


def _duplicates_within_scores(
    variants: pd.DataFrame, best: _Best, matched: np.ndarray, weighted: np.ndarray
) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """``bool[rows, scores]``: a later row of a score at a (record, counted allele) an
    earlier row of that score already uses, with the reason per (row, score).

    Within one score a target allele counts once. Only rows sharing a key with another
    matched row can differ between scores; only they are resolved score by score.
    """
    record, counted_allele = best.record, best.counted_allele
    n_rows, n_scores = weighted.shape
    candidates = np.flatnonzero(matched)
    shared = candidates[_repeated_pairs(record[candidates], counted_allele[candidates])]
    duplicate = np.zeros((n_rows, n_scores), dtype=bool)
    duplicate_reason: dict[tuple[int, int], str] = {}
    if not len(shared):
        return duplicate, duplicate_reason
    lines = variants["line"].to_numpy()
    for score_index in range(n_scores):
        first: dict[tuple[int, int], int] = {}
        for row in shared[weighted[shared, score_index]]:
            key = (int(record[row]), int(counted_allele[row]))
            if key in first:
                duplicate[row, score_index] = True
                duplicate_reason[(int(row), score_index)] = (
                    f"same target variant as line {lines[first[key]]} of this score"
                )
            else:
                first[key] = row
    return duplicate, duplicate_reason


def _outcome_counts(
    scoring: ScoringFile, outcome_code: np.ndarray, weighted: np.ndarray, duplicate: np.ndarray
) -> pd.DataFrame:
    """Outcome counts per score, straight from the row outcomes and the duplicates."""
    table = np.stack(
        [
            np.bincount(outcome_code[weighted[:, j]], minlength=len(OUTCOMES))
            for j in range(weighted.shape[1])
        ]
    ).astype(np.int64)
    n_duplicates = duplicate.sum(axis=0)
    table[:, OUTCOMES.index("matched")] -= n_duplicates
    table[:, OUTCOMES.index("excluded_duplicate_row")] += n_duplicates
    return _counts_table(table, scoring.score_ids)


def _counts_table(table: np.ndarray, score_ids: Sequence[str]) -> pd.DataFrame:
    """Outcome counts (scores x :data:`OUTCOMES`) with each score's rows and match rate."""
    counts = pd.DataFrame(table, index=list(score_ids), columns=list(OUTCOMES))
    counts["n_rows"] = counts[list(OUTCOMES)].sum(axis=1)
    counts["match_rate"] = np.where(
        counts["n_rows"] > 0, counts["matched"] / counts["n_rows"].clip(lower=1), 0.0
    )
    counts.index.name = "score"
    return counts


@dataclass(frozen=True)
class _RowFates:
    """Each scoring row's fate: outcome and reason codes, the scores weighting it, and
    its duplicates within scores."""

    outcome_code: np.ndarray
    reason_code: np.ndarray
    reason_names: list[str]
    weighted: np.ndarray
    duplicate: np.ndarray
    duplicate_reason: dict[tuple[int, int], str]


def _report_table(scoring: ScoringFile, base: pd.DataFrame, fates: _RowFates) -> pd.DataFrame:
    """The per-variant table: one row per scoring row when its fate is the same in every
    score that weights it (the score's ID, or "*" for several, with n_scores); one row per
    score for rows whose fate differs between scores (a duplicate in some of them)."""
    weighted, duplicate = fates.weighted, fates.duplicate
    outcome_code, reason_code, reason_names = (
        fates.outcome_code,
        fates.reason_code,
        fates.reason_names,
    )
    n_weighting = weighted.sum(axis=1)
    differs = duplicate.any(axis=1)
    single = np.flatnonzero(~differs & (n_weighting > 0))
    one = n_weighting[single] == 1
    own_score = np.argmax(weighted[single], axis=1)
    ids = np.asarray(scoring.score_ids, dtype=object)
    pieces = [
        _report_rows(
            base,
            single,
            score=coded_strings(np.where(one, own_score, len(ids)), [*ids, "*"]),
            n_scores=n_weighting[single],
            weight=np.where(one, scoring.weights[single, own_score], np.nan),
            outcome=coded_strings(outcome_code[single], OUTCOMES),
            reason=coded_strings(reason_code[single], reason_names),
        )
    ]
    split_rows, split_scores = np.nonzero(weighted & differs[:, None])
    if len(split_rows):
        is_dup = duplicate[split_rows, split_scores]
        reason = np.array(reason_names, dtype=object)[reason_code]
        pieces.append(
            _report_rows(
                base,
                split_rows,
                score=ids[split_scores],
                n_scores=np.ones(len(split_rows), dtype=np.int64),
                weight=scoring.weights[split_rows, split_scores],
                outcome=np.where(
                    is_dup,
                    "excluded_duplicate_row",
                    np.array(OUTCOMES, dtype=object)[outcome_code[split_rows]],
                ),
                reason=np.array(
                    [
                        fates.duplicate_reason.get((int(r), int(c)), reason[r])
                        for r, c in zip(split_rows, split_scores, strict=True)
                    ],
                    dtype=object,
                ),
            )
        )
    if len(pieces) == 1:
        return pieces[0]
    report = pd.concat(pieces, ignore_index=True)
    return report.sort_values(["line", "score"], kind="stable", ignore_index=True)


def _plan(scoring: ScoringFile, variants: pd.DataFrame, best: _Best, used: np.ndarray) -> MatchPlan:
    """The plan: every (record, counted allele) some score uses, sorted by record."""
    plan_rows = np.flatnonzero(used.any(axis=1))
    order = np.lexsort((best.counted_allele[plan_rows], best.record[plan_rows]))
    plan_rows = plan_rows[order]
    return MatchPlan(
        record=best.record[plan_rows],
        allele=best.counted_allele[plan_rows].astype(np.int64),
        effect_type=scoring.effect_type_codes()[plan_rows],
        weights=np.where(used[plan_rows], scoring.weights[plan_rows], np.nan),
        allele_frequency=variants["allele_frequency"].to_numpy(dtype=np.float64)[plan_rows],
        line=variants["line"].to_numpy(dtype=np.int64)[plan_rows],
        score_ids=scoring.score_ids,
    )


def _repeated_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each ``(first[i], second[i])`` pair occurs more than once."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    same = np.zeros(len(order) + 1, dtype=bool)
    same[1:-1] = (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    repeated = np.empty(len(order), dtype=bool)
    repeated[order] = same[:-1] | same[1:]
    return repeated


def _report_rows(
    base: pd.DataFrame,
    rows: np.ndarray,
    *,
    score: np.ndarray,
    n_scores: np.ndarray,
    weight: np.ndarray,
    outcome: np.ndarray,
    reason: np.ndarray,
) -> pd.DataFrame:
    """Report rows for scoring rows ``rows`` (columns in the report's order)."""
    # Every row once, in order: the frame itself, shared, not copied. (Split rows repeat a
    # row once per score, so a count equal to the frame's is not enough.)
    whole = len(rows) == len(base) and np.array_equal(rows, np.arange(len(base)))
    frame = base.copy(deep=False) if whole else base.iloc[rows].reset_index(drop=True)
    frame.insert(1, "score", score)
    frame.insert(2, "n_scores", n_scores)
    frame.insert(9, "effect_weight", weight)
    frame["excluded"] = outcome != "matched"
    frame["outcome"] = outcome
    frame["reason"] = reason
    return frame


def _check_overlap(
    counts: pd.DataFrame,
    min_overlap: float,
    scoring: ScoringFile,
    scoring_build: str | None,
    target_build: str | None,
    sites: pd.DataFrame,
) -> list[str]:
    notes: list[str] = []
    for score_id, row in counts.iterrows():
        rate = float(row["match_rate"])
        if row["n_rows"] and rate >= min_overlap and row["matched"] > 0:
            if rate < 1.0:
                notes.append(f"{score_id}: {int(row['matched'])}/{int(row['n_rows'])} rows matched")
            continue
        cause = _likely_cause(row, scoring, scoring_build, target_build, sites)
        raise MatchError(
            f"{scoring.path}: score {score_id} matched {int(row['matched'])} of "
            f"{int(row['n_rows'])} rows ({rate:.1%}), below the minimum {min_overlap:.0%}"
            f"{'' if row['matched'] else ' (zero matches never score)'}. Likely cause: {cause}. "
            f"Outcomes: " + ", ".join(f"{k}={int(row[k])}" for k in OUTCOMES if row[k])
        )
    for note in notes:
        warn(note, ScoreWarning)
    return notes


def _warn_duplicate_targets(
    scoring: ScoringFile, variants: pd.DataFrame, rows: np.ndarray, fitting: np.ndarray
) -> None:
    """Scoring rows that fit several target records equally well (duplicate VCF records:
    same position and alleles): the first record is used, which a later record's different
    genotypes would contradict; say so with a count and an example (the match report
    names every one)."""
    first = int(rows[0])
    warn(
        f"{scoring.path}: {len(rows)} matched row(s) fit more than one target record at "
        f"their position (duplicate VCF records, or split records its alleles cannot tell "
        f"apart), e.g. line "
        f"{variants['line'].iloc[first]} at {variants['chrom'].iloc[first]}:"
        f"{variants['pos'].iloc[first]} ({int(fitting[first])} records); the first record "
        "is used (reason column of the match report); deduplicate the VCF (e.g. bcftools "
        "norm -d exact) if their genotypes differ",
        ScoreWarning,
    )


def _likely_cause(
    row: pd.Series,
    scoring: ScoringFile,
    scoring_build: str | None,
    target_build: str | None,
    sites: pd.DataFrame,
) -> str:
    n = max(int(row["n_rows"]), 1)
    if scoring_build and target_build and scoring_build != target_build:
        return (
            f"genome build mismatch (scoring file {scoring_build}, genotypes {target_build}); "
            "use a scoring file harmonized to the target's build"
        )
    score_chroms = set(scoring.variants["chrom"]) - {""}
    target_chroms = set(sites["chrom"]) if len(sites) else set()
    if row["unmatched_unliftable"] / n > 0.25:
        return "many positions could not be lifted to the genotypes' build (liftover column)"
    if row["unmatched_no_id"] / n > 0.5:
        return (
            "rsID-only rows whose rsIDs are not the genotypes' variant IDs (IDs such as "
            "chr:pos:ref:alt or '.'): annotate the genotypes with rsIDs (e.g. bcftools "
            "annotate) or use a scoring file with positions (a harmonized file)"
        )
    if row["unmatched_no_position"] / n > 0.5:
        return "the scoring file has no positions for most rows (rsID-only or failed harmonization)"
    if score_chroms and target_chroms and not (score_chroms & target_chroms):
        return (
            f"no chromosome in common (scoring file: {', '.join(sorted(score_chroms)[:5])}; "
            f"genotypes: {', '.join(sorted(target_chroms)[:5])})"
        )
    if row["excluded_ambiguous"] / n > 0.25:
        return "many strand-ambiguous A/T, C/G SNPs (keep_ambiguous=True keeps them)"
    if row["unmatched_allele_mismatch"] / n > 0.25:
        return "alleles differ at matching positions (strand or allele coding, or another build)"
    return (
        "positions missing from the genotypes: another genome build, a different chromosome "
        "subset, or a WGS VCF that omits homozygous-reference sites (score a gVCF or a joint "
        "call set with all sites)"
    )


# --------------------------------------------------------------------------------------
# Several scoring files: the build check before matching, and the plans and reports after
# --------------------------------------------------------------------------------------


def check_builds(
    scoring: Sequence[ScoringFile],
    target_build: str | None,
    *,
    stated: bool,
    stacklevel: int = 1,
) -> None:
    """Refuse scoring files whose positions are in another build than the genotypes.

    A scoring file stating no build (``NR``) is matched as if it were in the target's
    build, with a warning.

    Parameters
    ----------
    scoring
        The scoring files of one run.
    target_build
        The genotypes' build (stated, else detected), or None when unknown: then only
        the warnings are given.
    stated
        True when the caller stated ``target_build`` (``genome_build=``, ``--build``),
        False when it was detected from the genotype headers (said in the message).
    stacklevel
        Kept for callers that pass it; unused: warnings name the user's line
        (:func:`prs.errors.warn`).

    Raises
    ------
    MatchError
        The first scoring file in another build, naming both builds and the fix.

    Warns
    -----
    ScoringFileWarning
        A scoring file that does not state its build.
    """
    for sf in scoring:
        if sf.genome_build and target_build and sf.genome_build != target_build:
            how = "stated" if stated else "detected from the VCF header"
            raise MatchError(
                f"{sf.path}: scoring file positions are {sf.genome_build} but the genotypes are "
                f"{target_build} ({how}); use a scoring file harmonized to {target_build} "
                f"(e.g. the PGS Catalog's hmPOS_{target_build} file), or state the genotypes' "
                "build with genome_build= (--build) if the header is wrong"
            )
        if sf.genome_build is None:
            warn(
                f"{sf.path}: scoring file does not state its genome build; positions are "
                f"assumed to be {target_build or 'the genotypes build'}",
                ScoringFileWarning,
            )


def combine_plans(plans: Sequence[MatchPlan]) -> MatchPlan:
    """One plan for the scores of several scoring files: their weight columns side by
    side (NaN where a score does not use a row), rows sorted by (record, allele)."""
    total = sum(p.weights.shape[1] for p in plans)
    blocks = []
    offset = 0
    for p in plans:
        w = np.full((len(p), total), np.nan)
        w[:, offset : offset + p.weights.shape[1]] = p.weights
        blocks.append(w)
        offset += p.weights.shape[1]
    record = np.concatenate([p.record for p in plans])
    allele = np.concatenate([p.allele for p in plans])
    order = np.lexsort((allele, record))
    return MatchPlan(
        record=record[order],
        allele=allele[order],
        effect_type=np.concatenate([p.effect_type for p in plans])[order],
        weights=np.vstack(blocks)[order] if blocks else np.empty((0, total)),
        allele_frequency=np.concatenate([p.allele_frequency for p in plans])[order],
        line=np.concatenate([p.line for p in plans])[order],
        score_ids=tuple(s for p in plans for s in p.score_ids),
    )


def combine_reports(reports: Sequence[MatchReport]) -> MatchReport:
    """One report for several scoring files (rows, counts and notes in file order)."""
    if len(reports) == 1:
        return reports[0]
    return MatchReport(
        variants=pd.concat([r.variants for r in reports], ignore_index=True),
        counts=pd.concat([r.counts for r in reports]),
        notes=tuple(n for r in reports for n in r.notes),
    )


def allele_count_mask(plan: MatchPlan) -> np.ndarray:
    """``bool[m, n_scores]``: whether a plan row adds its alleles to a score's ALLELE_CT.

    A record scored on two of its alleles (a REF row and an ALT row of one score) counts
    its alleles once per score, on its first row, as PLINK 2 does.
    """
    used = ~np.isnan(plan.weights)
    counts = used.copy()
    for j in range(used.shape[1]):
        rows = np.flatnonzero(used[:, j])
        repeat = np.zeros(len(rows), dtype=bool)
        repeat[1:] = plan.record[rows][1:] == plan.record[rows][:-1]
        counts[rows[repeat], j] = False
    return counts


def wanted_positions(
    scoring: list[ScoringFile], *, match_rsids: bool = True
) -> dict[str, np.ndarray] | None:
    """The positions to read from the target, per chromosome (sorted, unique): every
    scoring file's rows with a position; None (read every site) when a file has no
    positions but rsIDs to match by ID (``match_rsids``, ``ScoringFile.match_by_rsid``),
    since the target's IDs are then needed everywhere."""
    if match_rsids and any(sf.match_by_rsid for sf in scoring):
        return None
    # File by file, chromosome by chromosome (a concatenated frame and its groupby took
    # ~0.45 GB above the rows' own memory for 6 million rows).
    found: dict[str, list[np.ndarray]] = {}
    for sf in scoring:
        codes, names = pd.factorize(sf.variants["chrom"], sort=False)
        pos = sf.variants["pos"].to_numpy(dtype=np.int64)
        codes[pos < 0] = -1
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(-1, len(names)), side="left")
        bounds = np.append(bounds, len(order))
        for k, name in enumerate(names):
            rows = order[bounds[k + 1] : bounds[k + 2]]
            if len(rows):
                found.setdefault(str(name), []).append(pos[rows])
        del codes, order
    return {
        chrom: sorted_unique(np.concatenate(parts))
        for chrom, parts in sorted(found.items(), key=lambda item: item[0])
    }


# --------------------------------------------------------------------------------------
# One scoring file chromosome by chromosome: memory of a piece, not of the whole file
# --------------------------------------------------------------------------------------


def scoring_by_chromosome(scoring: ScoringFile) -> Iterator[tuple[str, ScoringFile]]:
    """The scoring file's rows chromosome by chromosome, in order of first appearance
    (``""``: rows without a chromosome), each a :class:`ScoringFile` of those rows (file
    lines kept), for matching and scoring one chromosome at a time.

    Matching each piece (``match_variants(piece, sites_of_that_chromosome,
    check_overlap=False)``) and joining the pieces (:func:`concat_pieces`) gives the plan
    and report of matching the whole file: a target record lies on one chromosome, so
    every duplicate within a score falls within one piece.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> from prs.weights import read_scorefile
    >>> sf = read_scorefile(example_paths().scorefile)
    >>> sum(piece.n_variants for _, piece in scoring_by_chromosome(sf)) == sf.n_variants
    True
    """
    codes, names = pd.factorize(scoring.variants["chrom"].fillna(""), sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for k, name in enumerate(names):
        rows = order[bounds[k] : bounds[k + 1]]
        whole = len(rows) == len(codes)
        yield (
            str(name),
            replace(
                scoring,
                variants=scoring.variants
                if whole
                else scoring.variants.iloc[rows].reset_index(drop=True),
                weights=scoring.weights if whole else scoring.weights[rows],
            ),
        )


def empty_report(scoring: ScoringFile) -> MatchReport:
    """The report of a scoring file none of whose rows was matched anywhere (no rows left,
    e.g. every row dropped by ``drop_unscorable``): zero counts, no report rows.

    Examples
    --------
    >>> from prs.example import example_paths
    >>> from prs.weights import read_scorefile
    >>> report = empty_report(read_scorefile(example_paths().scorefile))
    >>> int(report.counts["n_rows"].sum()), len(report.variants)
    (0, 0)
    """
    table = np.zeros((len(scoring.score_ids), len(OUTCOMES)), dtype=np.int64)
    return MatchReport(variants=pd.DataFrame(), counts=_counts_table(table, scoring.score_ids))


def concat_pieces(
    scoring: ScoringFile,
    pieces: Sequence[tuple[MatchPlan, MatchReport]],
    *,
    target_chroms: Sequence[str] = (),
    min_overlap: float = DEFAULT_MIN_OVERLAP,
    scoring_build: str | None = None,
    target_build: str | None = None,
) -> tuple[MatchPlan, MatchReport]:
    """The plan and report of ``scoring`` from those of its pieces
    (:func:`scoring_by_chromosome`, matched with ``check_overlap=False``): plan rows
    sorted by (record, allele), report rows by (line, score), counts added; then the
    match rate checked as :func:`match_variants` checks it.

    Parameters
    ----------
    scoring
        The whole scoring file (for its path and score names in messages).
    pieces
        ``(plan, report)`` of every piece, in any order.
    target_chroms
        The target's chromosomes (only to explain a low match rate).
    min_overlap, scoring_build, target_build
        As :func:`match_variants`.

    Returns
    -------
    (MatchPlan, MatchReport)

    Raises
    ------
    MatchError
        A score whose match rate over all pieces is below ``min_overlap`` (or zero).
    """
    _require_scores(scoring)
    plans = [plan for plan, _ in pieces]
    record = np.concatenate([p.record for p in plans]) if plans else np.zeros(0, np.int64)
    allele = np.concatenate([p.allele for p in plans]) if plans else np.zeros(0, np.int64)
    order = np.lexsort((allele, record))

    def joined(name: str, empty: np.ndarray) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in plans])[order] if plans else empty

    n_scores = len(scoring.score_ids)
    plan = MatchPlan(
        record=record[order],
        allele=allele[order],
        effect_type=joined("effect_type", np.zeros(0, np.int8)),
        weights=joined("weights", np.zeros((0, n_scores))),
        allele_frequency=joined("allele_frequency", np.zeros(0)),
        line=joined("line", np.zeros(0, np.int64)),
        score_ids=scoring.score_ids,
    )
    table = np.zeros((len(scoring.score_ids), len(OUTCOMES)), dtype=np.int64)
    for _, report in pieces:
        table += report.counts.loc[list(scoring.score_ids), list(OUTCOMES)].to_numpy()
    counts = _counts_table(table, scoring.score_ids)
    if any("matched_r2_unknown" in r.counts.columns for _, r in pieces):
        counts["matched_r2_unknown"] = sum(
            r.counts["matched_r2_unknown"].reindex(counts.index).fillna(0).astype(np.int64)
            for _, r in pieces
            if "matched_r2_unknown" in r.counts.columns
        )
    with arrow_strings():
        variants = (
            pd.concat([r.variants for _, r in pieces], ignore_index=True)
            if pieces  # (none: a file without rows, its match rate checked below)
            else empty_report(scoring).variants
        )
        if len(pieces) > 1:
            variants = variants.sort_values(["line", "score"], kind="stable", ignore_index=True)
    notes = _check_overlap(
        counts,
        min_overlap,
        scoring,
        scoring_build,
        target_build,
        pd.DataFrame({"chrom": pd.Series(list(target_chroms), dtype=object)}),
    )
    return plan, MatchReport(variants=variants, counts=counts, notes=tuple(notes))
