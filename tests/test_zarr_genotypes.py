"""VCF Zarr stores (``prs.genotypes.zarr``), written from VCFs by bio2zarr (the format's own
writer): the same scores and match reports as the VCF (the CINECA cohort), the same dosages as
both VCF engines (multi-allelic records, missing and half calls, haploid chrX calls, DS and GP,
records without DS), sample subsets, one store per chromosome, zarr 2 and zip stores, reading
chunk by chunk, and bad stores named.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prs
from prs.cli import main
from prs.errors import GenotypeFileError
from prs.genotypes import genotype_format, open_genotypes
from prs.genotypes.base import chunk_dosages
from prs.genotypes.zarr import VcfZarrSource
from tests.builders import random_vcf_text, write_scorefile, write_vcf, write_vcf_text

bio2zarr_vcf = pytest.importorskip("bio2zarr.vcf", reason="bio2zarr writes the test stores")
zarr = pytest.importorskip("zarr")

pytestmark = pytest.mark.filterwarnings("ignore::prs.errors.PRSWarning")

CINECA = "pgsc_calc/target_genomes/cineca_synthetic_subset.vcf.gz"
SCOREFILES = ("PGS001229_22.txt", "scorefile_dominant_and_recessive.txt")
#: Small chunks, so a few dozen records span several variant and sample chunks.
CHUNKS = {"variants_chunk_size": 7, "samples_chunk_size": 4}


def to_zarr(vcf: Path, store: Path, **options) -> Path:
    """``vcf`` (bgzipped, indexed) as a VCF Zarr store written by bio2zarr."""
    settings = {**CHUNKS, "zarr_format": 3, **options}
    bio2zarr_vcf.convert([str(vcf)], str(store), worker_processes=0, **settings)
    return store


# Hand-written records for what random VCFs rarely hold: haploid chrX DS, multi-allelic DS,
# records without DS (read from GT), DS "." in some samples, GP of haploid calls.
DS_RECORDS = [
    ("X", 100, "rs1", "A", "G", ["0/1:0.9", "1:1", ".:.", "0|0:0.1"]),
    ("X", 200, "rs2", "C", ".", "0/0 0 ./. 0/0".split()),
    ("X", 300, "rs3", "C", "T,G", ["0/2:0.1,0.9", "2:0,1", "./.:.,.", "1/1:1.5,0.2"]),
    ("X", 400, "rs4", "C", "T", "0/1 1 ./. 1/1".split()),
    ("X", 500, "rs5", "C", "T", ["0/1:.", "0:.", "./.:.", "1/1:2"]),
    ("X", 600, "rs6", "G", "A,C", ["1/2:0.7,0.6", "0:0,0.25", "0/0:0,0", "2/2:0,1.9"]),
]
GP_RECORDS = [
    ("X", 100, "rs1", "A", "G", ["0/1:0.1,0.8,0.1", "1:0.2,0.8", "./.:.", "0/0:0.9,0.1,0"]),
    ("X", 200, "rs2", "C", "T", "0/0 1 ./. 0/1".split()),
    ("X", 300, "rs3", "C", "T", ["0/1:.,.,.", "0:1,0", "1/1:0,0,1", "0/1:0.25,0.5,0.25"]),
]
SAMPLES4 = ["A", "B", "C", "D"]
#: Variable-length strings, as bio2zarr writes them (zarr 3's stable string type).
STRINGS = np.dtypes.StringDType()


def _write_records(path: Path, records) -> Path:
    """A VCF whose records carry their own FORMAT (GT, or GT:DS / GT:GP where the cells do)."""
    lines = []
    for chrom, pos, vid, ref, alt, cells in records:
        fmt = "GT" if ":" not in cells[0] else ("GT:GP" if cells[0].count(",") > 1 else "GT:DS")
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.\t{fmt}\t" + "\t".join(cells))
    return write_vcf(path, SAMPLES4, lines, contigs={"X": 155270560})


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """VCFs and their stores, converted once for the module: name -> (vcf, store)."""
    root = tmp_path_factory.mktemp("zarr")
    vcfs = {
        # multi-allelic records (up to 11 ALTs), missing, half and haploid calls
        "calls": write_vcf_text(
            root / "calls.vcf.gz", random_vcf_text(11, n_samples=9, n_records=60, half_calls=True)
        ),
        # GT:DS:GP on every record, some "." values
        "dosage": write_vcf_text(
            root / "dosage.vcf.gz", random_vcf_text(12, n_samples=9, dosage=True, haploid=False)
        ),
        "ds": _write_records(root / "ds.vcf", DS_RECORDS),
        "gp": _write_records(root / "gp.vcf", GP_RECORDS),
        "chr21": write_vcf_text(
            root / "chr21.vcf.gz", random_vcf_text(13, n_samples=9, n_records=25, contig="21")
        ),
        "chr22": write_vcf_text(
            root / "chr22.vcf.gz", random_vcf_text(14, n_samples=9, n_records=30, contig="22")
        ),
    }
    return {name: (vcf, to_zarr(vcf, root / f"{name}.vcz")) for name, vcf in vcfs.items()}


def dense(source, records: np.ndarray, alleles: np.ndarray, chunk_size: int = 5):
    """All of ``source.read``'s chunks as (dosage, ploidy) arrays in request order, each
    request covered once."""
    n = len(source.samples)
    dosage = np.full((len(records), n), -7.0)
    ploidy = np.zeros((len(records), n), dtype=np.int8)
    seen = np.zeros(len(records), dtype=int)
    for chunk in source.read(records, alleles, chunk_size=chunk_size):
        assert chunk.dosage.dtype in (np.float64, np.int8) and chunk.ploidy.dtype == np.int8
        # (the checked VCF engine ends a chunk at a record's end: it may hold more)
        assert len(chunk.request) <= chunk_size or not isinstance(source, VcfZarrSource)
        dosage[chunk.request] = chunk_dosages(chunk.dosage)
        ploidy[chunk.request] = chunk.ploidy
        seen[chunk.request] += 1
    assert (seen == 1).all()
    return dosage, ploidy


def every_allele(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """REF and every ALT of every site (records sorted, repeated per allele)."""
    records = np.repeat(sites["record"].to_numpy(), 2)
    alleles = np.column_stack([np.zeros(len(sites), int), sites["allele_index"].to_numpy()])
    return records, alleles.ravel()


def assert_same_sites(theirs: pd.DataFrame, ours: pd.DataFrame) -> None:
    """Equal site tables (string columns may be object or pandas strings)."""
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, check_column_type=False)
    numeric = [c for c in ours.columns if ours[c].dtype.kind in "iu"]
    assert (ours[numeric].dtypes == theirs[numeric].dtypes).all()


def assert_same_reading(vcf: Path | list[Path], store: Path | list[Path], **options) -> dict:
    """The store reads as both VCF engines read ``vcf``: site table, dosages, ploidies,
    records read from GT. Returns the VCF's dosages (for further checks)."""
    theirs = {
        engine: open_genotypes(vcf, format="vcf", engine=engine, **options)
        for engine in ("checked", "fast")
    }
    ours = VcfZarrSource(store, **options)
    sites = ours.sites()
    records, alleles = every_allele(sites)
    dosage, ploidy = dense(ours, records, alleles)
    for engine, source in theirs.items():
        assert source.samples == ours.samples, engine
        assert_same_sites(source.sites(), sites)
        their_dosage, their_ploidy = dense(source, records, alleles)
        np.testing.assert_array_equal(dosage, their_dosage, err_msg=engine)
        np.testing.assert_array_equal(ploidy, their_ploidy, err_msg=engine)
        # (against the checked engine: the fast one counts a record whose requests fall in
        # two of its chunks twice)
        assert engine == "fast" or ours.fallback_to_gt == source.fallback_to_gt
    return {"dosage": dosage, "ploidy": ploidy, "fallback": ours.fallback_to_gt}


