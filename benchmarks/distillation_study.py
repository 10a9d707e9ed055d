"""Distillation study (issue 12's bar): does a student distilled at T=4 beat the same
student trained on labels alone, with identical budgets?

    python benchmarks/distillation_study.py --teacher RUN_DIR --student mlp:54 \
        [--alpha 0.5] [--T 4] [--epochs 15] [--lr 1e-3] [--schedule cosine|constant] \
        [--augment digits|none] [--seeds 0,1,2] [--modes labels,distilled] \
        [--log results.jsonl] [--summary-only]

RUN_DIR is a ``kisonet train`` run folder (the teacher, its data split and its
standardisation are the run's own).  For every seed and mode the student is built
from the same seed, trained with Adam at ``--lr`` for ``--epochs`` (batch 64), the
same learning-rate schedule and the same augmentation (the teacher labels each
augmented batch on the fly: the transfer set is the stream of augmented copies);
only the loss differs:

    labels:    CE(s, y)
    distilled: alpha CE(s, y) + (1 - alpha) T^2 KL(softmax(t/T) || softmax(s/T))

Each finished run is appended as one JSON line to ``--log`` (so that several
invocations can run in parallel on separate seeds / modes), and the table of every
run in the log with the same set-up is printed: test accuracy per seed, mean and
(sample) standard deviation, training accuracy on the clean training images, and
the test agreement of student with teacher.  Nothing is dropped from the log.
BLAS is limited to one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import kisonet as kn
from kisonet import runs
from kisonet.autograd import Tensor, no_grad
from kisonet.cli.train import _augmenter, prepare_data
from kisonet.compress.distill import distill
from kisonet.data import transforms as tr
from kisonet.models import build_model
from kisonet.optim.lr_scheduler import CosineAnnealingLR
from kisonet.train import Trainer
from kisonet.train.callbacks import LRSchedulerCallback


def _predict(model, X: np.ndarray, batch_size: int = 500) -> np.ndarray:
    model.eval()
    out = []
    with no_grad():
        for i in range(0, len(X), batch_size):
            z = model(Tensor._make(np.asarray(X[i : i + batch_size], dtype=np.float32), False, None))
            out.append(z._data.argmax(axis=1))
    return np.concatenate(out)


def _n_params(model) -> int:
    return sum(int(p.size) for p in model.parameters())


def _make_augmenter(name: str, config: dict, std):
    """``--augment``: a preset name, ``none``, or ``affine`` (the digits preset's RandomAffine
    without its elastic distortion: a transfer set the teacher still labels well)."""
    if name != "affine":
        return _augmenter({**config, "augment": name}, std)
    aff = tr.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1))
    return aff if std is None else (lambda xb: std.transform(aff(std.inverse_transform(xb))))


def _key(args: argparse.Namespace) -> dict:
    return {
        "teacher": str(Path(args.teacher).resolve()),
        "student": args.student,
        "T": args.T,
        "alpha": args.alpha,
        "epochs": args.epochs,
        "lr": args.lr,
        "schedule": args.schedule,
        "augment": args.augment,
        "batch_size": args.batch_size,
    }


def run_one(args, mode: str, seed: int, teacher, data, aug) -> dict:
    kn.manual_seed(seed)
    student = build_model(args.student, tuple(data.train[0].shape[1:]), 10)
    opt = kn.optim.Adam(student.parameters(), lr=args.lr)
    cbs = [LRSchedulerCallback(CosineAnnealingLR(opt, T_max=args.epochs))] if args.schedule == "cosine" else []
    t0 = time.time()
    if mode == "labels":
        Trainer(student, "cross_entropy", opt, callbacks=cbs, progress=False, seed=seed).fit(
            data.train, epochs=args.epochs, batch_size=args.batch_size, transform=aug
        )
    else:
        distill(
            teacher,
            student,
            data.train,
            T=args.T,
            alpha=args.alpha,
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=opt,
            callbacks=cbs,
            transform=aug,
            seed=seed,
        )
    Xte, yte = data.test
    p = _predict(student, Xte)
    pt = _predict(teacher, Xte)
    return {
        **_key(args),
        "mode": mode,
        "seed": seed,
        "student_params": _n_params(student),
        "teacher_params": _n_params(teacher),
        "teacher_test_acc": float((pt == yte).mean()),
        "test_acc": float((p == yte).mean()),
        "train_acc": float((_predict(student, data.train[0]) == data.train[1]).mean()),
        "agreement": float((p == pt).mean()),
        "seconds": round(time.time() - t0, 1),
    }


def summarize(log: Path, key: dict) -> str:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if all(r.get(k) == v for k, v in key.items())]
    if not rows:
        return "(no runs yet)"
    r0 = rows[0]
    lines = [
        f"teacher {Path(key['teacher']).name}: {r0['teacher_params']:,} params, "
        f"test {100 * r0['teacher_test_acc']:.2f}%; "
        f"student {key['student']}: {r0['student_params']:,} params "
        f"({100 * r0['student_params'] / r0['teacher_params']:.1f}%)",
        f"T={key['T']} alpha={key['alpha']} epochs={key['epochs']} lr={key['lr']} "
        f"{key['schedule']} augment={key['augment']}",
        "| mode | seeds | test acc per seed | mean ± std | train acc (mean) | agreement w/ teacher (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for mode in ("labels", "distilled"):
        rs = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["seed"])
        if not rs:
            continue
        accs = [100 * r["test_acc"] for r in rs]
        sd = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        lines.append(
            f"| {mode} | {','.join(str(r['seed']) for r in rs)} | {' / '.join(f'{a:.2f}' for a in accs)} | "
            f"{statistics.mean(accs):.2f} ± {sd:.2f} | {100 * statistics.mean(r['train_acc'] for r in rs):.2f} | "
            f"{100 * statistics.mean(r['agreement'] for r in rs):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", required=True, help="a kisonet train run folder")
    ap.add_argument("--student", default="mlp:54")
    ap.add_argument("--T", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    ap.add_argument("--augment", default="digits", help="a transforms preset, 'affine' or 'none'")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--modes", default="labels,distilled")
    ap.add_argument("--log", default="distillation_study.jsonl")
    ap.add_argument("--summary-only", action="store_true")
    args = ap.parse_args()
    kn.set_num_threads(1)
    log = Path(args.log)
    if not args.summary_only:
        teacher, _, _ = runs.load_run_model(args.teacher)
        teacher.eval()
        config = runs.read_config(args.teacher)
        data = prepare_data(config)
        aug = _make_augmenter(args.augment, config, data.standardizer)
        for seed in (int(s) for s in args.seeds.split(",")):
            for mode in args.modes.split(","):
                rec = run_one(args, mode, seed, teacher, data, aug)
                with log.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(
                    f"{mode:9s} seed {seed}: test {100 * rec['test_acc']:.2f}%  train {100 * rec['train_acc']:.2f}%  "
                    f"agree {100 * rec['agreement']:.2f}%  {rec['seconds']:.0f}s",
                    flush=True,
                )
    print(summarize(log, _key(args)))


if __name__ == "__main__":
    main()
