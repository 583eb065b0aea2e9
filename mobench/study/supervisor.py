"""The supervisor behind `tune --workers K` and `--trial-timeout`: K child worker processes
(`python -m mobench.study.workers`), each reporting "start N" / "end N" on a pipe, so that a trial
that runs past the timeout is stopped (its worker killed and restarted) and told infeasible.

The supervisor imports neither TensorFlow nor the data: children do the work; it only watches.
A child killed from outside is restarted too; its trial is retried through the heartbeats.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mobench.objectives import Objective
from mobench.study.document import finished
from mobench.study.storages import StorageSettings
from mobench.study.workers import SPEC_ENV, STATUS_FD_ENV, TuneSpec

RESTARTS_PER_WORKER = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM (a timeout, systemd, a scheduler), raised like Ctrl-C so the same clean-up runs:
    children stopped, finished work kept."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame) -> None:
        from mobench.console import note_interrupt

        note_interrupt()  # should the raise below be swallowed (see mobench.console)
        raise Terminated(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class Child:
    index: int
    proc: subprocess.Popen
    pipe: int  # read end of the status pipe
    buffer: bytes = b""
    trial: int | None = None
    since: float = field(default_factory=time.monotonic)


def child_env(index: int, workers: int) -> dict[str, str]:
    """Environment of child `index`: its share of CPU threads and of GPUs when K > 1."""
    env = dict(os.environ, MOBENCH_WORKER_INDEX=str(index))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        threads = str(max(1, cores // workers))
        for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            env.setdefault(key, threads)
        gpus = gpu_share(index, workers)
        if gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpus
    return env


def gpu_share(index: int, workers: int) -> str | None:
    """CUDA_VISIBLE_DEVICES for child `index`: a slice of the GPUs (shared round-robin when
    there are fewer GPUs than workers); None to leave the environment alone."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return None
    from mobench.profiling.nvml import gpu_inventory

    count = len(gpu_inventory()[0])
    if count == 0:
        return None
    if count < workers:
        return str(index % count)
    return ",".join(str(i) for i in range(index * count // workers,
                                          (index + 1) * count // workers))


def spawn(spec: TuneSpec, index: int) -> Child:
    read, write = os.pipe()
    env = child_env(index, spec.workers)
    env[SPEC_ENV] = spec.to_json()
    env[STATUS_FD_ENV] = str(write)
    proc = subprocess.Popen([sys.executable, "-m", "mobench.study.workers"], env=env,
                            pass_fds=(write,))
    os.close(write)
    return Child(index, proc, read)


def _read_status(child: Child) -> None:
    try:
        data = os.read(child.pipe, 65536)
    except OSError:
        return
    child.buffer += data
    *lines, child.buffer = child.buffer.split(b"\n")
    for line in lines:
        event, _, number = line.decode(errors="replace").partition(" ")
        if event == "start" and number.isdigit():
            child.trial, child.since = int(number), time.monotonic()
        elif event == "end":
            child.trial = None


def supervise(spec: TuneSpec, on_line: Callable[[str], None]) -> tuple[int, dict[str, Any] | None]:
    """Run spec.workers children to the end; (exit status, what the run document needs)."""
    from mobench.documents import read_json

    info_dir = tempfile.mkdtemp(prefix="mobench-workers-")
    spec = TuneSpec(**{**spec.__dict__, "info_dir": info_dir})
    children = {i: spawn(spec, i) for i in range(spec.workers)}
    statuses: list[int] = []
    restarts = 0
    try:
        while children:
            pipes = {c.pipe: c for c in children.values()}
            ready, _, _ = select.select(list(pipes), [], [], 0.2)
            for fd in ready:
                _read_status(pipes[fd])
            for index, child in list(children.items()):
                rc = child.proc.poll()
                timed_out = (rc is None and spec.trial_timeout is not None
                             and child.trial is not None
                             and time.monotonic() - child.since > spec.trial_timeout)
                if timed_out:
                    child.proc.kill()
                    child.proc.wait()
                    finish_timed_out(spec, child.trial, on_line)
                elif rc is None:
                    continue
                os.close(child.pipe)
                del children[index]
                killed = rc is not None and rc < 0 and -rc != signal.SIGINT
                if timed_out or (killed and restarts < RESTARTS_PER_WORKER * spec.workers):
                    if killed:
                        on_line(f"worker w{index} died ({signal.Signals(-rc).name}); "
                                "restarting it (its trial is retried once its heartbeat is stale)")
                        restarts += 1
                    children[index] = spawn(spec, index)
                else:
                    statuses.append(rc)
    except KeyboardInterrupt as exc:
        _stop(children.values(), forward=isinstance(exc, Terminated))
        return 130, _info(info_dir, read_json)
    status = 0
    if any(s == 2 for s in statuses):
        status = 2
    elif any(s != 0 for s in statuses):
        status = 130 if all(s in (0, 130) for s in statuses) else 1
    return status, _info(info_dir, read_json)


def finish_timed_out(spec: TuneSpec, number: int, on_line: Callable[[str], None]) -> None:
    """Tell the trial of a killed worker COMPLETE and infeasible (reason: timeout)."""
    import optuna

    from mobench.objectives import parse_constraint, parse_objectives
    from mobench.study.storages import make_storage

    storage = make_storage(spec.storage, replace(spec.settings, heartbeat_interval=None))
    study = optuna.load_study(study_name=spec.study, storage=storage,
                              sampler=optuna.samplers.RandomSampler())
    reason = f"timeout: ran past --trial-timeout {spec.trial_timeout:g} s"
    finish_infeasible(study, number, parse_objectives(spec.objectives),
                      tuple(parse_constraint(c) for c in spec.constraints), reason, spec.trials,
                      spec.settings, spec.storage, on_line)
    on_line(f"trial #{number} {reason}: told infeasible; its worker restarts")


def finish_infeasible(study, number: int, objectives: tuple[Objective, ...], constraints: tuple,
                      reason: str, n_trials: int, settings: StorageSettings, url: str,
                      on_line: Callable[[str], None]) -> None:
    """Tell RUNNING trial `number` COMPLETE and infeasible (its worker was stopped, e.g. past
    --trial-timeout): unmeasured objectives get placeholders, every constraint is violated."""
    from optuna.trial import Trial, TrialState

    from mobench.study.loop import StudyOps, TrialLost, Worker, tell_outcome
    from mobench.study.outcome import TrialOutcome

    ops = StudyOps(study, Worker(settings=settings, url=url), on_line)
    trials = ops.trials()
    if trials[number].state != TrialState.RUNNING:
        return
    if sum(finished(t) for t in trials) >= n_trials:
        ops.fail(number, f"surplus: the study reached {n_trials} finished trials ({reason})")
        return
    outcome = TrialOutcome({}, tuple(1.0 for _ in constraints), infeasible_reason=reason)
    trial = Trial(study, trials[number]._trial_id)
    try:
        tell_outcome(ops, trial, outcome, objectives, tuple(constraints), n_trials)
    except TrialLost:
        pass  # failed as stale meanwhile: its retry runs it again


def _stop(children, forward: bool = False) -> None:
    """After Ctrl-C: children got it too (same process group) and mark their trials failed;
    after SIGTERM (`forward`), which only this process got, they are interrupted at once.
    Those still running after a while are interrupted, then killed."""
    children = list(children)
    if forward:
        for child in children:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGINT)
    for grace, action in ((5, "interrupt"), (25, "kill")):
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for child in children:
            if child.proc.poll() is None:
                if action == "interrupt":
                    child.proc.send_signal(signal.SIGINT)
                else:
                    child.proc.kill()
                    child.proc.wait()


def _info(info_dir: str, read_json) -> dict[str, Any] | None:
    files = sorted(Path(info_dir).glob("info-*.json"))
    info = read_json(files[0]) if files else None
    for path in Path(info_dir).iterdir():
        path.unlink(missing_ok=True)
    os.rmdir(info_dir)
    return info


def timeline(trials) -> str:
    """One line per trial: number, state, worker, start and end (s), retries and reasons."""
    starts = [t.datetime_start for t in trials if t.datetime_start]
    if not starts:
        return "(no trials)"
    t0 = min(starts)
    lines = [f"{'#':>3} {'state':8} {'worker':24} {'start':>7} {'end':>7}  notes"]
    for t in trials:
        start = (t.datetime_start - t0).total_seconds() if t.datetime_start else float("nan")
        end = (t.datetime_complete - t0).total_seconds() if t.datetime_complete else float("nan")
        notes = [f"retry of #{t.user_attrs['retry_of']}" if "retry_of" in t.user_attrs else "",
                 t.user_attrs.get("fail_reason") or "", t.user_attrs.get("infeasible_reason") or ""]
        if t.state.name == "FAIL" and not t.user_attrs.get("fail_reason"):
            notes.append("worker lost: heartbeat stale, failed and re-queued")
        lines.append(f"{t.number:>3} {t.state.name:8} {t.user_attrs.get('worker', '-')[-24:]:24}"
                     f" {start:7.1f} {end:7.1f}  {'; '.join(n for n in notes if n)}")
    return "\n".join(lines)
