"""SIGKILL one of two workers mid-trial and print the study's timeline.

    python benchmarks/kill_timeline.py [--trials 12] [--storage URL]

Two independent `tune` processes (as on two hosts) share one study of the mnist-mlp suite on
digits (1 epoch). Trial #4 is made to sleep (MOBENCH_FAULTS) so that it is surely mid-trial
when its worker is killed. Expected: the survivor fails the trial once its heartbeat is stale,
runs its re-queued copy, and the study ends with exactly --trials finished trials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from mobench.study.storages import make_storage, normalize_url
from mobench.study.supervisor import timeline

VICTIM = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--storage", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = args.storage or f"sqlite:///{tmp}/kill.db"
        argv = [sys.executable, "-m", "mobench", "tune", "mnist-mlp", "--strategy", "random",
                "--dataset", "digits", "--epochs", "1", "--trials", str(args.trials),
                "--storage", storage, "--study", "kill-demo", "--heartbeat-interval", "2",
                "--grace-period", "6"]
        env = {**os.environ, "MOBENCH_FAULTS": f"sleep@{VICTIM}=3600"}
        start = time.monotonic()
        procs = [subprocess.Popen([*argv, "--json", str(Path(tmp) / f"w{i}.json")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        store = make_storage(normalize_url(storage, ""))
        victim = None
        while victim is None and time.monotonic() - start < 600:
            time.sleep(0.5)
            try:
                trials = optuna.load_study(study_name="kill-demo", storage=store).get_trials()
            except KeyError:
                continue
            running = [t for t in trials if t.number == VICTIM and t.state.name == "RUNNING"
                       and "worker" in t.user_attrs]
            victim = running[0] if running else None
        if victim is None:
            sys.exit("trial #4 never ran")
        pid = int(victim.user_attrs["worker"].rsplit("/", 1)[0].rsplit(":", 1)[1])
        killed_at = dt.datetime.now()
        os.kill(pid, signal.SIGKILL)
        for proc in procs:
            _, err = proc.communicate(timeout=900)
            if proc.pid != pid and proc.returncode != 0:
                sys.exit(f"the surviving worker failed ({proc.returncode}):\n{err[-3000:]}")
        wall = time.monotonic() - start
        study = optuna.load_study(study_name="kill-demo", storage=store)
        trials = study.get_trials()
        t0 = min(t.datetime_start for t in trials if t.datetime_start)
        print(f"SIGKILL worker pid {pid} at {(killed_at - t0).total_seconds():.1f} s on the "
              f"timeline below, mid-trial #{VICTIM} (heartbeat 2 s, grace period 6 s)")
        print(timeline(trials))
        finished = sum(t.state.name == "COMPLETE" for t in trials)
        retried = [t.number for t in trials if t.user_attrs.get("retry_of") == VICTIM]
        print(f"{finished} finished trials (requested {args.trials}); trial #{VICTIM} "
              f"{trials[VICTIM].state.name}, retried as {retried}; wall {wall:.1f} s")
        if finished != args.trials or trials[VICTIM].state.name != "FAIL" or len(retried) != 1:
            sys.exit("FAILED: expected exactly the requested count and one retry")


if __name__ == "__main__":
    main()
