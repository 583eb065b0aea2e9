"""Workers of one study: the tune worker (in this process, or a child process), each worker's
seed from a slot it claims in the study, and the supervisor behind `--workers K` and
`--trial-timeout` (child processes, a watchdog per trial, restarts).

Any number of `tune` processes, on any number of hosts, may work on one study: they share it
through the storage only. `--workers K` is K such processes started here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mobench.errors import MobenchError, UsageError, unknown_name
from mobench.study.storages import StorageSettings

SPEC_ENV = "MOBENCH_WORKER_SPEC"
STATUS_FD_ENV = "MOBENCH_STATUS_FD"
SLOT_KEY = "worker.{}"
MAX_WORKERS = 256
DEFAULT_TRIALS = 20
MAX_TRIALS = 1_000_000  # --budget-seconds without --trials: the seconds decide


@dataclass(frozen=True)
class TuneSpec:
    """Everything a tune worker needs, JSON-serialisable so a child process can get it."""

    suite: str
    strategy: str
    objectives: list[str]
    trials: int
    storage: str  # normalized URL
    study: str
    seed: int = 0
    suites_dir: list[str] = field(default_factory=list)
    dataset: str | None = None
    limit: int | None = None
    val_limit: int | None = None
    data_dir: str | None = None
    constraints: list[str] = field(default_factory=list)
    epochs: int | None = None
    heartbeat_interval: int = 10
    grace_period: int | None = None
    max_retry: int = 2
    storage_retry: float = 60.0
    distribute: str = "mirrored"
    workers: int = 1
    trial_timeout: float | None = None
    budget_seconds: float | None = None
    command: str = ""
    info_dir: str | None = None
    entry: str = "mobench.study.workers:work"  # the worker function children run (tests swap it)

    def study_settings(self, suite) -> dict[str, Any]:
        """What decides what a trial of this study means: recorded in the study and on every
        trial, and a resume with other values is refused."""
        from mobench.documents import mobench_version

        return {"suite": suite.name, "suite_version": suite.version,
                "dataset": self.dataset or suite.dataset, "limit": self.limit,
                "epochs": self.epochs or suite.epochs, "batch_size": suite.batch_size,
                "objectives": list(self.objectives), "constraints": list(self.constraints),
                "strategy": self.strategy, "seed": self.seed,
                "mobench_version": mobench_version(),
                **({"val_limit": self.val_limit} if self.val_limit is not None else {})}

    @property
    def settings(self) -> StorageSettings:
        return StorageSettings(self.heartbeat_interval, self.grace_period, self.max_retry,
                               self.storage_retry)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TuneSpec:
        return cls(**json.loads(text))


def tune_spec(args: argparse.Namespace) -> TuneSpec:
    """The spec of a `tune` command, checked without TensorFlow (bad input exits 2 at once)."""
    from mobench.data import DATASET_NAMES
    from mobench.documents import command_line
    from mobench.objectives import (
        CATALOGUE,
        check_measurable,
        parse_constraint,
        parse_objectives,
    )
    from mobench.strategies import strategy_names
    from mobench.strategies.multifidelity import (
        BASELINES,
        check_epochs,
        check_multi_fidelity,
        is_multi_fidelity,
        parse_multi_fidelity,
    )
    from mobench.study.rungs import check_live_objectives
    from mobench.study.storages import normalize_url
    from mobench.study.studies import DEFAULT_STORAGE, check_study_name
    from mobench.suites import get_suite

    suite = get_suite(args.suite, args.suites_dir)
    dataset = args.dataset or suite.dataset
    if dataset not in DATASET_NAMES:
        error = unknown_name("dataset", dataset, DATASET_NAMES)
        raise error if args.dataset else UsageError(f"{suite.path}: dataset: {error}")
    if args.objectives is not None and not args.objectives:
        raise UsageError("--objectives needs at least one objective name")
    specs = list(args.objectives or suite.objectives)
    objectives = parse_objectives(specs)
    parsed = [parse_constraint(text) for text in args.constraint]
    constraints = [c.text for c in parsed]
    dupes = sorted({c for c in constraints if constraints.count(c) > 1})
    if dupes:
        raise UsageError(f"constraint {dupes[0]!r} is given twice")
    if any(CATALOGUE[n].needs_gpu for n in [*(o.name for o in objectives if o.name in CATALOGUE),
                                            *(c.name for c in parsed)]):
        from mobench.profiling.nvml import gpu_inventory

        gpus, why = gpu_inventory()
        check_measurable([*(o.name for o in objectives), *(c.name for c in parsed)],
                         len(gpus), why)
    if is_multi_fidelity(args.strategy):
        if args.strategy in BASELINES:
            raise UsageError(f"strategy {args.strategy!r} is a replay baseline (Syne Tune runs "
                             "its own trials): use it with `compare --problem surrogate`")
        check_multi_fidelity(args.strategy)
        check_live_objectives(args.strategy, objectives)
        check_epochs(parse_multi_fidelity(args.strategy), args.epochs or suite.epochs)
    elif args.strategy not in strategy_names():
        raise unknown_name("strategy", args.strategy, strategy_names())
    name = args.study if args.study is not None else "-".join(
        [suite.name, args.strategy.replace(":", "-").replace("=", ""), f"s{args.seed}",
         *(o.name for o in objectives)])
    grace = args.grace_period
    if grace is not None and grace <= args.heartbeat_interval:
        raise UsageError(f"--grace-period {grace} must exceed --heartbeat-interval "
                         f"{args.heartbeat_interval} (a live worker would look dead)")
    storage = normalize_url(args.storage, DEFAULT_STORAGE)
    if storage == DEFAULT_STORAGE:
        Path("results").mkdir(exist_ok=True)
    return TuneSpec(
        suite=args.suite, strategy=args.strategy, objectives=specs,
        trials=args.trials or (MAX_TRIALS if args.budget_seconds else DEFAULT_TRIALS),
        storage=storage, study=check_study_name(name),
        seed=args.seed, suites_dir=[str(d) for d in args.suites_dir], dataset=args.dataset,
        limit=args.limit, val_limit=args.val_limit, data_dir=args.data_dir,
        constraints=constraints, epochs=args.epochs,
        heartbeat_interval=args.heartbeat_interval, grace_period=grace,
        max_retry=args.max_retry, storage_retry=args.storage_retry, distribute=args.distribute,
        workers=args.workers, trial_timeout=args.trial_timeout,
        budget_seconds=args.budget_seconds, command=command_line(sys.argv))


def claim_slot(study, token: str, settle_s: float = 0.2) -> int:
    """The lowest worker slot of the study no other worker holds: write, wait, read back."""
    slot = 0
    while True:
        attrs = study.user_attrs
        while SLOT_KEY.format(slot) in attrs:
            slot += 1
        study.set_user_attr(SLOT_KEY.format(slot), token)
        time.sleep(settle_s)
        if study.user_attrs.get(SLOT_KEY.format(slot)) == token:
            return slot
        slot += 1  # another worker wrote the same slot last: try the next


def join_study(spec: TuneSpec, objectives, suite: str, sampler_for: Callable[[int], Any],
               settings: dict[str, Any] | None = None):
    """Open the study, claim a worker slot and seed the sampler with --seed + slot;
    returns (study, trialloop.Worker)."""
    import optuna

    from mobench.study.loop import Worker, default_name
    from mobench.study.storages import make_storage
    from mobench.study.studies import open_study

    storage = make_storage(spec.storage, spec.settings)
    study = open_study(storage, spec.study, objectives, optuna.samplers.RandomSampler(),
                       suite, settings)
    name = default_name()
    slot = claim_slot(study, name)
    seed = (spec.seed + slot) % 2**32
    study.sampler = sampler_for(seed)
    return study, Worker(name=f"{name}/w{slot}", seed=seed, storage=storage,
                         settings=spec.settings, url=spec.storage,
                         trial_attrs={"settings": settings} if settings else {})


def work(spec: TuneSpec, on_line: Callable[[str], None],
         watch: Callable[[str, int], None] | None = None,
         on_info: Callable[[dict[str, Any]], None] | None = None,
         announce: str | None = None) -> dict[str, Any]:
    """One worker: claim a slot (seed = --seed + slot), load the data, run trials until the
    study holds spec.trials finished trials. Returns what the run document needs.
    `announce` is logged once the suite's model and space have been checked."""
    from mobench.data import load_dataset
    from mobench.documents import provenance
    from mobench.objectives import parse_constraint, parse_objectives
    from mobench.profiling.hardware import fingerprint
    from mobench.strategies import make_sampler
    from mobench.strategies.multifidelity import is_multi_fidelity, parse_multi_fidelity
    from mobench.strategies.proposer import make_proposer
    from mobench.study.evaluator import TrialEvaluator
    from mobench.study.loop import run_trials
    from mobench.study.rungs import StudyRungs
    from mobench.study.space import complete_grid, kt_space, optuna_space
    from mobench.study.storages import redact
    from mobench.suites import check_values, get_suite

    suite = get_suite(spec.suite, spec.suites_dir)
    objectives = parse_objectives(spec.objectives)
    hypermodel = suite.hypermodel()
    space = kt_space(hypermodel)
    distributions = optuna_space(space, check_values(suite, hypermodel, "space"))
    base = {**space.values, **suite.variants.get("small", {})}
    grid = complete_grid(check_values(suite, hypermodel, "grid"), base) \
        if spec.strategy == "grid" and suite.grid else None
    directions = [o.direction.value for o in objectives]
    multi = parse_multi_fidelity(spec.strategy) if is_multi_fidelity(spec.strategy) else None
    rungs = StudyRungs(multi, spec.epochs or suite.epochs, spec.seed, objectives) \
        if multi else None

    def sampler_for(seed: int):
        if multi:  # the proposer of MO-ASHA sees finished trials only
            return make_proposer(multi.proposer, seed=seed, directions=directions)
        return make_sampler(spec.strategy, seed=seed, grid=grid, directions=directions)

    sampler_for(spec.seed)  # checks
    if announce:
        on_line(announce)
    study, worker = join_study(spec, objectives, suite.name, sampler_for,
                               spec.study_settings(suite))
    worker.watch = watch
    dataset = load_dataset(spec.dataset or suite.dataset, limit=spec.limit,
                           val_limit=spec.val_limit, seed=spec.seed,
                           data_dir=spec.data_dir)
    evaluator = TrialEvaluator(suite, dataset, objectives,
                               tuple(parse_constraint(c) for c in spec.constraints),
                               epochs=spec.epochs, seed=spec.seed, distribute=spec.distribute,
                               rungs=rungs)
    info = {"dataset": dataset.describe(), "epochs": spec.epochs or suite.epochs,
            "provenance": provenance(
                fingerprint(), spec.seed, suite_version=suite.version, command=spec.command,
                distribute=evaluator.distribution, storage=redact(spec.storage),
                workers=spec.workers, trial_timeout_s=spec.trial_timeout)}
    if on_info:
        on_info(info)
    d = evaluator.distribution
    on_line(f"worker {worker.name}: seed {worker.seed}, "
            + (f"{d['strategy']} over {d['replicas']} devices" if d["replicas"] > 1
               else f"one device ({d['note']})"))
    run_trials(study, evaluator, distributions, objectives, spec.trials, on_line, worker,
               budget_seconds=spec.budget_seconds)
    return info


