"""Scoring with the reference panel's per-population allele frequencies (issue 14 item 5):
missing genotypes imputed at 2 f of each person's most similar population, checked against a
hand computation on a generated two-population cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prs.ancestry import PcaOptions, build_reference, load_reference, save_reference
from prs.ancestry.reference import ReferencePanelError
from prs.errors import ScoreError, ScoreWarning
from prs.scoring import score
from prs.scoring.reference_freq import (
    FALLBACK_COHORT,
    FALLBACK_SCOREFILE,
    effect_allele_frequencies,
    score_with_reference_frequencies,
)
from prs.weights import read_scorefile
from tests.builders import FREQ_COLUMNS, write_scorefile, write_vcf

PAIRS = [("A", "C"), ("A", "G"), ("C", "T"), ("G", "T")]  # none strand-ambiguous
COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
N_SITES, N_REF, N_TARGET = 400, 160, 8
#: Two sites only the targets have (not in the reference).
EXTRA = [(5_000_000, "A", "C"), (5_001_000, "G", "T")]


def _cells(alt_counts: np.ndarray) -> list[str]:
    return ["./." if np.isnan(c) else ["0/0", "0/1", "1/1"][int(c)] for c in alt_counts]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Reference (two populations, very different frequencies) and target VCFs, the targets'
    true populations and ALT counts (NaN = missing call), the reference's ALT counts."""
    tmp = tmp_path_factory.mktemp("reffreq")
    rng = np.random.default_rng(11)
    base = rng.uniform(0.2, 0.8, N_SITES)
    freq = np.clip(np.column_stack([base - 0.25, base + 0.25]), 0.02, 0.98)
    ref_pop = np.repeat([0, 1], N_REF // 2)
    target_pop = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    ref_counts = rng.binomial(2, freq[:, ref_pop]).astype(float)
    target_counts = rng.binomial(2, freq[:, target_pop]).astype(float)
    pairs = [PAIRS[i] for i in rng.integers(0, 4, N_SITES)]
    pos = (np.arange(N_SITES) + 1) * 1000
    ref_ids = [f"R{i}" for i in range(N_REF)]
    target_ids = [f"T{i}" for i in range(N_TARGET)]
    ref_records = [
        ("1", int(pos[j]), f"v{j}", pairs[j][0], pairs[j][1], _cells(ref_counts[j]))
        for j in range(N_SITES)
    ]
    # score rows at sites 0..9; some missing calls there
    for j, i in [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 0), (9, 1)]:
        target_counts[j, i] = np.nan
    extra_counts = rng.binomial(2, 0.4, (len(EXTRA), N_TARGET)).astype(float)
    extra_counts[0, 0] = np.nan  # X1 missing for T0: imputed at the scoring file's 0.3
    target_records = [
        ("1", int(pos[j]), f"v{j}", pairs[j][0], pairs[j][1], _cells(target_counts[j]))
        for j in range(N_SITES)
    ]
    target_records += [
        ("1", p, f"x{k}", r, a, _cells(extra_counts[k])) for k, (p, r, a) in enumerate(EXTRA)
    ]
    target_records.sort(key=lambda rec: rec[1])
    ref_vcf = write_vcf(tmp / "ref.vcf.gz", ref_ids, ref_records)
    target_vcf = write_vcf(tmp / "target.vcf.gz", target_ids, target_records)
    labels = pd.DataFrame(
        {"IID": ref_ids, "SuperPop": np.where(ref_pop == 0, "AAA", "BBB"), "Population": "P"}
    )
    panel = build_reference(
        ref_vcf,
        labels,
        build="GRCh37",
        options=PcaOptions(n_pcs=4, exclude_high_ld=False, ld_r2=0.5, maf=0.3),
        frequencies="candidates",
    )
    panel = save_reference(panel, tmp / "panel")
    return {
        "tmp": tmp,
        "panel": panel,
        "target_vcf": target_vcf,
        "target_ids": target_ids,
        "target_pop": target_pop,
        "target_counts": target_counts,
        "extra_counts": extra_counts,
        "ref_counts": ref_counts,
        "ref_pop": ref_pop,
        "pairs": pairs,
        "pos": pos,
    }


