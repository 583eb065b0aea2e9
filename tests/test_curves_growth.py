"""A `--sample N` table grows to a larger N keeping every row there (the sampled configs and
the run plan are prefix-stable); shrinking it or changing another setting is refused.
Training is replaced by a deterministic fake: no TensorFlow."""

from __future__ import annotations

import csv
import json
import types

import numpy as np
import pytest

from mobench.compare import curves
from mobench.compare.appendcsv import encode_row
from mobench.compare.curves import build_curves, run_plan, sample_configs, shard_plan
from mobench.compare.curves_table import load_curves
from mobench.errors import UsageError

EPOCHS = 2


def space():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    return {"units": IntDistribution(32, 512, step=32),
            "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
            "activation": CategoricalDistribution(["relu", "tanh"])}


@pytest.fixture
def fake(monkeypatch):
    """build_curves without TensorFlow: a fixed space, a fake fingerprint and training."""
    trained: list[tuple[int, int]] = []

    def measure(suite, hypermodel, dataset, values, *, epochs, seed, fcd_epochs):
        trained.append((values["units"], seed))
        acc = [values["units"] / 1024 + 0.01 * e + 0.001 * seed for e in range(epochs)]
        return {"status": "ok", "reason": "", "epochs_done": epochs, "val_accuracy": acc[-1],
                "val_loss": 1 - acc[-1], "train_time": float(epochs), "wall_time": 3.0,
                "time_curve": [float(e + 1) for e in range(epochs)],
                "val_accuracy_curve": acc, "val_loss_curve": [1 - a for a in acc]}

    monkeypatch.setattr(curves, "search_space", lambda suite, hypermodel: space())
    monkeypatch.setattr(curves, "measure_config", measure)
    import mobench.profiling.hardware as hardware

    monkeypatch.setattr(hardware, "fingerprint", lambda **_: {"hardware_id": "test-machine"})
    return trained


SUITE = types.SimpleNamespace(name="mnist-mlp", version=1,
                              hypermodel=lambda shape, classes: object())
DATA = types.SimpleNamespace(name="digits", x_train=np.zeros((4, 28, 28)), num_classes=10,
                             describe=lambda: {"name": "digits", "n_train": 4, "n_val": 2})


def build(out, n, lines=None, **settings):
    return build_curves(SUITE, DATA, out, n=n, epochs=EPOCHS, repeat_every=2,
                        on_line=(lines if lines is not None else []).append, **settings)


@pytest.mark.parametrize("method", ["sobol", "random"])
def test_sampling_and_the_run_plan_are_prefix_stable(method):
    for small, large in [(20, 40), (5, 64), (1, 3), (33, 100)]:
        assert sample_configs(space(), large, method=method, seed=7)[:small] == \
            sample_configs(space(), small, method=method, seed=7)
        for every, extra in [(5, 1), (2, 2), (0, 1)]:
            plan = run_plan(small, every, extra, seed=3)
            grown = run_plan(large, every, extra, seed=3)
            assert grown[:len(plan)] == plan
            for shard in [(0, 2), (1, 2), (2, 3)]:
                assert shard_plan(grown, shard)[:len(shard_plan(plan, shard))] == \
                    shard_plan(plan, shard)


@pytest.mark.parametrize("method", ["sobol", "random"])
def test_a_table_grows_keeping_every_row_and_runs_only_the_new_ones(tmp_path, fake, method):
    out = tmp_path / "c.csv"
    build(out, 3, method=method)
    before = out.read_bytes()
    assert len(fake) == 5  # configs 0, 1, 2 and the repeats of 0 and 2
    fake.clear()
    lines: list[str] = []
    build(out, 6, lines, method=method)
    assert out.read_bytes().startswith(before)  # every row there kept, byte for byte
    header, frame = load_curves(out)
    assert header["n"] == 6 and header["grown"][0]["from_n"] == 3
    assert sorted(zip(frame.config_id, frame.seed, strict=True)) == sorted(
        run_plan(6, 2, 1, 0))
    assert len(fake) == len(run_plan(6, 2, 1, 0)) - 5  # only the new runs trained
    configs = sample_configs(space(), 6, method=method, seed=0)
    assert [json.loads(c) for c in frame.config] == [configs[i] for i in frame.config_id]
    assert any("growing" in line and "from 3 to 6" in line for line in lines)
    fake.clear()
    build(out, 6, method=method)  # resuming the grown table: nothing to do
    assert fake == [] and not out.with_name("c.csv.lock").exists()


def test_shrinking_or_other_settings_are_refused_and_nothing_changes(tmp_path, fake):
    out = tmp_path / "c.csv"
    build(out, 4)
    files = {p: p.read_bytes() for p in (out, out.with_suffix(".json"))}
    fake.clear()
    with pytest.raises(UsageError, match="holds a table of 4 sampled configs; --sample 3 "
                       "would leave some out"):
        build(out, 3)
    with pytest.raises(UsageError, match=r"seed: 0 there, 1 now"):
        build(out, 8, seed=1)
    with pytest.raises(UsageError, match=r"method: 'sobol' there, 'random' now"):
        build(out, 8, method="random")
    assert fake == [] and {p: p.read_bytes() for p in files} == files


def test_a_row_of_another_sampling_is_refused_before_growing(tmp_path, fake):
    out = tmp_path / "c.csv"
    build(out, 2)  # lines 2-4: config 0 seed 0, config 0 seed 1, config 1 seed 0
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    config = json.loads(rows[3][3])
    rows[3][3] = json.dumps(dict(config, units=32 if config["units"] != 32 else 64))
    out.write_bytes(b"".join(encode_row(r, "\n") for r in rows))
    before = {p: p.read_bytes() for p in (out, out.with_suffix(".json"))}
    with pytest.raises(UsageError, match=r"c\.csv, line 4: config_id 1 is not the config "
                       "sampled now"):
        build(out, 4)
    assert {p: p.read_bytes() for p in before} == before  # not grown, nothing written


def test_a_table_of_this_machine_from_before_run_suffixes_resumes(tmp_path, fake, monkeypatch):
    """A header written when ids carried no threads/pinning suffix is this machine's: a
    pinned rerun resumes it; another machine's id is still refused."""
    import mobench.profiling.hardware as hardware

    out = tmp_path / "c.csv"
    build(out, 2)  # hardware_id "test-machine"
    fake.clear()
    monkeypatch.setattr(hardware, "fingerprint", lambda **_: {
        "hardware_id": "test-machine-t1-cpu1", "machine_id": "test-machine"})
    build(out, 3)
    assert fake and load_curves(out)[0]["hardware_id"] == "test-machine"
    monkeypatch.setattr(hardware, "fingerprint", lambda **_: {
        "hardware_id": "other-machine-t1", "machine_id": "other-machine"})
    with pytest.raises(UsageError, match="hardware_id: 'test-machine' there"):
        build(out, 4)
