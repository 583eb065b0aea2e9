"""Wall time of `tune --workers 2` against one worker doing the same trials, side by side.

    python benchmarks/workers_speedup.py [--trials 12] [--repeats 1]

Both runs: the mnist-mlp suite on digits, 1 epoch, random strategy, a fresh SQLite study each,
the whole command timed (start-up, data, trials, document). Target: ratio <= 0.65 on 2 cores.
Prints the machine's load average before each run, since a shared machine skews the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna


def run(workers: int, trials: int, folder: Path, tag: str) -> float:
    storage = f"sqlite:///{folder}/{tag}.db"
    argv = [sys.executable, "-m", "mobench", "tune", "mnist-mlp", "--strategy", "random",
            "--dataset", "digits", "--epochs", "1", "--trials", str(trials),
            "--workers", str(workers), "--storage", storage, "--study", tag,
            "--json", str(folder / f"{tag}.json")]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    study = optuna.load_study(study_name=tag, storage=storage)
    states = [t.state.name for t in study.get_trials()]
    finished = states.count("COMPLETE")
    print(f"  {workers} worker(s): {wall:6.1f} s, {finished} finished trials "
          f"({len(states) - finished} other), load average before {load:.2f}", flush=True)
    if finished != trials:
        sys.exit(f"expected exactly {trials} finished trials, got {finished}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"mnist-mlp on digits, 1 epoch, {args.trials} trials, {os.cpu_count()} CPUs")
    one, two = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            one.append(run(1, args.trials, Path(tmp), f"one-{r}"))
            two.append(run(2, args.trials, Path(tmp), f"two-{r}"))
    ratio = statistics.median(two) / statistics.median(one)
    print(f"median wall: 1 worker {statistics.median(one):.1f} s, 2 workers "
          f"{statistics.median(two):.1f} s; ratio {ratio:.2f} (target <= 0.65)")


if __name__ == "__main__":
    main()
