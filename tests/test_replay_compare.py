"""Replay of a stored table and the comparison harness (no TensorFlow, a hand-made table)."""

import json

import numpy as np
import pytest
from conftest import REPLAY_GRID as GRID

from mobench.cli import main
from mobench.compare import indicators as ind
from mobench.compare.protocol import analyse, replay_all, run_strategy
from mobench.compare.replay import TabularProblem
from mobench.compare.tabular import load_table
from mobench.documents import write_json
from mobench.errors import UsageError
from mobench.objectives import parse_objectives
from mobench.records import SCHEMA_VERSION

OBJ = parse_objectives("val_accuracy,train_time")


@pytest.fixture
def table(replay_table):
    """The shared grid table of GRID (conftest): one config failed."""
    return replay_table


def problem_for(path, noise="median", seed=0):
    header, frame = load_table(path)
    return TabularProblem(header, frame, OBJ, noise=noise, seed=seed)


def test_replay_is_deterministic_under_a_seed(table):
    a = run_strategy(problem_for(table), "nsga2", 3, 15, OBJ)
    b = run_strategy(problem_for(table), "nsga2", 3, 15, OBJ)
    assert a.points == b.points or np.array_equal(np.array(a.points), np.array(b.points),
                                                  equal_nan=True)
    assert a.feasible == b.feasible


def test_failed_configs_replay_as_infeasible_and_costs_come_from_the_table(table):
    problem = problem_for(table)
    trace = run_strategy(problem, "grid", 0, 24, OBJ, grid=GRID,
                         cost=lambda trial, _: problem.cost(trial))
    assert trace.feasible.count(False) == 1  # the whole grid: exactly the failed config
    assert sum(trace.cost_s) == pytest.approx(
        sum(u * n / 100 for u in GRID["units_0"] for n in GRID["num_layers"]) * 2 - 7.68)


def test_sample_noise_draws_measured_repeats(table):
    problem = problem_for(table, noise="sample", seed=1)
    row = problem.row({"units_0": 32, "num_layers": 1, "learning_rate": 0.001})
    draws = {problem.value(row, "val_accuracy") for _ in range(30)}
    assert draws == set(json.loads(row["val_accuracy_repeats"]))


def test_configs_outside_the_grid_name_the_key(table):
    problem = problem_for(table)
    with pytest.raises(UsageError, match="grid key 'dropout' is not in the table's grid"):
        problem.row({"dropout": 0.1})
    with pytest.raises(UsageError, match="grid key 'units_0': 1000 is not a grid value"):
        problem.row({"units_0": 1000, "num_layers": 1, "learning_rate": 0.001})
    with pytest.raises(UsageError, match="grid key 'dropout' appears only in"):
        problem.check_space({"units_0", "num_layers", "learning_rate", "dropout"})
    with pytest.raises(UsageError, match="does not hold objective 'fcd'"):
        TabularProblem(*load_table(table), parse_objectives("fcd"))


def test_corrupt_and_foreign_tables(tmp_path, table):
    bad = tmp_path / "bad.csv"
    write_json(bad.with_suffix(".json"), {"schema_version": SCHEMA_VERSION, "kind": "profile"})
    with pytest.raises(UsageError, match="expected a 'table' document"):
        load_table(bad)
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_table(table)


def test_replay_in_processes_matches_one_process_and_reports_time(table):
    lines: list[str] = []
    args = (str(table), ["val_accuracy", "train_time"], "median", ["random", "nsga2"])
    serial, _ = replay_all(*args, seeds=2, budget=8, on_line=lambda _: None)
    parallel, timing = replay_all(*args, seeds=2, budget=8, jobs=2, on_line=lines.append)
    assert [(t.strategy, t.seed, t.points) for t in serial] == [
        (t.strategy, t.seed, t.points) for t in parallel]
    assert set(timing) == {"random", "nsga2"} and len(lines) == 2
    assert lines[0].startswith("random: 2 seeds x 8 trials in ")