def _scorefile(cohort, path):
    """Ten rows at reference sites (effect ALT, effect REF, one on the other strand, one
    without other allele) and the two target-only sites (one with a frequency)."""
    pairs, pos = cohort["pairs"], cohort["pos"]
    rows, expected = [], []  # expected: (site or extra index, effect is ALT, weight)
    weights = np.round(np.linspace(-0.4, 0.5, 10), 3) + 0.05
    for j in range(10):
        ref, alt = pairs[j]
        effect_alt = j % 2 == 0
        effect, other = (alt, ref) if effect_alt else (ref, alt)
        if j == 4:  # written on the other strand
            effect, other = COMPLEMENT[effect], COMPLEMENT[other]
        if j == 6:
            other = ""
        rows.append(("1", int(pos[j]), effect, other, weights[j], ""))
        expected.append(("site", j, effect_alt, weights[j]))
    (p1, r1, a1), (p2, r2, a2) = EXTRA
    rows.append(("1", p1, a1, r1, 0.7, 0.3))
    rows.append(("1", p2, r2, a2, -0.2, ""))
    expected += [("extra", 0, True, 0.7), ("extra", 1, False, -0.2)]
    write_scorefile(path, rows, header={"pgs_id": "PGS_TEST", "genome_build": "GRCh37"},
                    columns=FREQ_COLUMNS)  # fmt: skip
    return path, expected


def _hand_sums(cohort, expected):
    """SUM of each target: w x effect dosage where called, w x 2 f where missing, f the
    effect allele's frequency among the reference samples of the target's population
    (counted here from the generated genotypes), or the scoring file's 0.3 for X1."""
    sums = np.zeros(N_TARGET)
    for i in range(N_TARGET):
        pop = cohort["target_pop"][i]
        for kind, j, effect_alt, w in expected:
            if kind == "site":
                count = cohort["target_counts"][j, i]
                ref_alt_freq = cohort["ref_counts"][j, cohort["ref_pop"] == pop].mean() / 2
            else:
                count = cohort["extra_counts"][j, i]
                ref_alt_freq = 0.3 if j == 0 else np.nan
            f = ref_alt_freq if effect_alt else 1 - ref_alt_freq
            if np.isnan(count):
                dosage = 2 * f
            else:
                dosage = count if effect_alt else 2 - count
            sums[i] += w * dosage
    return sums


def test_missing_calls_count_2f_of_the_most_similar_population(cohort):
    path, expected = _scorefile(cohort, cohort["tmp"] / "score.txt")
    with pytest.warns(ScoreWarning, match="no allele frequency in the reference"):
        result = score_with_reference_frequencies(
            cohort["target_vcf"], path, cohort["tmp"] / "panel"
        )
    assert result.samples == tuple(cohort["target_ids"])  # the input order, not by group
    np.testing.assert_allclose(result.sums[:, 0], _hand_sums(cohort, expected), rtol=1e-12)
    info = result.provenance["reference_frequencies"]
    pops = [s["population"] for s in info["samples"]]
    assert pops == [["AAA", "BBB"][p] for p in cohort["target_pop"]]
    assert info["reference"]["sha256"] == cohort["panel"].checksum
    for pop in ("AAA", "BBB"):
        absent = info["rows_without_reference_frequency"][pop]
        assert [(r["variant"], r["imputed_at"]) for r in absent] == [
            (f"1:{EXTRA[0][0]}:{EXTRA[0][1]}:{EXTRA[0][2]}", FALLBACK_SCOREFILE),
            (f"1:{EXTRA[1][0]}:{EXTRA[1][2]}:{EXTRA[1][1]}", FALLBACK_COHORT),
        ]
        assert info["rows_found_on_the_other_strand"][pop] == {str(path): 1}
    # missing calls counted as usual, and for the whole run in the provenance
    assert result.missing_ct[:, 0].tolist() == [3, 2, 1, 1, 1, 1, 1, 1]
    assert result.provenance["counts"]["samples"] == N_TARGET
    assert result.provenance["counts"]["missing_calls"] == {"PGS_TEST": 11}
    assert sorted(g["samples"] for g in result.provenance["groups"]) == [4, 4]
    # the cohort mean (PLINK 2's default) gives other sums: the test can tell them apart
    cohort_mean = score(cohort["target_vcf"], path)
    assert not np.allclose(cohort_mean.sums[:, 0], result.sums[:, 0], rtol=1e-6)


