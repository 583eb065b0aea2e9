"""FLOP counts against hand-computed values, the TF profiler cross-check, the matmul peak cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mobench.errors import UsageError
from mobench.profiling import flops as F

keras = pytest.importorskip("keras")
L = keras.layers


def mlp():
    return keras.Sequential([keras.Input((28, 28)), L.Flatten(),
                             L.Dense(128, activation="relu"), L.Dense(10)])


def cnn():
    return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, padding="valid")])


MLP_FORWARD = (2 * 784 * 128 + 128) + (2 * 128 * 10 + 10)  # matmuls + bias adds; ReLU 0
CNN_FORWARD = 2 * 3 * 3 * 1 * 8 * 26 * 26 + 8 * 26 * 26


class Doubler(L.Layer):
    """A layer mobench knows nothing about."""

    def call(self, x):
        return 2.0 * x


def test_import_does_not_pull_in_tensorflow():
    code = ("import sys, mobench.profiling.flops, mobench.profiling.trace; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_mlp_matches_hand_count_and_train_is_three_forward():
    r = F.model_flops(mlp())
    assert [row["forward_flops"] for row in r["per_layer"]] == [
        0, 2 * 784 * 128 + 128, 2 * 128 * 10 + 10]
    assert r["forward_per_sample"] == MLP_FORWARD == 203_402
    assert r["train_per_sample"] == 3 * MLP_FORWARD
    assert r["uncounted_layers"] == []
    assert {row["class"] for row in r["per_layer"]} == {"Flatten", "Dense"}


def test_conv2d_matches_hand_count():
    r = F.model_flops(cnn())
    assert r["forward_per_sample"] == CNN_FORWARD == 102_752
    assert F.layer_forward_flops(cnn().layers[0]) == CNN_FORWARD


def test_lstm_matches_hand_count():
    m = keras.Sequential([keras.Input((28, 28)), L.LSTM(16)])
    units, n_in, steps = 16, 28, 28
    per_step = 4 * 2 * (n_in + units) * units + 4 * units + 4 * units  # gates, bias, c/h update
    assert F.model_flops(m)["forward_per_sample"] == steps * per_step == 161_280


def test_gru_bidirectional_and_simple_rnn():
    m = keras.Sequential([keras.Input((5, 3)), L.Bidirectional(L.GRU(8, return_sequences=True)),
                          L.SimpleRNN(4)])
    gru_step = 3 * 2 * (3 + 8) * 8 + 2 * 3 * 8 + 5 * 8  # reset_after: two biases
    rnn_step = 2 * (16 + 4) * 4 + 4
    assert [row["forward_flops"] for row in F.model_flops(m)["per_layer"]] == [
        2 * 5 * gru_step, 5 * rnn_step]


def test_dense_on_sequences_and_transposed_conv():
    m = keras.Sequential([keras.Input((7, 7, 8)), L.Conv2DTranspose(4, 3, strides=2,
                                                                      padding="same")])
    conv_t = 2 * 3 * 3 * 8 * 4 * 7 * 7 + 4 * 14 * 14  # every input pixel scatters the kernel
    assert F.model_flops(m)["forward_per_sample"] == conv_t
    seq = keras.Sequential([keras.Input((20, 3)), L.Dense(7)])
    assert F.model_flops(seq)["forward_per_sample"] == 20 * (2 * 3 * 7 + 7)


def test_unknown_layer_is_listed_not_counted():
    m = keras.Sequential([keras.Input((10,)), L.Dense(4), Doubler(name="doubler")])
    r = F.model_flops(m)
    assert r["uncounted_layers"] == ["doubler"]
    assert r["forward_per_sample"] == 2 * 10 * 4 + 4
    assert r["per_layer"][-1] == {"name": "doubler", "class": "Doubler", "forward_flops": None}
    assert F.layer_forward_flops(L.Dense(3)) is None  # never built


def test_nested_models_recurse_with_prefixed_names():
    inp = keras.Input((10,))
    a, b = L.Dense(6, name="a")(inp), L.Dense(6, name="b")(inp)
    inner = keras.Sequential([keras.Input((6,)), L.Dense(3, name="c")], name="inner")
    m = keras.Model(inp, inner(L.Add(name="add")([a, b])))
    r = F.model_flops(m)
    by_name = {row["name"]: row["forward_flops"] for row in r["per_layer"]}
    assert by_name["inner/c"] == 2 * 6 * 3 + 3
    assert by_name["add"] == 6
    assert r["forward_per_sample"] == 2 * (2 * 10 * 6 + 6) + 6 + (2 * 6 * 3 + 3)
    assert F.layer_forward_flops(inner) == 2 * 6 * 3 + 3


# The TF graph profiler counts MatMul as 2*m*n*k, BiasAdd 1 per element and skips Relu, exactly
# our convention: for Dense and Conv2D the two counts agree to the FLOP (tolerance 0), at any
# batch size. Known differences (not asserted): a 'valid' Conv2DTranspose (TF scales from the
# output size: +15% on 7x7 stride 2), BatchNormalization (+per-channel ops), grouped Conv2D and
# RNNs (ops in while loops are not counted by TF).
@pytest.mark.parametrize("build, expected", [(mlp, MLP_FORWARD), (cnn, CNN_FORWARD)])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_tf_profiler_agrees_exactly_for_dense_and_conv(build, expected, batch_size, capfd):
    assert F.tf_profiler_flops(build(), batch_size=batch_size) == expected
    assert capfd.readouterr().out == ""  # the profiler's report is silenced


def test_tf_profiler_returns_none_when_it_cannot_trace():
    class NoInputs(keras.Model):
        def call(self, x):
            return x

    assert F.tf_profiler_flops(NoInputs()) is None


def test_measure_matmul_peak_small():
    r = F.measure_matmul_peak(n=256, repeats=3, device="/CPU:0")
    assert (r["n"], r["dtype"], r["repeats"], r["device"]) == (256, "float32", 3, "/CPU:0")
    assert r["flops"] == 2 * 256**3
    assert 0 < r["time_s_best"] <= r["time_s_median"]
    assert r["flops_per_s_best"] >= r["flops_per_s_median"] > 0
    assert r["flops_per_s_best"] == pytest.approx(r["flops"] / r["time_s_best"])
    with pytest.raises(UsageError):
        F.measure_matmul_peak(n=256, repeats=0)


@pytest.fixture
def fake_measure(monkeypatch):
    calls = []

    def measure(**kwargs):
        calls.append(kwargs)
        return {"n": 8, "dtype": "float32", "repeats": 1, "device": "/CPU:0", "flops": 1024,
                "time_s_best": 1e-6, "time_s_median": 2e-6, "flops_per_s_best": 1.024e9,
                "flops_per_s_median": 5.12e8}

    monkeypatch.setattr(F, "measure_matmul_peak", measure)
    return calls


def test_cached_peak_measures_once_then_reuses(tmp_path, fake_measure):
    first = F.cached_matmul_peak("box-1", tmp_path)
    path = tmp_path / "matmul_peak" / "box-1.json"
    assert json.loads(path.read_text()) == first
    assert first["schema_version"] == 1 and first["tf_version"] and first["measured_at"]
    assert F.cached_matmul_peak("box-1", tmp_path) == first
    assert len(fake_measure) == 1
    F.cached_matmul_peak("box-1", tmp_path, refresh=True)
    assert len(fake_measure) == 2


@pytest.mark.parametrize("content", ["{not json", "[]", '{"schema_version": 99}', ""])
def test_corrupt_cache_is_remeasured_and_replaced(tmp_path, fake_measure, content):
    path = tmp_path / "matmul_peak" / "box.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    doc = F.cached_matmul_peak("box", tmp_path)
    assert len(fake_measure) == 1 and json.loads(path.read_text()) == doc
    assert [p.name for p in path.parent.iterdir()] == ["box.json"]  # no tmp file left


def test_cache_dir_from_environment_and_bad_ids(tmp_path, fake_measure, monkeypatch):
    monkeypatch.setenv("MOBENCH_CACHE_DIR", str(tmp_path))
    F.cached_matmul_peak("gpu.h200_0")
    assert (tmp_path / "matmul_peak" / "gpu.h200_0.json").is_file()
    for bad in ["", "../evil", "a/b", ".hidden"]:
        with pytest.raises(UsageError):
            F.cached_matmul_peak(bad)