# -- the CINECA cohort: scores and match reports --------------------------------------------


@pytest.fixture(scope="module")
def cineca(shared_data, tmp_path_factory) -> tuple[Path, Path, Path]:
    """The CINECA VCF and stores bio2zarr wrote from it: a directory (zarr 3, chunks of 100
    variants) and a zip (chunks of 300 variants)."""
    root = tmp_path_factory.mktemp("cineca")
    vcf = root / "cineca.vcf.gz"
    shutil.copy(shared_data / CINECA, vcf)
    pytest.importorskip("pysam").tabix_index(str(vcf), preset="vcf", force=True)
    directory = to_zarr(vcf, root / "cineca.vcz", variants_chunk_size=100)
    zipped = to_zarr(vcf, root / "cineca_zip.vcz.zip", variants_chunk_size=300)
    return vcf, directory, zipped


@pytest.mark.shared
@pytest.mark.parametrize("name", SCOREFILES)
def test_cineca_scores_and_match_reports_equal_the_vcf(cineca, shared_data, name):
    vcf, directory, store = cineca
    scorefile = shared_data / "pgsc_calc" / "scorefiles" / name
    # request chunks of 64 across store chunks of 300: sums in the VCF's order, bit for bit
    theirs = prs.score(vcf, scorefile, chunk_size=64)
    ours = prs.score(store, scorefile, chunk_size=64)  # the format from the name (.vcz.zip)
    assert ours.provenance["options"]["engine"] == "VcfZarrSource"
    assert ours.samples == theirs.samples and len(ours.samples) == 2504
    for field in ("sums", "allele_ct", "denom", "named_dosage", "missing_ct", "variants_used"):
        assert np.array_equal(getattr(ours, field), getattr(theirs, field)), field
    pd.testing.assert_frame_equal(ours.match_report.counts, theirs.match_report.counts)
    assert ours.match_report.counts["matched"].sum() > 700
    pd.testing.assert_frame_equal(ours.match_report.variants, theirs.match_report.variants)
    assert VcfZarrSource(directory).build() == open_genotypes(vcf).build()
    # the directory store (chunks of 100 variants) reads the same dosages as the VCF
    assert_same_reading(vcf, directory)


