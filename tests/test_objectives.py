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


# Every unit's factor, pinned exactly (a changed factor must fail here).
UNIT_FACTORS = {
    "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
    "KiB": 1024.0, "MiB": 1024.0**2, "GiB": 1024.0**3, "TiB": 1024.0**4,
    "s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "J": 1.0, "kJ": 1e3,
}
NAME_FOR_DIMENSION = {"count": "params", "bytes": "peak_memory", "time": "train_time",
                      "energy": "energy"}


@pytest.mark.parametrize("unit", sorted(UNIT_FACTORS))
def test_every_unit_factor(unit):
    from mobench.objectives import UNIT_DIMENSION, UNITS

    assert set(UNITS) == set(UNIT_FACTORS) == set(UNIT_DIMENSION)
    name = NAME_FOR_DIMENSION[UNIT_DIMENSION[unit]]
    assert parse_constraint(f"{name}<=3{unit}").limit == 3 * UNIT_FACTORS[unit]


@pytest.mark.parametrize("text", ["peak_memory<=30s", "train_time<=2MiB", "params<=3s",
                                  "energy<=5ms", "latency<=1GiB", "val_accuracy>=0.5J"])
def test_a_unit_of_another_dimension_is_refused(text):
    with pytest.raises(UsageError, match="cannot bound it"):
        parse_constraint(text)


def test_constraint_semantics_exactly():
    """Optuna's convention: violation <= 0 is feasible; the excess is relative to the limit."""
    le = parse_constraint("peak_memory<=1000")
    assert le.violation(1000) == 0.0 and le.satisfied(1000)  # <= admits the limit
    assert le.violation(1500) == pytest.approx(0.5) and le.violation(250) == pytest.approx(-0.75)
    lt = parse_constraint("peak_memory<1000")
    assert lt.violation(1000) > 0 and not lt.satisfied(1000)  # < does not
    assert lt.violation(999) < 0 and lt.satisfied(999)
    ge = parse_constraint("val_accuracy>=0.8")
    assert ge.violation(0.8) == 0.0 and ge.violation(0.6) == pytest.approx(0.25)
    assert ge.violation(1.0) == pytest.approx(-0.25)
    gt = parse_constraint("val_accuracy>0.8")
    assert not gt.satisfied(0.8) and gt.satisfied(0.81)
    assert parse_constraint("params<=2k").violation(3000) == pytest.approx(0.5)


def test_gpu_only_measurements_are_refused_up_front_without_a_gpu():
    from mobench.objectives import check_measurable

    check_measurable(["energy", "train_time"], gpus=1)  # a GPU: fine
    check_measurable(["train_time", "my_metric"], gpus=0)
    with pytest.raises(UsageError, match="energy is measured by NVML.*no driver"):
        check_measurable(["train_time", "energy"], gpus=0, why_none="no driver")