def child_main() -> int:
    """`python -m mobench.study.workers`: one supervised worker, its spec in the environment."""
    from mobench.console import quiet_tensorflow
    from mobench.documents import write_json

    quiet_tensorflow()  # MOBENCH_VERBOSE, inherited from `--verbose`, keeps the logs
    spec = TuneSpec.from_json(os.environ[SPEC_ENV])
    status = None
    if os.environ.get(STATUS_FD_ENV):
        status = os.fdopen(int(os.environ[STATUS_FD_ENV]), "w", buffering=1)
    label = f"pid {os.getpid()}"  # the worker's name in the trials is host:pid/wSLOT

    def on_line(line: str) -> None:
        print(f"mobench[{label}]: {line}", file=sys.stderr, flush=True)

    def watch(event: str, number: int) -> None:
        if status is not None:
            try:
                status.write(f"{event} {number}\n")
            except OSError:
                pass  # the supervisor is gone: carry on alone

    def on_info(info: dict[str, Any]) -> None:
        if spec.info_dir:
            write_json(Path(spec.info_dir) / f"info-{os.getpid()}.json", info)

    from mobench.console import interrupted, interruptible

    module, _, attr = spec.entry.partition(":")
    with interruptible():
        try:
            getattr(importlib.import_module(module), attr)(spec, on_line, watch, on_info)
        except UsageError as exc:
            print(f"mobench: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except MobenchError as exc:
            print(f"mobench[{label}]: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        except Exception:
            if not interrupted():  # else TensorFlow made the interrupt another error
                raise
        else:
            if not interrupted():
                return 0
    on_line("interrupted: the running trial is marked failed")
    return 130


if __name__ == "__main__":
    code = child_main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # everything is stored: skip TensorFlow's slow interpreter teardown
