"""Many workers on one study, and the faults long studies meet: a worker SIGKILLed mid-trial,
the whole study killed and restarted, a trial that hangs, the storage going away. Real worker
processes on loopback against SQLite and journal storage always, PostgreSQL when available.

Most tests run `toy_work`: the real worker machinery (storage, slots and seeds, heartbeats,
retries, exact counts, supervisor) with a sleeping objective instead of TensorFlow, so that a
process starts in a second. The `slow` ones run the real `tune` verb on digits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from mobench.cli import main
from mobench.objectives import parse_objectives
from mobench.strategies.multifidelity import MultiFidelity
from mobench.study.document import rung_counts
from mobench.study.loop import run_trials
from mobench.study.outcome import TrialOutcome
from mobench.study.rungs import RUNG_ATTR, STOPPED_AT_ATTR, StudyRungs
from mobench.study.storages import is_transient, journal_path, make_storage, normalize_url, redact
from mobench.study.supervisor import supervise, timeline
from mobench.study.workers import SPEC_ENV, TuneSpec, join_study

TESTS = Path(__file__).parent
OBJECTIVES = parse_objectives("val_accuracy,train_time")
SPACE = {"units": IntDistribution(32, 512, step=32)}
COMPLETE, FAIL, RUNNING = TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING


def toy_evaluator(trial) -> TrialOutcome:
    time.sleep(float(os.environ.get("MOBENCH_TOY_TRIAL_S", "0.3")))
    units = trial.params["units"]
    return TrialOutcome({"val_accuracy": units / 512, "train_time": units / 100})


def run_toy(spec: TuneSpec, evaluator, epochs: int, on_line, watch, on_info) -> None:
    """A tune worker without TensorFlow: the same study machinery, a toy objective."""
    from mobench.strategies import make_sampler

    study, worker = join_study(spec, OBJECTIVES, "toy", lambda seed: make_sampler(
        "random", seed=seed, directions=["maximize", "minimize"]))
    worker.watch, worker.poll_s = watch, 0.2
    if on_info:
        on_info({"dataset": {}, "epochs": epochs, "provenance": {}})
    run_trials(study, evaluator, SPACE, OBJECTIVES, spec.trials, on_line, worker)


def toy_work(spec: TuneSpec, on_line, watch=None, on_info=None) -> None:
    """The worker entry of most tests: a sleeping objective."""
    run_toy(spec, toy_evaluator, 1, on_line, watch, on_info)


def toy_rung_evaluator(rungs: StudyRungs):
    """A 9-epoch toy learning curve judged by MO-ASHA's live rungs (epochs 1 and 3); trial
    `MOBENCH_TOY_HANG_AT_RUNG`=N@E hangs right after recording its vector at rung E."""
    def evaluate(trial) -> TrialOutcome:
        units = trial.params["units"]
        bracket = rungs.bracket(trial)
        for epoch in range(1, 10):
            time.sleep(0.01)
            values = {"val_accuracy": (1 - abs(units - 256) / 512) * (1 - 0.5 / epoch),
                      "train_time": units / 100 * epoch}
            if epoch not in rungs.levels[bracket]:
                continue
            keep = rungs.decide(trial, bracket, epoch,
                                [-values["val_accuracy"], values["train_time"]])
            if os.environ.get("MOBENCH_TOY_HANG_AT_RUNG") == f"{trial.number}@{epoch}":
                time.sleep(60)
            if not keep:
                return TrialOutcome(values, stopped_at=epoch)
        return TrialOutcome(values)

    return evaluate


def toy_rung_work(spec: TuneSpec, on_line, watch=None, on_info=None) -> None:
    """`toy_work` with MO-ASHA: rungs in the shared storage, as `tune --strategy mo-asha`."""
    rungs = StudyRungs(MultiFidelity("mo-asha"), 9, 0, OBJECTIVES)
    run_toy(spec, toy_rung_evaluator(rungs), 9, on_line, watch, on_info)


def toy_spec(url: str, trials: int = 6, entry: str = "test_distributed:toy_work",
             **kw) -> TuneSpec:
    kw = {"heartbeat_interval": 1, "grace_period": 3, "storage_retry": 20.0, **kw}
    return TuneSpec(suite="toy", strategy="random", objectives=["val_accuracy", "train_time"],
                    trials=trials, storage=normalize_url(url, ""), study="toy", entry=entry,
                    **kw)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


class Workers:
    """Worker processes of a test: started with a spec, killed at the end, logs kept."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp, self.procs = tmp_path, []

    def start(self, spec: TuneSpec, **env: str) -> subprocess.Popen:
        log = self.tmp / f"worker-{len(self.procs)}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "mobench.study.workers"], stdout=out,
                                    stderr=subprocess.STDOUT,
                                    env=child_env({SPEC_ENV: spec.to_json(), **env}))
        proc.log = log
        self.procs.append(proc)
        return proc

    def wait(self, proc: subprocess.Popen, timeout: float = 90) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker {proc.pid} still running after {timeout} s\n"
                                 + self.logs()) from None

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name} (pid {p.pid})\n" + p.log.read_text()[-3000:]
                         for p in self.procs)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


