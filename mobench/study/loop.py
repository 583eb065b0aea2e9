"""One worker's ask/evaluate/tell loop, safe when many workers share a study.

- Exact count: a worker asks only while finished (COMPLETE, or PRUNED at a multi-fidelity
  rung) + live RUNNING trials < N; a trial asked in the same instant as another's is surplus
  when N trials with lower numbers are already finished or live (trial numbers are unique, so
  exactly one of two racers goes on); a result that arrives after the study reached N is
  dropped. Surplus trials are FAIL with a `fail_reason`.
- Heartbeats: a thread records one every `heartbeat_interval` while a trial runs; before each
  ask the worker fails stale trials (`optuna.storages.fail_stale_trials`), whose callback
  re-queues them, and the next ask picks the re-queued trial up.
- Storage outages: every storage call is retried with back-off (`storages.retrying`). An
  outage can leave this worker's trials RUNNING (a call that reached the storage, its answer
  lost): once the storage answers again, they are failed (`StudyOps.fail_phantoms`).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mobench.errors import TrialFailed, UsageError
from mobench.objectives import Objective
from mobench.study.document import MEASURED_PREFIX, finished, spent_seconds
from mobench.study.outcome import TrialOutcome, constraint_values, tell, told_values
from mobench.study.progress import FrontState, front_state, hv_box, trial_status
from mobench.study.rungs import STOPPED_AT_ATTR
from mobench.study.storages import StorageSettings, retrying

WORKER_ATTR = "worker"
SEED_ATTR = "worker_seed"
RETRY_ATTR = "retry_of"
ORPHAN_AFTER_S = 120.0  # a RUNNING trial no mobench worker ever claimed, this old, is abandoned


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Worker:
    """Who runs the loop, and how it treats the storage."""

    name: str = field(default_factory=default_name)
    seed: int | None = None
    storage: Any = None  # the Optuna storage object; heartbeats when it has them
    settings: StorageSettings = field(
        default_factory=lambda: StorageSettings(heartbeat_interval=None))
    url: str = ""
    poll_s: float = 0.25  # pause while the last trials run elsewhere
    watch: Callable[[str, int], None] | None = None  # ("start" | "end", trial number)
    trial_attrs: dict[str, Any] = field(default_factory=dict)  # set on every trial it claims


class TrialLost(Exception):
    """Another worker finished this trial first (it missed heartbeats and was failed)."""


class StudyOps:
    """The storage calls of the loop, each retried while the storage is unreachable."""

    def __init__(self, study, worker: Worker, on_line: Callable[[str], None]) -> None:
        self.study, self.worker, self.on_line = study, worker, on_line
        self.heartbeat = bool(worker.storage is not None
                              and worker.settings.heartbeat_interval)
        self.current: int | None = None  # the trial this worker runs now
        self._recovering = False

    def retry(self, what: str, call: Callable[[], Any]) -> Any:
        outage: list[str] = []

        def said(line: str) -> None:
            outage.append(line)
            self.on_line(line)

        result = retrying(call, what=what, settings=self.worker.settings, url=self.worker.url,
                          on_line=said)
        if outage and not self._recovering:
            self.fail_phantoms()
        return result

    def fail_phantoms(self) -> None:
        """After an outage: fail the RUNNING trials this worker owns but does not run (left
        behind by a retried call), which would otherwise count as live forever."""
        self._recovering = True
        try:
            for t in self.trials():
                if (t.state.name == "RUNNING" and t.number != self.current
                        and t.user_attrs.get(WORKER_ATTR) == self.worker.name):
                    self.fail(t.number, "phantom: left RUNNING by a storage outage")
                    self.on_line(f"trial #{t.number} was left RUNNING by the storage outage: "
                                 "marked failed")
        finally:
            self._recovering = False

    def trials(self) -> list:
        return self.retry("read trials", lambda: self.study.get_trials(deepcopy=False))

    def live(self, trial, now: dt.datetime) -> bool:
        """RUNNING and claimed by a worker, or asked so recently it may be claimed still."""
        from optuna.trial import TrialState

        if trial.state != TrialState.RUNNING:
            return False
        return WORKER_ATTR in trial.user_attrs or _age(trial, now) < self.worker.settings.grace

    def fail_stale(self) -> None:
        """Fail trials whose worker died (heartbeats) or that no worker ever claimed."""
        if self.worker.storage is None:
            return
        if self.heartbeat:
            import optuna
            from optuna.exceptions import ExperimentalWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                self.retry("fail stale trials",
                           lambda: optuna.storages.fail_stale_trials(self.study))
        now = dt.datetime.now()
        limit = max(ORPHAN_AFTER_S, self.worker.settings.grace)
        for t in self.trials():
            if (t.state.name == "RUNNING" and WORKER_ATTR not in t.user_attrs
                    and _age(t, now) > limit):
                self.fail(t.number, f"abandoned: RUNNING for over {limit:.0f} s, never claimed "
                                    "by a worker")

    def fail(self, number: int, reason: str) -> None:
        """Mark a RUNNING trial FAIL with a reason (a no-op if it finished meanwhile)."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import Trial, TrialState

        def call() -> None:
            frozen = self.study.get_trials(deepcopy=False)[number]
            if frozen.state != TrialState.RUNNING:
                return
            try:
                Trial(self.study, frozen._trial_id).set_user_attr("fail_reason", reason)
                self.study.tell(number, state=TrialState.FAIL)
            except (UpdateFinishedTrialError, ValueError):
                pass  # finished meanwhile by its owner or another worker

        self.retry("fail a trial", call)


