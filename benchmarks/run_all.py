"""Run the whole benchmark suite and write docs/performance.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py [--threads 2] [--clock wall]
        [--repeats 9] [--pairs 15] [--quick] [--only separate,models,ops,data,epoch,memory] [--out docs/performance.md]

Sections: whole training steps with each framework alone in its own process
(bench_separate.py: the comparison to quote with several threads), whole training
steps interleaved in this process (bench_models.py: MLP, SimpleCNN, LeNet+BN, with
the textbook-NumPy column and the fraction of the GEMM rate), per-op
microbenchmarks (bench_ops.py), data loading and augmentation (bench_data.py),
the full epoch of ``kisonet train`` (bench_train_cli.py) and memory
(bench_memory.py: peak RSS per framework, flat RSS over 1,000 steps).  Each
script also runs alone.  Raw numbers go to benchmarks/results/<clock>-<threads>t.json;
the Markdown table is rebuilt from every JSON file there, so runs with several
settings (e.g. 2 threads wall time and 1 thread CPU time) appear side by side.

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the command (they can force a
slower kernel on a current NumPy); the table records the BLAS kernel in use.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from bench_separate import SECTION as SEPARATE  # noqa: E402

SECTIONS = ("separate", "models", "ops", "data", "epoch", "memory")
RESULTS = HERE / "results"
START, END = "<!-- results:start (written by benchmarks/run_all.py) -->", "<!-- results:end -->"


def run(args: argparse.Namespace) -> dict:
    common.set_clock(args.clock)
    common.set_threads(args.threads)
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    rep = 3 if args.quick else args.repeats
    payload: dict = {"env": common.describe_env(args.threads), "rows": [], "flat": []}
    if "separate" in only:
        import bench_separate

        payload["rows"] += bench_separate.run(args.threads, 6 if args.quick else args.pairs)
    if "models" in only:
        import bench_models

        payload["gemm_rate"] = common.gemm_rate()
        payload["rows"] += [r.dump() for r in bench_models.run(rep)]
    if "ops" in only:
        import bench_ops

        payload["rows"] += [r.dump() for r in bench_ops.run(rep)]
    if "data" in only:
        import bench_data

        payload["rows"] += [r.dump() for r in bench_data.run(max(3, rep // 2))]
    if "epoch" in only:
        import bench_train_cli

        payload["rows"] += [r.dump() for r in bench_train_cli.run(1 if args.quick else 3, args.threads)]
    if "memory" in only:
        import bench_memory

        rows, flat = bench_memory.run(40 if args.quick else 200, 300 if args.quick else 1000, args.threads)
        payload["rows"] += [r.dump() for r in rows]
        payload["flat"] = [{k: v for k, v in f.items() if k != "samples"} for f in flat]
    payload["env_after"] = {"load_average": os.getloadavg()}
    return payload


def _ratio(r: dict) -> str:
    if r.get("ratio") is None:
        return "-"
    if r["unit"] == "MB":  # memory: kisonet / torch, lower is better
        return f"{r['ratio']:.2f}x"
    s = f"**{r['ratio']:.2f}x**"
    if r.get("bar"):
        s += " ✓" if r["ratio"] >= r["bar"] else f" ✗ (bar {r['bar']}x)"
    return s


def _val(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "steps/s":
        return f"{1e3 / v:.2f} ms"
    if unit == "epochs/s":
        return f"{1 / v:.2f} s"
    if unit == "MB":
        return f"{v:.0f} MB"
    return f"{v:,.0f}/s"


def render(results: list[dict]) -> str:
    out = []
    for res in results:
        env = res["env"]
        out.append(
            f"\n## {env['threads']} BLAS thread(s), {env['clock']} clock — measured {env['date']}\n\n"
            f"Machine: {env['cpu']}, {env['cores']} cores (shared; load average at start "
            f"{', '.join(f'{x:.1f}' for x in env['load_average'])}, at end "
            f"{', '.join(f'{x:.1f}' for x in res.get('env_after', {}).get('load_average', ()))}). "
            f"Python {env['python']}, NumPy {env['numpy']} ({'; '.join(env['blas'])}), torch {env['torch']}. "
            f"Environment: {', '.join(f'{k}={v}' for k, v in env['env'].items())}.\n"
        )
        if "gemm_rate" in res:
            out.append(
                f"\nMeasured GEMM rate (NumPy, 512x784 @ 784x128 float32): {res['gemm_rate'] / 1e9:.0f} GFLOP/s.\n"
            )
        section = None
        for r in res["rows"]:
            if r["section"] != section:
                section = r["section"]
                if section == "training step":
                    out.append(
                        "\n| training step | kisonet | torch | textbook NumPy | kisonet / torch (steps/s) "
                        "| share of GEMM rate (kisonet / torch / textbook) |\n|---|---|---|---|---|---|\n"
                    )
                elif section == "memory":
                    out.append("\n| memory | kisonet | torch | kisonet / torch | note |\n|---|---|---|---|---|\n")
                elif section == SEPARATE:
                    out.append(
                        f"\n| {section} | kisonet | torch | kisonet / torch (steps/s, median of pairs) | spread |"
                        "\n|---|---|---|---|---|\n"
                    )
                else:
                    what = "time per call" if section == "op" else "throughput or time"
                    out.append(
                        f"\n| {section} ({what}) | kisonet | torch | kisonet / torch speed (> 1: kisonet faster) |"
                        "\n|---|---|---|---|\n"
                    )
            u = r["unit"]
            if section == "training step":
                g = r.get("gemm_fraction", {})
                share = " / ".join(f"{g[k]:.0%}" if k in g else "-" for k in ("kisonet", "torch", "textbook"))
                out.append(
                    f"| {r['name']} | {_val(r['kisonet'], u)} | {_val(r['torch'], u)} | {_val(r['textbook'], u)} "
                    f"| {_ratio(r)} | {share} |\n"
                )
            elif section in ("memory", SEPARATE):
                out.append(
                    f"| {r['name']} | {_val(r['kisonet'], u)} | {_val(r['torch'], u)} | {_ratio(r)} | {r['note']} |\n"
                )
            else:
                out.append(f"| {r['name']} | {_val(r['kisonet'], u)} | {_val(r['torch'], u)} | {_ratio(r)} |\n")
        for f in res.get("flat", []):
            out.append(
                f"\nFlat memory: kisonet {f['workload']}, {f.get('steps', '?')} steps: RSS growth after the "
                f"100-step warm-up {f['growth'] / 2**20:.2f} MB -> {'flat ✓' if f['flat'] else 'GROWS ✗'}.\n"
            )
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=sorted(common.CLOCKS), default="wall")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--pairs", type=int, default=15, help="burst pairs of the separate-process comparison")
    ap.add_argument("--quick", action="store_true", help="few repeats and steps (a smoke run)")
    ap.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument("--out", default=str(HERE.parent / "docs" / "performance.md"))
    ap.add_argument("--render-only", action="store_true", help="rebuild the Markdown from results/*.json")
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.render_only:
        payload = run(args)
        common.save_json(str(RESULTS / f"{args.clock}-{args.threads}t.json"), payload)
    results = []
    for path in sorted(glob.glob(str(RESULTS / "*.json"))):
        with open(path) as f:
            results.append(json.load(f))
    # Only the part between the markers is rewritten: the hand-written analysis around it stays.
    out = Path(args.out)
    text = out.read_text() if out.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    out.write_text(head + START + "\n" + render(results) + "\n" + END + tail)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
