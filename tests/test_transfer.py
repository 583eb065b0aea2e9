"""`mobench transfer`: calibration configs spanning the cost range, the predicted front
re-measured until it is measured, every config written once as measured or predicted,
resuming, and bad input refused in one line before anything is written. Training is a
deterministic fake of two machines (no TensorFlow); tests/test_transfer_live.py runs it for
real."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from mobench.compare import curves
from mobench.compare import transfer as transfer_module
from mobench.compare.curves import build_curves
from mobench.compare.curves_table import load_curves
from mobench.compare.transfer import calibration_ids, transfer
from mobench.compare.transfer_table import load_reference
from mobench.errors import UsageError

EPOCHS = 2
N = 32  # the surrogate needs 30 ok configs


def space():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    return {"units": IntDistribution(32, 512, step=32),
            "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
            "activation": CategoricalDistribution(["relu", "tanh"])}


def costs(values: dict, machine: str) -> dict:
    """A machine's costs of a config: b is slower and scales worse with size; on c a high
    learning rate (the accurate configs) also costs four times as much (which no calibration
    feature sees)."""
    units = values["units"]
    t = 0.5 + units / 256
    if machine != "a":
        t = 1.8 * t ** 1.2 * (4.0 if machine == "c" and values["learning_rate"] > 2e-3 else 1.0)
    params = units * 795 + 10
    return {"train_time": t, "latency_p50": units * (1e-6 if machine == "a" else 7e-7),
            "peak_memory": units * (1000.0 if machine == "a" else 1500.0), "params": params,
            "flops": 2.0 * params}


class FakeTraining:
    """measure_config on machine `a`, `b` or `c`: deterministic in (config, seed)."""

    def __init__(self, machine: str) -> None:
        self.machine, self.trained, self.stop_after = machine, [], None

    def becomes(self, machine: str) -> None:
        self.machine = machine

    def __call__(self, suite, hypermodel, dataset, values, *, epochs, seed, fcd_epochs):
        if self.stop_after is not None and len(self.trained) >= self.stop_after:
            raise KeyboardInterrupt
        self.trained.append(json.dumps(values))
        acc = min(0.99, 0.5 + values["units"] / 1200 + 20 * values["learning_rate"]
                  + 0.002 * seed)
        c = costs(values, self.machine)
        return {"status": "ok", "reason": "", "epochs_done": epochs, "val_accuracy": acc,
                "val_loss": 1 - acc, "wall_time": c["train_time"] + 0.5,
                "time_curve": [c["train_time"] * (e + 1) / epochs for e in range(epochs)],
                "val_accuracy_curve": [acc] * epochs, "val_loss_curve": [1 - acc] * epochs,
                **c}


SUITE = types.SimpleNamespace(name="mnist-mlp", version=1, objectives=["val_accuracy",
                                                                       "train_time"],
                              hypermodel=lambda shape, classes: object())
DATA = types.SimpleNamespace(name="digits", x_train=np.zeros((4, 28, 28)), num_classes=10,
                             describe=lambda: {"name": "digits", "n_train": 4, "n_val": 2})


@pytest.fixture
def machines(monkeypatch, tmp_path):
    """A reference table measured on machine a; this process is machine b (or c)."""
    import mobench.profiling.hardware as hardware

    monkeypatch.setattr(curves, "search_space", lambda suite, hypermodel: space())
    monkeypatch.setattr(curves, "measure_config", FakeTraining("a"))
    monkeypatch.setattr(hardware, "fingerprint", lambda **_: {"hardware_id": "machine-a"})
    ref = tmp_path / "ref-curves.csv"
    build_curves(SUITE, DATA, ref, n=N, epochs=EPOCHS, repeat_every=3, on_line=lambda _: None)
    here = FakeTraining("b")
    monkeypatch.setattr(curves, "measure_config", here)
    monkeypatch.setattr(hardware, "fingerprint", lambda **_: {
        "hardware_id": "machine-b-t1", "machine_id": "machine-b"})
    monkeypatch.setattr(hardware, "set_threads", lambda intra, inter: {"intra_op": intra})
    monkeypatch.setattr(transfer_module, "_dataset", lambda header: DATA)
    return ref, here


def run(ref, out, k=4, **kw):
    return transfer(SUITE, ref, out, calibrate=k, on_line=lambda _: None, **kw)


def test_calibration_spans_the_reference_training_seconds(machines):
    ref, _ = machines
    reference = load_reference(ref, SUITE, None)
    times = reference.configs["train_time"]
    for k in (2, 4, N):
        ids = calibration_ids(reference, k)
        assert len(ids) == k and len(set(ids)) == k
        # the cheapest and the dearest: the calibration never extrapolates
        assert times[ids].min() == times.min() and times[ids].max() == times.max()
    ranks = times.rank(method="first")
    assert sorted(ranks[i] for i in calibration_ids(reference, 4)) == [1, 11, 22, 32]


def test_transfer_measures_k_then_the_front_and_writes_every_config_once(machines, tmp_path):
    ref, here = machines
    out = tmp_path / "b-curves.csv"
    result = run(ref, out)
    assert set(result.calibration_ids) <= set(result.measured)
    assert result.front and result.front <= set(result.measured)  # the front is measured
    assert len(here.trained) == len(result.measured)  # nothing trained twice or unrecorded
    header, frame = load_curves(out)  # the loader (and so `surrogate`) reads it
    assert header["hardware_id"] == "machine-b-t1" and header["transfer"]["calibrate"] == 4
    measured = frame[frame["origin"] == "measured"]
    predicted = frame[frame["origin"] == "predicted"]
    assert set(measured["config_id"]) == set(result.measured)
    assert set(predicted["config_id"]) == set(range(N)) - set(result.measured)
    reference = load_curves(ref)[1]
    kept = reference[~reference["config_id"].isin(result.measured)]
    assert len(predicted) == len(kept)  # one predicted row per reference run, repeats too
    for _, row in measured.iterrows():  # measured rows are this machine's own numbers
        assert row["train_time"] == pytest.approx(costs(json.loads(row["config"]), "b")[
            "train_time"])
    merged = predicted.merge(reference, on=["config_id", "seed"], suffixes=("", "_ref"))
    assert (merged["val_accuracy"] == merged["val_accuracy_ref"]).all()  # quality kept
    assert not np.allclose(merged["train_time"], merged["train_time_ref"])  # costs are not
    for _, row in merged.iterrows():
        scale = row["train_time"] / row["train_time_ref"]
        assert row["time_curve"] == pytest.approx([t * scale for t in row["time_curve_ref"]])


def test_the_calibration_predicts_this_machines_costs(machines, tmp_path):
    """Where the machines differ by a power law in size, the log-log calibration gets every
    config's training seconds close and ranks them as measured."""
    ref, _ = machines
    result = run(ref, tmp_path / "b-curves.csv", k=6)
    reference = load_reference(ref, SUITE, None)
    truth = {i: costs(json.loads(c), "b") for i, c in reference.configs["config"].items()}
    predicted = result.predicted["train_time"].to_numpy()
    measured = np.array([truth[i]["train_time"] for i in result.predicted.index])
    from scipy.stats import spearmanr

    assert spearmanr(predicted, measured).statistic > 0.95
    assert np.median(np.abs(np.log(predicted / measured))) < 0.15
    memory = result.predicted["peak_memory"].to_numpy()
    assert memory == pytest.approx([truth[i]["peak_memory"] for i in
                                    result.predicted.index], rel=0.05)


