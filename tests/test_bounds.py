"""Every count and duration has an upper bound: one line, exit 2, nothing written; and a long
comparison shows progress inside its runs. No TensorFlow."""

from __future__ import annotations

import os

import pytest

from mobench.cli import main
from mobench.cli.parser import (
    MAX_BUDGET,
    MAX_EPOCHS,
    MAX_EXAMPLES,
    MAX_REPEATS,
    MAX_SECONDS,
    MAX_SEEDS,
    build_parser,
)

CORES = os.cpu_count() or 1
TUNE = ["tune", "mnist-mlp"]
COMPARE = ["compare", "mnist-mlp"]
TABLE = ["table", "mnist-mlp"]
# (verb and arguments, option, its largest accepted value)
BOUNDS = [
    (TABLE + ["--sample", "2"], "--threads", CORES),
    (COMPARE, "--seeds", MAX_SEEDS),
    (COMPARE, "--budget", MAX_BUDGET),
    (COMPARE, "--budget-seconds", MAX_SECONDS),
    (TUNE, "--budget-seconds", MAX_SECONDS),
    (TABLE, "--sample", 1_000_000),
    (TABLE, "--repeats", MAX_REPEATS),
    (TUNE, "--trials", 1_000_000),
    (TUNE, "--workers", 256),
    (COMPARE, "--checkpoints", MAX_BUDGET),
    (TUNE, "--epochs", MAX_EPOCHS),
    (TABLE, "--epochs", MAX_EPOCHS),
    (COMPARE, "--epochs", MAX_EPOCHS),
    (["evaluate", "mnist-mlp"], "--epochs", MAX_EPOCHS),
    (TUNE, "--limit", MAX_EXAMPLES),
    (COMPARE, "--limit", MAX_EXAMPLES),
    (["evaluate", "mnist-mlp"], "--val-limit", MAX_EXAMPLES),
]


def refused(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(("argv", "option", "most"), BOUNDS,
                         ids=[f"{a[0]} {o}" for a, o, _ in BOUNDS])
def test_a_value_past_its_bound_is_one_line_and_the_bound_itself_is_taken(
        argv, option, most, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, [*argv, option, str(most + 1)])
    assert f"argument {option}: {most + 1} is too large" in err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even results/
    assert getattr(build_parser().parse_args([*argv, option, str(most)]),
                   option.lstrip("-").replace("-", "_")) in (most, [most])


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "0", "-1"])
def test_budget_seconds_is_finite_positive_and_sane(value, capsys):
    for verb in (TUNE, COMPARE):
        assert "--budget-seconds" in refused(capsys, [*verb, "--budget-seconds", value])


def test_threads_are_at_most_the_cores_and_say_so(capsys):
    err = refused(capsys, [*TABLE, "--sample", "2", "--threads", "100000"])
    assert f"at most {CORES}, the cores of this machine" in err


def test_a_checkpoint_given_twice_is_refused(capsys):
    assert "5 is given twice" in refused(capsys, [*COMPARE, "--checkpoints", "5,10,5"])


def test_argparse_errors_are_one_line_too(capsys):
    err = refused(capsys, [*TUNE, "--trials", "abc"])
    assert err.startswith("python -m mobench tune: error: argument --trials") and "--help" in err


def test_a_surrogate_comparison_shows_progress_inside_its_first_run(tmp_path, monkeypatch,
                                                                    capsys):
    from test_surrogate import write_table

    from mobench.compare import surrogate as sg
    from mobench.compare import surrogate_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 500)
    monkeypatch.setattr(surrogate_store, "PROGRESS_EVERY_S", 0.0)  # every line, for the test
    table = write_table(tmp_path / "mnist-mlp-digits-curves.csv", n=30)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(table),
                 "--strategies", "random", "--seeds", "2", "--budget", "3",
                 "--out", "cmp"]) == 0
    err = capsys.readouterr().err
    # a line from inside run 1 (none finished yet), then the runs counted
    assert "[0/2] random seed 0: 1 trials" in err and "[1/2] random seed 0: 3 trials" in err
    assert "[2/2] random seed 1: 3 trials" in err