def test_one_person_alone_gets_their_row_of_the_batch(cohort):
    path, _ = _scorefile(cohort, cohort["tmp"] / "score1.txt")
    with pytest.warns(ScoreWarning):
        batch = score_with_reference_frequencies(cohort["target_vcf"], path, cohort["panel"])
    model = cohort["panel"].population_model()  # fitted once, for every person
    for i in (0, 3):
        with pytest.warns(ScoreWarning):
            alone = score_with_reference_frequencies(
                cohort["target_vcf"], path, cohort["panel"], samples=[cohort["target_ids"][i]],
                model=model,
            )  # fmt: skip
        assert alone.samples == (cohort["target_ids"][i],)
        np.testing.assert_allclose(alone.sums[0], batch.sums[i], rtol=1e-12)


def test_frequencies_survive_saving_and_equal_the_genotypes(cohort):
    panel, loaded = cohort["panel"], load_reference(cohort["tmp"] / "panel")
    for pop, code in (("AAA", 0), ("BBB", 1)):
        table = loaded.allele_frequencies(pop).set_index("pos")
        assert len(table) == N_SITES  # every candidate site, not only the PCA variants
        hand = cohort["ref_counts"][:, cohort["ref_pop"] == code].mean(axis=1) / 2
        np.testing.assert_allclose(table.loc[cohort["pos"], "freq"], hand, atol=1e-7)
        pd.testing.assert_frame_equal(panel.allele_frequencies(pop), loaded.allele_frequencies(pop))
    assert panel.n_variants < N_SITES
    with pytest.raises(ReferencePanelError, match="no population 'ZZZ'"):
        panel.allele_frequencies("ZZZ")


def test_effect_allele_lookup_by_strand_and_allele(cohort, tmp_path):
    """Effect = ALT gives f, effect = REF 1 - f, on either strand; alleles that are not the
    panel's give NaN."""
    table = pd.DataFrame(
        {"chrom": "1", "pos": [100, 200], "ref": ["A", "C"], "alt": ["G", "T"],
         "freq": [0.2, 0.9]}
    )  # fmt: skip
    rows = [
        ("1", 100, "G", "A", 1.0, ""),  # ALT: 0.2
        ("1", 100, "A", "G", 1.0, ""),  # REF: 0.8
        ("1", 100, "C", "T", 1.0, ""),  # ALT on the other strand: 0.2
        ("1", 200, "G", "A", 1.0, ""),  # REF (C) on the other strand: 0.1
        ("1", 200, "A", "", 1.0, ""),  # ALT (T) on the other strand, no other allele: 0.9
        ("1", 100, "G", "C", 1.0, ""),  # other allele not the panel's: NaN
        ("1", 300, "G", "A", 1.0, ""),  # not in the panel: NaN
    ]
    path = write_scorefile(
        tmp_path / "s.txt", rows,
        columns=FREQ_COLUMNS,
    )  # fmt: skip
    freq, flipped = effect_allele_frequencies(read_scorefile(path), table)
    np.testing.assert_allclose(freq, [0.2, 0.8, 0.2, 0.1, 0.9, np.nan, np.nan])
    assert flipped.tolist() == [False, False, True, True, True, False, False]