def test_analysis_normalises_by_the_true_front_and_tests_against_random(table):
    traces, timing = replay_all(str(table), ["val_accuracy", "train_time"], "median",
                                ["random", "nsga2"], seeds=4, budget=20, on_line=lambda _: None)
    assert set(timing) == {"random", "nsga2"} and len(traces) == 8
    problem = problem_for(table)
    result = analyse(traces, OBJ, reference_points=problem.all_points(),
                     true_front=problem.all_points(), checkpoints=[10])
    norm = result["normalisation"]
    assert norm["primary"] == "front" and norm["reference_point"] == pytest.approx(1.1)
    reference = np.array(norm["reference_front"]["points"])
    # every config of the table was evaluated: the reference front is the table's own front
    assert sorted(map(tuple, reference)) == sorted(map(tuple, ind.nondominated(
        problem.all_points())))
    ideal, nadir = ind.bounds(reference)
    assert norm["low"] == norm["ideal"] == ideal.tolist()
    assert norm["high"] == norm["nadir"] == nadir.tolist()
    assert norm["box"]["low"] == ind.bounds(problem.all_points())[0].tolist()
    whole = ind.hypervolume(ind.normalise(reference, ideal, nadir))
    for run in result["runs"]:
        hv = run["hypervolume"]
        assert len(hv) == 20 and all(0 <= h <= 1 for h in hv)
        assert all(0 <= h <= 1 for h in run["hypervolume_box"])
        assert all(np.diff(hv) >= -1e-12) and run["igd_plus"] >= 0
        front = np.array(run["front"])  # the final front, kept for attainment surfaces
        assert len(front) == run["front_size"] > 0
        assert ind.hypervolume(front) / whole == pytest.approx(hv[-1])
        found = np.array([p for p in run["found_points"] if p is not None])
        assert len(run["found_points"]) == 20  # one entry per trial, raw minimisation space
        assert ind.nondominated(ind.normalise(found, ideal, nadir)).tolist() == run["front"]
    rows = result["final"]
    assert {(r["budget"], r["strategy"]) for r in rows} == {
        (b, s) for b in (10, 20) for s in ("random", "nsga2")}
    nsga = next(r for r in rows if r["strategy"] == "nsga2" and r["budget"] == 20)
    assert nsga["tests"][0]["b"] == "random" and 0 <= nsga["tests"][0]["p_holm"] <= 1


def test_compare_cli_writes_a_comparison_document(table, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random,motpe",
                 "--budget", "12", "--seeds", "3", "--out", str(out)]) == 0
    (doc_path,) = out.glob("compare-*.json")
    doc = json.loads(doc_path.read_text())
    assert doc["kind"] == "comparison" and doc["strategies"] == ["random", "motpe"]
    assert len(doc["runs"]) == 6 and "median HV" in capsys.readouterr().out


def test_console_final_table_lists_best_rank_first_with_tests():
    from mobench.cli.comparing import final_table_text

    test = {"a": "b", "b": "a", "p": 0.004, "p_holm": 0.01, "significant": True, "better": "b",
            "a12": 0.9, "a12_ci": [0.7, 0.97], "method": "exact"}
    plain = {"a": "a", "b": "c", "p": 0.3, "p_holm": 0.6, "significant": False,
             "better": "a", "a12": 0.6, "a12_ci": [0.3, 0.8], "method": "permutation"}
    rows = [{"budget": 30, "strategy": "a", "median": 0.5, "iqr": 0.1, "rank": 2.0,
             "tests": [test]},
            {"budget": 30, "strategy": "b", "median": 0.9, "iqr": 0.1, "rank": 1.0,
             "tests": [test]},
            {"budget": 10, "strategy": "a", "median": 0.4, "iqr": 0.1, "rank": 1.0,
             "tests": [plain]}]
    medians, tests = final_table_text(rows).split("\n\n")
    lines = medians.splitlines()[2:]
    assert [line.split()[:2] for line in lines] == [["10", "a"], ["30", "b"], ["30", "a"]]
    assert tests.splitlines()[0] == "tests (Holm over all 2 together, A12 = P(first > second)):"
    rows_ = [line.split() for line in tests.splitlines()[3:]]
    assert rows_[0] == ["10", "a", "vs", "c", "0.3", "0.6", "0.60", "[0.30,", "0.80]",
                        "permutation", "no", "difference"]
    assert rows_[1] == ["30", "b", "vs", "a", "0.004", "0.01", "0.90", "[0.70,", "0.97]",
                        "exact", "b", "better"]
    assert final_table_text([dict(rows[2], tests=[])]).count("\n") == 2  # no tests, no list