def test_front_rounds_measure_what_the_prediction_got_wrong(machines, tmp_path):
    """Accurate configs cost machine c four times what the calibration predicts: after the
    front rounds, no config the front holds is a prediction, and the survivors, arrivals and
    departures partition the two fronts."""
    ref, here = machines
    here.becomes("c")
    result = run(ref, tmp_path / "c-curves.csv", rounds=5)
    assert all(result.here.loc[i, "origin"] == "measured" for i in result.front)
    assert len(result.rounds) >= 2  # the first re-measure moved the front: measured again
    was, now = result.reference_front, result.front
    from mobench.cli.transferring import transfer_summary

    text = transfer_summary(result)
    assert (f"{len(was & now)} survived" in text and f"{len(now - was)} appeared" in text
            and f"{len(was - now)} gone" in text)


def test_a_rerun_continues_and_ends_with_the_same_table(machines, tmp_path):
    ref, here = machines
    whole = tmp_path / "whole-curves.csv"
    run(ref, whole)
    trained = len(here.trained)
    here.trained.clear()
    here.stop_after = 3
    out = tmp_path / "b-curves.csv"
    with pytest.raises(KeyboardInterrupt):
        run(ref, out)
    here.stop_after = None
    run(ref, out)
    assert len(here.trained) == trained  # 3 before the interruption, the rest after it
    assert sorted(here.trained) == sorted(set(here.trained))  # none trained twice
    first, second = load_curves(whole)[1], load_curves(out)[1]
    columns = [c for c in first.columns if c != "wall_time"]
    assert first[columns].sort_values(["config_id", "seed"]).to_json() == \
        second[columns].sort_values(["config_id", "seed"]).to_json()
    here.trained.clear()
    before = out.read_bytes()
    run(ref, out)  # complete: nothing to do
    assert here.trained == [] and out.read_bytes() == before
    with pytest.raises(UsageError, match="transfer.calibrate: 4 there, 5 now"):
        run(ref, out, k=5)


