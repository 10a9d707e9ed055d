"""The dashboard in a real browser (headless Chromium via Playwright), with screenshots.

Each test starts the server on 127.0.0.1 (a free port) and a page; screenshots are saved for
review (see conftest.screenshots)."""

from __future__ import annotations

import time
from pathlib import Path

from .conftest import history, write_run


def test_runs_page_lists_runs_and_updates_live(live, runs_dir: Path, page, screenshots: Path) -> None:
    from kisonet.runs import write_history

    page.goto(live.url + "/#runs")
    page.wait_for_selector("#runs-table tbody tr")
    names = page.locator("#runs-table tbody td.runname").all_inner_texts()
    assert sorted(n.strip() for n in names) == ["adam-run", "experiments/tiny", "sgd-run"]
    page.wait_for_selector("#conn.on")
    # sorting and filtering
    page.click("#runs-table th[data-key=run]")
    assert [n.strip() for n in page.locator("#runs-table tbody td.runname").all_inner_texts()][0] == "adam-run"
    page.fill("#filter", "sgd")
    assert page.locator("#runs-table tbody tr").count() == 1
    page.fill("#filter", "")
    # overlay two runs: curves, option differences, figures
    page.click("tr[data-run='adam-run']")
    page.click("tr[data-run='sgd-run']")
    page.wait_for_selector("#diff table")
    diff = page.inner_text("#diff")
    assert "optimizer" in diff and "lr" in diff and "dataset" not in diff
    page.wait_for_selector("#figures img")
    page.screenshot(path=str(screenshots / "runs-compare.png"), full_page=True)

    # a training run appears and writes one epoch every 0.6 s: the page follows within 2 s
    run = runs_dir / "live-run"
    write_run(runs_dir, "live-run", 1, finished=False, planned=5)
    page.wait_for_selector("tr[data-run='live-run']", timeout=5000)
    page.click("tr[data-run='live-run']")
    lags = []
    for epochs in range(2, 6):
        write_history(run, history(epochs))
        t0 = time.monotonic()
        page.wait_for_function(
            "n => (document.querySelector(\"tr[data-run='live-run']\") || {innerText: ''}).innerText.includes(n + '/')",
            arg=epochs,
            timeout=4000,
        )
        lags.append(time.monotonic() - t0)
        time.sleep(0.6)
    assert max(lags) < 2.0, lags
    curve_points = page.evaluate("Runs.histories['live-run'].train_loss.length")
    assert curve_points == 5
    page.screenshot(path=str(screenshots / "runs-live.png"), full_page=True)
    assert not page.js_errors, page.js_errors


def test_language_switch(live, page, screenshots: Path) -> None:
    page.goto(live.url + "/#runs")
    page.wait_for_selector("#runs-table tbody tr")
    page.select_option("#lang", "ja")
    page.wait_for_function("document.documentElement.lang === 'ja'")
    assert page.inner_text("#tabs button[data-tab=runs]") == "実行記録"
    assert "データセット" in page.inner_text("#runs-table thead")
    page.screenshot(path=str(screenshots / "runs-ja.png"))
    page.select_option("#lang", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#tabs button[data-tab=runs]") == "Runs"