@pytest.mark.shared
def test_cineca_directory_store_scores_as_the_vcf(cineca, shared_data):
    vcf, directory, _ = cineca
    scorefile = shared_data / "pgsc_calc" / "scorefiles" / SCOREFILES[0]
    theirs, ours = prs.score(vcf, scorefile), prs.score(directory, scorefile)
    assert np.array_equal(ours.sums, theirs.sums)


@pytest.mark.shared
def test_cineca_sample_subset_reads_only_those_columns(cineca):
    vcf, store, _ = cineca
    subset = ["HG00101_HG00101", "HG00096_HG00096", "NA21144_NA21144"]
    ours = VcfZarrSource(store, samples=subset)
    assert ours.samples == tuple(subset)
    got = assert_same_reading(vcf, store, samples=subset)
    assert got["dosage"].shape[1] == 3 and not np.isnan(got["dosage"]).all()


# -- dosages equal the VCF engines' ------------------------------------------------------------


@pytest.mark.parametrize("half_call", ["missing", "haploid", "reference"])
@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
@pytest.mark.parametrize("samples", [None, ["S3", "S0", "S8", "S5"]])
def test_calls_equal_the_vcf_engines(made, half_call, haploid, samples):
    vcf, store = made["calls"]
    got = assert_same_reading(vcf, store, half_call=half_call, haploid=haploid, samples=samples)
    sites = VcfZarrSource(store).sites()
    # the cohort holds what the test is about: multi-allelic records, missing and haploid calls
    assert (sites["n_alleles"] > 2).any() and (sites["n_alleles"] == 12).any()
    assert np.isnan(got["dosage"]).any()
    assert (got["ploidy"] == (2 if haploid == "as-diploid" else 1)).any()