def _age(trial, now: dt.datetime) -> float:
    start = trial.datetime_start
    return (now - start).total_seconds() if start is not None else math.inf


@contextmanager
def heartbeat(ops: StudyOps, trial_id: int) -> Iterator[None]:
    """Record a heartbeat now and every interval until the block ends (no-op without them)."""
    if not ops.heartbeat:
        yield
        return
    storage, interval = ops.worker.storage, ops.worker.settings.heartbeat_interval
    stop = threading.Event()

    def beat() -> None:
        warned = False
        while not stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
                warned = False
            except Exception as exc:  # the storage is away: the loop's retries report it
                if not warned:
                    ops.on_line(f"heartbeat not recorded ({type(exc).__name__}); retrying")
                    warned = True

    ops.retry("record a heartbeat", lambda: storage.record_heartbeat(trial_id))
    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def run_loop(study, evaluator: Callable[[Any], TrialOutcome], distributions: dict[str, Any],
             objectives: tuple[Objective, ...], n_trials: int,
             on_line: Callable[[str], None], worker: Worker, progress=None,
             budget_seconds: float | None = None) -> int:
    """Ask/evaluate/tell until the study holds exactly `n_trials` finished trials (COMPLETE,
    or PRUNED by a multi-fidelity strategy), or its finished trials measured
    `budget_seconds` of training; `progress`: a `mobench.console.Progress` (default: plain
    lines through `on_line`)."""
    from mobench.console import Progress

    ops = StudyOps(study, worker, on_line)
    constraints = tuple(getattr(evaluator, "constraints", ()))
    box = hv_box(objectives, constraints)
    if box is not None:
        on_line(f"progress: HV is the share of the fixed box {box.describe(objectives)} that "
                "the front dominates")
    progress = progress or Progress(n_trials, "trials", on_line=on_line)
    ran, waiting = 0, False
    while True:
        ops.fail_stale()
        trials = ops.trials()
        done = sum(finished(t) for t in trials)
        # the study's count (or its training seconds) when this worker started
        progress.begin(int(spent_seconds(trials)) if budget_seconds else done)
        if done >= n_trials:
            return ran
        if budget_seconds is not None and spent_seconds(trials) >= budget_seconds:
            on_line(f"the study's finished trials trained for {spent_seconds(trials):.1f} s, "
                    f"the --budget-seconds {budget_seconds:g}: stopping")
            return ran
        now = dt.datetime.now()
        live = sum(ops.live(t, now) for t in trials)
        if done + live >= n_trials:
            if not waiting:
                on_line(f"{done}/{n_trials} finished, {live} running elsewhere: waiting (a "
                        f"worker silent for {worker.settings.grace} s has its trial retried)")
                waiting = True
            time.sleep(worker.poll_s)
            continue
        waiting = False
        trial = ops.retry("ask", lambda: _ask(study, distributions))
        ops.current = trial.number
        try:
            with heartbeat(ops, trial._trial_id):
                outcome = _run_one(ops, trial, evaluator, constraints, n_trials)
                if outcome is None:
                    continue
                ran += 1
                stopped, front, done = tell_outcome(ops, trial, outcome, objectives,
                                                     constraints, n_trials, box)
        except TrialLost as exc:
            on_line(str(exc))
            continue
        finally:
            if worker.watch:
                worker.watch("end", trial.number)
        if stopped:
            on_line("the strategy has no configs left (grid exhausted): stopping")
            return ran
        if front is not None:
            if budget_seconds:  # the bar counts the study's training seconds
                done = int(spent_seconds(ops.trials()))
            progress.advance(done=done, **trial_status(trial.number, outcome, front,
                                                       objectives))


