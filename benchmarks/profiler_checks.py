"""Measured targets of the profiling core, side by side in one run (not unit tests).

1. overhead: the profiler's median graph-mode step against a plain loop of the same compiled
   step timed externally (one clock read per block of 10 steps, median over blocks) —
   target ratio within 5%;
2. repeatability: two back-to-back profiles of mnist-mlp `small` on digits agree within 10%
   on the graph-mode median step time;
3. `import mobench` and `python -m mobench --help` wall time — target under 1 s.

Run: python benchmarks/profiler_checks.py [--steps 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def plain_loop_step_time(build_model, batch, steps: int, warmup: int, block: int = 10) -> float:
    """The same compiled train step in a plain loop, clocked once per block of `block` steps.

    Returns the median over blocks of the mean step time, so it is compared with the profiler's
    median like for like (a single mean over all steps would carry every noise spike).
    """
    import statistics

    from mobench.profiling.profiler import set_execution_mode
    from mobench.profiling.timing import sync_devices

    model = build_model()
    set_execution_mode(model, "graph")
    data = [batch]
    for _ in range(warmup):
        model.train_function(data)
    blocks = []
    for _ in range(max(steps // block, 1)):
        sync_devices()
        t0 = time.perf_counter_ns()
        for _ in range(block):
            model.train_function(data)
        sync_devices()
        blocks.append((time.perf_counter_ns() - t0) / 1e9 / block)
    return statistics.median(blocks)


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    import keras

    from mobench.data import load_dataset
    from mobench.profiling.profiler import ProfileSettings, profile_mode, staged_batch
    from mobench.suites import get_suite

    suite = get_suite("mnist-mlp")
    data = load_dataset("digits", announce=lambda _: None)
    hypermodel = suite.hypermodel(data.x_train.shape[1:], data.num_classes)
    hp = suite.hyperparameters(hypermodel, "small")
    batch = staged_batch(data.x_train, data.y_train, hp.values["batch_size"])

    def build_model():
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        return hypermodel.build(hp)

    settings = ProfileSettings(steps=args.steps, warmup=args.warmup, nvml=False)
    # Alternate the two measurements twice so drift on a shared machine hits both alike.
    plain, profiled = [], []
    for _ in range(2):
        plain.append(plain_loop_step_time(build_model, batch, args.steps, args.warmup))
        profiled.append(profile_mode(build_model, "graph", batch, settings))
    p_plain = min(plain)
    p_prof = min(m.step_time.median_s for m in profiled)
    print(f"overhead: profiler median step {p_prof * 1e3:.4f} ms, plain loop "
          f"{p_plain * 1e3:.4f} ms, ratio {p_prof / p_plain:.3f} (target 0.95..1.05)")
    a, b = (m.step_time.median_s for m in profiled)
    print(f"repeatability: back-to-back graph medians {a * 1e3:.4f} ms and {b * 1e3:.4f} ms, "
          f"ratio {max(a, b) / min(a, b):.3f} (target <= 1.10)")
    imp = min(wall([sys.executable, "-c", "import mobench"]) for _ in range(3))
    hlp = min(wall([sys.executable, "-m", "mobench", "--help"]) for _ in range(3))
    print(f"startup: import mobench {imp:.3f} s, python -m mobench --help {hlp:.3f} s "
          f"(target < 1 s each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