def test_half_calls_are_an_error_by_default_naming_the_store_and_variant(made):
    vcf, store = made["calls"]
    source = VcfZarrSource(store)
    records, alleles = every_allele(source.sites())
    with pytest.raises(GenotypeFileError) as theirs:
        dense(open_genotypes(vcf, engine="checked"), records, alleles)
    with pytest.raises(GenotypeFileError, match=r"half-missing call") as ours:
        dense(source, records, alleles)
    message = str(ours.value)
    assert message.startswith(f"{store} variant ") and "half_call=" in message
    # the same first record and sample as the VCF engine names
    where = str(theirs.value).split("(")[1].split(")")[0]  # chrom:pos
    assert f"({where})" in message
    assert str(theirs.value).split("sample ")[1].split()[0] in message


@pytest.mark.parametrize("dosage", ["DS", "GP"])
@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
def test_dosage_fields_equal_the_vcf_engines(made, dosage, haploid):
    got = assert_same_reading(*made["dosage"], dosage=dosage, haploid=haploid, half_call="missing")
    assert got["fallback"] == 0
    values = got["dosage"]
    assert np.isnan(values).any() and (values % 1 != 0)[~np.isnan(values)].any()


@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
@pytest.mark.parametrize("samples", [None, ["D", "B"]])
def test_ds_haploid_multiallelic_and_records_without_ds(made, haploid, samples):
    got = assert_same_reading(*made["ds"], dosage="DS", haploid=haploid, samples=samples)
    assert got["fallback"] == 2  # rs2 and rs4 carry GT only: read from GT, counted
    # hand check: rs1 (record 0) ALT dosage of sample B, a haploid "1" with DS 1
    if samples is None:
        assert got["dosage"][1, 1] == (2.0 if haploid == "as-diploid" else 1.0)


def test_ds_records_without_the_field_in_some_samples_only_are_not_read_from_gt(made):
    """With a subset whose samples all have DS "." (rs5: A and B), the record still holds DS
    in D: it is read as DS (missing), not from GT, as the VCF engines read it."""
    got = assert_same_reading(*made["ds"], dosage="DS", samples=["A", "B"])
    assert got["fallback"] == 2


@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
def test_gp_haploid_calls_and_records_without_gp(made, haploid):
    got = assert_same_reading(*made["gp"], dosage="GP", haploid=haploid)
    assert got["fallback"] == 1  # rs2 holds GT only
    # hand check: rs1 ALT dosage of B, a haploid call with GP 0.2,0.8
    assert got["dosage"][1, 1] == pytest.approx(0.8 * (2 if haploid == "as-diploid" else 1))


@pytest.mark.parametrize(
    ("dosage", "record", "expected"),
    [
        ("DS", ("X", 100, "rs1", "A", "G", ["0/1:0.5", "0/0:2.5"]), r"sample B has DS 2\.5 "),
        ("GP", ("X", 100, "rs1", "A", "G", ["0:0.5,0.5", "1:0,1"]), r"GP has 2 value\(s\)"),
        ("GP", ("X", 100, "rs1", "A", "G,T", ["0/1:1,0,0,0,0,0", "0/0:."]), r"biallelic"),
    ],
)
def test_bad_dosage_values_are_refused_as_the_vcf_engines_refuse_them(
    tmp_path, dosage, record, expected
):
    chrom, pos, vid, ref, alt, cells = record
    line = f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.\tGT:{dosage}\t" + "\t".join(cells)
    vcf = write_vcf(tmp_path / "bad.vcf", SAMPLES4[:2], [line], contigs={"X": 155270560})
    store = to_zarr(vcf, tmp_path / "bad.vcz")
    messages = []
    for source in (
        open_genotypes(vcf, engine="checked", dosage=dosage),
        VcfZarrSource(store, dosage=dosage),
    ):
        records, alleles = every_allele(source.sites())
        with pytest.raises(GenotypeFileError, match=expected) as caught:
            dense(source, records, alleles)
        messages.append(str(caught.value))
    # the same words after the location (the VCF's line, the store's variant)
    assert messages[1].startswith(f"{store} variant 0 (X:100): ")
    assert messages[0].split("(X:100): ")[1] == messages[1].split("(X:100): ")[1]


