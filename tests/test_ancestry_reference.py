"""The ancestry reference panel (issue 14 items 1 and 6): variant selection, LD pruning
against PLINK 2, allele frequencies against PLINK 2, the saved artefact (checksum, version),
the CLI, and fetching a pack over the loopback server."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prs.ancestry import (
    PcaOptions,
    ReferencePanelError,
    build_reference,
    load_reference,
    read_population_labels,
    save_reference,
)
from prs.ancestry.fetch import fetch_reference_pack
from prs.ancestry.pca import call_moments, candidate_sites, ld_prune, read_hard_calls
from prs.calibrate._inputs import read_id_list
from prs.cli import main
from prs.errors import CatalogError
from prs.genotypes import open_genotypes
from prs.weights.catalog.config import CatalogConfig
from tests.catalog_server import CatalogServer, CatalogTree, clear_catalog_env, md5_hex
from tests.conftest import SHARED_DATA

KG = SHARED_DATA / "genotypes" / "uwgac-1kg-phase3-subset"
ANCESTRY = SHARED_DATA / "pygscatalog" / "ancestry"


def _sites(rows):
    """A site table from (chrom, pos, ref, alt, n_alleles) rows, one record each."""
    table = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", "n_alleles"])
    return table.assign(allele_index=1, record=np.arange(len(rows)), file=0, id=".")


def test_candidate_sites_apply_each_rule_once():
    sites = _sites(
        [
            ("1", 100, "A", "G", 2),  # kept
            ("1", 200, "A", "T", 2),  # strand-ambiguous
            ("1", 300, "C", "G", 2),  # strand-ambiguous
            ("1", 400, "A", "AT", 2),  # not a SNP
            ("1", 500, "A", "C", 3),  # multi-allelic
            ("1", 50_000_000, "A", "G", 2),  # chr1 48.2-52.2 Mb high-LD region (GRCh37)
            ("X", 100, "A", "G", 2),  # not autosomal
            ("2", 100, "C", "T", 2),  # kept, flipped in the target
            ("2", 200, "C", "A", 2),  # not in the target
            ("3", 10, "G", "A", 2),  # duplicate position
            ("3", 10, "G", "T", 2),  # duplicate position
        ]
    )
    target = _sites([("1", 100, "A", "G", 2), ("2", 100, "T", "C", 2), ("3", 10, "G", "A", 2)])
    kept, counts = candidate_sites(sites, build="GRCh37", target_sites=target)
    assert list(zip(kept.chrom, kept.pos, strict=True)) == [("1", 100), ("2", 100)]
    assert counts == {
        "sites": 11,
        "not_autosomal": 1,
        "not_biallelic_snp": 2,
        "strand_ambiguous": 2,
        "duplicate_position": 2,
        "high_ld_region": 1,
        "not_in_target": 1,
        "candidates": 2,
    }
    # GRCh38's list does not hold chr1:50,000,000 in the same place
    kept38, _ = candidate_sites(sites, build="GRCh38")
    assert 50_000_000 not in set(kept38.pos)
    with pytest.raises(Exception, match="genome build"):
        candidate_sites(sites, build=None)


def test_ld_prune_keeps_no_pair_above_the_threshold_and_explains_every_drop():
    """The defining properties, checked with numpy's correlation: no two kept variants within
    the window have r² above the threshold; each dropped variant has a kept partner within
    the window above it (greedy, in order)."""
    rng = np.random.default_rng(11)
    base = rng.binomial(2, 0.4, size=(30, 200))
    rows = []
    for i in range(120):  # runs of correlated copies with noise
        row = base[i // 4].copy()
        flip = rng.random(200) < 0.15 * (i % 4)
        row[flip] = rng.binomial(2, 0.4, size=flip.sum())
        rows.append(row)
    calls = np.array(rows, dtype=np.int8)
    chrom = np.array(["1"] * 60 + ["2"] * 60)
    window, r2 = 10, 0.2
    keep = ld_prune(calls, chrom, window=window, step=3, r2=r2)
    corr = np.corrcoef(calls.astype(float)) ** 2
    idx = np.arange(len(calls))
    near = (np.abs(idx[:, None] - idx[None, :]) < window) & (chrom[:, None] == chrom[None, :])
    kept = np.flatnonzero(keep)
    pair = corr[np.ix_(kept, kept)] * near[np.ix_(kept, kept)]
    np.fill_diagonal(pair, 0)
    assert pair.max() <= r2
    for j in np.flatnonzero(~keep):
        partners = kept[(kept < j) & near[j, kept]]
        assert np.any(corr[j, partners] > r2), j
    assert 0 < keep.sum() < len(keep)


@pytest.mark.shared
def test_ld_prune_and_frequencies_against_plink2(shared_data, plink2, tmp_path):
    """On chr22 of the 1000 Genomes subset: ALT frequencies equal PLINK 2 --freq; the pruned
    set and PLINK 2 --indep-pairwise's agree for at least 90 % of variants (PLINK drops the
    lower-MAF variant of a pair, prs the later one)."""
    vcf = KG / "1KG_phase3_subset_chr22.vcf.gz"
    source = open_genotypes(vcf)
    sites, _ = candidate_sites(source.sites(), build="GRCh37")
    calls, _ = read_hard_calls(source, sites)
    freq = call_moments(calls)[0]
    common = np.minimum(freq, 1 - freq) >= 0.05
    sites, calls, freq = sites[common].reset_index(drop=True), calls[common], freq[common]
    extract = tmp_path / "ranges"
    extract.write_text("".join(f"22\t{p}\t{p}\n" for p in sites.pos))
    out = tmp_path / "plink"
    subprocess.run(
        [plink2, "--vcf", str(vcf), "--extract", "bed1", str(extract), "--snps-only",
         "just-acgt", "--max-alleles", "2", "--set-all-var-ids", "@:#", "--freq",
         "--indep-pairwise", "50", "5", "0.2", "--out", str(out), "--silent"],
        check=True,
    )  # fmt: skip
    theirs = pd.read_csv(f"{out}.afreq", sep="\t")
    assert list(theirs["ID"]) == [f"22:{p}" for p in sites.pos]
    np.testing.assert_allclose(theirs["ALT_FREQS"], freq, atol=1e-6)
    plink_in = set(Path(f"{out}.prune.in").read_text().split())
    ours = ld_prune(calls, sites.chrom.to_numpy(), window=50, step=5, r2=0.2)
    plink_keep = np.array([f"22:{p}" in plink_in for p in sites.pos])
    assert (ours == plink_keep).mean() >= 0.9, (ours.sum(), plink_keep.sum())


@pytest.fixture(scope="module")
def small_reference(shared_data):
    paths = [KG / f"1KG_phase3_subset_chr{c}.vcf.gz" for c in (1, 2, 3)]
    related = read_id_list(ANCESTRY / "ref.king.cutoff.id")
    return build_reference(
        paths, ANCESTRY / "ref.psam", related=related, build="GRCh37",
        options=PcaOptions(n_pcs=4),
    )  # fmt: skip


@pytest.mark.shared
def test_build_counts_samples_and_frequencies(small_reference):
    ref = small_reference
    labels = read_population_labels(ANCESTRY / "ref.psam")
    related = set(read_id_list(ANCESTRY / "ref.king.cutoff.id"))
    genotyped = open_genotypes(KG / "1KG_phase3_subset_chr1.vcf.gz").samples
    assert ref.counts["samples_in_genotypes"] == len(genotyped) == 1126
    assert ref.counts["samples_related_excluded"] == len(related & set(genotyped))
    assert set(ref.samples) == (set(genotyped) & set(labels.IID)) - related
    assert ref.pcs.shape == (len(ref.samples), 4)
    # per-population frequencies average to the overall mean, weighted by sample counts
    superpops = pd.Series(ref.superpop).value_counts()
    pooled = sum(ref.populations[p] * n for p, n in superpops.items()) / superpops.sum()
    np.testing.assert_allclose(pooled, ref.mean / 2, atol=1e-9)  # no missing calls here
    # reference PCs are orthogonal with the singular values as norms
    np.testing.assert_allclose(np.linalg.norm(ref.pcs, axis=0), ref.singular_values[:4])


@pytest.mark.shared
def test_save_load_round_trip_and_refusals(small_reference, tmp_path):
    saved = save_reference(small_reference, tmp_path / "ref")
    loaded = load_reference(tmp_path / "ref")
    assert loaded.checksum == saved.checksum and len(saved.checksum) == 64
    pd.testing.assert_frame_equal(loaded.variants.astype(str), small_reference.variants.astype(str))
    for name in ("mean", "scale", "loadings", "singular_values", "pcs"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(small_reference, name))
    assert loaded.samples == small_reference.samples
    assert loaded.populations.keys() == small_reference.populations.keys()
    # a damaged arrays file is refused
    arrays = tmp_path / "ref" / "arrays.npz"
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF
    arrays.write_bytes(bytes(data))
    with pytest.raises(ReferencePanelError, match="SHA-256"):
        load_reference(tmp_path / "ref")
    # another format version is refused
    save_reference(small_reference, tmp_path / "ref2")
    meta_path = tmp_path / "ref2" / "reference.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = "2.0"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ReferencePanelError, match=r"format version 2\.0"):
        load_reference(tmp_path / "ref2")
    with pytest.raises(ReferencePanelError, match="not a prs reference"):
        load_reference(tmp_path / "nothing")


@pytest.mark.shared
def test_saved_pcs_table_is_what_categorise_reads(small_reference, tmp_path):
    """<out>/pcs.tsv: the reference PCs exactly (text round trip), each sample's labels, read
    by the readers of ``prs categorise --reference-pcs`` and ``--population-labels``; the
    population model fitted on it names each reference sample's own super-population for
    nearly all of them."""
    from prs.ancestry.similarity import fit_population_model
    from prs.calibrate.ancestry import read_pcs

    save_reference(small_reference, tmp_path / "ref")
    path = tmp_path / "ref" / "pcs.tsv"
    pcs = read_pcs(path)
    assert list(pcs.columns) == ["IID", "SuperPop", "Population", "PC1", "PC2", "PC3", "PC4"]
    assert tuple(pcs["IID"]) == small_reference.samples
    np.testing.assert_array_equal(pcs[["PC1", "PC2", "PC3", "PC4"]].to_numpy(), small_reference.pcs)
    labels = read_population_labels(path)
    psam = read_population_labels(ANCESTRY / "ref.psam").set_index("IID")
    assert (labels.set_index("IID") == psam.loc[list(small_reference.samples)]).all().all()
    meta = json.loads((tmp_path / "ref" / "reference.json").read_text())
    assert len(meta["files"]["pcs.tsv"]["sha256"]) == 64
    model = fit_population_model(pcs, labels, n_pcs=4)
    assigned = model.assign(pcs).to_frame()
    agree = (assigned["MostSimilarPop"].to_numpy() == labels["SuperPop"].to_numpy()).mean()
    assert agree > 0.95


def test_population_labels_must_name_their_columns(tmp_path):
    path = tmp_path / "labels.psam"
    path.write_text("#IID\tSuperPop\nA\tEUR\n")
    with pytest.raises(ReferencePanelError, match="Population"):
        read_population_labels(path)
    path.write_text("#IID\tSuperPop\tPopulation\nA\tEUR\tGBR\nA\tAFR\tYRI\n")
    with pytest.raises(ReferencePanelError, match="line 3: sample A is labelled twice"):
        read_population_labels(path)
    with pytest.raises(ReferencePanelError, match="not found"):
        read_population_labels(tmp_path / "absent.psam")


@pytest.mark.shared
def test_cli_build_then_project_one_person(shared_data, tmp_path):
    """prs reference build, then prs reference project of one person's VCF: their PCs equal
    their row when the whole cohort is projected by the API."""
    paths = [str(KG / f"1KG_phase3_subset_chr{c}.vcf.gz") for c in (1, 2, 3)]
    out = tmp_path / "ref"
    code = main(
        ["reference", "build", "--genotypes", *paths, "--labels", str(ANCESTRY / "ref.psam"),
         "--related", str(ANCESTRY / "ref.king.cutoff.id"), "--build", "GRCh37",
         "--n-pcs", "4", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    reference = load_reference(out)
    from prs.calibrate.ancestry import read_pcs

    written = read_pcs(out / "pcs.tsv")  # (exact floats: the text round-trips)
    np.testing.assert_array_equal(written[[f"PC{i}" for i in range(1, 5)]], reference.pcs)
    person = open_genotypes(paths).samples[5]
    one = tmp_path / "one"
    one.mkdir()
    one_paths = []
    for p in paths:  # one person's VCF per chromosome: their column of each line
        target = one / Path(p).name.replace(".vcf.gz", ".vcf")
        with gzip.open(p, "rt") as vin, open(target, "w") as vout:
            column = None
            for line in vin:
                if line.startswith("##"):
                    vout.write(line)
                    continue
                fields = line.rstrip("\n").split("\t")
                if column is None:
                    column = fields.index(person)
                vout.write("\t".join([*fields[:9], fields[column]]) + "\n")
        one_paths.append(str(target))
    table = tmp_path / "pcs.tsv"
    assert main(["reference", "project", "--reference", str(out), "--genotypes", *one_paths,
                 "--out", str(table)]) == 0  # fmt: skip
    got = pd.read_csv(table, sep="\t")
    assert list(got.IID) == [person]
    from prs.ancestry import project

    batch = project(reference, open_genotypes(paths))
    np.testing.assert_allclose(
        got[[f"PC{i}" for i in range(1, 5)]].to_numpy()[0],
        batch.pcs[batch.samples.index(person)],
        atol=1e-9,
    )


# --------------------------------------------------------------------------------------------
# prs reference fetch over the loopback server


@pytest.fixture
def pack_server(tmp_path, monkeypatch):
    """A loopback server publishing a small pack (a tar of a reference directory) + .md5."""
    clear_catalog_env(monkeypatch)
    tree = CatalogTree(tmp_path / "ftp")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        payload = np.random.default_rng(1).bytes(300_000)
        info = tarfile.TarInfo("pgsc_test_v1/arrays.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    data = buffer.getvalue()
    pack = tree.root / "resources" / "pgsc_test_v1.tar"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(data)
    Path(f"{pack}.md5").write_text(f"{md5_hex(data)}  {pack.name}\n")
    with CatalogServer(tree) as server:
        yield server, data, f"{server.ftp_url}/resources/pgsc_test_v1.tar"


def _config(tmp_path, **kwargs):
    return CatalogConfig.from_options(
        cache_dir=tmp_path / "cache", retries=2, backoff=0.01, timeout=5, **kwargs
    )


def test_fetch_verifies_caches_and_resumes(pack_server, tmp_path):
    server, data, url = pack_server
    server.fault("/ftp/resources/pgsc_test_v1.tar", drop_after=100_000, times=1)
    got = fetch_reference_pack(url, config=_config(tmp_path))
    assert got.downloaded and got.md5 == md5_hex(data)
    assert got.path.read_bytes() == data
    assert got.path == tmp_path / "cache" / "reference" / got.md5 / "pgsc_test_v1.tar"
    ranges = [r for path, r in server.requests if path.endswith(".tar") and r]
    assert ranges == ["bytes=100000-"]  # the second attempt resumed
    # second call: from the cache (only the .md5 is asked for)
    n = len(server.requests)
    again = fetch_reference_pack(url, config=_config(tmp_path))
    assert not again.downloaded and again.path == got.path
    assert [p for p, _ in server.requests[n:]] == ["/ftp/resources/pgsc_test_v1.tar.md5"]
    # offline with the MD5 given: the cache, no request
    n = len(server.requests)
    offline = fetch_reference_pack(url, md5=got.md5, config=_config(tmp_path, offline=True))
    assert offline.path == got.path and len(server.requests) == n


def test_fetch_refuses_a_wrong_or_missing_checksum(pack_server, tmp_path):
    server, _, url = pack_server
    with pytest.raises(CatalogError, match="MD5 mismatch"):
        fetch_reference_pack(url, md5="0" * 32, config=_config(tmp_path))
    assert not list((tmp_path / "cache" / "reference").glob("*/pgsc_test_v1.tar"))
    server.fault("/ftp/resources/pgsc_test_v1.tar.md5", status=404)
    with pytest.raises(CatalogError, match="no MD5 published"):
        fetch_reference_pack(url, config=_config(tmp_path))


def test_fetch_cli_prints_md5_and_path(pack_server, tmp_path, capsys):
    _, data, url = pack_server
    code = main(["reference", "fetch", url, "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    md5, status, path = capsys.readouterr().out.strip().split("\t")
    assert (md5, status) == (md5_hex(data), "downloaded")
    assert Path(path).read_bytes() == data


@pytest.mark.shared
def test_score_distributions_per_population_survive_saving(small_reference, tmp_path):
    """Reference samples' scores (item 6): per-population n, mean, SD and percentiles equal
    pandas' groupby on the same table, before and after save/load; unscored samples are left
    out; an unknown score is refused."""
    from prs.ancestry import with_scores

    rng = np.random.default_rng(5)
    ids = list(small_reference.samples)
    table = pd.DataFrame({"IID": ids[:-10], "PGS000001": rng.normal(size=len(ids) - 10)})
    table = pd.concat([table, pd.DataFrame({"IID": ["not-a-reference-sample"], "PGS000001": [9]})])
    panel = save_reference(with_scores(small_reference, table), tmp_path / "ref")
    loaded = load_reference(tmp_path / "ref")
    labels = pd.DataFrame({"IID": ids, "SuperPop": small_reference.superpop})
    expected = labels.merge(table, on="IID").groupby("SuperPop")["PGS000001"]
    for ref in (panel, loaded):
        got = ref.score_distribution("PGS000001").set_index("SuperPop")
        np.testing.assert_array_equal(got["n"], expected.size())
        np.testing.assert_allclose(got["mean"], expected.mean(), rtol=1e-12)
        np.testing.assert_allclose(got["sd"], expected.std(), rtol=1e-12)
        np.testing.assert_allclose(got["p50"], expected.median(), rtol=1e-12)
        np.testing.assert_allclose(got["p10"], expected.quantile(0.10), rtol=1e-12)
    with pytest.raises(ReferencePanelError, match="no score 'PGS999999'"):
        loaded.score_distribution("PGS999999")


def test_hard_calls_from_pgen_with_missing_calls_equal_the_vcf(plink2, tmp_path):
    """PLINK sources hand int8 calls (-9 missing) to readers: the reference's calls from a
    .pgen written by plink2 from a VCF with missing calls equal the VCF's (before, -9 was
    clipped to 0 and missing calls were lost)."""
    from tests.builders import write_vcf

    rng = np.random.default_rng(5)
    samples = [f"S{i}" for i in range(30)]
    cells = np.array(["0/0", "0/1", "1/1", "./."])
    records = [
        (
            "22",
            1000 + 10 * i,
            f"v{i}",
            "A",
            "G",
            list(rng.choice(cells, 30, p=[0.4, 0.3, 0.2, 0.1])),
        )
        for i in range(40)
    ]
    vcf = write_vcf(tmp_path / "x.vcf.gz", samples, records)
    subprocess.run(
        [plink2, "--vcf", str(vcf), "--make-pgen", "--out", str(tmp_path / "x"), "--silent"],
        check=True,
    )
    from_vcf = open_genotypes(vcf)
    from_pgen = open_genotypes(tmp_path / "x.pgen")
    ours, _ = read_hard_calls(from_vcf, from_vcf.sites())
    theirs, _ = read_hard_calls(from_pgen, from_pgen.sites())
    assert (ours < 0).sum() > 0  # missing calls present
    np.testing.assert_array_equal(ours, theirs)
