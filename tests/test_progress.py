"""tune's progress line: front size, best values, and a hypervolume only against a fixed box."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mobench.objectives import parse_constraint, parse_objectives
from mobench.study.outcome import TrialOutcome
from mobench.study.progress import front_state, hv_box, trial_status

OBJECTIVES = parse_objectives("val_accuracy,train_time")


def trials(*values):
    return [SimpleNamespace(values=list(v)) for v in values]


def test_no_hypervolume_without_a_bound_for_every_objective():
    assert hv_box(OBJECTIVES) is None  # train_time has no upper bound
    assert hv_box(OBJECTIVES, [parse_constraint("peak_memory<=1GiB")]) is None
    assert hv_box(parse_objectives("val_accuracy,throughput"),
                  [parse_constraint("throughput>=10")]) is None  # no best throughput


def test_box_from_natural_bounds_and_the_tightest_constraint():
    box = hv_box(OBJECTIVES, [parse_constraint("train_time<=60s"),
                              parse_constraint("train_time<=10s"),
                              parse_constraint("val_accuracy>=0.5")])
    assert box.best == (1.0, 0.0) and box.worst == (0.5, 10.0)
    assert box.describe(OBJECTIVES) == "val_accuracy 1..0.5 x train_time 0..10 s"


def test_hypervolume_is_a_share_of_the_box_and_ignores_worse_trials():
    box = hv_box(OBJECTIVES, [parse_constraint("train_time<=10s")])
    one = front_state(trials((0.8, 2.0)), OBJECTIVES, box)
    # dominated area: accuracy 0..0.8 (share 0.8) x time 2..10 (share 0.8)
    assert one.hv == pytest.approx(0.64) and one.size == 1
    assert one.best == {"val_accuracy": 0.8, "train_time": 2.0}
    # a trial beyond the box (12 s) adds nothing; the front's own values decide
    wider = front_state(trials((0.8, 2.0), (0.9, 12.0)), OBJECTIVES, box)
    assert wider.hv == pytest.approx(0.64) and wider.best["val_accuracy"] == 0.9
    better = front_state(trials((0.8, 2.0), (0.9, 5.0)), OBJECTIVES, box)
    assert 0.64 < better.hv <= 1.0
    perfect = front_state(trials((1.0, 0.0)), OBJECTIVES, box)
    assert perfect.hv == pytest.approx(1.0)


def test_status_line_says_front_size_best_values_and_hv():
    box = hv_box(OBJECTIVES, [parse_constraint("train_time<=10s")])
    front = front_state(trials((0.8, 2.0), (0.6, 1.0)), OBJECTIVES, box)
    # (0.8, 2 s) and (0.6, 1 s) in a box 0..1 x 0..10 s: 0.64 + 0.54 - 0.48 overlapping
    done = trial_status(3, TrialOutcome({"val_accuracy": 0.5, "train_time": 4.0}), front,
                        OBJECTIVES)
    assert done["line"] == ("trial #3: val_accuracy=0.5 train_time=4 s | front 2 | best "
                            "val_accuracy 0.8, train_time 1 s | HV 0.700")
    bare = trial_status(3, TrialOutcome({"val_accuracy": 0.5, "train_time": 4.0}),
                        front_state(trials((0.8, 2.0)), OBJECTIVES, None), OBJECTIVES)
    assert "HV" not in bare["line"] and bare["status"].startswith("front 1 | best")


def test_front_rows_hide_inactive_hyperparameters():
    from mobench.study.document import front_rows

    document = {
        "objectives": [{"name": "val_accuracy"}, {"name": "train_time"}],
        "conditions": {"units_1": {"num_layers": [2, 3]}, "units_2": {"num_layers": [3]}},
        "pareto_front": [0, 1],
        "trials": [{"number": 0, "objectives": {"val_accuracy": 0.9, "train_time": 2.0},
                    "params": {"num_layers": 1, "units_0": 64, "units_1": 192, "units_2": 224}},
                   {"number": 1, "objectives": {"val_accuracy": 0.8, "train_time": 1.0},
                    "params": {"num_layers": 2, "units_0": 32, "units_1": 96, "units_2": 224}},
                   {"number": 2, "objectives": {"val_accuracy": 0.1, "train_time": 9.0},
                    "params": {"num_layers": 3, "units_0": 32, "units_1": 96, "units_2": 7}}]}
    headers, rows = front_rows(document)
    assert headers == ["trial", "val_accuracy", "train_time", "num_layers", "units_0", "units_1"]
    assert rows == [["0", "0.9", "2 s", "1", "64", "-"], ["1", "0.8", "1 s", "2", "32", "96"]]


def test_messages_read_as_english():
    from mobench.errors import plural, unknown_name
    from mobench.profiling.distribute import gpus_visible

    assert str(unknown_name("strategy", "x", ["b", "a"])) == \
        "unknown strategy 'x'; valid strategies: a, b"
    assert [plural(k) for k in ("surrogate model family", "mode", "sampler of mo-asha",
                                "key")] == ["surrogate model families", "modes",
                                            "samplers of mo-asha", "keys"]
    assert [gpus_visible(n) for n in (0, 1, 2)] == ["no GPU visible", "1 GPU visible",
                                                    "2 GPUs visible"]
