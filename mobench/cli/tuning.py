"""The `tune` verb: a study in this process or in supervised workers, then its front and
its run document."""

from __future__ import annotations

import argparse
from pathlib import Path

from mobench.cli.output import check_output, log, save_document


def run_tune(args: argparse.Namespace) -> int:
    """Tune in this process, or with `--workers K` / `--trial-timeout` in supervised worker
    processes; then print the front and write the run document from the shared study."""
    import optuna

    from mobench.objectives import parse_objectives
    from mobench.study.storages import make_storage, redact
    from mobench.study.studies import open_study
    from mobench.study.supervisor import sigterm_as_interrupt
    from mobench.study.workers import MAX_TRIALS, tune_spec, work
    from mobench.suites import get_suite

    if args.json:  # before tune_spec, which creates results/ for the default storage
        check_output(args.json, "--json")
    spec = tune_spec(args)
    suite = get_suite(spec.suite, spec.suites_dir)
    # one run document per study, updated in place
    args.json = check_output(args.json or Path("results") / "runs" / f"tune-{spec.study}.json",
                             "--json")
    objectives = parse_objectives(spec.objectives)
    # open (or create) the study here: a storage, study or settings mismatch exits 2 before
    # any work or write
    study = open_study(make_storage(spec.storage), spec.study, objectives,
                       optuna.samplers.RandomSampler(), suite.name, spec.study_settings(suite))
    from mobench.study.document import finished as is_finished

    finished = sum(is_finished(t) for t in study.get_trials(deepcopy=False))
    if finished:
        log(f"resuming study {spec.study!r}: {finished} of {spec.trials} trials finished")
    supervised = spec.workers > 1 or spec.trial_timeout is not None
    start = (f"tuning {suite.name} with {spec.strategy} for "
             f"{','.join(o.name for o in objectives)} on {spec.dataset or suite.dataset}:"
             f" study {spec.study!r} in "
             f"{redact(spec.storage)}, "
             + (f"{spec.trials} trials" if spec.trials < MAX_TRIALS else "no trial limit")
             + (f", until {spec.budget_seconds:g} s of training" if spec.budget_seconds else "")
             + (f", {spec.workers} workers" if spec.workers > 1 else "")
             + (f", trial timeout {spec.trial_timeout:g} s" if spec.trial_timeout else ""))
    info: dict | None = None
    status = 0
    if supervised:
        from mobench.study.supervisor import supervise

        log(start)
        with sigterm_as_interrupt():  # SIGTERM stops the workers as Ctrl-C does
            status, info = supervise(spec, log)
    else:
        def keep(found: dict) -> None:
            nonlocal info
            info = found

        from mobench.console import interrupted

        try:
            with sigterm_as_interrupt():
                work(spec, log, on_info=keep, announce=start)
        except KeyboardInterrupt:
            status = 130
        except Exception:
            if not interrupted():  # else TensorFlow made the interrupt another error
                raise
            status = 130
    if status == 130:
        log("interrupted: the running trial is marked failed, finished trials are kept")
    if info is None:
        return status or 1
    return _tune_report(args, spec, study, suite, objectives, info, status)


def _tune_report(args, spec, study, suite, objectives, info: dict, status: int) -> int:
    """Print the Pareto front and write the run document (every worker's trials)."""
    from mobench.display import table
    from mobench.study.document import finished, front_rows, spent_seconds, tuning_document

    document = tuning_document(
        study, suite=suite, strategy=spec.strategy, objectives=objectives,
        constraints=list(spec.constraints), seed=spec.seed, epochs=info["epochs"],
        dataset=info["dataset"], provenance=info["provenance"])
    headers, rows = front_rows(document)
    epochs = document["epochs"]
    print(f"Pareto front of study {spec.study!r}: {len(rows)} of {len(document['trials'])} "
          f"trials, each trained {epochs} epoch{'s' if epochs != 1 else ''}"
          + (" (trials stopped early are not members)" if document.get("rungs") else ""))
    print(table(headers, rows))
    if save_document(args.json, document):
        return 1
    trials = study.get_trials(deepcopy=False)
    done = sum(finished(t) for t in trials)
    out_of_seconds = spec.budget_seconds is not None and \
        spent_seconds(trials) >= spec.budget_seconds
    if status == 0 and done < spec.trials and spec.strategy != "grid" and not out_of_seconds:
        log(f"the study holds {done} of {spec.trials} finished trials: rerun to resume")
        return 1
    return status
