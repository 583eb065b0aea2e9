"""The mnist-gan family (DCGAN) and its sample-quality objectives (fcd, classifier_score)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mobench.data import load_dataset
from mobench.models import quality
from mobench.suites import get_suite

MODES = ("eager", "graph", "xla")


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", announce=lambda _: None)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mobench-cache")


@pytest.fixture(scope="session")
def classifier(digits, cache_dir):
    return quality.feature_classifier(digits, cache_dir=cache_dir)


def build(variant: str, **values):
    import keras

    suite = get_suite("mnist-gan")
    hypermodel = suite.hypermodel()
    hp = suite.hyperparameters(hypermodel, variant, values)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return hypermodel, hp, hypermodel.build(hp)


def one_step(model, mode: str, digits) -> dict:
    import tensorflow as tf

    from mobench.profiling.profiler import set_execution_mode

    set_execution_mode(model, mode)
    x, y = tf.constant(digits.x_train[:8]), tf.constant(digits.y_train[:8])
    d_before = model.discriminator.trainable_variables[0].numpy()
    g_before = model.generator.trainable_variables[0].numpy()
    out = {k: float(v) for k, v in model.train_function([(x, y)]).items()}
    assert not np.array_equal(d_before, model.discriminator.trainable_variables[0].numpy())
    assert not np.array_equal(g_before, model.generator.trainable_variables[0].numpy())
    images = model.predict_function([(x,)]).numpy()  # inference = generation
    assert images.shape == (8, 28, 28) and 0.0 <= images.min() <= images.max() <= 1.0
    return out


@pytest.mark.parametrize("variant", ["small", "medium", "large"])
@pytest.mark.parametrize("mode", MODES)
def test_every_variant_trains_one_step_in_every_mode(digits, variant, mode):
    _, _, model = build(variant)
    out = one_step(model, mode, digits)
    assert set(out) == {"d_loss", "g_loss"} and all(np.isfinite(v) for v in out.values())


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_losses_and_images(digits, precision):
    # narrow nets: float16 convolutions run ~100x slower than float32 on CPU outside XLA
    _, _, model = build("small", precision=precision, gen_width=16, disc_width=16)
    assert model.discriminator.layers[1].compute_dtype == precision.removeprefix("mixed_")
    loss_scaled = type(model.g_optimizer).__name__ == "LossScaleOptimizer"
    assert loss_scaled == (precision == "mixed_float16")
    assert all(np.isfinite(v) for v in one_step(model, "graph", digits).values())
    assert model.sample(4, seed=1).dtype == np.float32


def test_generate_is_seeded_and_in_range():
    hypermodel, _, model = build("small")
    a, b = hypermodel.generate(model, 5, seed=3), hypermodel.generate(model, 5, seed=3)
    assert a.shape == (5, 28, 28) and a.dtype == np.float32 and 0 <= a.min() <= a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, hypermodel.generate(model, 5, seed=4))


def test_train_flops_count_both_optimiser_steps():
    from mobench.profiling.flops import model_flops

    _, _, model = build("small")
    g = model_flops(model.generator)["forward_per_sample"]
    d = model_flops(model.discriminator)["forward_per_sample"]
    counted = model_flops(model)
    assert g > 0 and d > 0 and counted["forward_per_sample"] == g + d
    # D step: G + 2 x (D forward + backward); G step: (G + D) forward + backward
    assert counted["train_per_sample"] == (g + 2 * 3 * d) + 3 * (g + d)


def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    mu, sigma = rng.standard_normal(5), a @ a.T + np.eye(5)
    assert abs(quality.frechet_distance(mu, sigma, mu, sigma)) < 1e-6


def test_frechet_distance_matches_closed_forms():
    # 1-D: (mu1 - mu2)^2 + s1 + s2 - 2 sqrt(s1 s2) = 4 + 13 - 12
    assert quality.frechet_distance(1.0, 4.0, 3.0, 9.0) == pytest.approx(5.0)
    # 2-D diagonal: the 1-D formula summed over dimensions
    got = quality.frechet_distance([0, 1], np.diag([1.0, 4.0]), [1, 1], np.diag([9.0, 1.0]))
    assert got == pytest.approx((1 + 1 + 9 - 6) + (4 + 1 - 4))
    # general 2-D: Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2) via symmetric eigendecompositions
    s1, s2 = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, -0.3], [-0.3, 3.0]])
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    expected = 1.0 + np.trace(s1 + s2) - 2 * np.sqrt(inner).sum()
    assert quality.frechet_distance([1, 0], s1, [0, 0], s2) == pytest.approx(expected)


def test_frechet_distance_handles_singular_covariances_and_rejects_bad_shapes():
    assert quality.frechet_distance([0, 0], np.diag([1.0, 0]), [0, 0], np.diag([4.0, 0])) == \
        pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="mismatched shapes"):
        quality.frechet_distance([0, 0], np.eye(2), [0, 0, 0], np.eye(3))


def test_real_images_score_far_better_than_noise(digits, classifier):
    rng = np.random.default_rng(0)
    real = digits.x_train[rng.permutation(len(digits.x_train))[:len(digits.x_val)]]
    noise = rng.random(real.shape, dtype=np.float32)
    assert quality.fcd(digits.x_val, real, classifier) < 0.1 * quality.fcd(
        digits.x_val, noise, classifier)
    assert quality.classifier_score(real, classifier) > 3 * quality.classifier_score(
        noise, classifier)


def test_a_trained_generator_scores_better_than_an_untrained_one(digits, classifier):
    # small variant, faster learning rates so 4 epochs (~6 s) separate the two reliably:
    # measured fcd ~568 untrained vs ~240-310 after 4 epochs (seeds 0, 1)
    hypermodel, hp, model = build("small", g_learning_rate=5e-4, d_learning_rate=5e-4)
    before = quality.quality_metrics(model, digits, seed=0, classifier=classifier)
    history = hypermodel.fit(hp, model, digits.x_train, digits.y_train, epochs=4, verbose=0,
                             validation_data=(digits.x_val, digits.y_val))
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss"} <= set(history.history)
    after = quality.quality_metrics(model, digits, seed=0, classifier=classifier)
    assert after["fcd"] < 0.75 * before["fcd"]
    assert after["classifier_score"] > before["classifier_score"]
    assert after["n"] == len(digits.x_val) and after["classifier_id"].startswith("digits-")
    # the hook `mobench evaluate` calls, split into metrics and what they compare against
    measured, context = quality.split_result(
        hypermodel.quality_metrics(model, digits, seed=0, classifier=classifier))
    assert measured == {"fcd": pytest.approx(after["fcd"]),
                        "classifier_score": pytest.approx(after["classifier_score"])}
    assert context == {"n": after["n"], "seed": 0, "classifier_id": after["classifier_id"]}


def test_quality_metrics_rejects_a_bad_sample_size(digits, classifier):
    with pytest.raises(ValueError, match="n must be an integer"):
        quality.quality_metrics(lambda n, seed: None, digits, n=1, classifier=classifier)


def test_classifier_cache_is_reused_and_a_corrupt_file_rebuilt(tmp_path, monkeypatch, capsys):
    small = load_dataset("digits", limit=200, announce=lambda _: None)
    monkeypatch.setattr(quality, "classifier_epochs", lambda n_train: 1)  # cheap: 1 epoch
    calls = []
    original = quality._build_classifier
    monkeypatch.setattr(quality, "_build_classifier",
                        lambda *a: calls.append(a) or original(*a))
    first = quality.feature_classifier(small, cache_dir=tmp_path)
    path = tmp_path / "classifiers" / f"{quality.classifier_id(small)}.keras"
    assert path.is_file() and len(calls) == 1
    again = quality.feature_classifier(small, cache_dir=tmp_path)
    assert len(calls) == 1
    np.testing.assert_allclose(again(small.x_val).numpy(), first(small.x_val).numpy(), atol=1e-6)
    path.write_bytes(b"not a keras archive")
    rebuilt = quality.feature_classifier(small, cache_dir=tmp_path)
    assert len(calls) == 2 and "unreadable" in capsys.readouterr().err
    assert rebuilt.mobench_id == quality.classifier_id(small)
    quality.feature_classifier(small, cache_dir=tmp_path)
    assert len(calls) == 2 and not list(path.parent.glob(".*.keras"))


def test_importing_quality_does_not_import_tensorflow():
    code = "import sys, mobench.models.quality; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluate_records_fcd_and_the_classifier_it_was_measured_with(digits, classifier,
                                                                     cache_dir, monkeypatch):
    from mobench.profiling.training import evaluate

    monkeypatch.setenv("MOBENCH_CACHE_DIR", str(cache_dir))  # the classifier trained above
    record = evaluate(get_suite("mnist-gan"), digits, variant="small", epochs=1)
    assert record.status.value == "ok", record.reason
    assert record.metrics["fcd"] > 0 and 1 <= record.metrics["classifier_score"] <= 10
    assert record.provenance["quality"] == {"n": len(digits.x_val), "seed": 0,
                                            "classifier_id": classifier.mobench_id}
    assert {"fcd", "classifier_score"} <= set(record.objectives())
