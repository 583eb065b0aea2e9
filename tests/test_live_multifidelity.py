"""MO-ASHA in live tuning: rungs in the study's storage, stopped trials PRUNED with what they
measured, `--budget-seconds` for every strategy."""

import json
import multiprocessing

import numpy as np
import optuna
import pytest

from mobench.cli import main
from mobench.objectives import parse_objectives
from mobench.strategies.multifidelity import MultiFidelity, in_top_share
from mobench.study.loop import run_trials
from mobench.study.outcome import TrialOutcome
from mobench.study.rungs import BRACKET_ATTR, STOPPED_AT_ATTR, StudyRungs
from mobench.study.studies import open_study

OBJECTIVES = parse_objectives("val_accuracy,train_time")


def test_rungs_in_storage_are_shared_by_every_handle_on_the_study(tmp_path):
    """Two workers' views of one SQLite study see each other's rung vectors."""
    storage = f"sqlite:///{tmp_path}/s.db"
    sampler = optuna.samplers.RandomSampler(seed=0)
    mine = open_study(storage, "x", OBJECTIVES, sampler, "mnist-mlp")
    theirs = optuna.load_study(study_name="x", storage=storage)
    rungs = StudyRungs(MultiFidelity("mo-asha"), 10, 0, OBJECTIVES)
    good = theirs.ask()
    assert rungs.decide(good, rungs.bracket(good), 1, [-0.9, 1.0])  # first at the rung
    worse = mine.ask()
    bracket = rungs.bracket(worse)
    assert worse.user_attrs[BRACKET_ATTR] == bracket == 0
    assert not rungs.decide(worse, bracket, 1, [-0.5, 2.0])  # dominated by the other's
    fresh = optuna.load_study(study_name="x", storage=storage)
    assert [t.user_attrs["mf_rung_1"] for t in fresh.trials] == [[-0.9, 1.0], [-0.5, 2.0]]


class WaitsAfterItsRungWrite:
    """A trial that, once it has stored its vector at a rung, waits until the other worker
    has too: both reach the rung together."""

    def __init__(self, trial, barrier) -> None:
        self.trial, self.barrier = trial, barrier

    def __getattr__(self, name):
        return getattr(self.trial, name)

    def set_user_attr(self, key, value) -> None:
        self.trial.set_user_attr(key, value)
        if key.startswith("mf_rung_"):
            self.barrier.wait(timeout=60)


def race_to_a_rung(storage: str, barrier, vector: list[float], results) -> None:
    """One worker process: a trial of the shared study judged at rung 1."""
    study = optuna.load_study(study_name="race", storage=storage)
    trial = study.ask()
    rungs = StudyRungs(MultiFidelity("mo-asha"), 10, 0, OBJECTIVES)
    keep = rungs.decide(WaitsAfterItsRungWrite(trial, barrier), rungs.bracket(trial), 1, vector)
    results.put((vector, keep))


@pytest.mark.parametrize("vectors", [
    ([-0.9, 1.0], [-0.5, 2.0]),   # one dominates the other
    ([-0.9, 2.0], [-0.5, 1.0]),   # mutually non-dominated: the more accurate goes first
])
def test_two_workers_reaching_a_rung_together_let_only_the_top_share_go_on(tmp_path, vectors):
    """Two processes on one SQLite study both store their vector before either reads the rung:
    write-then-rank lets 1 of 2 go on (position 0 < 2/3), where read-decide-write saw an
    empty rung in both and let both go on."""
    storage = f"sqlite:///{tmp_path}/race.db"
    optuna.create_study(study_name="race", storage=storage, directions=["maximize", "minimize"])
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=race_to_a_rung, args=(storage, barrier, v, results))
               for v in vectors]
    for worker in workers:
        worker.start()
    outcomes = dict((tuple(v), keep) for v, keep in (results.get(timeout=120) for _ in workers))
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert outcomes == {tuple(vectors[0]): True, tuple(vectors[1]): False}
    stored = optuna.load_study(study_name="race", storage=storage).trials
    assert sorted(tuple(t.user_attrs["mf_rung_1"]) for t in stored) == sorted(map(tuple, vectors))


