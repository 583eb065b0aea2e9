import pytest

from mobench.errors import UsageError
from mobench.objectives import (
    CATALOGUE,
    Direction,
    parse_constraint,
    parse_objective,
    parse_objectives,
    profile_modes,
    to_minimization,
)


def test_catalogue_names_directions_and_cheapness():
    assert CATALOGUE["val_accuracy"].direction is Direction.MAXIMIZE
    assert CATALOGUE["train_time"].direction is Direction.MINIMIZE
    assert {n for n, o in CATALOGUE.items() if o.cheap} == {"params", "flops"}
    assert {"xla_throughput", "energy", "fcd", "classifier_score", "latency"} <= set(CATALOGUE)


def test_user_metric_with_explicit_direction():
    o = parse_objective("my_metric:max")
    assert o.name == "my_metric" and o.direction is Direction.MAXIMIZE
    assert parse_objective("val_accuracy:max") is CATALOGUE["val_accuracy"]


@pytest.mark.parametrize("spec, message", [
    ("val_acc", "unknown objective 'val_acc'; valid objectives: .*val_accuracy"),
    ("val_accuracy:min", "val_accuracy is always maximized"),
    ("my_metric:up", "direction must be min or max"),
    ("bad name:max", "a metric name is letters, digits and _"),
])
def test_bad_objective_specs(spec, message):
    with pytest.raises(UsageError, match=message):
        parse_objective(spec)


def test_parse_objectives_rejects_empty_and_duplicates():
    with pytest.raises(UsageError, match="at least one"):
        parse_objectives(" , ")
    with pytest.raises(UsageError, match="listed twice"):
        parse_objectives("train_time,train_time")


def test_minimization_and_profile_modes():
    objs = parse_objectives("val_accuracy,train_time,xla_speedup")
    assert to_minimization({"val_accuracy": 0.9, "train_time": 2.0, "xla_speedup": 1.5},
                           objs) == [-0.9, 2.0, -1.5]
    assert profile_modes(objs) == ("graph", "xla")
    assert profile_modes(parse_objectives("val_accuracy,params")) == ()


@pytest.mark.parametrize("text, name, op, limit", [
    ("peak_memory<=2GiB", "peak_memory", "<=", 2 * 2**30),
    ("params<=1e6", "params", "<=", 1e6),
    ("train_time < 30s", "train_time", "<", 30.0),
    ("latency<=5ms", "latency", "<=", 0.005),
    ("val_accuracy>=0.9", "val_accuracy", ">=", 0.9),
    ("flops<=2.5M", "flops", "<=", 2.5e6),
])
def test_constraints_parse_units(text, name, op, limit):
    c = parse_constraint(text)
    assert (c.name, c.op) == (name, op) and c.limit == pytest.approx(limit)


def test_constraint_violation_sign_and_cheapness():
    mem = parse_constraint("peak_memory<=1GiB")
    assert mem.violation(2**29) < 0 < mem.violation(2**31) and not mem.cheap
    acc = parse_constraint("val_accuracy>=0.9")
    assert acc.satisfied(0.95) and not acc.satisfied(0.5)
    assert parse_constraint("params<=1e6").cheap
    assert not parse_constraint("params<1000").satisfied(1000)


@pytest.mark.parametrize("text, message", [
    ("peak_memory 2GiB", "does not parse"),
    ("", "does not parse"),
    ("peak_memory<=2XB", "unknown unit 'XB'"),
    ("memory<=2GiB", "unknown measurement 'memory'"),
])
def test_bad_constraints(text, message):
    with pytest.raises(UsageError, match=message):
        parse_constraint(text)
