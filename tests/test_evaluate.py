"""Training one configuration: objectives, determinism, NaN and the cheap objectives."""

import json

import pytest

from mobench.cli import main
from mobench.data import load_dataset
from mobench.profiling.training import cheap_objectives, evaluate
from mobench.records import EvaluationRecord, Status
from mobench.suites import get_suite, parse_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", limit=300, announce=lambda _: None)


def test_evaluate_records_quality_and_cost_and_is_deterministic(digits):
    suite = get_suite("mnist-mlp")
    first = evaluate(suite, digits, variant="small", seed=3)
    again = evaluate(suite, digits, variant="small", seed=3)
    assert first.status is Status.OK
    obj = first.objectives()
    assert 0.0 <= obj["val_accuracy"] <= 1.0 and obj["val_loss"] > 0
    assert obj["train_time"] > 0 and len(first.epoch_times_s) == 1
    assert obj["train_time"] >= first.epoch_times_s[0]
    assert obj["params"] == 784 * 64 + 64 + 64 * 10 + 10
    assert again.metrics == first.metrics  # same config + seed + data -> same accuracy
    back = EvaluationRecord.from_dict(json.loads(json.dumps(first.to_dict())))
    assert back == first


def test_cheap_objectives_need_no_training():
    suite = get_suite("mnist-mlp")
    hypermodel = suite.hypermodel()
    model = hypermodel.build(suite.hyperparameters(hypermodel, "medium"))
    params, flops = cheap_objectives(model)
    assert params == (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10)
    forward = 2 * 784 * 256 + 256 + 2 * 256 * 128 + 128 + 2 * 128 * 10 + 10
    assert flops["forward_per_sample"] == forward
    assert model.optimizer.iterations.numpy() == 0  # nothing was trained


def test_a_run_that_goes_nan_is_recorded_not_raised(digits, tmp_path, monkeypatch):
    (tmp_path / "nan_models.py").write_text(
        "import keras\n"
        "def build_model(hp):\n"
        "    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),\n"
        "        keras.layers.Rescaling(hp.Float('scale', 1.0, 1e38)),\n"
        "        keras.layers.Dense(10, activation='softmax')])\n"
        "    m.compile('adam', 'sparse_categorical_crossentropy')\n"
        "    return m\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "nan.toml").write_text(
        'name = "nan"\nversion = 1\nmodel = "nan_models:build_model"\nbatch_size = 32\n'
        "[variants.blowup]\nscale = 1e38\n")
    suite = parse_suite(tmp_path / "nan.toml")
    record = evaluate(suite, digits, variant="blowup")
    assert record.status is Status.FAILED
    assert "NaN" in record.reason
    assert "val_accuracy" not in record.objectives() and "params" in record.objectives()


def test_evaluate_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "e.json"
    assert main(["evaluate", "mnist-mlp", "--dataset", "digits", "--limit", "200",
                 "--json", str(out)]) == 0
    assert "val_accuracy" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["kind"] == "evaluation" and doc["status"] == "ok"
    assert doc["objectives"]["train_time"] > 0


def test_epoch_timer_leaves_the_validation_pass_out():
    import time

    from mobench.profiling.training import epoch_timer

    timer = epoch_timer()
    timer.on_epoch_begin(0)
    timer.on_test_begin()
    time.sleep(0.2)
    timer.on_test_end()
    timer.on_epoch_end(0)
    assert timer.validation_s[0] >= 0.2
    assert timer.times[0] < 0.1  # the epoch did nothing but validate