def test_a_failed_trial_gives_its_place_at_a_rung_to_its_retry():
    """A worker died after trial 0 recorded the rung's best vector: the trial fails, and Optuna's
    retry copies its params and user attributes. The retry must not compete with its dead copy,
    and a newcomer must be judged against the retry alone, not against both."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    study = optuna.create_study(directions=["maximize", "minimize"])
    rungs = StudyRungs(MultiFidelity("mo-asha"), 10, 0, OBJECTIVES)
    dead = study.ask({"units": optuna.distributions.IntDistribution(32, 512)})
    assert rungs.decide(dead, rungs.bracket(dead), 1, [-0.9, 1.0])
    study.tell(dead, state=TrialState.FAIL)
    RetryHeartbeatStaleTrialCallback()(study, study.trials[0])  # as study.loop uses it
    retry = study.ask()  # the WAITING copy, with the dead trial's rung vector
    assert retry.user_attrs["mf_rung_1"] == [-0.9, 1.0]
    assert rungs.decide(retry, rungs.bracket(retry), 1, [-0.9, 1.0])  # alone at the rung
    for worse in ([-0.5, 2.0], [-0.4, 3.0]):  # 2nd of 2, 3rd of 3: stopped
        other = study.ask()
        assert not rungs.decide(other, rungs.bracket(other), 1, worse)
    # 2nd of 4: goes on; with the dead copy counted it would be 3rd of 5 and stopped
    newcomer = study.ask()
    assert rungs.decide(newcomer, rungs.bracket(newcomer), 1, [-0.8, 1.5])
    from mobench.study.document import rung_counts

    assert rung_counts(study.get_trials())["1"] == 4  # the dead trial is not counted


def test_hyperband_brackets_are_seeded_by_trial_number_and_stored(tmp_path):
    from test_multifidelity import bracket_draw_fits

    study = optuna.create_study(directions=["maximize", "minimize"])
    rungs = StudyRungs(MultiFidelity("mo-hyperband"), 10, 7, OBJECTIVES)
    first = [rungs.bracket(study.ask()) for _ in range(40)]
    assert [t.user_attrs[BRACKET_ATTR] for t in study.trials] == first
    again = StudyRungs(MultiFidelity("mo-hyperband"), 10, 7, OBJECTIVES)
    other = optuna.create_study(directions=["maximize", "minimize"])
    assert [again.bracket(other.ask()) for _ in range(40)] == first

    class Numbered:  # a trial as bracket() reads it: a number and user attributes
        def __init__(self, number: int) -> None:
            self.number, self.user_attrs = number, {}

        def set_user_attr(self, key, value) -> None:
            self.user_attrs[key] = value

    bracket_draw_fits([rungs.bracket(Numbered(n)) for n in range(4000)], rungs.weights)


def test_a_stopped_outcome_is_pruned_counts_as_finished_and_keeps_its_values(tmp_path):
    def evaluator(trial):
        units = trial.params["units"]
        outcome = TrialOutcome({"val_accuracy": units / 512, "train_time": units / 100})
        return outcome if units > 128 else TrialOutcome(outcome.values, stopped_at=1)

    study = open_study(f"sqlite:///{tmp_path}/s.db", "x", OBJECTIVES,
                       optuna.samplers.RandomSampler(seed=1), "toy")
    space = {"units": optuna.distributions.IntDistribution(32, 512, step=32)}
    lines = []
    assert run_trials(study, evaluator, space, OBJECTIVES, 12, on_line=lines.append) == 12
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned and len(pruned) + len(study.best_trials) <= 12
    assert all(t.user_attrs[STOPPED_AT_ATTR] == 1 and t.values is None for t in pruned)
    assert all(t.user_attrs["measured.train_time"] == t.params["units"] / 100 for t in pruned)
    assert any("stopped after epoch 1: val_accuracy=" in line for line in lines)


def test_budget_seconds_stops_starting_trials_once_the_finished_ones_trained_that_long(
        tmp_path):
    study = open_study(f"sqlite:///{tmp_path}/s.db", "x", OBJECTIVES,
                       optuna.samplers.RandomSampler(seed=1), "toy")
    space = {"units": optuna.distributions.IntDistribution(32, 512, step=32)}
    lines = []
    ran = run_trials(study, lambda t: TrialOutcome({"val_accuracy": 0.5, "train_time": 2.0}),
                     space, OBJECTIVES, 1000, on_line=lines.append, budget_seconds=9.0)
    assert ran == 5  # 4 trials make 8 s < 9, the fifth passes it, the sixth is not started
    assert any("trained for 10.0 s, the --budget-seconds 9: stopping" in line for line in lines)


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "mo-asha", "--objectives", "val_accuracy,latency"],
     "'latency' is only measured after training"),
    (["--strategy", "st-moasha"], "a replay baseline"),
    (["--strategy", "mo-asha:grid"], "cannot propose"),
    (["--strategy", "mo-hyperband:nope"], "unknown sampler of mo-hyperband 'nope'"),
    (["--strategy", "mo-asha"], "trials train for 1 epoch: no rung; train for more --epochs"),
    (["--strategy", "mo-asha:eta=1", "--epochs", "5"], "eta='1' must be an integer >= 2"),
    (["--strategy", "mo-asha:min=5", "--epochs", "5"], "for 5 epochs: no rung; lower min=5"),
])
def test_bad_multi_fidelity_tuning_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch,
                                                                  argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["tune", "mnist-mlp", "--storage", f"sqlite:///{tmp_path}/s.db", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


@pytest.mark.slow
def test_mo_asha_tunes_live_stopping_trials_at_rungs_on_digits(tmp_path, capsys):
    """Which trials stop depends on their measured seconds (an objective), so the test does
    not pin them: it replays the rule on the vectors the trials stored and checks that
    exactly those it rejects were stopped, where they were. That some trial stops does not
    hang on timing: at a rung of 2 or 3 vectors only the most accurate goes on (the
    epsilon-net starts from the first objective's best), and this seed's trial 2 is less
    accurate after epoch 1 than trial 1 (accuracy does not depend on the CPU's load), so it
    stops whatever the seconds. The hypervolume-contribution tie-break this replaced ranked
    a front's extremes last, which left the outcome to the measured seconds."""
    storage = f"sqlite:///{tmp_path}/s.db"
    out = tmp_path / "run.json"
    assert main(["tune", "mnist-mlp", "--strategy", "mo-asha", "--dataset", "digits",
                 "--limit", "150", "--epochs", "4", "--trials", "7", "--storage", storage,
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    states = [t["state"] for t in doc["trials"]]
    (study_name,) = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    for epoch in (1, 3):  # one worker: each trial was ranked among the trials before it
        rows = [(t, t.user_attrs[f"mf_rung_{epoch}"]) for t in trials
                if f"mf_rung_{epoch}" in t.user_attrs]
        for i, (trial, _) in enumerate(rows):
            kept = in_top_share(np.array([v for _, v in rows[:i + 1]]), i)
            assert (trial.user_attrs.get(STOPPED_AT_ATTR) == epoch) == (not kept), trial.number
    assert len(states) == 7 and "pruned" in states and "complete" in states
    assert doc["rungs"]["1"] == 7 and doc["rungs"]["3"] < 7  # every trial reached epoch 1
    stopped = [t for t in doc["trials"] if t["state"] == "pruned"]
    done = [t for t in doc["trials"] if t["state"] == "complete"]
    for t in stopped:
        assert t["stopped_at_epoch"] in (1, 3)
        assert set(t["stopped_values"]) == {"val_accuracy", "train_time"}
        assert t["measured"]["train_time"] == pytest.approx(t["stopped_values"]["train_time"])
    # a config stopped after 1 of 4 epochs trained for a fraction of a finished one's time
    ones = [t["measured"]["train_time"] for t in stopped if t["stopped_at_epoch"] == 1]
    if ones and done:
        assert min(ones) < min(t["measured"]["train_time"] for t in done)
    assert "stopped after epoch" in capsys.readouterr().err
    # the report's runs table says how many trials stopped after which epoch
    from mobench.report.build import build_report

    build_report([out], tmp_path / "report", formats=["md"])
    page = (tmp_path / "report" / "report.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| run |"))
    assert "stopped early (epoch: trials)" in row
    ours = next(line for line in page.splitlines() if line.startswith("| run | mo-asha |"))
    by_epoch = {e: sum(t["stopped_at_epoch"] == e for t in stopped) for e in (1, 3)}
    assert ", ".join(f"{e}: {n}" for e, n in by_epoch.items() if n) in ours


@pytest.mark.parametrize("argv, message", [
    (["--strategies", "random,mo-asha"], "trials train for 1 epoch: no rung"),
    (["--strategies", "st-moasha", "--epochs", "3"], "a replay baseline"),
    (["--strategies", "mo-asha", "--epochs", "3", "--objectives", "val_accuracy,latency"],
     "'latency' is only measured after training"),
])
def test_bad_live_multi_fidelity_comparisons_are_one_line_and_write_nothing(
        tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "mnist-mlp", "--live", "--out", "out", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_epochs_belong_to_live_comparisons_only(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "mnist-mlp", "--epochs", "3", "--strategies", "random"]) == 2
    assert "--epochs sets the training of --live runs" in capsys.readouterr().err


@pytest.mark.slow
def test_live_comparison_runs_mo_asha_at_equal_training_seconds(tmp_path, capsys):
    """30 training seconds: a trial's first epoch, graph tracing included, took 3.8-9.3 s on
    a busy core (the tune test above, 7 trials), so 6 s, the budget before, could end a run
    before its first trial finished, and only fully trained configs count."""
    out = tmp_path / "live"
    assert main(["compare", "mnist-mlp", "--live", "--strategies", "random,mo-asha",
                 "--epochs", "3", "--budget-seconds", "30", "--seeds", "2", "--dataset",
                 "digits", "--limit", "150", "--out", str(out)]) == 0
    (path,) = out.glob("compare-live-*.json")
    doc = json.loads(path.read_text())
    assert doc["problem"]["epochs"] == 3 and doc["problem"]["budget_seconds"] == 30
    runs = {r["strategy"]: r for r in doc["runs"]}
    for run in runs.values():  # seconds, not trials, ended each run
        assert 0 < run["cumulative_cost_s"][-1] <= 30
    assert runs["random"]["front_size"] >= 1
    asha = runs["mo-asha"]
    # every counted trial reached rung 1 and then finished (3) or was stopped there (1)
    assert set(asha["epochs"]) <= {1, 3} and asha["rungs"]["1"] >= len(asha["epochs"])
    assert "seconds" in capsys.readouterr().err
    from mobench.report.build import build_report  # the report says it was trained live

    build_report([path], tmp_path / "report", formats=["md"])
    page = (tmp_path / "report" / "report.md").read_text()
    n_train = doc["problem"]["dataset"]["n_train"]
    assert f"trained live on digits ({n_train} training examples, 3 epochs)" in page
    assert "### Strategies compared on mnist-mlp: accuracy ↑, training time ↓ trained live on " \
        "digits, 3 epochs" in page


def test_the_default_study_name_of_a_strategy_with_options_is_a_valid_name(tmp_path):
    from mobench.cli.parser import build_parser
    from mobench.study.workers import tune_spec

    args = build_parser().parse_args(["tune", "mnist-mlp", "--strategy", "mo-asha:motpe:eta=2",
                                      "--epochs", "4", "--storage", f"sqlite:///{tmp_path}/s.db"])
    spec = tune_spec(args)
    assert spec.study == "mnist-mlp-mo-asha-motpe-eta2-s0-val_accuracy-train_time"
    assert spec.strategy == "mo-asha:motpe:eta=2"
