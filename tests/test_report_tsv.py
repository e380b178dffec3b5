"""The fast TSV writer writes exactly what pandas' ``to_csv`` writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from prs._compat import EXACT_FLOATS
from prs.output.tables import _tsv_bytes, write_table

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 20))
    data = {
        "f": draw(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)),
        "i": draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n)),
        "b": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "s": draw(st.lists(texts | st.none(), min_size=n, max_size=n)),
    }
    frame = pd.DataFrame(data).astype({"f": np.float64, "i": np.int64, "b": bool})
    frame["s"] = frame["s"].astype("str" if draw(st.booleans()) else object)
    return frame


@given(frames())
@settings(max_examples=300, deadline=None)
def test_fast_writer_equals_pandas(frame):
    expected = frame.to_csv(sep="\t", index=False, lineterminator="\n").encode()
    fast = _tsv_bytes(frame)
    if fast is not None:  # None: a value pandas would quote, written by pandas instead
        assert fast == expected
    else:
        assert frame["s"].astype(str).str.contains(r'[\t\n\r"]').any()


def test_write_table_round_trip(tmp_path):
    frame = pd.DataFrame(
        {"a": [0.1 + 0.2, np.nan, -0.0, 1e-7], "b": [1, 2, 3, 4], "c": ["x", "", "z", "w"]}
    )
    path = write_table(frame, tmp_path / "t.tsv")
    assert path.read_bytes() == frame.to_csv(sep="\t", index=False, lineterminator="\n").encode()
    back = pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values={"a": [""]},
        **EXACT_FLOATS,
    )
    np.testing.assert_array_equal(back["a"].to_numpy(), frame["a"].to_numpy())


@given(frames(), st.integers(1, 7))
@settings(max_examples=150, deadline=None)
def test_write_table_in_slices_equals_pandas(tmp_path_factory, frame, slice_rows):
    """Written slice by slice (a value to quote in any slice: pandas writes the whole table,
    the slices already written are discarded)."""
    import prs.output.tables as report

    path = tmp_path_factory.mktemp("slices") / "t.tsv"
    saved = report._SLICE_ROWS
    report._SLICE_ROWS = slice_rows
    try:
        write_table(frame, path)
    finally:
        report._SLICE_ROWS = saved
    assert path.read_bytes() == frame.to_csv(sep="\t", index=False, lineterminator="\n").encode()


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300))
@settings(max_examples=300, deadline=None)
def test_float_text_is_python_repr(values):
    from prs.output.tables import _float_text

    x = np.asarray(values, dtype=np.float64)
    expected = ["" if np.isnan(v) else repr(v) for v in x.tolist()]
    assert _float_text(x).to_pylist() == expected


def test_float_text_every_magnitude():
    from prs.output.tables import _float_text

    rng = np.random.default_rng(7)
    x = rng.normal(size=20_000) * 10.0 ** rng.integers(-12, 24, size=20_000)
    x = np.concatenate([x, np.round(x[:5000]), [0.0, -0.0, 1e-4, 1e10, 9.999999999999998e9]])
    assert _float_text(x).to_pylist() == [repr(v) for v in x.tolist()]