def test_bad_input_is_one_line_and_writes_nothing(machines, tmp_path):
    ref, here = machines
    out = tmp_path / "b-curves.csv"
    other = types.SimpleNamespace(**{**vars(SUITE), "name": "mnist-cnn"})
    cases = [
        (lambda: transfer(other, ref, out), "is a table of suite 'mnist-mlp', not 'mnist-cnn'"),
        (lambda: run(ref, out, k=N + 1), f"--calibrate must be 2..{N}"),
        (lambda: run(ref, out, k=1), f"--calibrate must be 2..{N}"),
        (lambda: run(ref, out, configs=3), "--calibrate must be 2..3"),
        (lambda: run(tmp_path / "none.csv", out), "no such file"),
        (lambda: run(ref, out, objectives=["fcd", "train_time"]), "'fcd' is not a column"),
    ]
    header = json.loads(ref.with_suffix(".json").read_text())
    hardware_less = tmp_path / "imported-curves.csv"
    hardware_less.write_bytes(ref.read_bytes())
    hardware_less.with_suffix(".json").write_text(json.dumps({**header, "hardware_id": None}))
    cases.append((lambda: run(hardware_less, out), "names no hardware_id"))
    grid = tmp_path / "grid.csv"
    grid.write_text("config_id\n")
    grid.with_suffix(".json").write_text(json.dumps({**header, "kind": "table"}))
    cases.append((lambda: run(grid, out), "is not a learning-curve table"))
    import mobench.profiling.hardware as hardware

    for call, message in cases:
        with pytest.raises(UsageError, match=message.replace("(", r"\(")) as info:
            call()
        assert "\n" not in str(info.value)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hardware, "fingerprint", lambda **_: {"hardware_id": "machine-a"})
        with pytest.raises(UsageError, match="measured on this hardware id"):
            run(ref, out)
    assert not out.exists() and not out.with_suffix(".json").exists() and here.trained == []


def test_surrogate_fits_a_transferred_table(machines, tmp_path):
    """`surrogate` reads a transferred table as any curves table: its measured and predicted
    rows are this machine's costs, so the fitted training seconds are machine b's."""
    from mobench.compare.surrogate_store import open_surrogate
    from mobench.objectives import parse_objectives

    ref, _ = machines
    out = tmp_path / "b-curves.csv"
    run(ref, out)
    objectives = parse_objectives("val_accuracy,train_time")
    surrogate, document, _, _ = open_surrogate(out, SUITE, objectives, folds=3,
                                               document_path=tmp_path / "s.json",
                                               on_line=lambda _: None)
    assert document["table"]["ok_configs"] == N
    reference = load_reference(ref, SUITE, None)
    configs = [json.loads(c) for c in reference.configs["config"]]
    fitted = surrogate.predict(configs, ["train_time"], epoch=EPOCHS)["train_time"]
    truth = [costs(c, "b")["train_time"] for c in configs]
    assert np.median(np.abs(np.log(np.asarray(fitted) / truth))) < 0.2


