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


BOUNDARY = "document.querySelector('canvas.boundary[data-lane=\"0\"]').toDataURL()"


def _sessions(live) -> dict:
    return live.app.extensions["kisonet"]["sessions"].sessions


def test_playground_trains_spirals_and_the_boundary_moves(live, page, screenshots: Path) -> None:
    page.goto(live.url + "/#play")
    page.wait_for_function("Play.frame && Play.points && Play.frame.lanes[0].weights")
    assert page.evaluate("Play.data.dataset") == "spirals"
    before = page.evaluate(BOUNDARY)
    page.screenshot(path=str(screenshots / "playground-start.png"), full_page=True)
    t0 = time.monotonic()
    page.click("#pg-run")
    page.wait_for_function("Play.frame.lanes[0].train_acc >= 0.95", timeout=20000, polling=100)
    took = time.monotonic() - t0
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "playground-spirals-trained.png"), full_page=True)
    after = page.evaluate(BOUNDARY)
    assert after != before
    frame = page.evaluate("({acc: Play.frame.lanes[0].train_acc, units: Play.frame.lanes[0].units.length,"
                          " step: Play.frame.lanes[0].step, sps: Play.stepsPerSec, frames: Play.frames})")  # fmt: skip
    assert frame["acc"] >= 0.95 and frame["units"] == 16
    print(f"\nspirals: {frame['acc']:.1%} train accuracy after {frame['step']} steps, {took:.1f} s; "
          f"{frame['sps']:.0f} steps/s, {frame['frames']} frames")  # fmt: skip
    page.click("#pg-pause")
    page.wait_for_function("!Play.frame.running")
    step = page.evaluate("Play.frame.lanes[0].step")
    page.click("#pg-step")
    page.wait_for_function(f"Play.frame.lanes[0].step === {step + 1}")
    page.click("#pg-reset")
    page.wait_for_function("Play.frame.lanes[0].step === 0")
    # the same initial weights again; the canvas is redrawn on the next animation frame, so wait for it
    page.wait_for_function(f"(b) => {BOUNDARY} === b", arg=before, timeout=5000, polling=100)
    assert len(_sessions(live)) == 1
    page.close()  # the page goes away: its session ends
    deadline = time.monotonic() + 5
    while _sessions(live) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _sessions(live)
    assert not page.js_errors, page.js_errors


def test_race_mode_shows_a_curve_per_lane(live, page, screenshots: Path) -> None:
    page.goto(live.url + "/#play")
    page.wait_for_function("Play.frame && Play.frame.lanes.length === 1")
    page.check("#pg-race")
    page.wait_for_function("Play.frame.lanes.length === 2 && document.querySelectorAll('canvas.boundary').length === 2")
    page.click("#pg-run")
    page.wait_for_function("Play.frame.lanes.every(l => l.curve.step.length > 20)", timeout=20000)
    page.click("#pg-pause")
    page.wait_for_timeout(300)
    lanes = page.evaluate("Play.frame.lanes.map(l => ({n: l.curve.step.length, loss: l.train_loss}))")
    assert len(lanes) == 2 and all(ln["n"] > 20 for ln in lanes)
    assert lanes[0]["loss"] != lanes[1]["loss"]  # adam vs sgd: different curves from the same start
    assert page.evaluate("Play.lanes.map(l => l.optimizer)") == ["adam", "sgd"]
    page.screenshot(path=str(screenshots / "playground-race.png"), full_page=True)
    assert not page.js_errors, page.js_errors


# the texts drawn on the loss chart's canvas (its legend), recorded as the page draws them
_SPY_LEGEND = """() => {
  window.lossTexts = new Set();
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (t, ...rest) {
    if (this.canvas.id === "pg-loss") window.lossTexts.add(String(t));
    return fillText.call(this, t, ...rest);
  };
}"""


def test_race_lanes_are_named_by_their_settings_and_show_their_own_units(live, page, screenshots: Path) -> None:
    page.goto(live.url + "/#play")
    page.wait_for_function("Play.frame && Play.frame.lanes.length === 1")
    page.evaluate(_SPY_LEGEND)
    page.check("#pg-race")
    page.select_option("#pg-nlanes", "4")
    page.wait_for_function("Play.frame.lanes.length === 4 && document.querySelectorAll('canvas.net').length === 4")
    # lane 2 gets a larger batch: every lane's name now says its batch size too
    batch = page.locator("#pg-lanes fieldset.lane").nth(1).locator("label", has_text="batch size").locator("input")
    batch.fill("32")
    batch.dispatch_event("change")
    page.wait_for_function("Play.lanes[1].batch_size === 32")
    page.click("#pg-run")
    page.wait_for_function("Play.frame.lanes.length === 4 && Play.frame.lanes.every(l => l.step > 300)", timeout=20000)
    page.click("#pg-pause")
    page.wait_for_function("!Play.frame.running")
    page.wait_for_timeout(300)
    names = ["adam 0.01", "sgd 0.1", "momentum 0.03", "rmsprop 0.01"]
    names = [f"{n}, batch size {32 if i == 1 else 10}" for i, n in enumerate(names)]
    drawn = page.evaluate("[...window.lossTexts]")
    assert all(n in drawn for n in names), drawn  # the loss legend names every lane's settings
    assert not [t for t in drawn if t.startswith("+")], drawn  # and leaves none out
    titles = page.evaluate("[...document.querySelectorAll('.board h3')].map(h => h.textContent)")
    assert titles == [f"Lane {i + 1}: {n}" for i, n in enumerate(names)]
    # every lane's network shows its own hidden units (trained differently, so they differ)
    units = page.evaluate("Play.frame.lanes.map(l => l.units.length)")
    assert units == [16, 16, 16, 16]
    assert page.evaluate("new Set(Play.frame.lanes.map(l => l.units.join())).size") == 4
    pictures = page.evaluate("[...document.querySelectorAll('#pg-nets canvas.net')].map(c => c.toDataURL())")
    assert len(set(pictures)) == 4
    page.screenshot(path=str(screenshots / "playground-race-4-lanes.png"), full_page=True)
    assert not page.js_errors, page.js_errors


def test_optimizer_paths_page(live, page, screenshots: Path) -> None:
    page.goto(live.url + "/#paths")
    page.wait_for_selector("#op-table tr:nth-child(5)")
    page.fill("#op-steps", "400")
    page.select_option("#op-function", "rosenbrock")
    page.wait_for_function("Paths.data.function === 'rosenbrock'")
    page.wait_for_timeout(1700)  # the paths are drawn growing for 1.5 s
    page.screenshot(path=str(screenshots / "optimizer-paths.png"), full_page=True)
    assert page.locator("#op-table tr").count() == 5
    assert not page.js_errors, page.js_errors


def test_playground_refuses_bad_parameters_in_the_page(live, page) -> None:
    page.goto(live.url + "/#play")
    page.wait_for_function("Play.sid && Play.frame")
    bad = {"action": "config", "config": {"lanes": [{"optimizer": '__import__("os")'}]}}
    status, body = page.evaluate(
        """async (bad) => {
            const r = await fetch(`/api/play/${Play.sid}/control`,
                {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(bad)});
            return [r.status, await r.json()];
        }""",
        bad,
    )
    assert status == 400 and "lanes[0].optimizer" in body["error"]
    status, body = page.evaluate(
        "async () => { const r = await fetch('/api/file?run=..&name=etc/passwd'); return [r.status, await r.json()]; }"
    )
    assert status == 404 and "error" in body
