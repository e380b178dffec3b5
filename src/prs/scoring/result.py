"""The result of a scoring run: per sample x score totals with PLINK 2's meanings."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prs.errors import ScoreError
from prs.match import MatchReport
from prs.weights.scorefile import TraitInfo

#: Columns of :meth:`ScoreResult.to_frame` (and of ``scores.tsv``), in order.
SCORE_COLUMNS = (
    "sample_id",
    "score",
    "SUM",
    "AVG",
    "ALLELE_CT",
    "DENOM",
    "NAMED_ALLELE_DOSAGE_SUM",
    "VARIANTS_USED",
    "MISSING_CT",
    # What each score is of, from its scoring file's header (empty where not given), so a
    # later step (calibrate, categorise) can check a scheme against the score's trait.
    "trait_reported",
    "trait_efo",
    "weight_type",
    "development_ancestry",
)

#: Columns of pgsc_calc's ``aggregated_scores.txt.gz`` (:meth:`ScoreResult.to_aggregated`).
AGGREGATED_COLUMNS = ("sampleset", "FID", "IID", "PGS", "SUM", "DENOM", "AVG")

#: The quantities :meth:`ScoreResult.to_wide` tabulates (PLINK 2's column names).
WIDE_QUANTITIES = ("SUM", "AVG", "ALLELE_CT", "DENOM", "NAMED_ALLELE_DOSAGE_SUM", "MISSING_CT")

#: The trait columns of ``scores.tsv`` (text; ``trait_efo`` holds IDs joined with ``|``).
TRAIT_COLUMNS = ("trait_reported", "trait_efo", "weight_type", "development_ancestry")


@dataclass(frozen=True)
class ScoreResult:
    """Per sample x score totals, with PLINK 2's meanings.

    Attributes
    ----------
    samples, score_ids
        Row and column labels.
    sums
        ``float64[n, s]`` SUM: sum of weight x effect-allele dosage (imputed where missing).
    allele_ct
        ALLELE_CT: alleles observed (non-missing calls x ploidy; the ploidy of a call by
        chromosome class and sex as PLINK 2 counts it, see :mod:`prs.ploidy`: 1 on MT and
        on a male's chrY, none on a female's chrY).
    denom
        DENOM: alleles counted, imputed calls included when imputing (AVG = SUM / DENOM).
    named_dosage
        NAMED_ALLELE_DOSAGE_SUM: effect-allele dosage summed over observed calls.
    missing_ct
        ``int64[n, s]`` missing calls (imputed, or skipped with ``missing="none"``); a chrY
        call of a non-male is not counted at all, so it is not missing either.
    variants_used
        ``int64[s]`` matched variants per score.
    match_report
        Every scoring row's fate (:class:`prs.match.MatchReport`), all files together.
    provenance
        Library version, options, inputs and their checksums, counts.
    score_info
        Per score ID, its scoring file's trait metadata (:class:`prs.weights.scorefile.
        TraitInfo`: ``trait_reported``, ``trait_mapped``, ``trait_efo``, ``weight_type``,
        ``development_ancestry``, ...); a score missing here has none.
    """

    samples: tuple[str, ...]
    score_ids: tuple[str, ...]
    sums: np.ndarray
    allele_ct: np.ndarray
    denom: np.ndarray
    named_dosage: np.ndarray
    missing_ct: np.ndarray
    variants_used: np.ndarray
    match_report: MatchReport
    provenance: dict[str, Any] = field(default_factory=dict)
    score_info: dict[str, TraitInfo] = field(default_factory=dict)

    @property
    def avg(self) -> np.ndarray:
        """AVG = SUM / DENOM (NaN where DENOM is 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denom > 0, self.sums / self.denom, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per sample x score (columns :data:`SCORE_COLUMNS`)."""
        n, s = self.sums.shape
        infos = [self.score_info.get(sid, TraitInfo()) for sid in self.score_ids]
        # One value per score, repeated per sample (None: an empty cell).
        trait = {
            "trait_reported": [i.trait_reported for i in infos],
            "trait_efo": ["|".join(i.trait_efo) or None for i in infos],
            "weight_type": [i.weight_type for i in infos],
            "development_ancestry": [i.development_ancestry for i in infos],
        }
        return pd.DataFrame(
            {
                "sample_id": np.repeat(np.array(self.samples, dtype=object), s),
                "score": np.tile(np.array(self.score_ids, dtype=object), n),
                "SUM": self.sums.ravel(),
                "AVG": self.avg.ravel(),
                "ALLELE_CT": self.allele_ct.ravel().astype(np.int64),
                "DENOM": self.denom.ravel().astype(np.int64),
                "NAMED_ALLELE_DOSAGE_SUM": self.named_dosage.ravel(),
                "VARIANTS_USED": np.tile(self.variants_used, n),
                "MISSING_CT": self.missing_ct.ravel(),
                **{
                    name: np.tile(np.array(values, dtype=object), n)
                    for name, values in trait.items()
                },
            },
            columns=list(SCORE_COLUMNS),
        )

    def _quantity(self, column: str) -> np.ndarray:
        values = {
            "SUM": lambda: self.sums,
            "AVG": lambda: self.avg,
            "ALLELE_CT": lambda: self.allele_ct,
            "DENOM": lambda: self.denom,
            "NAMED_ALLELE_DOSAGE_SUM": lambda: self.named_dosage,
            "MISSING_CT": lambda: self.missing_ct,
        }.get(column)
        if values is None:
            raise ValueError(f"column {column!r}: expected one of {', '.join(WIDE_QUANTITIES)}")
        return values()

    def to_wide(self, column: str = "SUM") -> pd.DataFrame:
        """Samples x scores table of one quantity: one row per sample (index ``sample_id``),
        one column per score.

        Parameters
        ----------
        column
            The quantity, by its PLINK 2 name: ``SUM`` (default), ``AVG``, ``ALLELE_CT``,
            ``DENOM``, ``NAMED_ALLELE_DOSAGE_SUM`` or ``MISSING_CT``
            (:data:`WIDE_QUANTITIES`).

        Returns
        -------
        pandas.DataFrame
            ``float64`` (SUM, AVG, NAMED_ALLELE_DOSAGE_SUM) or integer counts, in the
            result's sample and score order. For a file, see :meth:`to_sscore` (PLINK 2's
            ``.sscore`` columns) and :meth:`to_aggregated` (pgsc_calc's).

        Raises
        ------
        ValueError
            For a quantity not in :data:`WIDE_QUANTITIES`.

        Examples
        --------
        >>> result = _example_result()  # 2 samples, scores PGS1 and PGS2
        >>> wide = result.to_wide()
        >>> wide.columns.tolist(), wide.index.name
        (['PGS1', 'PGS2'], 'sample_id')
        >>> wide.loc["HG00097_HG00097"].tolist()
        [1.5, 0.0]
        >>> result.to_wide("DENOM")["PGS1"].tolist()
        [4, 4]
        """
        return pd.DataFrame(
            self._quantity(column),
            index=pd.Index(self.samples, name="sample_id"),
            columns=list(self.score_ids),
        )

    def to_sscore(self, *, id_delim: str | None = None) -> pd.DataFrame:
        """The table PLINK 2's ``--score ... cols=+scoresums,+denom`` writes (``.sscore``).

        Columns: ``#IID`` (or ``#FID IID`` with ``id_delim``), ``ALLELE_CT``, ``DENOM``,
        ``NAMED_ALLELE_DOSAGE_SUM``, then ``<score>_AVG`` for every score, then
        ``<score>_SUM`` for every score, as PLINK 2 orders them. PLINK 2 shares the three
        count columns between the score columns of one ``--score`` file, because they share
        its variants; prs's scores each have their own variants, so with several scores the
        counts are given per score instead (``<score>_ALLELE_CT``, ``<score>_DENOM``,
        ``<score>_NAMED_ALLELE_DOSAGE_SUM``, in that order before the averages). One score:
        exactly PLINK 2's column set.

        Parameters
        ----------
        id_delim
            Split each sample ID at this delimiter into FID and IID, as PLINK 2's
            ``--id-delim`` does when it imports a VCF (:func:`split_sample_ids`). None
            (default, as PLINK 2 without ``--id-delim``): the whole ID is the IID and there
            is no FID column.

        Raises
        ------
        ScoreError
            With ``id_delim``, when a sample ID does not hold it exactly once.

        Examples
        --------
        >>> columns = _example_result().to_sscore(id_delim="_").columns
        >>> print(" ".join(columns))  # doctest: +NORMALIZE_WHITESPACE
        #FID IID PGS1_ALLELE_CT PGS2_ALLELE_CT PGS1_DENOM PGS2_DENOM
        PGS1_NAMED_ALLELE_DOSAGE_SUM PGS2_NAMED_ALLELE_DOSAGE_SUM PGS1_AVG PGS2_AVG
        PGS1_SUM PGS2_SUM
        """
        columns: dict[str, Any] = {}
        if id_delim is None:
            columns["#IID"] = np.array(self.samples, dtype=object)
        else:
            fid, iid = split_sample_ids(self.samples, id_delim)
            columns["#FID"], columns["IID"] = fid, iid
        counts = (
            ("ALLELE_CT", self.allele_ct.astype(np.int64)),
            ("DENOM", self.denom.astype(np.int64)),
            ("NAMED_ALLELE_DOSAGE_SUM", self.named_dosage),
        )
        one = len(self.score_ids) == 1
        for name, values in counts:
            for j, sid in enumerate(self.score_ids):
                columns[name if one else f"{sid}_{name}"] = values[:, j]
        avg = self.avg
        for j, sid in enumerate(self.score_ids):
            columns[f"{sid}_AVG"] = avg[:, j]
        for j, sid in enumerate(self.score_ids):
            columns[f"{sid}_SUM"] = self.sums[:, j]
        return pd.DataFrame(columns)

    def to_aggregated(
        self, *, sampleset: str = "cohort", id_delim: str | None = None
    ) -> pd.DataFrame:
        """The table of pgsc_calc's ``aggregated_scores.txt.gz``: one row per sample x score,
        columns :data:`AGGREGATED_COLUMNS` (``sampleset FID IID PGS SUM DENOM AVG``).

        Parameters
        ----------
        sampleset
            The ``sampleset`` column (pgsc_calc takes it from its sample sheet; default
            ``"cohort"``).
        id_delim
            As for :meth:`to_sscore`, but None (default) gives FID = IID = the whole
            sample ID, as pgsc_calc writes samples without a family ID.

        Examples
        --------
        >>> _example_result().to_aggregated(sampleset="1kg", id_delim="_").head(2)
          sampleset      FID      IID   PGS  SUM  DENOM    AVG
        0       1kg  HG00096  HG00096  PGS1  0.5      4  0.125
        1       1kg  HG00096  HG00096  PGS2 -1.0      4 -0.250
        """
        n, s = self.sums.shape
        if id_delim is None:
            fid = iid = np.array(self.samples, dtype=object)
        else:
            fid, iid = split_sample_ids(self.samples, id_delim)
        return pd.DataFrame(
            {
                "sampleset": np.full(n * s, sampleset, dtype=object),
                "FID": np.repeat(fid, s),
                "IID": np.repeat(iid, s),
                "PGS": np.tile(np.array(self.score_ids, dtype=object), n),
                "SUM": self.sums.ravel(),
                "DENOM": self.denom.ravel().astype(np.int64),
                "AVG": self.avg.ravel(),
            },
            columns=list(AGGREGATED_COLUMNS),
        )

    def __repr__(self) -> str:
        """A few lines: the shape, each score's match rate, where to look next (the full
        data is in the attributes; ``dataclasses.fields`` lists them)."""
        n, s = len(self.samples), len(self.score_ids)
        lines = [f"<ScoreResult: {n} samples x {s} scores>"]
        for sid, matched, rows, rate in self._match_lines():
            lines.append(f"  {sid}: {matched}/{rows} variants matched ({rate:.1%})")
        if s > _REPR_SCORES:
            lines.append(f"  ... {s - _REPR_SCORES} more scores")
        lines.append(_NEXT)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """For notebooks: the shape, a few rows of SUM, each score's match rate, where to
        look next."""
        n, s = len(self.samples), len(self.score_ids)
        head = self.to_wide("SUM").iloc[:_REPR_ROWS, :_REPR_SCORES]
        rates = pd.DataFrame(
            [(m, r, f"{rate:.1%}") for _, m, r, rate in self._match_lines()],
            index=pd.Index([sid for sid, *_ in self._match_lines()], name="score"),
            columns=["matched", "rows", "match rate"],
        )
        more = []
        if n > _REPR_ROWS:
            more.append(f"{n - _REPR_ROWS} more samples")
        if s > _REPR_SCORES:
            more.append(f"{s - _REPR_SCORES} more scores")
        return (
            f"<div><p><b>ScoreResult</b>: {n} samples &times; {s} scores</p>"
            f"<p>SUM (first rows{'; ' + ', '.join(more) if more else ''}):</p>"
            f"{head.to_html()}<p>Match rate per score:</p>{rates.to_html()}"
            f"<p><small>{html.escape(_NEXT.strip())}</small></p></div>"
        )

    def _match_lines(self) -> list[tuple[str, int, int, float]]:
        counts = self.match_report.counts
        out = []
        for sid in self.score_ids[:_REPR_SCORES]:
            if sid in counts.index:
                row = counts.loc[sid]
                out.append((sid, int(row["matched"]), int(row["n_rows"]), float(row["match_rate"])))
        return out


#: Rows and scores a repr shows at most.
_REPR_ROWS, _REPR_SCORES = 5, 10

_NEXT = (
    "  next: .to_wide() / .to_frame() (scores), .match_report.counts (every fate per score), "
    ".match_report.variants (per variant), .provenance (options, inputs, warnings)"
)


def split_sample_ids(samples: Any, delim: str) -> tuple[np.ndarray, np.ndarray]:
    """FID and IID of each sample ID split at ``delim``, as PLINK 2's ``--id-delim``.

    PLINK 2 reads an ID holding the delimiter once as ``<FID><delim><IID>`` and refuses an
    ID without it; an ID holding it twice is ``FID IID SID`` there, which prs does not
    write, so it is refused too.

    Parameters
    ----------
    samples
        Sample IDs.
    delim
        The delimiter (one or more characters; PLINK 2's default for ``--id-delim`` is
        ``_``).

    Returns
    -------
    tuple of numpy.ndarray
        FIDs and IIDs (object arrays).

    Raises
    ------
    ScoreError
        Naming the first sample whose ID does not hold ``delim`` exactly once.

    Examples
    --------
    >>> fid, iid = split_sample_ids(["HG00096_HG00096", "NA12878_NA12878"], "_")
    >>> fid.tolist(), iid.tolist()
    (['HG00096', 'NA12878'], ['HG00096', 'NA12878'])
    """
    if not delim:
        raise ScoreError("--id-delim: the delimiter is empty")
    fids, iids = [], []
    for index, sample in enumerate(samples):
        parts = str(sample).split(delim)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            found = "does not hold it" if len(parts) == 1 else f"holds it {len(parts) - 1} times"
            raise ScoreError(
                f"sample {index + 1} {sample!r}: --id-delim {delim!r} splits an ID into FID "
                f"and IID only when it holds the delimiter exactly once between two "
                f"non-empty parts (as PLINK 2); this ID {found}. Leave --id-delim out to "
                "keep whole IDs"
            )
        fids.append(parts[0])
        iids.append(parts[1])
    return np.array(fids, dtype=object), np.array(iids, dtype=object)


def _example_result() -> ScoreResult:
    """A two-sample, two-score result for the docstring examples."""
    variants = pd.DataFrame({"score": ["PGS1", "PGS2"]})
    counts = pd.DataFrame(
        {"matched": [2, 2], "n_rows": [2, 3], "match_rate": [1.0, 2 / 3]},
        index=pd.Index(["PGS1", "PGS2"], name="score"),
    )
    return ScoreResult(
        samples=("HG00096_HG00096", "HG00097_HG00097"),
        score_ids=("PGS1", "PGS2"),
        sums=np.array([[0.5, -1.0], [1.5, 0.0]]),
        allele_ct=np.full((2, 2), 4),
        denom=np.full((2, 2), 4),
        named_dosage=np.array([[1.0, 2.0], [3.0, 0.0]]),
        missing_ct=np.zeros((2, 2), dtype=np.int64),
        variants_used=np.array([2, 2]),
        match_report=MatchReport(variants=variants, counts=counts),
    )