def test_refusals(cohort):
    path, _ = _scorefile(cohort, cohort["tmp"] / "score2.txt")
    with pytest.raises(ScoreError, match="sets missing= itself"):
        score_with_reference_frequencies(
            cohort["target_vcf"], path, cohort["panel"], missing="none"
        )
    with pytest.raises(ReferencePanelError, match="is on GRCh37, the genotypes"):
        score_with_reference_frequencies(
            cohort["target_vcf"], path, cohort["panel"], genome_build="GRCh38"
        )


# --------------------------------------------------------------------------------------------
# Per-population score distributions from a reference pack (item 6)


def _pack_archive(cohort, plink2, out_dir):
    """A pgsc_calc-shaped pack: GRCh37_TEST_ALL.pgen/.pvar.zst/.psam (labels), a KING-cutoff
    list, in a .tar.zst; returns the archive bytes, the labels and the related IDs."""
    import io
    import subprocess
    import tarfile

    import zstandard

    work = out_dir / "pack_src"
    work.mkdir()
    prefix = work / "GRCh37_TEST_ALL"
    subprocess.run(
        [plink2, "--vcf", str(cohort["tmp"] / "ref.vcf.gz"), "--make-pgen", "--out",
         str(prefix), "--silent", "--threads", "1"],
        check=True,
    )  # fmt: skip
    ids = [f"R{i}" for i in range(N_REF)]
    superpop = np.where(cohort["ref_pop"] == 0, "AAA", "BBB")
    population = [f"{s}{i % 2}" for i, s in enumerate(superpop)]
    psam = pd.DataFrame({"#IID": ids, "SEX": "NA", "SuperPop": superpop, "Population": population})
    psam.to_csv(f"{prefix}.psam", sep="\t", index=False)
    pvar = Path(f"{prefix}.pvar")
    Path(f"{prefix}.pvar.zst").write_bytes(zstandard.ZstdCompressor().compress(pvar.read_bytes()))
    pvar.unlink()
    related = ["R0", "R1", "R81"]
    (work / "deg2_phase3.king.cutoff.out.id").write_text("#IID\n" + "\n".join(related) + "\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for f in sorted(work.iterdir()):
            tar.add(f, arcname=f"pgsc_TEST_v1/{f.name}")
    labels = pd.DataFrame({"IID": ids, "SuperPop": superpop, "Population": population})
    return zstandard.ZstdCompressor().compress(buffer.getvalue()), labels, related


def _reference_scorefile(cohort, path, weights):
    rows = []
    for j, w in enumerate(weights):
        ref, alt = cohort["pairs"][j]
        effect, other = (alt, ref) if j % 3 else (ref, alt)
        rows.append(("1", int(cohort["pos"][j]), effect, other, w))
    return write_scorefile(path, rows, header={"pgs_id": "PGS_DIST", "genome_build": "GRCh37"})


def _hand_scores(cohort, weights):
    counts = cohort["ref_counts"][: len(weights)]
    dosage = np.array([counts[j] if j % 3 else 2 - counts[j] for j in range(len(weights))])
    return np.asarray(weights) @ dosage


def test_distribution_from_a_fetched_pack_is_cached_and_invalidated(
    cohort, plink2, tmp_path, monkeypatch
):
    """``prs reference distribution`` on a .tar.zst pack served over the loopback server:
    per-population n/mean/SD equal a hand computation over the unrelated samples; the second
    call does not score; a changed scoring file is scored again."""
    from prs.cli import main
    from prs.scoring import reference_freq
    from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, md5_hex

    clear_catalog_env(monkeypatch)
    data, labels, related = _pack_archive(cohort, plink2, tmp_path)
    tree = CatalogTree(tmp_path / "ftp")
    pack = tree.root / "resources" / "pgsc_TEST_v1.tar.zst"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(data)
    Path(f"{pack}.md5").write_text(f"{md5_hex(data)}  {pack.name}\n")
    calls = []
    real_score = reference_freq.score

    def counting_score(*args, **kwargs):
        calls.append(kwargs.get("samples"))
        return real_score(*args, **kwargs)

    monkeypatch.setattr(reference_freq, "score", counting_score)
    weights = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.05, -0.15]
    scorefile = _reference_scorefile(cohort, tmp_path / "dist.txt", weights)
    cache = tmp_path / "cache"
    with CatalogServer(tree) as server:
        url = f"{server.ftp_url}/resources/pgsc_TEST_v1.tar.zst"
        argv = ["reference", "distribution", "--reference", url, "--scorefile", str(scorefile),
                "--build", "GRCh37", "--cache-dir", str(cache)]  # fmt: skip
        assert main([*argv, "--out", str(tmp_path / "d1.tsv")]) == 0
        assert main([*argv, "--by", "Population", "--out", str(tmp_path / "d2.tsv")]) == 0
    assert len(calls) == 1  # the second call read the cache
    unrelated = ~labels["IID"].isin(related).to_numpy()
    assert sorted(calls[0]) == sorted(labels["IID"][unrelated])
    hand = labels.assign(score=_hand_scores(cohort, weights))[unrelated]
    for out, by in (("d1.tsv", "SuperPop"), ("d2.tsv", "Population")):
        got = pd.read_csv(tmp_path / out, sep="\t").set_index(by)
        expected = hand.groupby(by)["score"]
        np.testing.assert_array_equal(got["n"], expected.size())
        np.testing.assert_allclose(got["mean"], expected.mean(), rtol=1e-12)
        np.testing.assert_allclose(got["sd"], expected.std(), rtol=1e-12)
        np.testing.assert_allclose(got["p50"], expected.median(), rtol=1e-12)
    # the pack was fetched into the cache and extracted beside itself, once
    extracted = list((cache / "reference").glob("*/pgsc_TEST_v1.tar.zst.extracted"))
    assert len(extracted) == 1 and extracted[0].parent.name == md5_hex(data)
    # API: the same key and values from the cache; a changed scoring file is scored again
    from prs.scoring.reference_freq import reference_score_distribution

    archive = extracted[0].parent / "pgsc_TEST_v1.tar.zst"
    again = reference_score_distribution(archive, scorefile, build="GRCh37", cache_dir=cache)
    assert again.cached and len(calls) == 1
    assert again.provenance["reference"] == f"md5:{md5_hex(data)}"
    weights[0] = 0.9
    _reference_scorefile(cohort, scorefile, weights)
    changed = reference_score_distribution(archive, scorefile, build="GRCh37", cache_dir=cache)
    assert not changed.cached and len(calls) == 2 and changed.key != again.key
    table = changed.distribution().set_index("SuperPop")
    expected = labels.assign(score=_hand_scores(cohort, weights))[unrelated]
    np.testing.assert_allclose(table["mean"], expected.groupby("SuperPop")["score"].mean())


