"""Imputation quality in the site table (issue 15): ``r2`` and ``imputed`` from INFO.

Both VCF engines are held to htslib's reading of the INFO column (cyvcf2's
``variant.INFO``), on a Minimac4-style file made by the benchmark's writer and on random
INFO values (decimals, exponents, ``.``, long digit strings, DR2 / INFO fallbacks).
"""

from __future__ import annotations

import warnings

import cyvcf2
import numpy as np
import pandas as pd
import pytest
from benchmarks.imputed_case import write_minimac_vcf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prs.errors import GenotypeWarning
from prs.genotypes.base import SITE_COLUMNS
from prs.genotypes.fastvcf import FastVcfSource
from prs.genotypes.vcf import VcfSource
from prs.genotypes.vcf_record import info_quality
from tests.builders import write_vcf_text

_INFO_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=22,length=51304566>\n"
    '##INFO=<ID=R2,Number=1,Type=Float,Description="r2">\n'
    '##INFO=<ID=DR2,Number=1,Type=Float,Description="dr2">\n'
    '##INFO=<ID=INFO,Number=1,Type=Float,Description="info">\n'
    '##INFO=<ID=AF,Number=1,Type=Float,Description="af">\n'
    '##INFO=<ID=IMPUTED,Number=0,Type=Flag,Description="imputed">\n'
    '##INFO=<ID=TYPED,Number=0,Type=Flag,Description="typed">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=1,Type=Float,Description="Dosage">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
)


def _htslib_quality(path) -> tuple[np.ndarray, np.ndarray]:
    """r2 (R2, else DR2, else INFO; float32 as htslib stores it) and imputed, per record,
    as cyvcf2 reads them."""
    r2, imputed = [], []
    for variant in cyvcf2.VCF(str(path)):
        value = next(
            (variant.INFO.get(k) for k in ("R2", "DR2", "INFO") if variant.INFO.get(k, -9) != -9),
            None,
        )
        r2.append(np.nan if value is None else value)
        flags = dict(variant.INFO)
        imputed.append("IMPUTED" in flags and "TYPED" not in flags)
    return np.asarray(r2, dtype=np.float32), np.asarray(imputed)


def _both_sites(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    fast = FastVcfSource(path, dosage="DS").sites()
    checked = VcfSource(path, dosage="DS").sites()
    return fast, checked


def test_minimac4_file_r2_and_imputed_as_htslib_reads_them(tmp_path):
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 20, 200, seed=3)
    fast, checked = _both_sites(path)
    pd.testing.assert_frame_equal(fast, checked)
    r2, imputed = _htslib_quality(path)
    assert fast["r2"].dtype == np.float32 and fast["imputed"].dtype == np.bool_
    np.testing.assert_array_equal(fast["r2"].to_numpy(), r2)
    np.testing.assert_array_equal(fast["imputed"].to_numpy(), imputed)
    # The generator marks about one variant in ten TYPED: both kinds are present.
    assert 0 < (~fast["imputed"]).sum() < len(fast) // 2


_digits = st.integers(0, 10**12).map(str)
_number = st.one_of(
    st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 3), _digits),
    st.floats(0, 1, allow_nan=False).map(repr),
    st.floats(1e-12, 1e3).map(lambda x: f"{x:.7e}"),
    st.builds(lambda a, e: f"{a}E{e}", st.integers(0, 999), st.integers(-30, 5)),
    st.builds(lambda a: "0." + "1" * a, st.integers(15, 30)),  # more digits than the fast path
    st.just("."),
    st.just("1"),
    st.just("-0.25"),
)


