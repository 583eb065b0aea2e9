"""Sampled learning-curve tables (`mobench table SUITE --sample N`): sampling, storage safety
(resume, torn tail, lock, header mismatch) and, marked slow, real training on tiny digits."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys

import pytest

from mobench.cli import main
from mobench.compare.appendcsv import exclusive_lock, repair
from mobench.compare.curves import fcd_checkpoints, run_plan, sample_configs, search_space
from mobench.compare.curves_table import csv_fields, load_curves
from mobench.errors import UsageError
from mobench.suites import get_suite

SMALL = ["--dataset", "digits", "--limit", "200", "--epochs", "2"]


def space_of(name: str) -> dict:
    suite = get_suite(name, [])
    return search_space(suite, suite.hypermodel())


@pytest.mark.parametrize("suite", ["mnist-mlp", "mnist-cnn", "mnist-rnn", "mnist-gan"])
@pytest.mark.parametrize("method", ["sobol", "random"])
def test_sampling_is_deterministic_and_covers_every_hyperparameter(suite, method):
    space = space_of(suite)
    a = sample_configs(space, 64, method=method, seed=3)
    assert a == sample_configs(space, 64, method=method, seed=3)
    assert a != sample_configs(space, 64, method=method, seed=4)
    assert sample_configs(space, 10, method=method, seed=3) == a[:10]  # stable config ids
    for config in a:
        assert set(config) == set(space)
        for name, dist in space.items():
            assert dist._contains(dist.to_internal_repr(config[name])), (name, config[name])
    for name, dist in space.items():  # 64 points reach every choice and both ends of ranges
        seen = {c[name] for c in a}
        if hasattr(dist, "choices"):
            assert seen == set(dist.choices), name
        else:
            span = dist.high - dist.low
            assert min(seen) < dist.low + 0.25 * span and max(seen) > dist.high - 0.25 * span


def test_space_honours_the_suite_restrictions():
    assert space_of("mnist-mlp")["precision"].choices == ("float32",)


def test_bad_sampling_input_is_a_usage_error():
    space = space_of("mnist-mlp")
    with pytest.raises(UsageError, match="--sample"):
        sample_configs(space, 0)
    with pytest.raises(UsageError, match="unknown sampling method"):
        sample_configs(space, 3, method="grid")
    with pytest.raises(UsageError, match="--seed"):
        sample_configs(space, 3, seed=-1)


def test_every_kth_config_is_repeated_right_after_it():
    plan = run_plan(10, 5, 1, seed=7)
    assert plan[:3] == [(0, 7), (0, 8), (1, 7)]
    assert len(plan) == 12 and len(set(plan)) == 12
    assert run_plan(3, 0, 1, seed=0) == [(0, 0), (1, 0), (2, 0)]


def test_gan_fcd_checkpoints():
    assert fcd_checkpoints(15) == [3, 6, 9, 12, 15]
    assert fcd_checkpoints(2) == [1, 2]
    assert len(fcd_checkpoints(10)) >= 3 and fcd_checkpoints(10)[-1] == 10


def test_torn_tail_is_truncated_and_reported(tmp_path):
    fields = csv_fields(gan=False)
    path = tmp_path / "t.csv"
    good = ",".join(fields) + "\n" + ",".join(["1"] * len(fields)) + "\n"
    path.write_text(good + "2,0,0,\"{\\\"num", encoding="utf-8")
    lines: list[str] = []
    repair(path, fields, lines.append)
    assert path.read_text(encoding="utf-8") == good
    assert len(lines) == 1 and "dropped a torn last line" in lines[0]
    repair(path, fields, lines.append)  # an intact file is kept as it is
    assert len(lines) == 1 and path.read_text(encoding="utf-8") == good
    # a complete line with the wrong number of fields is damage, not a cut: refused, kept
    path.write_text(good + "3,0\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"line 3: 2 fields where the table has 20"):
        repair(path, fields, lines.append)
    assert path.read_text(encoding="utf-8") == good + "3,0\n"


def test_second_writer_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    with exclusive_lock(path):
        with pytest.raises(UsageError, match="another process"):
            with exclusive_lock(path):
                pass
    with exclusive_lock(path):  # released afterwards
        pass


def test_cli_refuses_bad_input(capsys):
    assert main(["table", "mnist-nope", "--sample", "3"]) == 2
    assert "unknown suite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["table", "mnist-mlp", "--sample", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["table", "mnist-mlp", "--sample", "3", "--epochs", "0"])
    assert exc.value.code == 2
    assert main(["table", "mnist-mlp", "--sample", "3", "--grid", "units_0=32,64"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def _table(tmp_path, *extra: str, n: str = "2"):
    out = tmp_path / "mlp.csv"
    return out, ["table", "mnist-mlp", "--sample", n, "--repeat-every", "2", *SMALL,
                 "--out", str(out), *extra]


@pytest.mark.slow
def test_curves_resume_and_header_checks(tmp_path, capsys):
    out, argv = _table(tmp_path)
    assert main([*argv, "--max-runs", "1"]) == 0  # a chunk: one run, then stop
    assert len(load_curves(out)[1]) == 1
    assert "0 already done, 1 in this call" in capsys.readouterr().err
    assert main(argv) == 0
    header, frame = load_curves(out)
    assert header["n"] == 2 and "intra_op" in header["threads"]
    assert header["dataset"]["limit"] == 200 and set(header["space"]) == set(space_of("mnist-mlp"))
    # config 0 with seeds 0 and 1 (the repeat), config 1 with seed 0
    assert sorted(zip(frame.config_id, frame.seed, strict=True)) == [(0, 0), (0, 1), (1, 0)]
    assert (frame.status == "ok").all()
    for _, row in frame.iterrows():
        assert len(row.val_accuracy_curve) == len(row.val_loss_curve) == 2
        assert len(row.time_curve) == 2 and row.time_curve[1] > row.time_curve[0] > 0
        assert row.train_time == pytest.approx(row.time_curve[-1])
        assert row.params > 0 and row.flops > 0 and row.latency_p50 > 0
        # the training peak holds at least the float32 weights, gradients and Adam's 2 slots
        assert row.peak_memory >= 4 * 4 * row.params

    # a torn last line (interrupted write) is dropped on resume and that run is redone
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    out.write_text("".join(lines[:-1]) + lines[-1][:40], encoding="utf-8")
    _, partial = load_curves(out)  # a partial table loads
    assert len(partial) == 2
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "dropped a torn last line" in err and "3 runs (1 repeats), 2 already done" in err
    _, frame = load_curves(out)
    assert len(frame) == 3 and not frame.duplicated(["config_id", "seed"]).any()

    # nothing left to do: no row written twice
    assert main(argv) == 0
    assert len(load_curves(out)[1]) == 3

    # a smaller N, other epochs or seed is refused with one line naming the difference
    _, other = _table(tmp_path, n="1")
    assert main(other) == 2
    assert "holds a table of 2 sampled configs; --sample 1" in capsys.readouterr().err
    assert main([*argv, "--seed", "1"]) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.slow
def test_a_concurrent_writer_exits_2(tmp_path):
    out, argv = _table(tmp_path)
    lock = out.with_name(out.name + ".lock")
    with lock.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        run = subprocess.run([sys.executable, "-m", "mobench", *argv], capture_output=True,
                             text=True, timeout=120)
    assert run.returncode == 2
    assert "being written by another process" in run.stderr
    assert not out.exists()


@pytest.mark.slow
def test_gan_records_fcd_at_checkpoints(tmp_path):
    out = tmp_path / "gan.csv"
    argv = ["table", "mnist-gan", "--sample", "1", "--repeat-every", "0", "--dataset", "digits",
            "--limit", "200", "--epochs", "3", "--out", str(out)]
    assert main(argv) == 0
    header, frame = load_curves(out)
    assert header["fcd_epochs"] == [1, 2, 3]
    row = frame.iloc[0]
    assert row.status == "ok", row.reason
    assert len(row.fcd_curve) == len(row.classifier_score_curve) == 3
    assert len(row.d_loss_curve) == len(row.time_curve) == 3
    assert row.fcd == pytest.approx(row.fcd_curve[-1])
    assert json.loads(row.config)["precision"] == "float32"