def test_pack_extraction_refuses_unsafe_members_and_missing_builds(tmp_path):
    import io
    import tarfile

    from prs.ancestry.fetch import extract_pack, pack_files

    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ReferencePanelError, match="not a plain file inside the pack"):
        extract_pack(archive)
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "bad.tar.extracted").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReferencePanelError, match="no PLINK 2 fileset"):
        pack_files(empty, "GRCh38")


def test_one_person_end_to_end_population_score_and_percentile(cohort, plink2, tmp_path):
    """The clinical single-sample path: one person's own one-sample VCF -> most similar
    population -> score with missing calls at that population's reference frequencies ->
    percentile and z among that population's reference scores (from a pack's cached
    distribution), each step checked by hand."""
    from scipy import stats

    from prs.calibrate.ancestry import population_z_percentile
    from prs.scoring.reference_freq import reference_score_distribution

    person = 3  # true population BBB; one missing call at site 3
    weights = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.05, -0.15]
    scorefile = _reference_scorefile(cohort, tmp_path / "person.txt", weights)
    records = [
        ("1", int(cohort["pos"][j]), f"v{j}", *cohort["pairs"][j],
         _cells(cohort["target_counts"][j, [person]]))
        for j in range(N_SITES)
    ]  # fmt: skip
    vcf = write_vcf(tmp_path / "person.vcf.gz", ["ME"], records)
    result = score_with_reference_frequencies(vcf, scorefile, cohort["panel"])
    (info,) = result.provenance["reference_frequencies"]["samples"]
    assert info["population"] == "BBB" and info["sample_id"] == "ME"
    counts = cohort["target_counts"][: len(weights), person]
    ref_freq = cohort["ref_counts"][: len(weights), cohort["ref_pop"] == 1].mean(axis=1) / 2
    hand = 0.0
    for j, w in enumerate(weights):
        effect_alt = bool(j % 3)
        f = ref_freq[j] if effect_alt else 1 - ref_freq[j]
        if np.isnan(counts[j]):
            hand += w * 2 * f
        else:
            hand += w * (counts[j] if effect_alt else 2 - counts[j])
    assert np.isnan(counts).sum() == 1
    np.testing.assert_allclose(result.sums[0, 0], hand, rtol=1e-12)

    data, labels, related = _pack_archive(cohort, plink2, tmp_path)
    archive = tmp_path / "pgsc_TEST_v1.tar.zst"
    archive.write_bytes(data)
    dist = reference_score_distribution(
        archive, scorefile, build="GRCh37", cache_dir=tmp_path / "cache"
    )
    ref_long = dist.scores.rename(columns={"IID": "sample_id", "PGS_DIST": "SUM"})
    ref_long["score"] = "PGS_DIST"
    placed = population_z_percentile(
        result.to_frame(),
        {"ME": info["population"]},
        ref_long,
        dict(zip(ref_long["sample_id"], ref_long["SuperPop"], strict=True)),
    )
    unrelated = ~labels["IID"].isin(related).to_numpy()
    bbb = _hand_scores(cohort, weights)[unrelated & (labels["SuperPop"] == "BBB").to_numpy()]
    below, at_or_below = np.sum(bbb < hand), np.sum(bbb <= hand)
    expected = (below + at_or_below + (below < at_or_below)) * 50 / len(bbb)
    np.testing.assert_allclose(placed.percentile[0], expected, rtol=1e-12)
    np.testing.assert_allclose(placed.percentile[0], stats.percentileofscore(bbb, hand, "rank"))
    np.testing.assert_allclose(placed.z[0], (hand - bbb.mean()) / bbb.std(), rtol=1e-12)
    assert placed.reference_n[0] == len(bbb)


def test_a_panel_with_pca_frequencies_only_says_so(cohort):
    """Built without ``frequencies="candidates"`` the panel knows only its PCA variants'
    frequencies: rows outside them fall back, and the warning says how to build it."""
    from dataclasses import replace

    path, _ = _scorefile(cohort, cohort["tmp"] / "score3.txt")
    panel = replace(cohort["panel"], frequency_table=None)
    pca_positions = set(panel.variants["pos"])
    with pytest.warns(ScoreWarning, match="--frequencies candidates"):
        result = score_with_reference_frequencies(cohort["target_vcf"], path, panel)
    absent = result.provenance["reference_frequencies"]["rows_without_reference_frequency"]
    listed = {int(r["variant"].split(":")[1]) for r in absent["AAA"]}
    score_positions = {int(p) for p in cohort["pos"][:10]} | {p for p, _, _ in EXTRA}
    assert listed == score_positions - pca_positions
    assert len(listed) > len(EXTRA)  # some scoring sites are not PCA variants (MAF 0.3)
