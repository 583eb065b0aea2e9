"""Peak training memory, checked against itself and an analytic estimate, for every suite.

    python benchmarks/memory_checks.py [--suites mnist-mlp,...] [--steps 3]

For each suite's small, medium and large variant: the graph-mode profile's measured peak
(`peak_memory_bytes`, with its method), the analytic estimate (weights + gradients + optimizer
slots + layer outputs x batch + input batch) and their ratio. Checks, printed PASS/FAIL (exit
status 1 on a FAIL):
- small < medium < large for every suite;
- no reading equals the input batch alone;
- the large MLP and CNN read within 0.5x-3x of the estimate (there tensors dominate);
and, reported apart, the runtime's fixed overhead that every reading includes: the peak of a
one-weight model's training step (4 bytes of weights).
"""

from __future__ import annotations

import argparse
import sys

import mobench  # noqa: F401  (sets the counting CPU allocator before TensorFlow starts)

VARIANTS = ("small", "medium", "large")
RATIO_CHECKED = {"mnist-mlp", "mnist-cnn"}


def fixed_overhead_bytes() -> int | None:
    """Peak of one training step of a one-weight model: what the runtime adds to any step."""
    import keras
    import numpy as np

    from mobench.profiling.memory import PeakWindow

    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile("adam", "mse")
    x = np.ones((1, 1), "float32")
    window = PeakWindow(model)
    model.train_on_batch(x, x)
    model.train_on_batch(x, x)
    return window.read()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="mnist-mlp,mnist-cnn,mnist-rnn,mnist-gan")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()

    from mobench.data import load_dataset
    from mobench.display import nbytes
    from mobench.profiling.profiler import ProfileSettings
    from mobench.profiling.run import profile_suite
    from mobench.suites import get_suite

    dataset = load_dataset("digits", limit=args.limit)
    settings = ProfileSettings(steps=args.steps, warmup=1, nvml=False)
    failures = []
    print(f"{'suite':10} {'variant':7} {'measured':>10} {'estimate':>10} {'ratio':>6} "
          f"{'input batch':>11}  method")
    for name in args.suites.split(","):
        peaks = []
        for variant in VARIANTS:
            record = profile_suite(get_suite(name), dataset, variant=variant, modes=("graph",),
                                   matmul_peak=False, settings=settings)
            mode = record.modes[0]
            peak, estimate = mode.peak_memory_bytes, (mode.peak_memory_estimate or {})
            total, batch = estimate.get("total"), estimate.get("input_batch")
            ratio = peak / total if peak and total else None
            print(f"{name:10} {variant:7} {nbytes(peak):>10} {nbytes(total):>10} "
                  f"{f'{ratio:.2f}x' if ratio else '-':>6} {nbytes(batch):>11}  "
                  f"{mode.peak_memory_method or mode.peak_memory_reason}", flush=True)
            peaks.append(peak)
            if peak is None:
                failures.append(f"{name} {variant}: no reading ({mode.peak_memory_reason})")
            elif batch and peak == batch:
                failures.append(f"{name} {variant}: the reading is the input batch alone")
            if variant == "large" and name in RATIO_CHECKED and not (ratio and 0.5 <= ratio <= 3):
                failures.append(f"{name} large: measured/estimate {ratio} outside 0.5-3")
        if None not in peaks and not peaks[0] < peaks[1] < peaks[2]:
            failures.append(f"{name}: small < medium < large does not hold: {peaks}")
    overhead = fixed_overhead_bytes()
    print(f"runtime fixed overhead (one-weight model's step peak): {nbytes(overhead)}")
    for line in failures:
        print("FAIL", line)
    print("PASS: every check" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