def test_store_without_the_dosage_array_reads_gt_and_counts_every_record(made):
    vcf, store = made["calls"]
    got = assert_same_reading(vcf, store, dosage="DS", half_call="missing")
    assert got["fallback"] == 60


# -- several stores, layouts, chunked reading ---------------------------------------------------


def test_one_store_per_chromosome_numbers_records_globally(made):
    vcfs = [made["chr21"][0], made["chr22"][0]]
    stores = [made["chr21"][1], made["chr22"][1]]
    assert_same_reading(vcfs, stores, half_call="missing")
    sites = VcfZarrSource(stores).sites()
    assert sites["record"].max() == 25 + 30 - 1
    assert set(sites.loc[sites["file"] == 1, "chrom"]) == {"22"}
    assert sites.loc[sites["file"] == 1, "record"].min() == 25


def test_stores_with_different_samples_are_refused(made):
    with pytest.raises(GenotypeFileError, match=r"samples differ"):
        VcfZarrSource([made["calls"][1], made["ds"][1]])


def test_zarr2_and_zip_stores_read_the_same(made, tmp_path):
    vcf, _ = made["calls"]
    v2 = to_zarr(vcf, tmp_path / "calls_v2.zarr", zarr_format=2)
    zipped = to_zarr(vcf, tmp_path / "calls.vcz.zip")
    assert zipped.is_file() and genotype_format(zipped) == "vcf-zarr"
    for store in (v2, zipped):
        assert_same_reading(vcf, store, half_call="missing")
        assert isinstance(open_genotypes(store, half_call="missing"), VcfZarrSource)


def test_build_from_contig_lengths(made):
    vcf, store = made["calls"]  # ##contig=<ID=22,length=51304566>: GRCh37's chr22
    assert VcfZarrSource(store).build() == open_genotypes(vcf).build() == "GRCh37"


def test_wanted_positions_give_the_rows_of_the_full_table(made):
    source = VcfZarrSource(made["calls"][1])
    full = source.sites()
    positions = np.sort(full["pos"].unique()[::3])
    part = source.sites({"22": positions})
    expected = full[full["pos"].isin(positions)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)


def test_wanted_positions_outside_a_store_give_no_rows(made):
    """A store none of whose positions is wanted (one store per chromosome, a score on
    another) lists no sites, as a VCF does."""
    vcf, store = made["chr21"]
    wanted = {"22": np.array([16050075, 16050115])}
    ours = VcfZarrSource(store).sites(wanted)
    theirs = open_genotypes(vcf, format="vcf", engine="checked").sites(wanted)
    assert len(ours) == len(theirs) == 0
    assert list(ours.columns) == list(theirs.columns)


def _chunk_file(store: Path, array: str, variant_chunk: int, sample_chunk: int) -> Path:
    """The file holding one call_genotype chunk (zarr 3's default key encoding)."""
    path = store / array / "c" / str(variant_chunk) / str(sample_chunk) / "0"
    assert path.is_file(), path
    return path