def test_a_rebuild_reuses_what_the_transfer_measured(machines, tmp_path):
    """The full rebuild on this machine copies the transfer's measured rows, trains only the
    others (`first` ones first), and a rerun trains nothing."""
    from mobench.compare.transfer import rebuild

    ref, here = machines
    moved = run(ref, tmp_path / "b-curves.csv")
    here.trained.clear()
    out = tmp_path / "rebuild-curves.csv"
    first = sorted(set(range(N)) - set(moved.measured))[-2:][::-1]
    measured = rebuild(SUITE, ref, out, first=first, copy_from=moved.out,
                       on_line=lambda _: None)
    assert sorted(measured) == list(range(N))
    assert len(here.trained) == N - len(moved.measured)
    configs = load_reference(ref, SUITE, None).configs["config"]
    assert here.trained[:2] == [configs[i] for i in first]
    frame = load_curves(out)[1]
    assert (frame["origin"] == "measured").all() and sorted(frame["config_id"]) == list(range(N))
    again = frame[frame["config_id"].isin(moved.measured)].set_index("config_id")
    there = load_curves(moved.out)[1].set_index("config_id")
    assert (again["train_time"] == there.loc[again.index, "train_time"]).all()  # copied
    here.trained.clear()
    rebuild(SUITE, ref, out, first=first, copy_from=moved.out, on_line=lambda _: None)
    assert here.trained == []


@pytest.mark.parametrize(("argv", "message"), [
    (["mnist-cnn"], "is a table of suite 'mnist-mlp', not 'mnist-cnn'"),
    (["mnist-mlp", "--calibrate", "33"], "--calibrate must be 2..32"),
    (["mnist-mlp", "--calibrate", "1"], "--calibrate must be 2..32"),
    (["mnist-mlp", "--calibrate", "0"], "--calibrate must be 2..32"),
    (["mnist-mlp", "--objectives", "val_accuracy,nope"], "nope"),
    (["mnist-mlp", "--out", "FOLDER"], "is a folder"),
])
def test_the_cli_refuses_bad_input_in_one_line(machines, tmp_path, capsys, argv, message):
    from mobench.cli import main

    ref, here = machines
    argv = [str(tmp_path) if a == "FOLDER" else a for a in argv]
    assert main(["transfer", *argv[:1], "--table", str(ref), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert here.trained == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "ref-curves.csv", "ref-curves.json"]


def test_the_calibration_uses_integer_sizes_as_pandas_rows_hold_them():
    """params, flops and peak_memory come out of a table as numpy integers: they are
    features like the float columns, not left out as missing."""
    import pandas as pd

    from mobench.compare.calibration import Calibration

    frame = pd.DataFrame({"train_time": [1.0, 2.0, 4.0, 8.0], "latency_p50": [1e-4] * 4,
                          "peak_memory": [10, 20, 40, 80], "params": [100, 200, 400, 800],
                          "flops": [1000, 2000, 4000, 8000],
                          "config": [{"batch_size": 32}] * 4})
    first = frame.assign(config_id=range(4)).groupby("config_id").first()  # as transfer reads
    reference = [dict(first.loc[i].items()) for i in range(4)]
    assert isinstance(reference[0]["params"], np.integer)
    here = [{"train_time": 2 * r["train_time"], "latency_p50": 2e-4, "peak_memory": 11}
            for r in reference]
    calibration = Calibration.fit(reference, here)
    assert {"params", "flops", "peak_memory", "train_time"} <= set(calibration.features)
