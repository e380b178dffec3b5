"""F12: weights whose products or sums leave float64's range are a ScoreError naming the
score and the first sample, never an ``inf``/``nan`` SUM with exit 0."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from prs.errors import ScoreError
from prs.scoring import score
from tests.builders import FREQ_COLUMNS, write_scorefile, write_vcf


@pytest.fixture
def vcf(tmp_path):
    return write_vcf(
        tmp_path / "o.vcf.gz",
        ["a", "b", "c", "d"],
        [
            ("1", 100, "x", "A", "G", ["0/0", "1/1", "0/1", "./."]),
            ("1", 200, "y", "C", "T", ["0/0", "1/1", "0/0", "0/0"]),
        ],
    )


def test_sum_overflowing_to_inf_is_named(vcf, tmp_path):
    sf = write_scorefile(
        tmp_path / "w.txt", [("1", 100, "G", "A", 1e308)], header={"pgs_id": "HUGE"}
    )
    with pytest.raises(ScoreError, match=r"score HUGE: SUM of sample 'b' is inf \(1 of 4"):
        score(vcf, sf, missing="none")


def test_opposite_infinities_are_named_too(vcf, tmp_path):
    """+inf + -inf is nan: also not a number a results table may hold."""
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 100, "G", "A", 1e308), ("1", 200, "T", "C", -1e308)],
        header={"pgs_id": "BOTH"},
    )
    with pytest.raises(ScoreError, match=r"score BOTH: SUM of sample 'b' is nan"):
        score(vcf, sf, missing="none")


def test_large_finite_sums_and_their_average_pass(vcf, tmp_path):
    """A SUM near the limit is a number; AVG = SUM / DENOM (DENOM >= 1) cannot overflow."""
    sf = write_scorefile(
        tmp_path / "w.txt", [("1", 100, "G", "A", 8e307)], header={"pgs_id": "BIG"}
    )
    result = score(vcf, sf, missing="none")
    np.testing.assert_allclose(result.sums[:, 0], [0.0, 1.6e308, 8e307, 0.0])
    assert np.isfinite(result.avg[:3, 0]).all() and np.isnan(result.avg[3, 0])
    frame = result.to_frame()
    assert np.isfinite(frame["SUM"]).all()


def test_overflow_through_scorefile_frequency_imputation(vcf, tmp_path):
    """Sample d's missing call is imputed at the scoring file's frequency 0.9: 1.8 copies
    x 1e308 overflows; at the cohort's frequency (1/2, 1 copy) it does not."""
    sf = write_scorefile(
        tmp_path / "w.txt",
        [("1", 100, "G", "A", 1e308, 0.9)],
        header={"pgs_id": "IMP"},
        columns=FREQ_COLUMNS,
    )
    with pytest.raises(ScoreError, match=r"score IMP: SUM of sample 'b' is inf \(2 of 4"):
        score(vcf, sf, missing="scorefile-freq")
    half = write_scorefile(
        tmp_path / "h.txt",
        [("1", 100, "G", "A", 5e307, 0.9)],
        header={"pgs_id": "IMP"},
        columns=FREQ_COLUMNS,
    )
    np.testing.assert_allclose(score(vcf, half).sums[:, 0], [0.0, 1e308, 5e307, 5e307])
    with pytest.raises(ScoreError, match="SUM of sample 'b'"):
        score(vcf, sf)  # mean-impute: b's 1/1 overflows regardless


def test_overflow_on_the_matrix_product_path_names_the_right_score(vcf, tmp_path):
    """Four scores go through BLAS products; only the third overflows."""
    files = [
        write_scorefile(
            tmp_path / f"w{k}.txt",
            [("1", 100, "G", "A", 1e308 if k == 2 else 1.0)],
            header={"pgs_id": f"M{k}"},
        )
        for k in range(4)
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ScoreError, match=r"score M2: SUM of sample 'b' is inf"):
            score(vcf, files, missing="none")
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