def test_reads_only_the_chunks_it_needs(made, tmp_path):
    """A damaged chunk is met only when a request lies in it: reading is chunk by chunk
    (variant chunks of the requested records, sample chunks of the requested samples)."""
    original = made["chr22"][1]
    store = tmp_path / "damaged.vcz"
    shutil.copytree(original, store)
    _chunk_file(store, "call_genotype", 1, 1).write_bytes(b"not a blosc chunk")  # rows 7..13
    source = VcfZarrSource(store, half_call="missing")
    sites = source.sites()
    outside = sites[(sites["record"] < 7) | (sites["record"] > 13)]
    records, alleles = every_allele(outside)
    dense(source, records, alleles)  # never touches the damaged chunk
    inside = every_allele(sites[sites["record"] == 9])
    # samples 0..3 live in sample chunk 0: still readable
    dense(VcfZarrSource(store, half_call="missing", samples=["S1", "S3"]), *inside)
    with pytest.raises(GenotypeFileError, match=r"cannot read call_genotype at variants 9\.\.9"):
        dense(source, *inside)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_requests_and_chunk_size_read_the_rows_of_the_full_reading(made, data):
    """Requests (a sorted subset of every allele, some repeated) cut in chunks of any size
    read what the whole reading reads at those rows, whatever store chunks they span; a
    record read from GT is counted once however many chunks hold its alleles."""
    name = data.draw(st.sampled_from(["dosage", "ds", "calls"]))
    store = made[name][1]
    options = {"dosage": "DS", "half_call": "missing"}
    source = VcfZarrSource(store, **options)
    records, alleles = every_allele(source.sites())
    everything, ploidy = dense(source, records, alleles, chunk_size=len(records))
    picked = np.sort(data.draw(st.lists(st.integers(0, len(records) - 1), min_size=1, max_size=60)))
    chunk_size = data.draw(st.integers(1, 70))
    again = VcfZarrSource(store, **options)
    part, part_ploidy = dense(again, records[picked], alleles[picked], chunk_size=chunk_size)
    np.testing.assert_array_equal(part, everything[picked])
    np.testing.assert_array_equal(part_ploidy, ploidy[picked])
    # records stored without DS: rs2 and rs4 of the hand-written file, all of "calls"
    from_gt = {"dosage": set(), "ds": {1, 3}, "calls": set(records.tolist())}[name]
    assert again.fallback_to_gt == len(from_gt & set(records[picked].tolist()))


def test_requests_in_one_chunk_beyond_chunk_size_are_read_in_parts(made):
    source = VcfZarrSource(made["calls"][1], half_call="missing")
    records, alleles = every_allele(source.sites())
    whole, _ = dense(source, records, alleles, chunk_size=10_000)
    parts, _ = dense(source, records, alleles, chunk_size=1)
    np.testing.assert_array_equal(whole, parts)


# -- scoring through prs.score and the CLI --------------------------------------------------


def test_cli_scores_a_store_as_the_vcf(made, tmp_path):
    vcf = made["chr22"][0]
    store = to_zarr(vcf, tmp_path / "chr22.vcz.zip")
    sites = VcfZarrSource(store).sites().drop_duplicates("pos").head(12)
    rows = [
        ("22", int(s.pos), s.alt, s.ref, 0.1 * (k + 1)) for k, s in enumerate(sites.itertuples())
    ]
    scorefile = write_scorefile(tmp_path / "s.txt", rows)
    outputs = {}
    for name, genotypes in (("vcf", vcf), ("zarr", store)):
        out = tmp_path / name
        args = ["score", "--genotypes", str(genotypes), "--scorefile", str(scorefile)]
        assert main([*args, "--out", str(out), "--half-call", "missing", "--keep-ambiguous"]) == 0
        outputs[name] = out
    produced = sorted(p.name for p in outputs["zarr"].iterdir() if p.suffix == ".tsv")
    assert produced
    for name in produced:
        if "provenance" in name:
            continue
        theirs = pd.read_csv(outputs["vcf"] / name, sep="\t")
        ours = pd.read_csv(outputs["zarr"] / name, sep="\t")
        pd.testing.assert_frame_equal(ours, theirs, obj=name)


def test_genotype_format_vcf_zarr_opens_a_store_without_a_telling_name(made, tmp_path):
    store = tmp_path / "cohort"
    shutil.copytree(made["ds"][1], store)
    assert genotype_format(store) == "vcf-zarr"  # a directory holding zarr.json
    source = open_genotypes(store, format="vcf-zarr", dosage="DS")
    assert isinstance(source, VcfZarrSource) and source.samples == tuple(SAMPLES4)


# -- bad stores -------------------------------------------------------------------------------


