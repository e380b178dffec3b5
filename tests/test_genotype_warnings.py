"""Genotype sources: warnings name the caller's line (issue 16 item 5, through
``prs.errors.warn``), and a record whose DS is absent from a DS-declaring VCF is counted
once in ``fallback_to_gt`` by both VCF engines, however the reads are chunked."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from prs.errors import GenotypeWarning
from prs.genotypes import open_genotypes
from tests.builders import vcf_header, write_vcf_text

SAMPLES = ["a", "b", "c"]
#: (record, lacks DS): the records without DS are counted by hand below.
RECORDS = [
    ("22\t100\t.\tA\tG\t.\tPASS\t.\tGT:DS\t0|1:1.0\t1|1:2\t0|0:0", False),
    ("22\t200\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0", True),
    ("22\t300\t.\tA\tG,T\t.\tPASS\t.\tGT\t0|1\t1|2\t0|0", True),  # two ALTs requested
    ("22\t400\t.\tA\tG\t.\tPASS\t.\tGT\t0/1/1\t1|1\t0|0", True),  # polyploid: checked path
    ("22\t450\t.\tA\tG,C\t.\tPASS\t.\tGT:DS\t0|1:1,0\t1|2:1,1\t0|0:0,0", False),
    ("22\t500\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t.|1\t0|0", True),  # half call
    ("22\t600\t.\tA\tC\t.\tPASS\t.\tGT\t0\t1\t0|1", True),  # haploid calls
    ("22\t700\t.\tA\tC,G,T\t.\tPASS\t.\tGT\t0|3\t1|2\t0|1", True),  # three ALTs requested
]


def _next_line() -> int:
    return inspect.currentframe().f_back.f_lineno + 1


def _read(path, engine, chunk_size):
    source = open_genotypes(path, engine=engine, dosage="DS", half_call="missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GenotypeWarning)
        sites = source.sites()
    records = sites["record"].to_numpy()
    alleles = sites["allele_index"].to_numpy()
    chunks = list(source.read(records, alleles, chunk_size=chunk_size))
    dosage = np.concatenate([c.dosage for c in chunks])
    return source.fallback_to_gt, dosage, [len(c.dosage) for c in chunks]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 1024])
def test_each_record_read_from_gt_is_counted_once(tmp_path, chunk_size):
    """Both engines count the records lacking DS (6, by hand), whatever the chunk size:
    a record whose ALTs span a chunk boundary is not counted once per chunk."""
    text = vcf_header(SAMPLES, formats="GT,DS") + "\n".join(r for r, _ in RECORDS) + "\n"
    path = write_vcf_text(tmp_path / "x.vcf", text)
    lacking = sum(lacks for _, lacks in RECORDS)
    fast = _read(path, "fast", chunk_size)
    checked = _read(path, "checked", chunk_size)
    assert fast[0] == checked[0] == lacking == 6
    np.testing.assert_array_equal(fast[1], checked[1])
    # no chunk is empty, and together they cover every request
    assert min(fast[2]) > 0 and sum(fast[2]) == len(fast[1])


def test_random_files_count_as_the_checked_engine(tmp_path):
    """Many biallelic and multiallelic records, some without DS, read in small chunks."""
    rng = np.random.default_rng(11)
    lines, lacking = [], 0
    for k in range(300):
        n_alt = int(rng.choice([1, 1, 2, 3]))
        alts = ",".join("CGTA"[:n_alt])
        calls = rng.integers(0, n_alt + 1, size=(len(SAMPLES), 2))
        gts = [f"{x}|{y}" for x, y in calls]
        if rng.random() < 0.3:
            lacking += 1
            cells = "\t".join(gts)
            lines.append(f"22\t{1000 + k}\t.\tA\t{alts}\t.\tPASS\t.\tGT\t{cells}")
        else:
            ds = [",".join(str(int((c == a).sum())) for a in range(1, n_alt + 1)) for c in calls]
            cells = "\t".join(f"{g}:{d}" for g, d in zip(gts, ds, strict=True))
            lines.append(f"22\t{1000 + k}\t.\tA\t{alts}\t.\tPASS\t.\tGT:DS\t{cells}")
    path = write_vcf_text(
        tmp_path / "r.vcf", vcf_header(SAMPLES, formats="GT,DS") + "\n".join(lines) + "\n"
    )
    for chunk_size in (1, 7, 64):
        fast = _read(path, "fast", chunk_size)
        checked = _read(path, "checked", chunk_size)
        assert fast[0] == checked[0] == lacking
        np.testing.assert_array_equal(fast[1], checked[1])


@pytest.mark.parametrize("engine", ["fast", "checked"])
def test_a_genotype_warning_names_the_callers_line(tmp_path, engine):
    """A record repeated: the GenotypeWarning points at the line that called sites()."""
    line = "22\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\t0|0"
    path = write_vcf_text(tmp_path / "d.vcf", vcf_header(SAMPLES) + f"{line}\n{line}\n")
    source = open_genotypes(path, engine=engine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        here = _next_line()
        source.sites()
    ours = [w for w in caught if issubclass(w.category, GenotypeWarning)]
    assert ours and "repeat an earlier record" in str(ours[0].message)
    assert [(w.filename, w.lineno) for w in ours] == [(__file__, here)] * len(ours)
