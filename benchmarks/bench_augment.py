"""Augmentation speed: kisonet's batch-vectorised transforms vs albumentations image by image.

    python benchmarks/bench_augment.py [--repeats 30] [--threads 1]

Cases (the issue's): ElasticDistortion(alpha=34, sigma=4) on a (128, 1, 28, 28)
batch and RandomRotation(30) on a (128, 3, 32, 32) batch, float32, bilinear,
constant fill.  albumentations (``ElasticTransform(noise_distribution='uniform')``,
``Rotate``) runs image by image on the same float32 data in HWC layout, as a user
would call it in a dataset's ``__getitem__``, then the results are stacked.
albumentations is NOT a kisonet dependency: run this script from a scratch venv
holding albumentations and kisonet (``pip install -e . --no-deps``); without it
only kisonet's timings are printed.  Reported: median time per batch and the
ratio kisonet / albumentations (below 1 = kisonet faster).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import kisonet as kn
from kisonet.data import transforms as tr


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="OpenCV / BLAS threads (default: library default)")
    args = parser.parse_args()
    if args.threads is not None:
        kn.set_num_threads(args.threads)

    kn.manual_seed(0)
    rng = np.random.default_rng(0)
    digits = rng.random((128, 1, 28, 28), dtype=np.float32)
    cifar = rng.random((128, 3, 32, 32), dtype=np.float32)

    cases = {
        "elastic (128,1,28,28)": (tr.ElasticDistortion(alpha=34.0, sigma=4.0), digits),
        "rotate  (128,3,32,32)": (tr.RandomRotation(30), cifar),
    }
    kn_ms = {name: _median_ms(lambda t=t, x=x: t(x), args.repeats) for name, (t, x) in cases.items()}

    try:
        import albumentations
        import cv2
    except ImportError:
        albumentations = None
    albu_ms: dict[str, float] = {}
    if albumentations is not None:
        if args.threads is not None:
            cv2.setNumThreads(args.threads)
        albu = {
            "elastic (128,1,28,28)": albumentations.ElasticTransform(
                alpha=34.0,
                sigma=4.0,
                interpolation=cv2.INTER_LINEAR,
                noise_distribution="uniform",
                border_mode=cv2.BORDER_CONSTANT,
                p=1.0,
            ),
            "rotate  (128,3,32,32)": albumentations.Rotate(
                limit=30, interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT, p=1.0
            ),
        }
        for name, (_, x) in cases.items():
            hwc = [np.ascontiguousarray(img.transpose(1, 2, 0)) for img in x]
            aug = albu[name]

            def run(aug=aug, hwc=hwc):
                return np.stack([aug(image=img)["image"] for img in hwc])

            albu_ms[name] = _median_ms(run, args.repeats)

    print(f"median of {args.repeats} runs per batch" + (f", {args.threads} thread(s)" if args.threads else ""))
    header = f"{'case':24s} {'kisonet ms':>11s}"
    if albu_ms:
        header += f" {'albumentations ms':>18s} {'ratio kn/albu':>14s}"
    print(header)
    for name in cases:
        line = f"{name:24s} {kn_ms[name]:11.2f}"
        if albu_ms:
            line += f" {albu_ms[name]:18.2f} {kn_ms[name] / albu_ms[name]:14.2f}"
        print(line)
    if albumentations is not None:
        print(f"(albumentations {albumentations.__version__}, OpenCV {cv2.__version__}, NumPy {np.__version__})")
    else:
        print("(albumentations not installed: kisonet timings only)")


if __name__ == "__main__":
    main()