@pytest.fixture
def workers(tmp_path):
    w = Workers(tmp_path)
    yield w
    w.close()


class StudyView:
    """The test's own read-only look at the study the workers share."""

    def __init__(self, url: str, name: str = "toy") -> None:
        self.url, self.name, self.study = normalize_url(url, ""), name, None

    def trials(self) -> list:
        if self.study is None:
            self.study = optuna.load_study(study_name=self.name, storage=make_storage(self.url))
        return self.study.get_trials()

    def complete(self) -> list:
        return [t for t in self.trials() if t.state == COMPLETE]


def wait_for(condition, timeout: float, what: str, workers: Workers | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except KeyError:  # the study does not exist yet
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n" + (workers.logs() if workers else ""))


def worker_pid(trial) -> int:
    return int(trial.user_attrs["worker"].rsplit("/", 1)[0].rsplit(":", 1)[1])


def snapshot(trials) -> dict[int, tuple]:
    return {t.number: (t.params, t.values, t.user_attrs.get("worker")) for t in trials
            if t.state == COMPLETE}


# --- storage URLs -------------------------------------------------------------------------


def test_storage_url_forms(tmp_path):
    assert normalize_url(None, "sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("postgresql://u:p@h:5/d", "") == "postgresql+psycopg://u:p@h:5/d"
    assert normalize_url("postgres://u@h/d", "") == "postgresql+psycopg://u@h/d"
    assert journal_path(f"journal://{tmp_path}/a.log") == tmp_path / "a.log"
    assert redact("postgresql+psycopg://me:s3cret@db:5432/x") == \
        "postgresql+psycopg://me:***@db:5432/x"
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(FileNotFoundError(2, "gone"))
    assert not is_transient(ValueError("bad data"))


def test_fault_specs_and_gpu_shares(monkeypatch):
    from mobench.errors import UsageError
    from mobench.study import supervisor
    from mobench.testing import faults

    monkeypatch.setenv(faults.ENV, "sleep@7=0.01")
    faults.before_trial(7)  # sleeps 10 ms, the others not at all
    monkeypatch.setenv(faults.ENV, "explode@1")
    with pytest.raises(UsageError, match="hang@N or sleep@N=SECONDS"):
        faults.before_trial(1)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr("mobench.profiling.nvml.gpu_inventory", lambda: ([{}] * 4, None))
    assert [supervisor.gpu_share(i, 2) for i in range(2)] == ["0,1", "2,3"]
    assert [supervisor.gpu_share(i, 6) for i in range(6)] == ["0", "1", "2", "3", "0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert supervisor.gpu_share(0, 2) is None  # the user's choice stands
    env = supervisor.child_env(1, 2)
    assert env["MOBENCH_WORKER_INDEX"] == "1" and int(env["TF_NUM_INTRAOP_THREADS"]) >= 1


# --- many workers ---------------------------------------------------------------------------


def test_racing_workers_end_with_exactly_the_requested_count(storage_url, workers):
    spec = toy_spec(storage_url, trials=12)
    procs = [workers.start(spec, MOBENCH_TOY_TRIAL_S="0.02") for _ in range(3)]
    assert [workers.wait(p) for p in procs] == [0, 0, 0], workers.logs()
    view = StudyView(storage_url)
    trials = view.trials()
    assert len(view.complete()) == 12
    assert all(t.user_attrs["fail_reason"].startswith("surplus") for t in trials
               if t.state == FAIL)
    assert not [t for t in trials if t.state == RUNNING]
    seeds = {t.user_attrs["worker"]: t.user_attrs["worker_seed"] for t in view.complete()}
    assert len(set(seeds.values())) == len(seeds) and set(seeds.values()) <= {0, 1, 2}
    slots = {k: v for k, v in view.study.user_attrs.items() if k.startswith("worker.")}
    assert sorted(slots) == ["worker.0", "worker.1", "worker.2"]  # one slot per worker


# --- faults ---------------------------------------------------------------------------------


def test_a_worker_killed_mid_trial_is_detected_and_its_trial_retried(storage_url, workers):
    spec = toy_spec(storage_url, trials=6)
    procs = [workers.start(spec, MOBENCH_FAULTS="sleep@2=60") for _ in range(2)]
    view = StudyView(storage_url)
    victim = wait_for(lambda: next((t for t in view.trials() if t.number == 2
                                    and t.state == RUNNING and "worker" in t.user_attrs), None),
                      60, "trial #2 running", workers)
    before = snapshot(view.trials())
    os.kill(worker_pid(victim), signal.SIGKILL)
    survivor = next(p for p in procs if p.pid != worker_pid(victim))
    assert workers.wait(survivor) == 0, workers.logs()
    trials = view.trials()
    print(f"\ntimeline ({storage_url.split(':')[0]}):\n{timeline(trials)}")
    assert trials[2].state == FAIL  # failed by the survivor through its stale heartbeat
    retries = [t for t in trials if t.user_attrs.get("retry_of") == 2]
    assert len(retries) == 1 and retries[0].state == COMPLETE
    assert retries[0].params == trials[2].params
    assert len(view.complete()) == 6
    assert {n: v for n, v in snapshot(trials).items() if n in before} == before  # none lost


def test_a_worker_killed_inside_a_rung_leaves_each_config_once_at_each_rung(storage_url,
                                                                         workers):
    """MO-ASHA with two workers: the worker of trial #2 dies right after its rung-1 vector is
    stored. Its trial fails and gives its place at the rung up; the retry (a copy with the
    same params and user attributes) holds it again, so the rung counts every config once."""
    spec = toy_spec(storage_url, trials=10, entry="test_distributed:toy_rung_work")
    procs = [workers.start(spec, MOBENCH_TOY_HANG_AT_RUNG="2@1") for _ in range(2)]
    view = StudyView(storage_url)
    rung_1 = RUNG_ATTR.format(1)
    victim = wait_for(lambda: next((t for t in view.trials() if t.number == 2
                                    and t.state == RUNNING and rung_1 in t.user_attrs), None),
                      60, "trial #2 holding a place at rung 1", workers)
    os.kill(worker_pid(victim), signal.SIGKILL)
    survivor = next(p for p in procs if p.pid != worker_pid(victim))
    assert workers.wait(survivor) == 0, workers.logs()
    trials = view.trials()
    print(f"\ntimeline ({storage_url.split(':')[0]}):\n{timeline(trials)}")
    assert trials[2].state == FAIL
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == 2]
    assert retry.params == trials[2].params and retry.state in (COMPLETE, TrialState.PRUNED)
    finished = [t for t in trials if t.state in (COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 10 and all(rung_1 in t.user_attrs for t in finished)
    assert rung_counts(trials)["1"] == 10  # the dead trial's vector is not counted twice
    assert not [t for t in trials if t.state == RUNNING]
    stopped = [t for t in finished if t.state == TrialState.PRUNED]
    assert stopped and all(t.user_attrs[STOPPED_AT_ATTR] in (1, 3) for t in stopped)


def test_the_whole_study_killed_and_restarted_resumes(storage_url, workers):
    spec = toy_spec(storage_url, trials=8)
    procs = [workers.start(spec, MOBENCH_TOY_TRIAL_S="0.5") for _ in range(2)]
    view = StudyView(storage_url)
    wait_for(lambda: len(view.complete()) >= 3, 60, "3 finished trials", workers)
    for proc in procs:
        proc.kill()
        proc.wait(10)
    before = snapshot(view.trials())
    # killed mid-trial (claimed); one killed inside `ask` is unclaimed: not counted, and
    # failed as abandoned only after trialloop.ORPHAN_AFTER_S
    orphans = [t.number for t in view.trials() if t.state == RUNNING and "worker" in t.user_attrs]
    again = workers.start(spec, MOBENCH_TOY_TRIAL_S="0.1")
    assert workers.wait(again) == 0, workers.logs()
    trials = view.trials()
    assert len(view.complete()) == 8
    assert {n: v for n, v in snapshot(trials).items() if n in before} == before
    ran_again = [t for t in view.complete() if worker_pid(t) == again.pid]
    assert len(ran_again) == 8 - len(before)  # nothing finished ran twice
    for number in orphans:  # killed mid-trial: failed through heartbeats, retried
        assert trials[number].state == FAIL
        assert any(t.user_attrs.get("retry_of") == number for t in trials)
    assert not [t for t in trials if t.state == RUNNING and "worker" in t.user_attrs]


def test_a_hung_trial_times_out_as_infeasible_and_the_worker_goes_on(storage_url, monkeypatch):
    for key, value in child_env({"MOBENCH_FAULTS": "hang@1"}).items():
        monkeypatch.setenv(key, value)
    lines: list[str] = []
    status, info = supervise(toy_spec(storage_url, trials=4, trial_timeout=2.0), lines.append)
    assert status == 0 and info is not None, lines
    view = StudyView(storage_url)
    trials = view.trials()
    assert len(view.complete()) == 4 and trials[1].state == COMPLETE
    assert trials[1].user_attrs["infeasible_reason"].startswith("timeout: ran past")
    assert trials[1].constraints["failed"] > 0  # ranked below every feasible trial
    assert set(trials[1].user_attrs["placeholders"]) == {"val_accuracy", "train_time"}
    assert any("trial #1 timeout" in line for line in lines)


def test_a_document_write_that_dies_midway_leaves_the_old_file(tmp_path):
    from mobench.documents import write_json

    path = write_json(tmp_path / "run.json", {"trials": [1, 2]})
    with pytest.raises(ValueError):  # NaN is refused after part of the file was written
        write_json(path, {"trials": list(range(10_000)), "x": float("nan")})
    assert json.loads(path.read_text()) == {"trials": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left behind


class Proxy:
    """A TCP proxy on loopback in front of PostgreSQL: `down()` drops every connection and
    refuses new ones until `up()` (the database 'going away')."""

    def __init__(self, host: str, port: int) -> None:
        self.target, self.is_up, self.socks = (host, port), True, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self) -> None:
        self.is_up = False
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.socks = []

    def up(self) -> None:
        self.is_up = True

    def close(self) -> None:
        self.down()
        self.listener.close()


@contextmanager
def storage_away(url: str, proxy: Proxy | None):
    """The storage unavailable for the block: PostgreSQL behind a dropped proxy, the journal's
    folder gone (an unmounted share), SQLite's file locked by another process."""
    if proxy is not None:
        proxy.down()
        try:
            yield
        finally:
            proxy.up()
    elif url.startswith("journal:"):
        folder = journal_path(url).parent
        folder.rename(folder.with_name("away"))
        try:
            yield
        finally:
            folder.with_name("away").rename(folder)
    else:
        con = sqlite3.connect(urlsplit(url).path[1:], timeout=30, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()


def test_the_storage_going_away_is_retried_then_fails_clearly(storage_url, workers):
    proxy = None
    url = storage_url
    if url.startswith("postgresql"):
        parts = urlsplit(url)
        proxy = Proxy(parts.hostname, parts.port)
        url = url.replace(f":{parts.port}/", f":{proxy.port}/")
    try:
        view = StudyView(storage_url)
        # a brief outage: the worker waits it out (back-off) and finishes the study
        brief = workers.start(toy_spec(url, trials=5, grace_period=8))
        wait_for(lambda: len(view.complete()) >= 2, 60, "2 finished trials", workers)
        with storage_away(url, proxy):
            time.sleep(2.5)
        assert workers.wait(brief) == 0, workers.logs()
        assert len(view.complete()) == 5
        # a long outage: the worker gives up after --storage-retry with a clear message
        spec = toy_spec(url, trials=9, grace_period=3, storage_retry=3.0)
        long = workers.start(spec)
        wait_for(lambda: len(view.complete()) >= 6, 60, "6 finished trials", workers)
        with storage_away(url, proxy):
            assert workers.wait(long, 60) == 1, workers.logs()
        log = long.log.read_text()
        assert "unreachable for" in log and "rerun the same command to resume" in log, log
        assert "Traceback" not in log, log
        before = snapshot(view.trials())
        resumed = workers.start(spec)  # nothing was corrupted: the study resumes to the end
        assert workers.wait(resumed) == 0, workers.logs()
        assert len(view.complete()) == 9
        assert {n: v for n, v in snapshot(view.trials()).items() if n in before} == before
    finally:
        if proxy is not None:
            proxy.close()


# --- the real tune verb ----------------------------------------------------------------------


@pytest.mark.slow
def test_tune_workers_and_trial_timeout_on_digits(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOBENCH_FAULTS", "hang@1")
    storage = f"sqlite:///{tmp_path}/studies.db"
    out = tmp_path / "run.json"
    assert main(["tune", "mnist-mlp", "--strategy", "random", "--dataset", "digits",
                 "--limit", "200", "--epochs", "1", "--trials", "3", "--workers", "2",
                 "--trial-timeout", "25", "--storage", storage, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    complete = [t for t in doc["trials"] if t["state"] == "complete"]
    assert len(complete) == 3
    hung = next(t for t in doc["trials"] if t["number"] == 1)
    assert hung["state"] == "complete" and hung["infeasible_reason"].startswith("timeout")
    assert not hung["feasible"] and hung["objectives"] == {}  # nothing invented
    assert doc["provenance"]["workers"] == 2 and doc["provenance"]["distribute"]
    study = optuna.load_study(study_name=doc["study_name"], storage=storage)
    assert {t.user_attrs["worker_seed"] for t in study.get_trials()} <= {0, 1, 2, 3}
    assert "Pareto front" in capsys.readouterr().out


@pytest.mark.slow
def test_fresh_model_builds_and_trains_under_the_mirrored_strategy():
    code = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from mobench.models.common import fresh_model
from mobench.profiling.distribute import choose
assert choose("mirrored", [])[1]["strategy"] == "none"
assert choose("none", ["/gpu:0", "/gpu:1"])[0] is None
strategy, info = choose("mirrored", ["/cpu:0", "/cpu:1"])
assert info == {"requested": "mirrored", "strategy": "MirroredStrategy", "replicas": 2,
                "devices": ["/cpu:0", "/cpu:1"]}
class Build:
    def build(self, hp):
        assert tf.distribute.get_strategy() is strategy
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        return model
model = fresh_model(Build(), None, seed=0, strategy=strategy)
assert not tf.distribute.has_strategy()
model.fit(tf.ones((8, 4)), tf.ones((8, 2)), epochs=1, verbose=0)
assert "Mirrored" in type(model.weights[0].value).__name__
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.stdout.strip().endswith("ok"), out.stderr[-3000:]