def _ask(study, distributions: dict[str, Any]):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage")  # we beat ourselves
        return study.ask(distributions)


def _run_one(ops: StudyOps, trial, evaluator, constraints: tuple,
             n_trials: int) -> TrialOutcome | None:
    """Claim the trial (or drop it as surplus) and evaluate it; None when dropped.

    The one place trial errors are acted on: `TrialFailed` is an infeasible trial with its
    reason, and the loop goes on; a mistake in the command (`UsageError`), Ctrl-C or a bug
    fails the trial with the reason and ends the loop."""
    from optuna.exceptions import UpdateFinishedTrialError

    worker = ops.worker
    trials = ops.trials()
    frozen = trials[trial.number]
    try:
        ops.retry("claim the trial", lambda: trial.set_user_attr(WORKER_ATTR, worker.name))
        if worker.seed is not None:
            ops.retry("claim the trial", lambda: trial.set_user_attr(SEED_ATTR, worker.seed))
        for key, value in worker.trial_attrs.items():
            ops.retry("claim the trial", lambda k=key, v=value: trial.set_user_attr(k, v))
        if "failed_trial" in frozen.system_attrs:  # re-queued by RetryHeartbeatStaleTrialCallback
            ops.retry("claim the trial", lambda: trial.set_user_attr(
                RETRY_ATTR, frozen.system_attrs["failed_trial"]))
    except UpdateFinishedTrialError:
        return None
    now = dt.datetime.now()
    ahead = sum(1 for t in trials if t.number < trial.number
                and (finished(t) or ops.live(t, now)))
    if ahead >= n_trials:
        ops.fail(trial.number, f"surplus: {n_trials} trials were already finished or running")
        return None
    if worker.watch:
        worker.watch("start", trial.number)
    try:
        return evaluator(trial)
    except TrialFailed as exc:
        return TrialOutcome(dict(exc.values), tuple(1.0 for _ in constraints),
                            infeasible_reason=str(exc))
    except KeyboardInterrupt:
        ops.fail(trial.number, "interrupted")
        raise
    except UsageError:
        ops.fail(trial.number, "usage error")
        raise
    except BaseException as exc:
        from mobench.console import interrupted

        ops.fail(trial.number, "interrupted" if interrupted() else
                 f"{type(exc).__name__}: {str(exc)[:200]}")
        raise


