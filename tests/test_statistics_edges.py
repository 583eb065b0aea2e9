"""Edge cases of the statistics (Mann-Whitney, Holm, average ranks), Pareto dominance and
feasibility (mobench.pareto), and the report's Pareto section (its plots stubbed out)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mobench import pareto as par
from mobench.compare import indicators as ind
from mobench.report import pareto as rp

# --- Mann-Whitney U -------------------------------------------------------------------------


def test_constant_sample_against_a_varying_one_is_not_p_one() -> None:
    zeros = [0.0] * 10  # e.g. a strategy that never gets off zero hypervolume
    assert ind.mann_whitney(zeros, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) < 1e-3
    # 17 tied zeros and three distinct values: the exact permutation p is the chance that the
    # three land in one sample, twice (two-sided): 2 * C(10, 3) / C(20, 3) = 0.2105; 9999
    # resamples estimate it within about 0.01
    overlap = ind.mann_whitney(zeros, [0.0] * 7 + [0.1, 0.2, 0.3])
    assert overlap == pytest.approx(2 * 120 / 1140, abs=0.015)
    assert ind.mann_whitney(zeros, [0.0] * 9 + [0.1]) < 1.0
    # Either order gives the same two-sided p; all 252 splits enumerated: 2 / 252.
    assert ind.mann_whitney([0.1, 0.2, 0.3, 0.4, 0.5], [0.0] * 5) == pytest.approx(2 / 252)
    assert ind.mann_whitney([0.0] * 5, [0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 252)


def test_constant_equal_samples_and_ties() -> None:
    assert ind.mann_whitney([0.3] * 4, [0.3] * 6) == 1.0
    assert ind.mann_whitney([0.5], [0.5, 0.5]) == 1.0  # a one-seed sample
    assert ind.mann_whitney([0.5, 0.5], [0.5]) == 1.0
    # 3 against 3 can never go below 2 / C(6, 3) = 0.1, tied or not (the normal
    # approximation said 0.047 for two constant samples)
    assert ind.mann_whitney([1, 1, 1], [2, 2, 2]) == pytest.approx(0.1)
    # Centred ties: U is exactly n1 n2 / 2, p = 1 is the right answer there.
    assert ind.mann_whitney([0.5] * 5, [0.4, 0.6, 0.5, 0.5, 0.5]) == pytest.approx(1.0)
    tied = ind.mann_whitney([1, 2, 2, 3, 3], [3, 3, 4, 4, 5])
    assert 0.01 < tied < 0.1


def test_mann_whitney_is_a_rank_test_for_any_range() -> None:
    a, b = [0.2, 0.5, 0.1, 0.7, 0.4], [0.6, 0.9, 0.8, 0.3, 1.0]
    p = ind.mann_whitney(a, b)
    assert 0 < p < 1
    assert ind.mann_whitney(np.array(a) * 100 - 50, np.array(b) * 100 - 50) == pytest.approx(p)
    assert ind.mann_whitney([-5.0, -4.0, -3.0], [30.0, 40.0, 50.0]) == pytest.approx(0.1)


# --- Holm -----------------------------------------------------------------------------------


def test_holm_is_monotone_capped_and_at_least_the_raw_p() -> None:
    raw = [0.01, 0.04, 0.03, 0.5, 0.002]
    adjusted = ind.holm(raw)
    # By hand, in sorted order: 0.002*5=0.01, 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> 0.09
    # (monotone), 0.5*1=0.5.
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.5, 0.01])
    order = np.argsort(raw)
    assert all(np.diff(np.asarray(adjusted)[order]) >= 0)
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))
    assert ind.holm([0.3, 0.6, 0.9]) == pytest.approx([0.9, 1.0, 1.0])
    assert max(ind.holm([0.7] * 4)) == 1.0
    assert ind.holm([0.2]) == pytest.approx([0.2])
    assert ind.holm([]) == []


# --- average ranks --------------------------------------------------------------------------


def test_average_ranks_share_tied_ranks() -> None:
    ranks = ind.average_ranks({"a": [1.0, 1.0], "b": [1.0, 0.0], "c": [0.0, 0.5]})
    # problem 1: a and b tie for first (1.5 each), c third; problem 2: a, c, b.
    assert ranks == {"a": 1.25, "b": 2.25, "c": 2.5}
    assert ind.average_ranks({"x": [0.2], "y": [0.2]}) == {"x": 1.5, "y": 1.5}
    assert ind.average_ranks({"x": [-3.0, 7.0], "y": [2.0, 9.0]}) == {"x": 2.0, "y": 1.0}


# --- indicators -------------------------------------------------------------------------------


def test_indicators_on_weakly_dominated_and_empty_input() -> None:
    front = np.array([[0.1, 0.5], [0.1, 0.7], [0.5, 0.1]])  # the second is weakly dominated
    assert ind.hypervolume(front) == pytest.approx(ind.hypervolume(front[[0, 2]]))
    assert ind.igd_plus(np.empty((0, 2)), front) == float("inf")
    hv = ind.anytime_hypervolume(front, [True, True, False])
    assert hv.tolist() == pytest.approx([1.0 * 0.6, 1.0 * 0.6, 1.0 * 0.6])
    assert ind.anytime_hypervolume(np.empty((0, 2)), []).tolist() == []
    assert ind.REFERENCE == 1.1
    assert ind.hypervolume(np.array([[0.1]])) == pytest.approx(1.0)  # one objective, one point
    with pytest.raises(ValueError):
        ind.anytime_hypervolume(front, [True, True])  # one flag per point


# --- mobench.pareto ---------------------------------------------------------------------------

POINTS = np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 1.0], [2.0, 1.0], [3.0, 3.0], [0.5, 4.0]])


def test_weakly_dominated_points_never_stay_on_the_front() -> None:
    # [1, 3] is weakly dominated by [1, 2] (equal in one objective, worse in the other).
    assert par.nondominated_mask(POINTS).tolist() == [True, False, True, True, False, True]
    assert par.nondominated_mask(POINTS, duplicates=False).tolist() == [
        True, False, True, False, False, True]
    assert par.nondominated(POINTS).tolist() == [[1.0, 2.0], [2.0, 1.0], [0.5, 4.0]]
    assert par.pareto_ranks(POINTS).tolist() == [1, 2, 1, 1, 3, 1]
    assert par.nondominated_mask(np.empty((0, 2))).tolist() == []
    assert par.nondominated(np.empty((0, 2))).shape == (0, 2)
    assert par.pareto_ranks(np.empty((0, 2))).tolist() == []


def test_minimisation_bounds_and_normalise() -> None:
    values = [[0.9, 2.0], [0.8, 3.0]]
    assert par.minimisation(values, ["maximize", "minimize"]).tolist() == [[-0.9, 2.0],
                                                                            [-0.8, 3.0]]
    assert par.minimisation([1.0, 2.0], ["MAXIMIZE", "StudyDirection.MAXIMIZE"]).tolist() == [
        [-1.0, -2.0]]
    low, high = par.bounds([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    assert low.tolist() == [1.0, 5.0] and high.tolist() == [3.0, 5.0]
    assert par.normalise([[2.0, 5.0], [4.0, 5.0]], low, high).tolist() == [[0.5, 0.0],
                                                                             [1.5, 0.0]]
    # A constant objective keeps a unit span: other points lie at their raw offset.
    assert par.normalise([[6.0]], [5.0], [5.0]).tolist() == [[1.0]]


def test_feasibility_rule() -> None:
    assert par.feasible([]) and par.feasible([0.0, -1.0])
    assert not par.feasible([0.0, 1e-9]) and not par.feasible([2.0])
    assert par.is_feasible(SimpleNamespace(constraints={"a": -0.5, "b": 0.0}))
    assert not par.is_feasible(SimpleNamespace(constraints={"a": 0.1}))


# --- the report's Pareto section --------------------------------------------------------------

SPEC = (("val_accuracy", "maximize", ""), ("train_time", "minimize", "s"))


def _trials() -> pd.DataFrame:
    rows = [  # (source, accuracy, time, feasible, status, on_front, lr)
        ("r1", 0.90, 10.0, True, "complete", True, 0.1),
        ("r1", 0.90, 12.0, True, "complete", False, 0.2),   # weakly dominated by the first
        ("r1", 0.80, 5.0, True, "complete", True, 0.3),
        ("r2", 0.99, 1.0, False, "complete", False, 0.4),   # infeasible: never on the front
        ("r2", 0.95, np.nan, True, "complete", False, 0.5),  # unmeasured time
        ("r2", np.nan, np.nan, None, "fail", None, 0.6),    # nothing measured
        ("r2", 0.85, 5.0, True, "complete", True, 0.7),
        ("r2", 0.90, 10.0, True, "complete", True, 0.8),    # a duplicate of the first
    ]
    return pd.DataFrame([
        {"source": s, "run": f"run-{s}", "strategy": "pesa2" if s == "r1" else "random",
         "trial": i, "obj.val_accuracy": a, "obj.train_time": t, "feasible": f, "status": st,
         "on_front": o, "param.lr": lr, "param.none": np.nan, "created_at": "2024-01-0" + s[1],
         "suite": "mnist-mlp", "objective_spec": SPEC, "hardware_id": None, "dataset": "digits",
         "kind": "tuning"}
        for i, (s, a, t, f, st, o, lr) in enumerate(rows)])


def test_pooled_front_drops_weakly_dominated_infeasible_and_unmeasured_trials() -> None:
    trials = _trials()
    front = rp.pooled_front(trials, SPEC)
    assert front.tolist() == [True, False, False, False, False, False, True, True]
    assert not rp.pooled_front(trials.drop(columns=["obj.train_time"]), SPEC).any()
    none = trials.assign(feasible=False)
    assert not rp.pooled_front(none, SPEC).any()
    unknown = trials.copy()
    unknown["feasible"] = unknown["feasible"].astype(object)
    unknown.loc[3, "feasible"] = None  # feasibility unknown: not on the front
    assert rp.pooled_front(unknown, SPEC).tolist() == front.tolist()


def test_with_front_fills_columns_and_flags() -> None:
    trials = rp.with_front(_trials().drop(columns=["obj.train_time"]),
                           (*SPEC[:1], ("train_time", "minimize", "s")))
    assert "obj.train_time" in trials and trials["obj.train_time"].isna().all()
    assert trials["feasible"].dtype == bool and not trials["feasible"].iloc[5]
    assert not trials["front"].any()


def test_front_table_sorts_by_the_first_objective_and_truncates(monkeypatch) -> None:
    trials = rp.with_front(_trials(), SPEC)
    table = rp.front_table(trials[trials["front"]], SPEC)
    assert table.headers == ["strategy", "run", "trial", "val_accuracy", "train_time", "lr"]
    assert [row[2] for row in table.rows] == ["0", "7", "6"]  # accuracy descending (max)
    assert table.rows[0][3] == "90.0%" and table.rows[0][5] == "0.1"
    assert table.caption == "Pareto front: 3 member(s), sorted by val_accuracy"
    ascending = rp.front_table(trials[trials["front"]], SPEC[::-1])
    assert [row[2] for row in ascending.rows] == ["6", "0", "7"]
    monkeypatch.setattr(rp, "MAX_FRONT_ROWS", 2)
    short = rp.front_table(trials[trials["front"]], SPEC)
    assert len(short.rows) == 2 and short.caption.endswith("; first 2 shown, 1 more")


def test_param_text() -> None:
    assert rp.param_text(np.nan) == "-" and rp.param_text(None) == "-"
    assert rp.param_text(0.000123456) == "0.0001235" and rp.param_text(3) == "3"
    assert rp.param_text("adam") == "adam"


def test_runs_table_counts_per_run() -> None:
    table = rp.runs_table(rp.with_front(_trials(), SPEC))
    assert table.rows[0] == ["run-r1", "pesa2", "3", "3", "3", "0", "0", "2", "1", "-",
                             "2024-01-01"]
    assert table.rows[1] == ["run-r2", "random", "5", "4", "3", "1", "1", "2", "2", "-",
                             "2024-01-02"]


def test_pareto_section_blocks(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(rp.plots, "pareto_pairs",
                        lambda t, s: calls.append(("pairs", len(t))) or b"png")
    monkeypatch.setattr(rp.plots, "parallel_coordinates",
                        lambda t, s: calls.append(("parallel", len(t))) or b"png")
    frame = _trials()
    results = SimpleNamespace(of_kind=lambda kind: frame if kind == "tuning" else frame[:0])
    section = rp.pareto(results)
    assert section.title == "Pareto fronts of your tuning runs" and section.anchor == "pareto"
    heading, text, runs, figure, front = section.blocks
    assert heading.text == ("mnist-mlp: accuracy ↑, training time ↓ on digits, epochs not "
                            "recorded (?)")
    assert text.text == ("2 run(s), 8 trials; the front holds fully trained configurations "
                         "only.")
    assert runs.caption.startswith("Runs in this group;") and len(runs.rows) == 2
    assert figure.caption == ("Objective pairs; front members (3) large with a black edge; "
                              "1 infeasible trial(s) with measured values as grey crosses; "
                              "1 trial(s) without measured values (failed) not plotted.")
    assert calls == [("pairs", 7)]  # two objectives: no parallel coordinates
    assert len(front.rows) == 3
    three = (*SPEC, ("params", "minimize", ""))
    frame = frame.assign(objective_spec=[three] * len(frame), **{"obj.params": 1.0})
    blocks = rp.pareto(SimpleNamespace(of_kind=lambda kind: frame)).blocks
    assert calls[1:] == [("pairs", 8), ("parallel", 5)]  # params measured everywhere
    assert blocks[4].caption.startswith("Parallel coordinates of 5 feasible trials")
    assert rp.pareto(SimpleNamespace(of_kind=lambda kind: frame[:0])) is None
    one = frame.assign(objective_spec=[SPEC[:1]] * len(frame))
    assert [b.kind for b in rp.pareto(SimpleNamespace(of_kind=lambda k: one)).blocks] == [
        "heading", "text", "table", "table"]


def test_tuning_groups_split_by_hardware() -> None:
    frame = _trials()
    frame["hardware_id"] = frame["hardware_id"].astype(object)
    frame.loc[frame["source"] == "r1", "hardware_id"] = "v100"
    frame.loc[frame["source"] == "r2", "hardware_id"] = "a100"
    keys = [k for k, _ in rp.tuning_groups(frame)]
    assert [k[2] for k in keys] == ["a100", "v100"]  # sorted, not in order of appearance
    frame.loc[frame["source"] == "r1", "hardware_id"] = None
    assert [k[2] for k, _ in rp.tuning_groups(frame)] == ["?", "a100"]
    assert rp.MAX_FRONT_ROWS == 100


def test_runs_table_keeps_the_order_of_appearance_and_one_trial_runs() -> None:
    trials = _trials()
    trials["source"] = trials["source"].map({"r1": "s2", "r2": "s1"})
    lone = trials.iloc[[5]].assign(source="s0", run="run-lone", strategy="nsga2",
                                   created_at="2024-02-01", feasible=False)
    table = rp.runs_table(rp.with_front(pd.concat([trials, lone], ignore_index=True), SPEC))
    assert [row[0] for row in table.rows] == ["run-r1", "run-r2", "run-lone"]
    # One failed, infeasible trial: nothing complete, nothing infeasible among the complete.
    assert table.rows[2] == ["run-lone", "nsga2", "1", "0", "0", "0", "1", "0", "0", "-",
                             "2024-02-01"]


def test_front_caption_without_a_cut_and_one_feasible_trial(monkeypatch) -> None:
    trials = rp.with_front(_trials(), SPEC)
    monkeypatch.setattr(rp, "MAX_FRONT_ROWS", 3)
    table = rp.front_table(trials[trials["front"]], SPEC)
    assert len(table.rows) == 3 and table.caption.endswith("sorted by val_accuracy")
    monkeypatch.setattr(rp.plots, "pareto_pairs", lambda t, s: b"png")
    monkeypatch.setattr(rp.plots, "parallel_coordinates", lambda t, s: b"png")
    three = (*SPEC, ("params", "minimize", ""))
    frame = _trials().assign(objective_spec=[three] * 8, **{"obj.params": 1.0})
    frame["feasible"] = [True] + [False] * 7
    blocks = rp.pareto(SimpleNamespace(of_kind=lambda kind: frame)).blocks
    assert [b.kind for b in blocks] == ["heading", "text", "table", "figure", "figure", "table"]
    assert blocks[4].caption.startswith("Parallel coordinates of 1 feasible trials")


def test_runs_table_counts_trials_stopped_after_each_epoch() -> None:
    trials = rp.with_front(_trials(), SPEC)
    first = trials.index[trials["run"] == "run-r1"]
    trials["stopped_at_epoch"] = np.nan
    trials.loc[first, "stopped_at_epoch"] = [3, 1, 1]
    table = rp.runs_table(trials)
    assert table.rows[0][9] == "1: 2, 3: 1" and table.rows[1][9] == "-"