def test_compare_rejects_unknown_strategies(table, capsys):
    assert main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "foo"]) == 2
    assert "unknown strategy 'foo'" in capsys.readouterr().err


def test_strategies_that_cannot_run_here_fail_before_any_run(table, tmp_path, capsys,
                                                             monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    out = tmp_path / "cmp"
    argv = ["compare", "mnist-mlp", "--table", str(table), "--budget", "3", "--seeds", "1",
            "--out", str(out), "--strategies"]
    assert main([*argv, "random,gp"]) == 2
    assert "strategy 'gp' needs torch" in capsys.readouterr().err and not out.exists()
    monkeypatch.setattr("mobench.strategies.strategy_names", lambda: ["random", "gp"])
    assert main([*argv, "all"]) == 0  # `all` skips it and says so
    assert "skipping gp: strategy 'gp' needs torch" in capsys.readouterr().err
    (doc,) = out.glob("compare-*.json")
    assert json.loads(doc.read_text())["strategies"] == ["random"]


@pytest.mark.slow
def test_live_comparison_trains_for_real(tmp_path, capsys):
    out = tmp_path / "live"
    assert main(["compare", "mnist-mlp", "--live", "--strategies", "random,nsga2", "--budget",
                 "2", "--seeds", "2", "--dataset", "digits", "--limit", "200",
                 "--out", str(out)]) == 0
    (path,) = out.glob("compare-live-*.json")
    doc = json.loads(path.read_text())
    assert doc["problem"]["live"] and len(doc["runs"]) == 4
    assert all(r["cumulative_cost_s"][-1] > 0 for r in doc["runs"])  # real training seconds
    # no true front when live: the reference front is the found points' own
    assert not doc["normalisation"]["hypervolume_normalised_by_true_front"]
    assert all(0 <= r["hypervolume"][-1] <= 1 for r in doc["runs"])


def test_numeric_axes_reach_the_samplers_as_ranges_and_proposals_snap_to_the_grid(table):
    """Replay shows samplers what live tuning shows them: ordered, scaled numeric ranges."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from mobench.compare.replay import numeric_distribution

    assert numeric_distribution([32, 64, 128, 256]) == IntDistribution(32, 256, log=True)
    assert numeric_distribution([1, 2, 3]) == IntDistribution(1, 3)
    assert numeric_distribution([0.0, 0.1, 0.2]) == FloatDistribution(0.0, 0.2)
    assert numeric_distribution([0.001, 0.01, 0.1]) == FloatDistribution(0.001, 0.1, log=True)
    assert numeric_distribution(["relu", "tanh"]) is None
    assert numeric_distribution([False, True]) is None and numeric_distribution([5]) is None
    problem = problem_for(table)
    assert not isinstance(problem.distributions["units_0"], CategoricalDistribution)
    grid = problem.grid["units_0"]
    low, high = min(grid), max(grid)
    for value in (low, high, (low + high) / 2, low + 1):
        snapped = problem.snap("units_0", value)
        assert snapped in grid
        assert abs(snapped - value) == min(abs(g - value) for g in grid) or \
            problem.distributions["units_0"].log  # log axes snap in log space
    assert problem.row({"units_0": low + 1, "num_layers": 1, "learning_rate": 0.001}) == \
        problem.row({"units_0": low, "num_layers": 1, "learning_rate": 0.001})


def test_the_two_best_are_not_tested_twice_when_random_leads():
    from mobench.compare.protocol import final_table

    runs = [{"strategy": s, "seed": i, "hypervolume": [v + 0.001 * i] * 5}
            for s, v in (("random", 0.9), ("pesa2", 0.5)) for i in range(6)]
    rows = final_table(runs, [5])
    tests = [t for r in rows for t in r["tests"]]
    pairs = {frozenset((t["a"], t["b"])) for t in tests}
    assert pairs == {frozenset(("pesa2", "random"))}
    assert all(len(r["tests"]) == 1 for r in rows)  # one test, seen from both rows
