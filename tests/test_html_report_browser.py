"""prs report in a real browser (issue 16): Debian's Chromium, headless, driven by Selenium.

The page of a full run (prs demo, then prs evaluate) is opened from disk with the network
unreachable: it loads with no console message, every figure decodes to an image of nonzero
size, nothing but the page and its data: URIs is fetched, and the tables the browser shows
hold the run's numbers (read from the DOM, compared with the run's TSV and JSON files).
Skipped, with the reason, only where Chromium or its driver is absent (``make tools``
installs both: scripts/install-tools.sh).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest

from prs.htmlreport import write_report
from tests.test_html_report import build_run, read_tsv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver not installed (make tools: apt-get install chromium "
    "chromium-driver)",
)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (dev extra) absent")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        # no network at view time: any fetch beyond the file would fail (and be logged)
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def loaded(browser, tmp_path_factory):
    run = build_run(tmp_path_factory.mktemp("browser-run"))
    page = write_report(run)
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    # every image decoded (a data URI decodes before load completes; wait() makes it certain)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].map(i => i.decode())).then(() => done(true),"
        " e => done(String(e)));"
    )
    return browser, run


def _table(browser, table_id: str) -> list[dict[str, dict[str, str | None]]]:
    """The rows of a table as the browser holds them: per cell its shown text and value."""
    return browser.execute_script(
        "const t = document.getElementById(arguments[0]);"
        "if (!t) return null;"
        "return [...t.tBodies[0].rows].map(r => Object.fromEntries([...r.cells]"
        ".filter(c => c.tagName === 'TD')"
        ".map(c => [c.dataset.col || 'value',"
        " {text: c.innerText, value: c.dataset.value ?? null}])));",
        table_id,
    )


def _pairs(browser, table_id: str) -> dict[str, dict[str, str | None]]:
    return browser.execute_script(
        "const t = document.getElementById(arguments[0]);"
        "return Object.fromEntries([...t.rows].map(r => [r.dataset.key,"
        " {text: r.cells[1].innerText, value: r.cells[1].dataset.value ?? null}]));",
        table_id,
    )


def test_page_loads_without_console_messages(loaded):
    browser, _ = loaded
    assert browser.title.startswith("prs report: ")
    messages = browser.get_log("browser")
    assert [m for m in messages if m["level"] in ("SEVERE", "WARNING")] == []


def test_every_figure_renders(loaded):
    browser, _ = loaded
    images = browser.execute_script(
        "return [...document.images].map(i => ({id: i.closest('figure').id, complete: i.complete,"
        " w: i.naturalWidth, h: i.naturalHeight, shown: i.getBoundingClientRect().width}))"
    )
    assert {i["id"] for i in images} == {
        "fig-match-EXAMPLE_BC01", "fig-dist-EXAMPLE_BC01", "fig-pca", "fig-categories",
        "fig-roc", "fig-calibration",
    }  # fmt: skip
    for image in images:
        assert image["complete"] and image["w"] > 100 and image["h"] > 100, image
        assert image["shown"] > 100, image


def test_nothing_is_fetched_but_the_page(loaded):
    browser, _ = loaded
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert [r for r in resources if not r.startswith("data:")] == []


def test_tables_hold_the_runs_numbers(loaded):
    browser, run = loaded
    (summary,) = read_tsv(run / "match_summary.tsv")
    for row in _table(browser, "match-EXAMPLE_BC01"):
        outcome = row["outcome"]["text"]
        assert int(row["rows"]["value"]) == int(summary[outcome])
        assert int(row["rows"]["text"].replace(",", "")) == int(summary[outcome])
    coverage = _pairs(browser, "coverage-EXAMPLE_BC01")
    assert float(coverage["match rate (coverage of rows)"]["value"]) == float(summary["match_rate"])

    values = np.array([float(r["SUM"]) for r in read_tsv(run / "scores.tsv")])
    (dist,) = _table(browser, "dist-EXAMPLE_BC01")
    assert int(dist["n"]["value"]) == values.size
    for p in (5, 50, 95):
        shown = float(dist[f"p{p}"]["text"].replace(",", ""))
        assert shown == pytest.approx(np.percentile(values, p), rel=1e-3, abs=1e-3)

    cats = read_tsv(run / "categories.tsv")
    counts = {
        r["category"]["text"]: int(r["people"]["value"]) for r in _table(browser, "category-counts")
    }
    assert counts == dict(Counter(r["category"] or "no category" for r in cats))

    doc = json.loads((run / "evaluation.json").read_text())
    metrics = {r["metric"]["text"]: r for r in _table(browser, "metrics")}
    assert float(metrics["AUC"]["estimate"]["value"]) == doc["auc"]["estimate"]
    assert float(metrics["AUC"]["estimate"]["text"]) == pytest.approx(
        doc["auc"]["estimate"], abs=5e-4
    )
    calib = read_tsv(run / "calibration.tsv")
    shown_calib = _table(browser, "calibration-table")
    assert [int(r["observed"]["value"].split(".")[0]) for r in shown_calib] == [
        int(float(r["observed"])) for r in calib
    ]
