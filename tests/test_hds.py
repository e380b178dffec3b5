"""``dosage="HDS"`` (issue 15): Minimac's haplotype dosages, ``HDS1 + HDS2`` per call.

* the fast engine equals the checked one (cyvcf2/htslib) bit for bit, or raises the same
  error, on generated VCFs: HDS of 1-6 decimals, ``.`` values, haploid chrX calls (one
  value), records lacking HDS (read from GT, counted), other FORMAT layouts, and bad input
  (a count that is not the call's ploidy, a value outside [0, 1], a multi-allelic record);
* HDS agrees with DS when DS is written as Minimac writes it, ``HDS1 + HDS2`` rounded to
  three decimals: within half a unit of the third decimal (x2 for a haploid call counted
  as diploid) plus float32 rounding, and to float32 rounding where HDS has at most three
  decimals (then DS is the exact sum);
* scores equal PLINK 2's (``--vcf FILE dosage=HDS``), whose importer is independent code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from benchmarks.imputed_case import write_minimac_vcf
from hypothesis import given
from hypothesis import strategies as st

from prs.cli import main
from prs.errors import GenotypeFileError
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from prs.scoring import score
from tests.builders import (
    VCF_HEADER,
    tmp_path_settings,
    write_scorefile,
    write_vcf,
    write_vcf_text,
)
from tests.reference import plink2_scores
from tests.test_imputed_dosage import _assert_bit_equal, _dosages
from tests.test_plink2 import assert_agree

_HDS_LINE = '##FORMAT=<ID=HDS,Number=2,Type=Float,Description="Haplotype ALT dosages">\n'
_HEADER = (
    VCF_HEADER + _HDS_LINE + "##contig=<ID=22,length=51304566>\n##contig=<ID=X,length=156040895>\n"
)
_DIPLOID = ["0|0", "0|1", "1|0", "1|1", "0/1", "./."]
_HAPLOID = ["0", "1", "."]


def _value(draw, ploidy: int) -> str:
    """One sample's HDS text: ``ploidy`` values of 1-6 decimals, sometimes ``.``."""
    roll = draw(st.integers(0, 19))
    if roll == 0:
        return "."
    values = []
    for _ in range(ploidy):
        decimals = draw(st.integers(1, 6))
        x = draw(st.integers(0, 10**decimals)) / 10**decimals
        values.append(f"{x:.{decimals}f}".rstrip("0").rstrip(".") if roll % 3 else f"{x:g}")
    if roll == 1 and ploidy == 2:
        values[1] = "."  # one haplotype missing: the call is missing
    return ",".join(values)


@st.composite
def _vcf(draw) -> str:
    n = draw(st.integers(1, 6))
    lines = []
    for i in range(draw(st.integers(1, 8))):
        chrom = draw(st.sampled_from(["22", "X"]))
        kind = draw(
            st.sampled_from(
                ["GT:HDS"] * 3 + ["GT:DS:HDS:GP", "HDS:GT", "HDS", "GT:DS", "GT", "bad"]
            )
        )
        haploid_record = chrom == "X" and draw(st.booleans())
        bad = draw(st.sampled_from(["count", "range", "multi"])) if kind == "bad" else ""
        fmt = "GT:HDS" if kind == "bad" else kind
        cells = []
        for s in range(n):
            if kind == "HDS":  # no GT: diploid (as DS)
                cells.append(_value(draw, 2))
                continue
            call = draw(st.sampled_from(_HAPLOID if haploid_record else _DIPLOID))
            ploidy = 1 if haploid_record else 2
            hds = _value(draw, ploidy)
            if s == n - 1 and bad == "count":
                hds = _value(draw, 3 - ploidy).replace(".", "0.5") if hds != "." else "0.5"
            if s == n - 1 and bad == "range":
                hds = ",".join(["1.25"] + ["0"] * (ploidy - 1))
            parts = {"GT": call, "HDS": hds, "DS": "0.5", "GP": "0.25,0.5,0.25"}
            cells.append(":".join(parts[key] for key in fmt.split(":")))
        alt = "G,T" if bad == "multi" else "G"
        lines.append(f"{chrom}\t{100 + i}\t.\tA\t{alt}\t.\tPASS\t.\t{fmt}\t" + "\t".join(cells))
    samples = "\t".join(f"S{k}" for k in range(n))
    head = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + samples + "\n"
    return _HEADER + head + "\n".join(lines) + "\n"


