"""Fixtures of the dashboard tests: a runs folder, a live server on 127.0.0.1, a headless Chromium.

Browser tests skip when Flask, Playwright or /usr/bin/chromium is absent (CI installs all three);
screenshots go to $KISONET_SCREENSHOTS, else to a folder under pytest's tmp dir (printed)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

pytest.importorskip("flask")

CHROMIUM = os.environ.get("KISONET_CHROMIUM", "/usr/bin/chromium")


def write_run(root: Path, name: str, epochs: int, *, optimizer: str = "adam", lr: float = 0.001,
              dataset: str = "moons", finished: bool = True, planned: int | None = None) -> Path:  # fmt: skip
    """A train run folder as ``kisonet train`` writes it (config, history, metrics)."""
    from kisonet.runs import write_config, write_history, write_metrics

    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    write_config(
        d, {"dataset": dataset, "model": "mlp:16", "optimizer": optimizer, "lr": lr, "epochs": planned or epochs}
    )
    hist = history(epochs, lr)
    write_history(d, hist)
    if finished:
        write_metrics(d, {k: v[-1] for k, v in hist.items() if k != "epoch"})
    return d


def history(epochs: int, lr: float = 0.001) -> dict[str, list[float]]:
    """Made-up curves that differ with ``lr`` (so that overlaid runs can be told apart)."""
    e = list(range(1, epochs + 1))
    s = 1.0 + 3.0 * lr
    return {
        "epoch": e,
        "train_loss": [s / k for k in e],
        "train_accuracy": [1 - 0.5 * s / k for k in e],
        "val_loss": [1.1 * s / k for k in e],
        "val_accuracy": [1 - 0.6 * s / k for k in e],
    }


@pytest.fixture()
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    write_run(root, "adam-run", 5)
    write_run(root, "sgd-run", 4, optimizer="sgd", lr=0.1)
    write_run(root, "experiments/tiny", 2, dataset="digits")
    (root / "adam-run" / "curves.png").write_bytes(_png())
    return root


def _png() -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


class LiveServer:
    def __init__(self, root: Path, **kw) -> None:
        from kisonet.dashboard.server import create_app, make_server

        self.app = create_app(root, **kw)
        self.server = make_server(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.app.extensions["kisonet"]["sessions"].close_all()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def live(runs_dir: Path):
    srv = LiveServer(runs_dir)
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("KISONET_SCREENSHOTS")
    d = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    d.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {d}")
    return d


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (CI installs the Debian package `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1, bypass_csp=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()