@st.composite
def _info(draw) -> str:
    items = []
    keys = draw(st.lists(st.sampled_from(["R2", "DR2", "INFO"]), max_size=3))
    for key in keys:
        items.append(f"{key}={draw(_number)}")
    if draw(st.booleans()):
        items.insert(0, f"AF={draw(_number)}")
    flags = draw(st.lists(st.sampled_from(["IMPUTED", "TYPED"]), max_size=2, unique=True))
    items += flags
    draw(st.randoms()).shuffle(items)
    return ";".join(items) or "."


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_info(), min_size=1, max_size=30))
def test_random_info_values_read_as_htslib_does(tmp_path, infos):
    lines = [
        f"22\t{100 + i}\trs{i}\tA\tG\t.\tPASS\t{info}\tGT:DS\t0|1:1\t0|0:0.5\n"
        for i, info in enumerate(infos)
    ]
    path = write_vcf_text(tmp_path / "info.vcf", _INFO_HEADER + "".join(lines), index=False)
    fast, checked = _both_sites(path)
    pd.testing.assert_frame_equal(fast, checked)
    r2, imputed = _htslib_quality(path)
    np.testing.assert_array_equal(fast["r2"].to_numpy(), r2)
    np.testing.assert_array_equal(fast["imputed"].to_numpy(), imputed)


def test_per_alt_values_and_unreadable_values(tmp_path):
    """A value per ALT goes to each ALT's row; a non-number (or a wrong count) is NaN with a
    warning naming the file, in both engines."""
    text = _INFO_HEADER.replace(
        'Number=1,Type=Float,Description="r2"', 'Number=A,Type=Float,Description="r2"'
    )
    text += "22\t100\trs1\tA\tG,T\t.\tPASS\tR2=0.5,0.25;IMPUTED\tGT:DS\t0|1:1,0\t0|0:0,0\n"
    text += "22\t101\trs2\tA\tG\t.\tPASS\tR2=abc;TYPED\tGT:DS\t0|1:1\t0|0:0\n"
    text += "22\t102\trs3\tA\tG,C\t.\tPASS\tDR2=0.1,0.2,0.3\tGT:DS\t0|1:1,0\t0|0:0,0\n"
    path = write_vcf_text(tmp_path / "alt.vcf", text, index=False)
    tables = []
    for source in (FastVcfSource(path, dosage="DS"), VcfSource(path, dosage="DS")):
        with pytest.warns(GenotypeWarning, match="2 listed record"):
            tables.append(source.sites())
        assert any("imputation quality" in note for note in source.notes)
    pd.testing.assert_frame_equal(*tables)
    r2 = tables[0]["r2"].to_numpy()
    np.testing.assert_array_equal(r2[:2], np.float32([0.5, 0.25]))
    assert np.isnan(r2[2:]).all()
    assert tables[0]["imputed"].tolist() == [True, True, False, False, False]


@pytest.mark.parametrize(
    ("info", "r2", "imputed"),
    [
        (b"R2=0.9;DR2=0.1;IMPUTED", 0.9, True),  # R2 before DR2
        (b"INFO=0.3;DR2=0.7", 0.7, False),  # DR2 before INFO
        (b"INFO=0.3;TYPED;IMPUTED", 0.3, False),  # typed wins
        (b"R2=.;IMPUTED", float("nan"), True),
        (b".", float("nan"), False),
        (b"R2=0.1;R2=0.2", 0.1, False),  # the first of a repeated key
        (b"R2", float("nan"), False),  # a flag, not a value
    ],
)
def test_info_quality_rules_by_hand(info, r2, imputed):
    quality = info_quality(info)
    values, readable = quality.rows(1)
    assert readable
    np.testing.assert_array_equal(np.float32(values), np.float32([r2]))
    assert quality.imputed is imputed


def test_no_warning_for_readable_files(tmp_path):
    path = tmp_path / "minimac.vcf.gz"
    write_minimac_vcf(path, 4, 20, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FastVcfSource(path).sites()
        VcfSource(path).sites()


def test_no_quality_columns_without_a_declared_quality_field(tmp_path):
    """Files whose header declares none of R2, DR2, INFO, IMPUTED, TYPED (typed arrays,
    sequencing) keep the plain site table in both engines, even with such keys in INFO."""
    header = "".join(
        line + "\n"
        for line in _INFO_HEADER.splitlines()
        if not line.startswith("##INFO") or "ID=AF," in line
    )
    text = header + "22\t100\trs1\tA\tG\t.\tPASS\tAF=0.1;R2=0.5\tGT:DS\t0|1:1\t0|0:0\n"
    path = write_vcf_text(tmp_path / "plain.vcf", text, index=False)
    fast, checked = _both_sites(path)
    assert list(fast.columns) == list(SITE_COLUMNS)
    pd.testing.assert_frame_equal(fast, checked)