@tmp_path_settings(60)
@given(_vcf(), st.sampled_from(["as-diploid", "haploid"]))
def test_random_hds_files_bit_equal_to_the_checked_engine(tmp_path, text, haploid):
    path = write_vcf_text(tmp_path / "hds.vcf", text, index=False)
    _assert_bit_equal(path, "HDS", haploid=haploid)


def _one_record(tmp_path, fmt: str, cells: list[str], alt: str = "G", chrom: str = "22"):
    samples = [f"S{k}" for k in range(len(cells))]
    return write_vcf(
        tmp_path / "one.vcf.gz",
        samples,
        [(chrom, 100, "v", "A", alt, cells)],
        fmt=fmt,
        extra_header=_HDS_LINE,
    )


@pytest.mark.parametrize("engine", [FastVcfSource, VcfSource])
def test_hand_computed_dosages(tmp_path, engine):
    """ALT = HDS1 + HDS2, REF = 2 - ALT; a haploid call's one value doubled under
    as-diploid (ploidy 2), kept under haploid (ploidy 1); ``.`` anywhere: missing."""
    cells = ["0|1:0.25,0.5", "1|1:1,0.875", "0|0:.", "0|1:0.5,.", "./.:0.125,0.125"]
    path = _one_record(tmp_path, "GT:HDS", cells)
    dosage, ploidy = _dosages(engine(path, dosage="HDS"))
    nan = np.nan
    np.testing.assert_array_equal(dosage[1], [0.75, 1.875, nan, nan, 0.25])
    np.testing.assert_array_equal(dosage[0], [1.25, 0.125, nan, nan, 1.75])
    assert (ploidy == 2).all()
    path = _one_record(tmp_path, "GT:HDS", ["1:0.75", "0:0.125", ".:."], chrom="X")
    for haploid, scale, p in (("as-diploid", 2, 2), ("haploid", 1, 1)):
        dosage, ploidy = _dosages(engine(path, dosage="HDS", haploid=haploid))
        np.testing.assert_array_equal(dosage[1], [0.75 * scale, 0.125 * scale, nan])
        np.testing.assert_array_equal(dosage[0], [0.25 * scale, 0.875 * scale, nan])
        assert (ploidy == p).all()


@pytest.mark.parametrize(
    ("fmt", "cells", "alt", "message"),
    [
        ("GT:HDS", ["0|1:0.5", "0|0:0,0"], "G", "has 1 HDS value\\(s\\) for a call of ploidy 2"),
        ("GT:HDS", ["0|1:0.5,1.5", "0|0:0,0"], "G", "HDS 0.5,1.5: each haplotype"),
        ("GT:HDS", ["0|1:-0.5,0.5", "0|0:0,0"], "G", "each haplotype's dosage must be in"),
        ("GT:HDS", ["0|1:0.5,0.5", "0|2:0,0"], "G,T", "needs a biallelic record"),
    ],
)
@pytest.mark.parametrize("engine", [FastVcfSource, VcfSource])
def test_bad_hds_is_an_error_naming_the_record(tmp_path, fmt, cells, alt, message, engine):
    path = _one_record(tmp_path, fmt, cells, alt=alt)
    with pytest.raises(GenotypeFileError, match=f"line .*22:100.*{message}"):
        _dosages(engine(path, dosage="HDS"))