def test_missing_and_non_zarr_paths_are_named(tmp_path):
    with pytest.raises(GenotypeFileError, match=r"no such VCF Zarr store"):
        VcfZarrSource(tmp_path / "absent.vcz")
    empty = tmp_path / "empty.vcz"
    empty.mkdir()
    with pytest.raises(GenotypeFileError, match=r"empty\.vcz: not a Zarr store"):
        VcfZarrSource(empty)
    text = tmp_path / "text.vcz.zip"
    text.write_text("hello")
    with pytest.raises(GenotypeFileError, match=r"text\.vcz\.zip: not a Zarr store"):
        VcfZarrSource(text)


def test_a_zarr_group_without_the_spec_arrays_is_not_a_vcf_zarr_store(tmp_path):
    group = zarr.open_group(tmp_path / "other.zarr", mode="w")
    group.create_array("sample_id", data=np.array(["a", "b"], dtype=STRINGS))
    with pytest.raises(GenotypeFileError, match=r"not a VCF Zarr store: no array contig_id"):
        VcfZarrSource(tmp_path / "other.zarr")


def _replace(store: Path, name: str, data: np.ndarray) -> None:
    group = zarr.open_group(store, mode="r+")
    del group[name]
    group.create_array(name, data=data)


def test_arrays_of_the_wrong_shape_or_type_are_named(made, tmp_path):
    original = made["ds"][1]
    cases = {
        "sample_id": (
            np.array(["A", "B", "C"], dtype=STRINGS),
            r"call_genotype has shape \(6, 4, 2\), expected",
        ),
        "variant_contig": (np.zeros(5, dtype=np.int8), r"variant_contig has shape \(5,\)"),
        "call_genotype": (np.zeros((6, 4), dtype=np.int8), r"call_genotype has shape \(6, 4\)"),
        "call_DS": (np.zeros((6, 4, 2), dtype=np.int32), r"call_DS holds int32, not floats"),
        "variant_allele": (
            np.array(["A", "C"] * 3, dtype=STRINGS),
            r"variant_allele has shape \(6,\)",
        ),
    }
    for name, (data, message) in cases.items():
        store = tmp_path / f"bad_{name}.vcz"
        shutil.copytree(original, store)
        _replace(store, name, data)
        with pytest.raises(GenotypeFileError, match=message) as caught:
            VcfZarrSource(store, dosage="DS")
        assert str(caught.value).startswith(str(store)), name


def test_bad_values_name_the_variant(made, tmp_path):
    store = tmp_path / "bad.vcz"
    shutil.copytree(made["ds"][1], store)
    contig = zarr.open_group(store)["variant_contig"][:]
    contig[3] = 5
    _replace(store, "variant_contig", contig)
    with pytest.raises(GenotypeFileError, match=r"bad\.vcz variant 3: variant_contig 5"):
        VcfZarrSource(store).sites()
    store2 = tmp_path / "bad2.vcz"
    shutil.copytree(made["ds"][1], store2)
    gt = zarr.open_group(store2)["call_genotype"][:]
    gt[4, 2] = [3, 0]  # rs5 (variant 4) has one ALT
    _replace(store2, "call_genotype", gt)
    source = VcfZarrSource(store2)
    records, alleles = every_allele(source.sites())
    with pytest.raises(
        GenotypeFileError, match=r"variant 4 \(X:500\): sample C has allele index 3"
    ):
        dense(source, records, alleles)


def test_unknown_samples_and_gt_without_call_genotype(made, tmp_path):
    with pytest.raises(GenotypeFileError, match=r"1 requested sample\(s\) not in the file.*'Z'"):
        VcfZarrSource(made["ds"][1], samples=["A", "Z"])
    store = tmp_path / "no_gt.vcz"
    shutil.copytree(made["ds"][1], store)
    del zarr.open_group(store, mode="r+")["call_genotype"]
    with pytest.raises(GenotypeFileError, match=r"no call_genotype array"):
        VcfZarrSource(store)
    assert VcfZarrSource(store, dosage="DS").samples == tuple(SAMPLES4)
