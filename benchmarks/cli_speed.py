"""How long the CLI's quick verbs take, each as a fresh process (median of --repeats runs),
and whether they imported TensorFlow. Target: under 1 s each, no TensorFlow.

    PYTHONPATH=. python benchmarks/cli_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERBS = [["--help"], ["suites"], ["suites", "--json"], ["hw"], ["data", "list"],
         ["profile", "mnist-mlp", "--variant", "nosuch"], ["tune", "mnist-mlp", "--trials", "0"],
         ["table", "nosuch"]]
PROBE = ("import sys\nfrom mobench.cli import main\ntry:\n    main(sys.argv[1:])\n"
         "except SystemExit:\n    pass\n"
         "print('tensorflow' in sys.modules, file=sys.__stderr__)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'command':45} {'median s':>9} {'max s':>7}  tensorflow imported")
    for argv in VERBS:
        times, imported = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=REPO, env=env,
                                 capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            imported = out.stderr.strip().splitlines()[-1]
        print(f"{'mobench ' + ' '.join(argv):45} {statistics.median(times):9.2f} "
              f"{max(times):7.2f}  {imported}")


if __name__ == "__main__":
    main()
