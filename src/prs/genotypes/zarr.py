"""VCF Zarr stores (the vcf-zarr specification, as bio2zarr's ``vcf2zarr`` writes them).

A VCF Zarr store is a Zarr group (zarr format 3, or 2; a directory or a ``.zip`` of one)
holding a VCF's columns as arrays: ``variant_contig`` (an index into ``contig_id``),
``variant_position``, ``variant_allele`` (REF then the ALTs, padded with ``""``),
``variant_id``, ``sample_id``, ``call_genotype`` (int8 allele indexes, ``-1`` missing,
``-2`` fill for calls of lower ploidy) and each FORMAT field as ``call_<KEY>`` (``call_DS``,
``call_GP``; floats with the spec's missing and fill NaN bit patterns). Arrays in the layout
bio2zarr writes are read by :mod:`prs.genotypes.zarr_store` without zarr-python (whose import
alone costs about as long as listing a store's sites); any other layout by zarr-python, the
fallback recorded in ``notes``.

Rules (the VCF engines', :mod:`prs.genotypes.vcf_record`, applied to the arrays; both VCF
engines and this source give identical dosages):

* **Records** are numbered globally across the stores in the order given (store 0's
  variants first); records at POS 0 are skipped with a warning, records repeating an
  earlier chrom:pos:ref:alt warn, as for a VCF.
* **GT**: copies of the requested allele index (multi-allelic records exactly); a call of
  more than two alleles is missing, diploid (as PLINK 2); a half-missing call follows
  ``half_call``; a haploid call counts double under ``haploid="as-diploid"``; an allele index
  beyond the record's alleles is an error.
* **DS/GP**: each record's values handed, as htslib would give them, to the VCF engines'
  own decoding (:mod:`prs.genotypes.vcf_record`: DS per ALT, REF = ploidy - sum; GP
  biallelic only; the same range checks and error words). A record stored without the
  field (all values the spec's *missing* NaN, none *fill*) is read from GT and counted in
  ``fallback_to_gt``, as a VCF record whose FORMAT lacks the field. Where the store
  cannot tell two VCF spellings apart (the encoding keeps no difference), the common one
  is read: in a store whose DS has one value per sample, DS ``.`` in every sample of a
  record reads as a record without DS (GT); a GP of two values followed by a missing one
  reads as a haploid GP.
* **Reading** follows the store's chunking: the requested records of one variant chunk
  are read (whole chunks, by plain slices; never the whole array) and decoded once, the
  next two meanwhile in background threads; of a sample subset, only the sample chunks
  holding it. Chunks go to the scorer cut every ``chunk_size`` requests, as the VCF and
  PLINK sources cut them (so the sums add in the same order: identical scores); hard
  calls as ``int8`` copies (-9 missing), DS/GP dosages as float64.
* **Errors** (:class:`~prs.errors.GenotypeFileError`, naming the store, and the array or
  the variant as ``store variant N (chrom:pos)``): a path that is not a Zarr group, a group
  without the spec's arrays, arrays whose shapes disagree, stores with different samples,
  a dosage field stored as integers, a contig index outside ``contig_id``, a chunk that
  cannot be decoded (a damaged or incomplete store).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prs.errors import GenotypeFileError, GenotypeWarning, warn
from prs.genome import MAX_POSITION, detect_build, normalize_chrom
from prs.genotypes.base import SITE_COLUMNS, DosageChunk, file_requests, site_table, sorted_unique
from prs.genotypes.options import check_read_options
from prs.genotypes.vcf_header import (
    _sample_subset,
    duplicate_records_message,
    no_records_message,
    zero_pos_message,
)
from prs.genotypes.vcf_record import _ds_dosages, _FloatValues, _gp_dosages
from prs.genotypes.zarr_store import StoreArray, ZarrStore
from prs.kernels.calls import diploid_allele_sums, other_allele_calls

__all__ = ["VcfZarrSource"]

#: The arrays every VCF Zarr store has (vcf-zarr spec: fixed fields and samples).
_REQUIRED = ("sample_id", "contig_id", "variant_contig", "variant_position", "variant_allele")
#: The spec's NaN bit patterns for a missing value and for a fill (a vector shorter than
#: the array's width), per float width; htslib's float sentinels for float32.
#: Store chunks read and decoded ahead, each in its own thread (the codecs release the GIL).
_READ_AHEAD = 2
#: A missing hard call in an ``int8`` chunk (PLINK's -9; :class:`DosageChunk`).
_MISSING_CALL = -9
_FLOAT_SENTINELS = {
    2: (np.uint16(0x7C01), np.uint16(0x7C02)),
    4: (np.uint32(0x7F800001), np.uint32(0x7F800002)),
    8: (np.uint64(0x7FF0000000000001), np.uint64(0x7FF0000000000002)),
}


@dataclass
class _Store:
    """One opened store: its arrays and what :meth:`VcfZarrSource.sites` read of them."""

    path: str
    group: ZarrStore
    n_variants: int
    sample_ids: tuple[str, ...]
    contig_names: tuple[str, ...]  # as stored (the build is detected from these)
    contig_lengths: dict[str, int | None]
    reference: str | None
    genotypes: StoreArray | None
    dosage_values: StoreArray | None  # call_DS/call_GP
    has_ids: bool  # variant_id stored (else IDs are ".")
    n_alleles: np.ndarray | None = None  # int16 per variant, filled by sites()
    chrom: np.ndarray | None = None  # canonical chromosome per variant (object)
    pos: np.ndarray | None = None  # int64 per variant

    @property
    def chunk(self) -> int:
        """Variants per chunk of the genotype (else dosage) array."""
        array = self.genotypes if self.genotypes is not None else self.dosage_values
        assert array is not None
        return max(int(array.chunks[0]), 1)

    def where(self, local: int) -> str:
        """``store variant N (chrom:pos)``, as errors name a record."""
        if self.chrom is not None and self.pos is not None:
            return f"{self.path} variant {local} ({self.chrom[local]}:{self.pos[local]})"
        return f"{self.path} variant {local}"


@dataclass
class _Block:
    """Requested variants of one store chunk, read once: calls resolved (-1 missing, -2
    absent), ploidies, and the DS/GP values with their marks (None for GT)."""

    store: _Store
    rows: np.ndarray  # sorted variant indexes in the store
    n_alleles: np.ndarray
    gt: np.ndarray | None  # int8/int16 [k, n, P]
    ploidy: np.ndarray  # int8 [k, n]
    values: np.ndarray | None = None  # float64 [k, n, width]
    missing: np.ndarray | None = None
    fill: np.ndarray | None = None
    absent_field: np.ndarray | None = None  # stored without the field (read from GT)
    #: Per variant: every call complete and diploid (no -1/-2) and the record biallelic or
    #: less: ALT copies are the sum of the two allele indexes.
    simple: np.ndarray | None = None

    def where(self, r: int) -> str:
        return self.store.where(int(self.rows[r]))


class _Blocks:
    """The requested variants of one store, loaded one store chunk at a time as the
    requests move through them (a chunk is read and decoded once; only the chunks of the
    current request chunk are held). The next :data:`_READ_AHEAD` chunks holding requests are
    read and decoded in background threads meanwhile (the codecs release the GIL); their
    errors are raised when their requests come, as without them."""

    def __init__(self, source: VcfZarrSource, store: _Store, rows: np.ndarray) -> None:
        self._source = source
        self._store = store
        self._rows = rows
        self._chunk_of = rows // store.chunk
        self._held: dict[int, _Block] = {}
        self._chunks = sorted_unique(self._chunk_of)
        self._ahead: dict[int, Future[_Block]] = {}
        self._pool: ThreadPoolExecutor | None = None
        #: Requested variants already counted in ``fallback_to_gt`` (once per record, however
        #: many request chunks hold its alleles).
        self._counted = np.zeros(len(rows), dtype=bool)

    def parts(self, local: np.ndarray) -> Iterator[tuple[_Block, slice]]:
        """For requests at variants ``local`` (sorted), each store chunk's block and the run
        of requests in it."""
        chunk_of = local // self._store.chunk
        bounds = np.flatnonzero(np.diff(chunk_of)) + 1
        starts = [0, *bounds.tolist()]
        stops = [*bounds.tolist(), len(local)]
        for old in [c for c in self._held if c < chunk_of[0]]:
            del self._held[old]
        for start, stop in zip(starts, stops, strict=True):
            c = int(chunk_of[start])
            block = self._held.get(c)
            if block is None:
                block = self._held[c] = self._load(c)
            yield block, slice(start, stop)

    def _load(self, c: int) -> _Block:
        """Chunk ``c``'s block (from the reads ahead when it is one of them), and the reads
        of the next :data:`_READ_AHEAD` chunks started."""
        future = self._ahead.pop(c, None)
        block = future.result() if future is not None else self._read(c)
        at = int(np.searchsorted(self._chunks, c, side="right"))
        for following in self._chunks[at : at + _READ_AHEAD].tolist():
            if following not in self._ahead:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(_READ_AHEAD, thread_name_prefix="prs-zarr")
                self._ahead[following] = self._pool.submit(self._read, following)
        return block

    def _read(self, c: int) -> _Block:
        lo, hi = np.searchsorted(self._chunk_of, [c, c + 1])
        return self._source._load(self._store, self._rows[lo:hi])

    def close(self) -> None:
        """Stop reading ahead (a read under way finishes; its result is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead = {}

    def count_once(self, rows: np.ndarray) -> int:
        """How many of ``rows`` (requested variants) were not counted before; marks them."""
        at = np.searchsorted(self._rows, sorted_unique(rows))
        new = ~self._counted[at]
        self._counted[at] = True
        return int(new.sum())


class VcfZarrSource:
    """Genotypes from one VCF Zarr store or several (e.g. one per chromosome).

    Parameters
    ----------
    paths
        Store paths (directories, or ``.zip`` archives of one); every store must hold the
        same samples in the same order.
    samples
        Keep only these sample IDs (output in this order; only their columns are read).
        Default: all.
    dosage
        ``"GT"`` hard calls (default), ``"DS"`` (``call_DS``) or ``"GP"`` (``call_GP``), as
        :class:`prs.genotypes.vcf.VcfSource` reads them; records without the field (and
        stores without the array) are read from GT and counted in ``fallback_to_gt``.
    half_call
        A half-missing call (``0/.``): ``"error"`` (default, as PLINK 2), ``"missing"``,
        ``"haploid"`` or ``"reference"``, as :class:`~prs.genotypes.vcf.VcfSource`.
    haploid
        ``"as-diploid"`` (default: a haploid call counts as two copies, as PLINK 2 reads a
        VCF) or ``"haploid"``.

    Raises
    ------
    GenotypeFileError
        See the module's rules.

    Examples
    --------
    >>> VcfZarrSource("missing.vcz")
    Traceback (most recent call last):
    ...
    prs.errors.GenotypeFileError: missing.vcz: no such VCF Zarr store (directory or .zip)
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        samples: Sequence[str] | None = None,
        dosage: str = "GT",
        half_call: str = "error",
        haploid: str = "as-diploid",
    ) -> None:
        check_read_options(
            dosage=dosage,
            half_call=half_call,
            haploid=haploid,
            fields=("GT", "DS", "GP"),
            kind="VCF Zarr",
        )
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        if not paths:
            raise GenotypeFileError("no VCF Zarr store given")
        self.paths: tuple[str, ...] = tuple(os.fspath(p) for p in paths)
        self.dosage_field = dosage
        self.half_call = half_call
        self.haploid = haploid
        #: Records whose DS/GP dosage was read from GT (stored without the field).
        self.fallback_to_gt = 0
        #: Every :class:`~prs.errors.GenotypeWarning` this source issued, in order.
        self.notes: list[str] = []
        self._stores = [self._open(path) for path in self.paths]
        file_ids = self._stores[0].sample_ids
        for store in self._stores[1:]:
            if store.sample_ids != file_ids:
                raise GenotypeFileError(
                    f"{store.path}: samples differ from {self.paths[0]}'s (sample_id); "
                    "the stores of one run must hold the same samples in the same order"
                )
        if samples is None:
            self.samples: tuple[str, ...] = file_ids
            self._columns: np.ndarray | None = None
            self._to_output: np.ndarray | None = None
        else:
            self.samples, wanted = _sample_subset(self.paths[0], file_ids, samples)
            # zarr reads sorted columns; the output order is restored after
            self._columns = np.unique(wanted)
            self._to_output = np.searchsorted(self._columns, wanted)
        self._ploidy2: np.ndarray | None = None
        counts = [s.n_variants for s in self._stores]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    # -- opening --------------------------------------------------------------------------
    def _open(self, path: str) -> _Store:
        """Open one store and check its arrays against the spec (names, shapes, types)."""
        if not Path(path).exists():
            raise GenotypeFileError(f"{path}: no such VCF Zarr store (directory or .zip)")
        group = ZarrStore(path)
        arrays = set(group.array_names())
        absent = [name for name in _REQUIRED if name not in arrays]
        if absent:
            raise GenotypeFileError(
                f"{path}: not a VCF Zarr store: no array {', '.join(absent)} (the vcf-zarr "
                f"spec's {', '.join(_REQUIRED)})"
            )
        n_variants = int(group["variant_position"].shape[0])
        sample_ids = tuple(str(s) for s in group["sample_id"][:])
        n_samples = len(sample_ids)
        if not n_samples:
            raise GenotypeFileError(f"{path}: sample_id is empty (no samples)")
        if not n_variants:
            raise GenotypeFileError(no_records_message(path))
        contig_names = tuple(str(c) for c in group["contig_id"][:])
        lengths: list[int | None] = [None] * len(contig_names)
        if "contig_length" in arrays:
            _check_shape(path, group, "contig_length", (len(contig_names),))
            lengths = [int(x) if x > 0 else None for x in group["contig_length"][:]]
        for name in ("variant_contig", "variant_id"):
            if name in arrays:
                _check_shape(path, group, name, (n_variants,))
        allele_shape = group["variant_allele"].shape
        if len(allele_shape) != 2 or allele_shape[0] != n_variants or allele_shape[1] < 1:
            raise GenotypeFileError(
                f"{path}: variant_allele has shape {allele_shape}, expected "
                f"({n_variants}, alleles) as variant_position has {n_variants} variants"
            )
        genotypes = group["call_genotype"] if "call_genotype" in arrays else None
        if genotypes is not None:
            shape = genotypes.shape
            if len(shape) != 3 or shape[:2] != (n_variants, n_samples):
                raise GenotypeFileError(
                    f"{path}: call_genotype has shape {shape}, expected ({n_variants}, "
                    f"{n_samples}, ploidy) (variant_position x sample_id)"
                )
            if genotypes.dtype.kind != "i":
                raise GenotypeFileError(
                    f"{path}: call_genotype holds {genotypes.dtype}, expected integer "
                    "allele indexes"
                )
        dosage_values = None
        if self.dosage_field != "GT" and f"call_{self.dosage_field}" in arrays:
            name = f"call_{self.dosage_field}"
            dosage_values = group[name]
            shape = dosage_values.shape
            if len(shape) not in (2, 3) or shape[:2] != (n_variants, n_samples):
                raise GenotypeFileError(
                    f"{path}: {name} has shape {shape}, expected ({n_variants}, "
                    f"{n_samples}[, values]) (variant_position x sample_id)"
                )
            if dosage_values.dtype.kind != "f" or dosage_values.dtype.itemsize not in (
                _FLOAT_SENTINELS
            ):
                raise GenotypeFileError(
                    f"{path}: {name} holds {dosage_values.dtype}, not floats (the VCF "
                    f"header did not declare {self.dosage_field} with Type=Float)"
                )
        if genotypes is None:
            if self.dosage_field == "GT":
                raise GenotypeFileError(
                    f"{path}: no call_genotype array (GT); score dosages with "
                    "dosage='DS' or 'GP' (--dosage)"
                )
            if dosage_values is None:
                raise GenotypeFileError(
                    f"{path}: neither call_{self.dosage_field} nor call_genotype (GT)"
                )
        read = [*_REQUIRED, "contig_length", "variant_id", "call_genotype"]
        if self.dosage_field != "GT":
            read.append(f"call_{self.dosage_field}")
        for name in read:
            why = group[name].unsupported if name in arrays else None
            if why is not None:  # (the same values, more slowly: zarr-python's import)
                self._note(
                    f"{path}: array {name} read by zarr-python ({why}); prs reads arrays of "
                    "the layout bio2zarr writes itself (a regular chunk grid, the bytes or "
                    "vlen-utf8 codec, then blosc)"
                )
        # bio2zarr keeps the VCF's ## lines as [key, value] pairs (##reference among them)
        meta = group.attrs.get("vcf_meta_information", [])
        reference = next((str(kv[1]) for kv in meta if len(kv) == 2 and kv[0] == "reference"), None)
        return _Store(
            path,
            group,
            n_variants,
            sample_ids,
            contig_names,
            dict(zip(contig_names, lengths, strict=True)),
            reference,
            genotypes,
            dosage_values,
            "variant_id" in arrays,
        )

    def build(self) -> str | None:
        """The build the stores' ``contig_length`` (else the VCF ``##reference`` kept in
        the store's attributes) implies, all stores agreeing, or None."""
        builds = {detect_build(s.contig_lengths, s.reference) for s in self._stores} - {None}
        return builds.pop() if len(builds) == 1 else None

    def _note(self, message: str) -> None:
        """Warn (:class:`~prs.errors.GenotypeWarning`) and keep the message in notes."""
        self.notes.append(message)
        warn(message, GenotypeWarning)

    # -- sites ----------------------------------------------------------------------------
    def sites(self, wanted: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """The site table (see :meth:`prs.genotypes.base.GenotypeSource.sites`); with
        ``wanted``, alleles and IDs are read only at the wanted positions."""
        frames = [
            self._store_sites(file_index, store, wanted)
            for file_index, store in enumerate(self._stores)
        ]
        table = site_table(frames)
        duplicates = duplicate_records_message(self.paths, table)
        if duplicates:  # as the VCF engines warn (the matcher uses the first)
            self._note(duplicates)
        return table

    def _locate(self, store: _Store) -> None:
        """Read each variant's chromosome and position (checked) once."""
        if store.pos is not None:
            return
        group = store.group
        contig = np.asarray(group["variant_contig"][:], dtype=np.int64)
        pos = np.asarray(group["variant_position"][:], dtype=np.int64)
        bad = np.flatnonzero((contig < 0) | (contig >= len(store.contig_names)))
        if len(bad):
            raise GenotypeFileError(
                f"{store.path} variant {int(bad[0])}: variant_contig {int(contig[bad[0]])} "
                f"is not an index into contig_id ({len(store.contig_names)} contigs)"
            )
        bad = np.flatnonzero((pos < 0) | (pos > MAX_POSITION))
        if len(bad):
            raise GenotypeFileError(
                f"{store.path} variant {int(bad[0])}: variant_position {int(pos[bad[0]])} "
                f"is not a position (an integer 0..{MAX_POSITION})"
            )
        names = np.array([normalize_chrom(c) for c in store.contig_names], dtype=object)
        store.chrom = names[contig]
        store.pos = pos
        store.n_alleles = np.full(store.n_variants, -1, dtype=np.int16)

    def _store_sites(
        self, file_index: int, store: _Store, wanted: Mapping[str, np.ndarray] | None
    ) -> pd.DataFrame:
        self._locate(store)
        assert store.chrom is not None and store.pos is not None
        keep = store.pos != 0
        zero = int((~keep).sum())
        if zero:
            self._note(zero_pos_message(store.path, zero))
        if wanted is not None:
            at_wanted = np.zeros(store.n_variants, dtype=bool)
            for chrom in pd.unique(store.chrom):
                on = store.chrom == chrom
                at_wanted[on] = np.isin(
                    store.pos[on], np.asarray(wanted.get(chrom, ()), dtype=np.int64)
                )
            keep &= at_wanted
        idx = np.flatnonzero(keep)
        alleles = self._alleles(store, idx)
        ids = (
            _strings(store.group["variant_id"], idx)
            if store.has_ids
            else np.full(len(idx), ".", dtype=object)
        )
        ref = alleles[:, 0] if len(idx) else np.array([], dtype=object)
        empty_ref = np.flatnonzero(ref == "")
        if len(empty_ref):
            raise GenotypeFileError(f"{store.where(int(idx[empty_ref[0]]))}: empty REF")
        n_alt = (alleles[:, 1:] != "").sum(axis=1) if len(idx) else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(idx)), np.maximum(n_alt, 1))
        # allele k of a record: 1..n_alt (its ALT columns in order), or 0 with alt "" alone
        n_rows = np.maximum(n_alt, 1).astype(np.int64)
        first_row = np.cumsum(n_rows) - n_rows  # (empty when no variant is kept)
        allele_index = np.arange(len(rows)) - np.repeat(first_row, n_rows) + 1
        allele_index[n_alt[rows] == 0] = 0
        if alleles.shape[1] > 1 and len(rows):
            alt = alleles[rows, np.maximum(allele_index, 1)]
            alt[allele_index == 0] = ""
        else:
            alt = np.full(len(rows), "", dtype=object)
        return pd.DataFrame(
            {
                "chrom": store.chrom[idx][rows],
                "pos": store.pos[idx][rows],
                "ref": ref[rows],
                "alt": alt,
                "allele_index": allele_index.astype(np.int16),
                "n_alleles": (n_alt[rows] + 1).astype(np.int16),
                "record": idx[rows] + self._first[file_index],
                "file": np.full(len(rows), file_index, dtype=np.int32),
                "id": ids[rows],
            },
            columns=list(SITE_COLUMNS),
        )

    def _alleles(self, store: _Store, idx: np.ndarray) -> np.ndarray:
        """Upper-case alleles (object [len(idx), width]) of variants ``idx``, checked: an
        ALT after an empty column (the spec pads at the end only) is an error. Records the
        counts in ``store.n_alleles``."""
        assert store.n_alleles is not None
        alleles = _upper(_strings(store.group["variant_allele"], idx))
        if len(idx) == 0:
            return alleles.reshape(0, max(store.group["variant_allele"].shape[1], 1))
        present = alleles != ""
        n_alleles = present.sum(axis=1)
        gap = np.flatnonzero((present[:, 1:] & ~present[:, :-1]).any(axis=1))
        if len(gap):
            raise GenotypeFileError(
                f"{store.where(int(idx[gap[0]]))}: variant_allele "
                f"{list(alleles[gap[0]])} has an allele after an empty (padding) column"
            )
        store.n_alleles[idx] = np.maximum(n_alleles, 1)
        return alleles

    def _n_alleles(self, store: _Store, local: np.ndarray) -> np.ndarray:
        """REF + ALT count of variants ``local`` (read from variant_allele when sites()
        did not tabulate them)."""
        self._locate(store)
        assert store.n_alleles is not None
        unknown = local[store.n_alleles[local] < 0]
        if len(unknown):
            self._alleles(store, np.unique(unknown))
        return store.n_alleles[local].astype(np.int64)

    # -- reading --------------------------------------------------------------------------
    def read(
        self, records: np.ndarray, alleles: np.ndarray, *, chunk_size: int = 1024
    ) -> Iterator[DosageChunk]:
        """Stream dosages of ``alleles[i]`` at ``records[i]`` (see the protocol).

        Chunks hold ``chunk_size`` requests each (the last of each store fewer), as the VCF
        and PLINK sources cut them, so the scorer sums in the same order whatever the
        format. Hard calls come as ``int8`` copies (-9 missing), DS/GP dosages as float64.
        """
        records, alleles, file_of = file_requests(records, alleles, self._first, self.paths[0])
        for file_index, store in enumerate(self._stores):
            in_file = np.flatnonzero(file_of == file_index)
            if not len(in_file):
                continue
            local = records[in_file] - self._first[file_index]
            blocks = _Blocks(self, store, sorted_unique(local))
            try:
                for start in range(0, len(in_file), chunk_size):
                    req = in_file[start : start + chunk_size]
                    dosage, ploidy = self._dosages(
                        blocks, local[start : start + chunk_size], alleles[req]
                    )
                    yield DosageChunk(req.astype(np.int64), dosage, ploidy)
            finally:
                blocks.close()

    def _in_output_order(self, values: np.ndarray) -> np.ndarray:
        return values if self._to_output is None else values[:, self._to_output]

    def _load(self, store: _Store, rows: np.ndarray) -> _Block:
        """Variants ``rows`` (sorted, within one store chunk) read once: their calls
        resolved and, for DS/GP, the field's values."""
        n_alleles = self._n_alleles(store, rows)
        if store.genotypes is not None:
            gt = _read_rows(store, "call_genotype", store.genotypes, rows, self._columns)
            gt, ploidy = _resolve_calls(gt, n_alleles, self.half_call, store, rows, self)
        else:
            gt, ploidy = None, np.full((len(rows), len(self.samples)), 2, dtype=np.int8)
        block = _Block(store, rows, n_alleles, gt, ploidy)
        if gt is not None and gt.shape[2] == 2:
            block.simple = (n_alleles <= 2) & (gt.min(axis=(1, 2)) >= 0)
        else:
            block.simple = np.zeros(len(rows), dtype=bool)
        if self.dosage_field != "GT" and store.dosage_values is not None:
            self._load_field(store, block)
        return block

    def _load_field(self, store: _Store, block: _Block) -> None:
        """The DS/GP values of ``block``'s variants, their missing and fill marks, and which
        variants are stored without the field."""
        array = store.dosage_values
        name = f"call_{self.dosage_field}"
        rows = block.rows
        values = _read_rows(store, name, array, rows, self._columns)
        if values.ndim == 2:
            values = values[:, :, None]
        missing_bits, fill_bits = _FLOAT_SENTINELS[values.dtype.itemsize]
        bits = values.view(missing_bits.dtype)
        missing = bits == missing_bits
        fill = bits == fill_bits
        bad = ~np.isfinite(values) & ~missing & ~fill
        if bad.any():
            r, s = (int(x[0]) for x in np.nonzero(bad.any(axis=2)))
            raise GenotypeFileError(
                f"{store.where(int(rows[r]))}: sample {self._sample_name(s)} has "
                f"{self.dosage_field} value {values[r, s][bad[r, s]][0]} (not a finite number)"
            )
        # Stored without the field: every value *missing*, none *fill* (in every sample,
        # not only those read: the whole row is read again where the read ones say so).
        absent_field = missing.all(axis=(1, 2))
        if self._columns is not None and absent_field.any():
            suspects = np.flatnonzero(absent_field)
            for r in suspects.tolist():
                full = _read_rows(store, name, array, rows[r : r + 1], None)
                absent_field[r] = bool((full.view(missing_bits.dtype) == missing_bits).all())
        with np.errstate(invalid="ignore"):  # the sentinels are signalling NaNs: quieted
            block.values = values.astype(np.float64)
        block.missing = missing
        block.fill = fill
        block.absent_field = absent_field

    def _dosages(
        self, blocks: _Blocks, local: np.ndarray, alleles: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dosages and ploidies (output sample order) of ``alleles`` at variants ``local``
        (sorted): each store chunk's run of requests from its block (no copy of it)."""
        dosage: np.ndarray | None = None
        ploidy: np.ndarray | None = None
        shared = True  # every ploidy the shared all-2 array
        results = []
        for block, run in blocks.parts(local):
            part = self._part_dosages(blocks, block, local[run], alleles[run])
            results.append((run, *part))
            shared &= self._ploidy2 is not None and part[1].base is self._ploidy2
        if len(results) == 1:
            return results[0][1], results[0][2]
        for run, part_dosage, part_ploidy in results:
            if dosage is None:
                dosage = np.empty((len(local), part_dosage.shape[1]), dtype=part_dosage.dtype)
                ploidy = None if shared else np.empty(dosage.shape, dtype=np.int8)
            dosage[run] = part_dosage
            if ploidy is not None:
                ploidy[run] = part_ploidy
        assert dosage is not None
        return dosage, self._diploid(dosage.shape) if ploidy is None else ploidy

    def _part_dosages(
        self, blocks: _Blocks, block: _Block, local: np.ndarray, alleles: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`_dosages`, for requests within one block."""
        row_of_request = np.searchsorted(block.rows, local)
        assert block.simple is not None
        diploid = bool(block.simple[row_of_request].all())
        haploid = None
        effective = None
        if not diploid:
            ploidy = block.ploidy[row_of_request]
            effective = ploidy
            if self.haploid == "as-diploid" and (ploidy == 1).any():
                haploid = ploidy == 1
                effective = np.where(haploid, 2, ploidy).astype(np.int8)
        if self.dosage_field == "GT" or block.values is None:
            if self.dosage_field != "GT":
                self.fallback_to_gt += blocks.count_once(block.rows[row_of_request])
            dosage = self._call_dosages(block, row_of_request, alleles, haploid)
        else:
            dosage, from_gt = self._field_dosages(block, row_of_request, alleles, haploid)
            self.fallback_to_gt += blocks.count_once(block.rows[row_of_request[from_gt]])
        dosage = self._in_output_order(dosage)
        if effective is None:
            return dosage, self._diploid(dosage.shape)
        return dosage, self._in_output_order(np.ascontiguousarray(effective))

    def _diploid(self, shape: tuple[int, ...]) -> np.ndarray:
        """Ploidy 2 everywhere: the leading rows of one read-only array (grown as needed),
        shared by every chunk."""
        k, n = shape
        if self._ploidy2 is None or self._ploidy2.shape[0] < k or self._ploidy2.shape[1] != n:
            self._ploidy2 = np.full((max(k, 1024), n), 2, dtype=np.int8)
            self._ploidy2.setflags(write=False)
        return self._ploidy2[:k]

    def _call_dosages(
        self,
        block: _Block,
        row_of_request: np.ndarray,
        alleles: np.ndarray,
        haploid: np.ndarray | None,
    ) -> np.ndarray:
        """Copies of each requested allele (int8, -9 missing; haploid calls doubled when
        ``haploid`` marks them)."""
        if block.gt is None:
            raise GenotypeFileError(
                f"{block.where(int(row_of_request[0]))}: neither {self.dosage_field} nor GT stored"
            )
        assert block.simple is not None
        simple = block.simple[row_of_request]
        if simple.all():
            return _simple_copies(block.gt, row_of_request, alleles)
        out = np.empty((len(row_of_request), block.gt.shape[1]), dtype=np.int8)
        if simple.any():
            out[simple] = _simple_copies(block.gt, row_of_request[simple], alleles[simple])
        rest = ~simple
        out[rest] = _counted_copies(
            block.gt[row_of_request[rest]],
            alleles[rest],
            None if haploid is None else haploid[rest],
        )
        return out

    def _field_dosages(
        self,
        block: _Block,
        row_of_request: np.ndarray,
        alleles: np.ndarray,
        haploid: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """DS/GP dosages of the requests (float64, NaN missing; variants stored without
        the field read from GT, haploid calls doubled where ``haploid`` marks them), and
        which requests were read from GT."""
        assert block.values is not None and block.absent_field is not None
        assert block.missing is not None and block.fill is not None
        read_names = self._read_names()
        out = np.full((len(row_of_request), block.values.shape[1]), np.nan)
        for r in sorted_unique(row_of_request[~block.absent_field[row_of_request]]).tolist():
            field = _htslib_values(self.dosage_field, block, r)
            at = np.flatnonzero(row_of_request == r)
            want = alleles[at].tolist()
            n_alt = int(block.n_alleles[r]) - 1
            diploid = np.where(block.ploidy[r] == 0, 2, block.ploidy[r])
            # the VCF engines' own decoding of the field (errors worded as for a VCF)
            if self.dosage_field == "DS":
                values = _ds_dosages(field, want, n_alt, diploid, block.where(r), read_names)
            else:
                values = _gp_dosages(field, want, n_alt, diploid, block.where(r), read_names)
            if values is not None:  # (None: GP "." everywhere, all missing)
                out[at] = values
        if haploid is not None:
            out *= np.where(haploid, 2.0, 1.0)
        take = block.absent_field[row_of_request]
        if take.any():
            calls = self._call_dosages(
                block,
                row_of_request[take],
                alleles[take],
                None if haploid is None else haploid[take],
            )
            out[take] = np.where(calls < 0, np.nan, calls)
        return out, take

    def _read_names(self) -> list[str]:
        """Sample names of the columns as read (zarr order: sorted file columns)."""
        return [self._sample_name(c) for c in range(len(self._columns_read()))]

    def _columns_read(self) -> np.ndarray:
        if self._columns is None:
            return np.arange(len(self.samples))
        return self._columns

    def _sample_name(self, column: int) -> str:
        """The name of read column ``column`` (zarr order: sorted file columns)."""
        if self._columns is None:
            return self.samples[column]
        return self._stores[0].sample_ids[int(self._columns[column])]


def _simple_copies(gt: np.ndarray, at: np.ndarray, alleles: np.ndarray) -> np.ndarray:
    """Copies of ``alleles`` (0 or 1) in complete diploid biallelic calls ``gt[at]``: the
    ALT count is the sum of the two allele indexes, the REF count 2 minus it (int8)."""
    if gt.dtype == np.int8:  # (bio2zarr's type) one pass by a kernel, REF rows in place
        counted = np.empty((len(at), gt.shape[1]), dtype=np.int8)
        diploid_allele_sums(gt, np.ascontiguousarray(at, dtype=np.int64), counted)
        ref = np.flatnonzero(alleles == 0)
        if len(ref):
            other_allele_calls(counted, ref)
        return counted
    if len(at) and bool((np.diff(at) == 1).all()):  # one request per variant, in a run
        rows = gt[int(at[0]) : int(at[-1]) + 1]
        counted = rows[:, :, 0] + rows[:, :, 1]
    else:
        counted = gt[at, :, 0] + gt[at, :, 1]
    ref = np.flatnonzero(alleles == 0)
    if len(ref):
        counted[ref] = 2 - counted[ref]
    return counted


def _counted_copies(
    calls: np.ndarray, alleles: np.ndarray, haploid: np.ndarray | None
) -> np.ndarray:
    """Copies of ``alleles[i]`` in calls ``calls[i]`` (resolved; int8, -9 where no allele is
    called; doubled where ``haploid`` marks a haploid call counted as diploid)."""
    wanted = alleles.astype(calls.dtype)[:, None]
    counted = (calls[:, :, 0] == wanted).astype(np.int8)
    called = calls[:, :, 0] >= 0
    for j in range(1, calls.shape[2]):
        counted += calls[:, :, j] == wanted
        called |= calls[:, :, j] >= 0
    if haploid is not None:
        counted[haploid] *= 2
    counted[~called] = _MISSING_CALL
    return counted


def _read_rows(
    store: _Store, name: str, array: StoreArray, rows: np.ndarray, columns: np.ndarray | None
) -> np.ndarray:
    """``store``'s array ``name`` at variants ``rows`` (sorted, few store chunks apart) and
    sample ``columns`` (sorted; None: all). Whole chunks are read by plain slices (zarr's
    orthogonal indexing is ~7x slower here), only the sample chunks holding ``columns``; the
    rows and columns are picked in memory. A chunk that cannot be decoded is named."""
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    try:
        if columns is None:
            values = array[lo:hi]
        else:
            width = max(int(array.chunks[1]), 1)
            parts = []
            for k in sorted_unique(columns // width).tolist():
                wanted = columns[(columns >= k * width) & (columns < (k + 1) * width)]
                c0, c1 = k * width, min((k + 1) * width, int(array.shape[1]))
                block = array[lo:hi, c0:c1]
                parts.append(block[:, wanted - c0])
            values = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    except Exception as exc:  # the codecs raise their own kinds for damaged chunks
        raise GenotypeFileError(
            f"{store.path}: cannot read {name} at variants {lo}..{hi - 1} "
            f"({type(exc).__name__}: {exc}); the store is damaged or incomplete"
        ) from exc
    if hi - lo == len(rows):
        return values
    return values[rows - lo]


def _check_shape(path: str, group: ZarrStore, name: str, expected: tuple[int, ...]) -> None:
    shape = tuple(group[name].shape)
    if shape != expected:
        raise GenotypeFileError(
            f"{path}: {name} has shape {shape}, expected {expected} (as variant_position "
            "and contig_id say)"
        )


def _strings(array: StoreArray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` (sorted) of a string array as Python strings (object), reading only the
    chunks that hold them, each by a plain slice (zarr's orthogonal indexing is slower)."""
    if len(idx) == 0:
        return np.empty((0, *array.shape[1:]), dtype=object)
    if len(idx) == array.shape[0]:
        values = array[:]
    else:
        step = max(int(array.chunks[0]), 1)
        parts = []
        for k in sorted_unique(idx // step).tolist():
            wanted = idx[(idx >= k * step) & (idx < (k + 1) * step)]
            parts.append(array[k * step : (k + 1) * step][wanted - k * step])
        values = np.concatenate(parts)
    return values.astype(object, copy=False)


def _upper(values: np.ndarray) -> np.ndarray:
    """``values`` (object strings) upper-cased; alleles are upper case nearly always, so only
    the distinct values are looked at unless some is not."""
    distinct = pd.unique(values.ravel())
    if all(v == v.upper() for v in distinct):
        return values
    return np.strings.upper(values.astype(str)).astype(object)


def _resolve_calls(
    gt: np.ndarray,
    n_alleles: np.ndarray,
    half_call: str,
    store: _Store,
    rows: np.ndarray,
    source: VcfZarrSource,
) -> tuple[np.ndarray, np.ndarray]:
    """Allele indexes (k, n, P; -1 missing, -2 absent) with half-calls resolved, and each
    call's ploidy, as :func:`prs.genotypes.vcf_record.genotype_alleles` resolves a VCF call.
    """
    # (int8 as bio2zarr writes it; wider for records of more than 127 alleles)
    gt = gt.astype(np.int8 if gt.dtype.itemsize == 1 else np.int16, copy=False)
    if gt.size == 0 or (gt.shape[2] <= 2 and gt.min() >= 0):
        # every call complete (the common block): nothing to resolve
        if gt.size and gt.max() >= n_alleles.min():
            _check_allele_indexes(gt, n_alleles, store, rows, source)
        return gt, np.full(gt.shape[:2], gt.shape[2], dtype=np.int8)
    gt = gt.copy()
    present = gt != -2
    ploidy = present.sum(axis=2, dtype=np.int8)
    if gt.shape[2] > 2:
        polyploid = ploidy > 2
        if polyploid.any():  # as PLINK 2: a call of more than two alleles is missing, diploid
            gt[polyploid] = -2
            gt[polyploid, :2] = -1
            present = gt != -2
            ploidy[polyploid] = 2
    missing = gt == -1
    if missing.any():
        half = missing.any(axis=2) & (gt >= 0).any(axis=2)
        if half.any():
            r, s = (int(x[0]) for x in np.nonzero(half))
            if half_call == "error":
                call = "/".join("." if a == -1 else str(a) for a in gt[r, s][present[r, s]])
                raise GenotypeFileError(
                    f"{store.where(int(rows[r]))}: sample {source._sample_name(s)} has a "
                    f"half-missing call '{call}' ({int(half[r].sum())} in this record); "
                    "choose a policy with half_call='missing'|'haploid'|'reference' "
                    "(--half-call)"
                )
            if half_call == "missing":
                gt[half] = np.where(present[half], -1, gt[half])
            elif half_call == "reference":
                gt[half] = np.where(gt[half] == -1, 0, gt[half])
            else:  # haploid: keep the called allele only
                gt[half] = np.where(gt[half] == -1, -2, gt[half])
                ploidy = (gt != -2).sum(axis=2, dtype=np.int8)
    _check_allele_indexes(gt, n_alleles, store, rows, source)
    return gt, ploidy


def _check_allele_indexes(
    gt: np.ndarray, n_alleles: np.ndarray, store: _Store, rows: np.ndarray, source: VcfZarrSource
) -> None:
    """Refuse an allele index beyond its record's alleles (as the VCF engines do): each
    record's largest index against its allele count (one pass), then the first record at
    fault looked at."""
    if not gt.size:
        return
    bad = np.flatnonzero(gt.reshape(len(gt), -1).max(axis=1) >= n_alleles)
    if len(bad):
        r = int(bad[0])
        s, k = (int(x[0]) for x in np.nonzero(gt[r] >= n_alleles[r]))
        raise GenotypeFileError(
            f"{store.where(int(rows[r]))}: sample {source._sample_name(s)} has allele index "
            f"{gt[r, s, k]} but the record has {int(n_alleles[r]) - 1} ALT allele(s)"
        )


def _width(present: np.ndarray) -> int:
    """1 + the last column where some sample (row of ``present``) is True, else 0."""
    used = np.flatnonzero(present.any(axis=0))
    return int(used[-1]) + 1 if len(used) else 0


def _htslib_values(field: str, block: _Block, r: int) -> _FloatValues:
    """Variant ``r``'s DS/GP values as htslib gives a VCF record's: as wide as its widest
    sample, *fill* as htslib's vector end. The spec's encoding (bio2zarr through cyvcf2)
    writes a haploid GP's missing third value as *missing*: a sample with two values
    followed by only missing or fill has its vector ended there, as in the VCF."""
    assert block.values is not None and block.missing is not None and block.fill is not None
    values, missing, ended = block.values[r], block.missing[r].copy(), block.fill[r].copy()
    if field == "GP":
        has_value = ~(missing | ended)
        n_values = has_value.sum(axis=1)
        two = (n_values == 2) & has_value[:, :2].all(axis=1)
        if two.any():
            ended[two, 2:] |= missing[two, 2:]
            missing[two, 2:] = False
    width = _width(~ended)
    return _FloatValues(values[:, :width], missing[:, :width], ended[:, :width])
