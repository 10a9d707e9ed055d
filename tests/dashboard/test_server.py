"""The dashboard's HTTP side without a browser: runs listing, files, refusals, limits, the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import write_run


@pytest.fixture()
def client(runs_dir: Path):
    from kisonet.dashboard.server import create_app

    app = create_app(runs_dir)
    with app.test_client() as c:
        yield c
    app.extensions["kisonet"]["sessions"].close_all()


def test_lists_every_run_folder_with_its_summary(client) -> None:
    r = client.get("/api/runs")
    assert r.status_code == 200
    rows = {row["run"]: row for row in r.get_json()["runs"]}
    assert set(rows) == {"adam-run", "sgd-run", "experiments/tiny"}
    a = rows["adam-run"]
    assert (a["kind"], a["status"], a["dataset"], a["optimizer"], a["epochs"]) == (
        "train",
        "finished",
        "moons",
        "adam",
        5,
    )
    assert a["best"]["train_loss"] == pytest.approx(1.003 / 5)
    assert a["best"]["val_accuracy"] == pytest.approx(1 - 0.6 * 1.003 / 5)
    assert rows["sgd-run"]["lr"] == 0.1


def test_status_file_wins_and_fallback_guesses(runs_dir: Path, client) -> None:
    import json

    d = write_run(runs_dir, "live-run", 2, finished=False)
    assert {r["run"]: r for r in client.get("/api/runs").get_json()["runs"]}["live-run"]["status"] == "running"
    old = 1_000_000_000
    os.utime(d / "history.csv", (old, old))
    assert {r["run"]: r for r in client.get("/api/runs").get_json()["runs"]}["live-run"]["status"] == "interrupted"
    (d / "status.json").write_text(json.dumps({"status": "failed", "command": "kisonet train"}))
    row = {r["run"]: r for r in client.get("/api/runs").get_json()["runs"]}["live-run"]
    assert (row["status"], row["kind"]) == ("failed", "train")


def test_run_detail_and_figure(client) -> None:
    d = client.get("/api/run?run=adam-run").get_json()
    assert d["options"]["optimizer"] == "adam" and len(d["history"]["train_loss"]) == 5
    assert {f["name"] for f in d["files"]} >= {"curves.png", "config.json", "history.csv", "metrics.json"}
    r = client.get("/api/file?run=adam-run&name=curves.png")
    assert r.status_code == 200 and r.data[:4] == b"\x89PNG" and r.mimetype == "image/png"


@pytest.mark.parametrize(
    "query",
    [
        "run=adam-run&name=../sgd-run/config.json",
        "run=adam-run&name=..%2F..%2F..%2Fetc%2Fpasswd",
        "run=..&name=passwd",
        "run=/etc&name=passwd",
        "run=adam-run&name=/etc/passwd",
        "run=adam-run&name=model.npz",
        "run=adam-run&name=",
        "run=adam-run&name=a%00b.png",
        "run=adam-run&name=..\\..\\x.png",
        "run=nope&name=curves.png",
    ],
)
def test_traversal_and_unknown_files_refused(client, query: str) -> None:
    r = client.get(f"/api/file?{query}")
    assert r.status_code in (400, 404)
    assert "error" in r.get_json()


def test_symlink_out_of_the_runs_folder_refused(runs_dir: Path, tmp_path: Path, client) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": 1}')
    (runs_dir / "adam-run" / "leak.json").symlink_to(secret)
    (runs_dir / "linked-run").symlink_to(tmp_path)  # a run folder that is a link out
    assert client.get("/api/file?run=adam-run&name=leak.json").status_code == 404
    assert "linked-run" not in {r["run"] for r in client.get("/api/runs").get_json()["runs"]}
    assert client.get("/api/run?run=linked-run").status_code == 404
    names = {f["name"] for f in client.get("/api/run?run=adam-run").get_json()["files"]}
    assert "leak.json" not in names


def test_errors_are_json_never_tracebacks(client) -> None:
    for path in ("/api/run", "/api/nothing", "/api/strings?lang=xx", "/api/paths?function=nope", "/api/paths?steps=1e9",
                 "/api/paths?optimizers=__import__", "/api/paths?bogus=1"):  # fmt: skip
        r = client.get(path)
        assert 400 <= r.status_code < 500, path
        body = r.get_json()
        assert set(body) == {"error"} and "Traceback" not in body["error"], path
    r = client.post("/api/play/new", data="not json", content_type="application/json")
    assert r.status_code == 400 and "error" in r.get_json()


def test_host_origin_size_and_rate_limits(runs_dir: Path) -> None:
    from kisonet.dashboard.server import create_app

    app = create_app(runs_dir, rate=5.0)
    c = app.test_client()
    assert c.get("/api/runs", headers={"Host": "evil.example:80"}).status_code == 403
    r = c.post("/api/play/new", json={}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = c.post("/api/play/new", data=b"{" + b" " * 100_000 + b"}", content_type="application/json")
    assert r.status_code == 413 and "error" in r.get_json()
    codes = [c.get("/api/strings").status_code for _ in range(40)]
    assert 429 in codes
    app.extensions["kisonet"]["sessions"].close_all()


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ({"data": {"dataset": "spiralz"}}, ["data.dataset", "spirals"]),
        ({"data": {"noise": 5}}, ["data.noise", "[0, 1]"]),
        ({"data": {"noise": "0.1; rm -rf /"}}, ["data.noise"]),
        ({"network": {"hidden": [8] * 9}}, ["network.hidden", "6"]),
        ({"network": {"hidden": [99]}}, ["network.hidden[0]", "16"]),
        ({"lanes": [{"optimizer": "os.system"}]}, ["lanes[0].optimizer"]),
        ({"lanes": [{"lr": float("inf")}]}, ["lanes[0].lr"]),
        ({"lanes": [{}] * 5}, ["lanes"]),
        ({"lanes": [{"batch_norm": True, "batch_size": 1}]}, ["batch norm"]),
        ({"lanes": [{"lrr": 0.1}]}, ["'lrr'", "'lr'"]),
        ({"code": "print(1)"}, ["unknown section"]),
    ],
)
def test_playground_settings_refused(client, setting: dict, words: list[str]) -> None:
    r = client.post("/api/play/new", json=setting)
    assert r.status_code == 400
    msg = r.get_json()["error"]
    assert all(w in msg for w in words), msg


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kisonet.cli import main

    f = tmp_path / "file.txt"
    f.write_text("x")
    for argv in (["dashboard", "--port", "99999"], ["dashboard", "--host", "nohost"], ["dashboard", str(f)],
                 ["dashboard", "--max-sessions", "0"], ["dashboard", "--prot", "1"]):  # fmt: skip
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("kisonet dashboard: error:"), err
