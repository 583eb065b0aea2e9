"""The README's per-suite table: every `small` variant on `digits`, 1 epoch, default batch.

For each suite: train time of one epoch (`evaluate`), then `profile` in eager, graph and XLA
modes (graph step, XLA speedup, peak memory while training). Prints a Markdown table.

Run: python benchmarks/suite_table.py [--suites mnist-mlp,mnist-cnn,...]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="mnist-mlp,mnist-cnn,mnist-rnn,mnist-gan")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    from mobench.data import load_dataset
    from mobench.display import nbytes, seconds
    from mobench.profiling.profiler import ProfileSettings
    from mobench.profiling.run import profile_suite
    from mobench.profiling.training import evaluate
    from mobench.suites import get_suite

    data = load_dataset("digits", announce=lambda _: None)
    print("| suite (small) | evaluate wall | train time (1 epoch) | quality | graph step | "
          "XLA step | XLA speedup | peak memory (train) | modes ok |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.suites.split(","):
        suite = get_suite(name)
        t0 = time.perf_counter()
        record = evaluate(suite, data, variant="small", epochs=1)
        wall = time.perf_counter() - t0
        prof = profile_suite(suite, data, variant="small",
                             settings=ProfileSettings(steps=args.steps, warmup=3))
        obj, pobj = record.objectives(), prof.objectives()
        quality = (f"val_accuracy {obj['val_accuracy']:.3f}" if "val_accuracy" in obj
                   else f"fcd {obj.get('fcd', float('nan')):.1f}")
        graph, xla = prof.mode("graph"), prof.mode("xla")
        ok = ",".join(m.mode for m in prof.modes if m.ok)
        print(f"| {name} | {wall:.1f} s | {seconds(record.train_time_s)} | {quality} | "
              f"{seconds(graph.step_time.median_s) if graph else '-'} | "
              f"{seconds(xla.step_time.median_s) if xla else '-'} | "
              f"{pobj.get('xla_speedup', float('nan')):.2f}x | "
              f"{nbytes(record.peak_memory_bytes)} | {ok} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