@pytest.mark.parametrize("engine", [FastVcfSource, VcfSource])
def test_records_without_hds_read_from_gt_and_counted(tmp_path, engine):
    lines = [
        _HEADER + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\tS1",
        "22\t100\ta\tA\tG\t.\tPASS\t.\tGT:HDS\t0|1:0.25,0.5\t1|1:1,1",
        "22\t200\tb\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:0.5\t1|1:2",
        "22\t300\tc\tA\tG\t.\tPASS\t.\tGT\t1|1\t0|0",
    ]
    path = write_vcf_text(tmp_path / "mixed.vcf", "\n".join(lines) + "\n", index=False)
    source = engine(path, dosage="HDS")
    dosage, _ = _dosages(source)
    # (GT, not DS, for the record lacking HDS: DS 0.5 would give 0.5, GT 0|1 gives 1)
    np.testing.assert_array_equal(dosage[1::2], [[0.75, 2.0], [1.0, 2.0], [2.0, 0.0]])
    assert source.fallback_to_gt == 2


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_file_declaring_no_hds_is_refused(tmp_path, engine):
    """dosage='HDS' on a file without FORMAT/HDS: refused (its hard calls would be scored),
    as for DS and GP."""
    cells = ["0|1:0.5", "1|1:1.5"]
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S0", "S1"], [("22", 100, "a", "A", "G", cells)])
    sf = write_scorefile(tmp_path / "w.txt", [("22", 100, "G", "A", 1.0)], header={"pgs_id": "X"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GenotypeFileError, match="declares no FORMAT/HDS field"):
            score(vcf, sf, dosage="HDS", engine=engine)


@pytest.mark.parametrize("engine", [FastVcfSource, VcfSource])
def test_hds_not_declared_float_is_an_error(tmp_path, engine):
    header = _HEADER.replace("Number=2,Type=Float", "Number=2,Type=String")
    text = header + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\n"
    text += "22\t100\ta\tA\tG\t.\tPASS\t.\tGT:HDS\t0|1:0.25,0.5\n"
    path = write_vcf_text(tmp_path / "string.vcf", text, index=False)
    with pytest.raises(GenotypeFileError, match="ID=HDS,Number=2,Type=Float"):
        _dosages(engine(path, dosage="HDS"))


# -- HDS against DS written as Minimac writes it ------------------------------------------


def _minimac_pair(tmp_path, seed: int) -> tuple[object, np.ndarray]:
    """A VCF with ``GT:DS:HDS`` where each haplotype's value has 1-6 decimals and DS is
    their sum rounded to three decimals (Minimac); chrX records are haploid (one value).
    Returns the path and, per record, the most decimals any HDS value has."""
    rng = np.random.default_rng(seed)
    n = 40
    lines = [_HEADER + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"]
    lines[0] += "\t".join(f"S{k}" for k in range(n))
    most = []
    for i in range(60):
        chrom = "X" if i % 4 == 3 else "22"
        ploidy = 1 if chrom == "X" else 2
        decimals = int(rng.integers(1, 7))
        most.append(decimals)
        cells = []
        for _ in range(n):
            h = np.round(rng.uniform(0, 1, ploidy), decimals)
            texts = [f"{x:.{decimals}f}" for x in h]
            ds = f"{round(sum(float(t) for t in texts), 3):.3f}"
            call = "|".join(str(int(x > 0.5)) for x in h)
            cells.append(f"{call}:{ds}:{','.join(texts)}")
        lines.append(f"{chrom}\t{1000 + i}\t.\tC\tT\t.\tPASS\t.\tGT:DS:HDS\t" + "\t".join(cells))
    path = write_vcf_text(tmp_path / "minimac.vcf", "\n".join(lines) + "\n", index=False)
    return path, np.array(most)


@pytest.mark.parametrize("engine", [FastVcfSource, VcfSource])
@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
def test_hds_equals_minimac_ds(tmp_path, engine, haploid):
    path, decimals = _minimac_pair(tmp_path, seed=5)
    hds, hds_ploidy = _dosages(engine(path, dosage="HDS", haploid=haploid))
    ds, ds_ploidy = _dosages(engine(path, dosage="DS", haploid=haploid))
    np.testing.assert_array_equal(hds_ploidy, ds_ploidy)
    scale = np.where(ds_ploidy == 1, 1.0, 1.0)
    if haploid == "as-diploid":
        chrx = np.repeat(np.arange(60) % 4 == 3, 2)
        scale = np.where(chrx[:, None], 2.0, 1.0) * np.ones_like(hds)
    float32 = 4 * 2.0**-24 * 2  # three float32 roundings of values <= 2, summed
    rounding = 5e-4 * scale  # DS: the sum rounded to three decimals
    diff = np.abs(hds - ds)
    assert (diff <= rounding + float32 * scale).all()
    short = np.repeat(decimals <= 3, 2)  # DS is then the exact sum
    assert (diff[short] <= float32 * scale[short]).all()
    assert diff[~short].max() > float32  # (the rounding is seen: the check can fail)


def test_hds_scores_equal_ds_scores(tmp_path):
    path, _ = _minimac_pair(tmp_path, seed=6)
    sites = VcfSource(path).sites()
    rng = np.random.default_rng(1)
    weights = np.round(rng.normal(size=len(sites)), 4)
    rows = [
        (r.chrom, r.pos, r.alt, r.ref, float(w))
        for r, w in zip(sites.itertuples(), weights, strict=True)
    ]
    sf = write_scorefile(tmp_path / "w.txt", rows, header={"pgs_id": "H"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_hds = score(path, sf, dosage="HDS")
        by_ds = score(path, sf, dosage="DS")
    bound = np.abs(weights).sum() * (1e-3 + 1e-6)
    assert np.abs(by_hds.sums - by_ds.sums).max() <= bound
    assert not np.array_equal(by_hds.sums, by_ds.sums)


# -- PLINK 2 -------------------------------------------------------------------------------


_PAIRS = [("A", "G"), ("C", "T"), ("G", "A"), ("T", "C"), ("A", "C"), ("G", "T")]


def _plink_case(tmp_path, eighths: bool):
    """GT:HDS records on chr22 and chrX (haploid), ``.`` values, records with GT only; HDS
    in steps of 1/8 (exact in PLINK 2's 1/16384 grid) or of 1-6 decimals."""
    rng = np.random.default_rng(11 if eighths else 12)
    n = 50
    samples = [f"P{k}" for k in range(n)]
    records, rows = [], []
    for i in range(30):
        chrom = "X" if i >= 20 else "22"  # (sorted: tabix indexes it)
        ploidy = 1 if chrom == "X" else 2
        ref, alt = _PAIRS[int(rng.integers(len(_PAIRS)))]  # (not strand-ambiguous)
        pos = 5000 + 10 * i
        gt_only = i % 10 == 4  # no HDS: read from GT by both
        cells = []
        for _ in range(n):
            if eighths:
                h = [f"{x / 8:g}" for x in rng.integers(0, 9, ploidy)]
            else:
                d = int(rng.integers(1, 7))
                h = [f"{x:.{d}f}" for x in np.round(rng.uniform(0, 1, ploidy), d)]
            call = "|".join(str(int(float(x) > 0.5)) for x in h)
            if gt_only:
                cells.append(call)
            elif rng.random() < 0.06:
                cells.append(("./." if ploidy == 2 else ".") + ":.")
            else:
                cells.append(f"{call}:{','.join(h)}")
        fmt = "GT" if gt_only else "GT:HDS"
        records.append(
            f"{chrom}\t{pos}\tv{i}\t{ref}\t{alt}\t.\tPASS\t.\t{fmt}\t" + "\t".join(cells)
        )
        effect, other = (alt, ref) if i % 2 else (ref, alt)
        rows.append((chrom, pos, effect, other, round(float(rng.normal()), 5)))
    head = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)
    text = _HEADER + head + "\n" + "\n".join(records) + "\n"
    vcf = write_vcf_text(tmp_path / "hds.vcf", text)
    sf = write_scorefile(tmp_path / "hds.txt", rows, header={"pgs_id": "HDS"})
    return vcf, sf


@pytest.mark.plink2
@pytest.mark.parametrize("engine", ["fast", "checked"])
@pytest.mark.parametrize("eighths", [True, False])
def test_scores_equal_plink2_dosage_hds(plink2, tmp_path, engine, eighths):
    vcf, sf = _plink_case(tmp_path, eighths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(vcf, sf, dosage="HDS", engine=engine, keep_ambiguous=True)
    assert result.variants_used[0] == 30
    expected = plink2_scores(plink2, result, [vcf], tmp_path / "plink", dosage="HDS")
    if eighths:  # exact in PLINK 2's grid: every count equal
        assert_agree(result, expected)
        return
    # PLINK 2 stores each dosage in steps of 1/16384: SUM within that, counts equal, the
    # named allele's dosage within half a step per variant (and its 5 printed digits).
    assert_agree(result, expected, exact_counts=False, dosage_steps=True)
    expected = expected.loc[list(result.samples)]
    np.testing.assert_array_equal(result.allele_ct[:, 0], expected["HDS_ALLELE_CT"])
    np.testing.assert_array_equal(result.denom[:, 0], expected["HDS_DENOM"])
    named = expected["HDS_NAMED"].to_numpy(dtype=float)
    printed = 0.5 * 10.0 ** (np.floor(np.log10(np.maximum(np.abs(named), 1e-300))) - 4)
    assert np.all(np.abs(result.named_dosage[:, 0] - named) <= 30 * 2**-15 + printed + 1e-9)


def test_cli_takes_dosage_hds(tmp_path):
    """``prs score --dosage HDS`` (the CLI's choices come from prs.vocab): its SUMs are the
    API's."""
    vcf, sf = _plink_case(tmp_path, True)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = ["score", "--vcf", str(vcf), "--scorefile", str(sf), "--dosage", "HDS"]
        code = main([*args, "--out", str(out)])
        api = score(vcf, sf, dosage="HDS")
    assert code == 0
    (table,) = out.glob("scores*")
    written = pd.read_csv(table, sep="\t")
    assert written["sample_id"].tolist() == list(api.samples)
    np.testing.assert_allclose(written["SUM"], api.sums[:, 0], rtol=1e-12)


# -- HDS kept from the sites pass (the DS store's parser, two values a call) ---------------


@pytest.fixture
def hds_store(monkeypatch):
    """The fast engine keeping HDS in the sites pass as it keeps DS (``FastVcfSource``
    enables the store for DS; this gives an HDS source its store)."""
    from prs.genotypes.fastvcf import source as fast_source
    from prs.genotypes.fastvcf.cache import DsCache

    def store(n_samples: int, cache_bytes: int, field: str = "DS") -> DsCache:
        return DsCache(n_samples, 1 << 28 if n_samples else 0, "HDS")

    monkeypatch.setattr(fast_source, "DsCache", store)


@pytest.mark.parametrize("haploid", ["as-diploid", "haploid"])
def test_hds_store_bit_equal_to_the_checked_engine(tmp_path, hds_store, haploid):
    """Minimac files (``GT:DS:HDS:GP``, three decimals: the store takes every record) and
    files of 1-6 decimals, haploid chrX records and ``.`` (the store leaves what it cannot
    read exactly to the general path): both as the checked engine, bit for bit."""
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 30, 120, seed=3)
    source = _assert_bit_equal(path, "HDS", haploid=haploid)
    assert (source._listed.ds_row >= 0).all()
    path, decimals = _minimac_pair(tmp_path, seed=4)
    source = _assert_bit_equal(path, "HDS", haploid=haploid)
    kept = source._listed.ds_row >= 0
    chrx = np.arange(60) % 4 == 3
    assert kept.any() and not kept[chrx].any()  # (haploid calls: the general path)
    assert not kept[decimals > 3].any()


@tmp_path_settings(40)
@given(_vcf())
def test_random_hds_files_with_the_store(tmp_path, hds_store, text):
    path = write_vcf_text(tmp_path / "hds.vcf", text, index=False)
    _assert_bit_equal(path, "HDS")


def test_hds_listed_but_never_given_is_the_checked_error(tmp_path):
    """FORMAT lists HDS but no sample has a value: the checked path's error on both
    engines (the fast one used to read NaN)."""
    header = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS0\tS1\n"
    record = "22\t100\t.\tA\tG\t.\tPASS\t.\tGT:DS:HDS\t0|0\t0|1:1\n"
    path = write_vcf_text(tmp_path / "nohds.vcf", _HEADER + header + record, index=False)
    for source in (FastVcfSource(path, dosage="HDS"), VcfSource(path, dosage="HDS")):
        sites = source.sites()
        with pytest.raises(GenotypeFileError, match="FORMAT lists HDS but no sample has a value"):
            list(source.read(sites["record"].to_numpy(), sites["allele_index"].to_numpy()))
