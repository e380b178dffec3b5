"""The sample-ID list of `prs calibrate --exclude` (read by the library, issue 12)."""

from __future__ import annotations

import pytest

from prs.calibrate._inputs import read_id_list
from prs.errors import CalibrationError


def test_first_word_of_each_line_comments_and_blanks_skipped(tmp_path):
    path = tmp_path / "related.id"
    path.write_text("# related pairs\nS1\tS1\n\nS2 extra words\n  \nS3\n")
    assert read_id_list(path) == ["S1", "S2", "S3"]


def test_absent_and_unreadable_lists_are_named(tmp_path):
    with pytest.raises(CalibrationError, match=r"absent\.id: sample ID list not found"):
        read_id_list(tmp_path / "absent.id")
    binary = tmp_path / "binary.id"
    binary.write_bytes(b"\xff\xfe\x00S1\n")
    with pytest.raises(CalibrationError, match="cannot read the sample ID list"):
        read_id_list(binary)