def tell_outcome(ops: StudyOps, trial, outcome: TrialOutcome, objectives, constraints: tuple,
                  n_trials: int, box=None) -> tuple[bool, FrontState | None, int]:
    """Tell the outcome; (grid exhausted, the front (`box`: the progress HV's) or None when
    dropped, COMPLETE count)."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    trials = ops.trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    count = sum(finished(t) for t in trials)
    if trials[trial.number].state != TrialState.RUNNING:
        raise TrialLost(f"trial #{trial.number} was failed by another worker (heartbeats "
                        "missed): its result is dropped, its retry runs it again")
    if count >= n_trials:
        ops.fail(trial.number, f"surplus: the study reached {n_trials} finished trials first")
        return False, None, count
    values, placeholders = told_values(outcome, objectives, [list(t.values) for t in complete])

    def record() -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a retried call finds its constraints set
            for key, violation in constraint_values(outcome, constraints).items():
                trial.set_constraint(key, violation)
        for key, value in outcome.values.items():  # one readable attribute each
            if isinstance(value, (int, float)) and math.isfinite(value):
                trial.set_user_attr(MEASURED_PREFIX + key, value)
        if placeholders:
            trial.set_user_attr("placeholders", placeholders)
        if outcome.infeasible_reason:
            trial.set_user_attr("infeasible_reason", outcome.infeasible_reason)
        try:
            if outcome.stopped_at is not None:  # its last vector, for the report; no values
                trial.set_user_attr(STOPPED_AT_ATTR, outcome.stopped_at)
                trial.set_user_attr("stopped_values", values)
                trial.study.tell(trial, state=TrialState.PRUNED)
                return True
            return tell(trial.study, trial, values)
        except ValueError as exc:
            if "Cannot tell a COMPLETE" in str(exc) or "Cannot tell a PRUNED" in str(exc):
                return True  # told by an earlier attempt whose answer the outage lost
            raise

    try:
        told = ops.retry("tell", record)
    except (UpdateFinishedTrialError, ValueError) as exc:
        if not isinstance(exc, UpdateFinishedTrialError) and "Cannot tell" not in str(exc):
            raise
        raise TrialLost(f"trial #{trial.number} was failed by another worker (heartbeats "
                        "missed): its result is dropped, its retry runs it again") from None
    best = ops.retry("read the front", lambda: trial.study.best_trials)
    return not told, front_state(best, objectives, box), count + 1


def run_trials(
    study,
    evaluator: Callable[[Any], TrialOutcome],
    distributions: dict[str, Any],
    objectives: tuple[Objective, ...],
    n_trials: int,
    on_line: Callable[[str], None] = print,
    worker=None,
    budget_seconds: float | None = None,
) -> int:
    """Ask/evaluate/tell until the study holds exactly `n_trials` finished trials (COMPLETE,
    or PRUNED at a rung), counting every worker's, or until the finished ones trained for
    `budget_seconds` (the progress bar then counts seconds); returns how many this call ran.

    `evaluator` gets the Optuna trial: its params when `distributions` were given, or it
    suggests them itself (define-by-run, as the keras-tuner front end does). `worker`
    (`mobench.study.loop.Worker`) adds heartbeats, stale-trial retry and a seed label when
    several processes share the study; see `mobench.study.loop` for how counts stay exact.

    Ctrl-C marks the running trial FAIL (reason 'interrupted') and re-raises: nothing that
    finished is lost.
    """
    from mobench.console import Progress
    from mobench.testing.faults import injected

    # Keras' clear_session() (once per trial) runs gc.collect(), which walks TensorFlow's
    # whole object graph: 0.2-0.3 s a trial. Frozen objects are skipped, so after one
    # collection here each trial's collection only visits what the trials made.
    gc.collect()
    gc.freeze()
    total, unit = (math.ceil(budget_seconds), "s of training") if budget_seconds else \
        (n_trials, "trials")
    try:
        with Progress(total, unit, on_line=on_line) as progress:
            return run_loop(study, injected(evaluator), distributions, objectives, n_trials,
                            on_line, worker or Worker(), progress, budget_seconds)
    finally:
        gc.unfreeze()
