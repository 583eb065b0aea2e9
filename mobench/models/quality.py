"""GAN sample quality: `fcd` (Fréchet classifier distance) and `classifier_score`.

No Inception weights can be downloaded here, so mobench follows the FID recipe (Heusel et al.
2017) with an in-domain feature network: a small CNN classifier (2 conv blocks -> Dense(64)
"features" -> ReLU -> softmax) trained once per dataset on `x_train` (~10,000 examples seen, 3-15
epochs; ~95% validation accuracy on digits) and cached as a `.keras` file (`feature_classifier`).

- **fcd**: fit a Gaussian (mean, covariance) to the 64-d penultimate-layer activations ("features",
  taken before its ReLU so no dimension is constant) of `n` real held-out images (`x_val`) and of
  `n` generated images; report their Fréchet distance
  ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)). 0 = identical statistics, lower is better.
  On digits (n = 360): real training images ~3.5, uniform noise ~510, an untrained DCGAN ~570,
  the small DCGAN after 20 epochs ~50. Like FID it is biased upwards at small `n`: compare
  numbers only at the same `n`, on the same dataset, with the same classifier (`classifier_id`
  in every result; retraining on other hardware may shift values slightly). `n` defaults to the
  held-out set size, at most 10,000.
- **classifier_score**: exp(E_x KL(p(y|x) || p(y))), the Inception-score analogue, over all
  `n` images in one split. 1 (worst) .. num_classes (confident and class-balanced); higher is
  better (digits: real ~9, noise ~1.2). It ignores the real data, so it cannot see a generator
  that copies training images.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mobench.data import Dataset

RECIPE_VERSION = 1
FEATURE_LAYER = "features"
FEATURE_DIM = 64
MAX_SAMPLES = 10_000
_BATCH = 500


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, else `$MOBENCH_CACHE_DIR`, else `~/.cache/mobench`."""
    return Path(cache_dir or os.environ.get("MOBENCH_CACHE_DIR")
                or Path.home() / ".cache" / "mobench")


def classifier_epochs(n_train: int) -> int:
    """About 10,000 training examples seen, between 3 and 15 epochs."""
    return max(3, min(15, -(-10_000 // max(1, n_train))))


def classifier_id(dataset: Dataset, seed: int = 0) -> str:
    """`<dataset>-<hash>`: the hash covers the recipe, the data's provenance and a data digest."""
    digest = hashlib.sha256(np.ascontiguousarray(dataset.x_train[:2048]).tobytes())
    digest.update(np.ascontiguousarray(dataset.y_train).tobytes())
    info = dataset.describe()
    info.pop("source")  # may hold a local path; the data digest identifies the data instead
    key = {"recipe": RECIPE_VERSION, "seed": seed, "data": digest.hexdigest(),
           "epochs": classifier_epochs(len(dataset.y_train)), **info}
    blob = json.dumps(key, sort_keys=True).encode()
    return f"{dataset.name}-{hashlib.sha256(blob).hexdigest()[:12]}"


def _build_classifier(input_shape: tuple[int, ...], num_classes: int):
    import keras

    L = keras.layers
    h, w = input_shape[:2]
    c = input_shape[2] if len(input_shape) == 3 else 1
    inputs = keras.Input(shape=input_shape)
    x = L.Reshape((h, w, c))(inputs)
    for filters in (32, 64):
        x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D()(x)
    x = L.Flatten()(x)
    x = L.Dense(FEATURE_DIM, name=FEATURE_LAYER)(x)  # pre-activation: no dead, constant dims
    x = L.Dropout(0.3)(L.ReLU()(x))
    outputs = L.Dense(num_classes, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="mobench_feature_classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _load_cached(path: Path, dataset: Dataset):
    """The cached classifier, or None when missing, unreadable or of the wrong shape."""
    import keras

    if not path.is_file():
        return None
    try:
        model = keras.models.load_model(path, safe_mode=True)
        model.get_layer(FEATURE_LAYER)
        ok = (tuple(model.input_shape[1:]) == tuple(dataset.x_train.shape[1:])
              and model.output_shape[-1] == dataset.num_classes)
    except Exception as exc:  # noqa: BLE001 - any broken cache file is rebuilt, never fatal
        ok, why = False, f"unreadable ({type(exc).__name__})"
    else:
        why = "built for another input shape or class count"
    if not ok:
        print(f"mobench: classifier cache {path} {why}; retraining", file=sys.stderr)
    return model if ok else None


def feature_classifier(dataset: Dataset, cache_dir: str | os.PathLike | None = None,
                       seed: int = 0):
    """The dataset's feature classifier: loaded from the cache, else trained and cached.

    Cached at `<cache_root>/classifiers/<classifier_id>.keras`, written atomically; a corrupt
    file is retrained and replaced. Training calls `keras.utils.set_random_seed(seed)`.
    """
    import keras

    cid = classifier_id(dataset, seed)
    path = cache_root(cache_dir) / "classifiers" / f"{cid}.keras"
    model = _load_cached(path, dataset)
    if model is not None:
        model.mobench_id = cid
        return model
    print(f"mobench: training the {dataset.name} feature classifier for fcd (once; cached at "
          f"{path})", file=sys.stderr)
    keras.utils.set_random_seed(seed)
    model = _build_classifier(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    model.fit(dataset.x_train, dataset.y_train, batch_size=64, verbose=0,
              epochs=classifier_epochs(len(dataset.y_train)))
    model.mobench_id = cid
    try:
        _save_atomically(model, path)
    except OSError as exc:  # an unwritable cache costs a retrain next time, not this result
        print(f"mobench: cannot cache the classifier at {path}: {exc}", file=sys.stderr)
    return model


def _save_atomically(model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache is shared, not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the pytorch-fid recipe).

    A singular product gets `eps` added to both diagonals; round-off imaginary parts of the
    matrix square root are dropped, a large one raises ValueError.
    """
    from scipy import linalg

    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"mismatched shapes: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            covmean = linalg.sqrtm(sigma1 @ sigma2)
        except (linalg.LinAlgWarning, linalg.LinAlgError):
            covmean = np.full_like(sigma1, np.nan)  # singular product: retry with eps below
    if not np.isfinite(covmean).all() or (
            np.iscomplexobj(covmean) and not np.allclose(covmean.imag.diagonal(), 0, atol=1e-3)):
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(covmean.imag.diagonal()))
        if imag > 1e-3:
            raise ValueError(f"matrix square root has an imaginary component {imag:.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _outputs(images: Any, classifier) -> tuple[np.ndarray, np.ndarray]:
    """(features, class probabilities) of `images`, float64, in batches."""
    import keras

    x = np.asarray(images, np.float32)
    shape = tuple(classifier.input_shape[1:])
    if x.ndim < 2 or len(x) < 2 or x[0].size != int(np.prod(shape)):
        raise ValueError(f"need at least 2 images of shape {shape}, got array {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinity")
    x = x.reshape((len(x), *shape))
    both = keras.Model(classifier.input,
                       [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]])
    parts = [both(x[i:i + _BATCH], training=False) for i in range(0, len(x), _BATCH)]
    feats = np.concatenate([f.numpy() for f, _ in parts])
    probs = np.concatenate([p.numpy() for _, p in parts])
    return feats.astype(np.float64), probs.astype(np.float64)


def _gaussian(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def fcd(real_images: Any, fake_images: Any, classifier) -> float:
    """Fréchet distance of the classifier's feature statistics: real vs generated (lower=better)."""
    real, _ = _outputs(real_images, classifier)
    fake, _ = _outputs(fake_images, classifier)
    return frechet_distance(*_gaussian(real), *_gaussian(fake))


def _score(probs: np.ndarray) -> float:
    p = np.clip(probs, 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def classifier_score(images: Any, classifier) -> float:
    """exp(E_x KL(p(y|x) || p(y))): 1 .. num_classes, higher is better."""
    return _score(_outputs(images, classifier)[1])


def _draw(source: Any, n: int, seed: int) -> np.ndarray:
    if hasattr(source, "sample"):  # mobench.models.gan.DCGAN
        return source.sample(n, seed)
    if hasattr(source, "input_shape") and hasattr(source, "predict"):  # a latent->image model
        z = np.random.default_rng(seed).standard_normal((n, source.input_shape[-1]))
        return np.asarray(source.predict(z.astype(np.float32), batch_size=_BATCH, verbose=0))
    if callable(source):
        return np.asarray(source(n, seed))
    raise TypeError(f"cannot draw samples from {type(source).__name__}: pass a DCGAN, a "
                    f"latent->image Keras model or a function (n, seed) -> images")


def quality_metrics(generator: Any, dataset: Dataset, n: int | None = None, seed: int = 0,
                    classifier=None, cache_dir: str | os.PathLike | None = None) -> dict:
    """fcd and classifier_score of `n` samples against `n` held-out images of `dataset`.

    `generator`: a DCGAN (its `sample`), a latent->image Keras model, or `f(n, seed)`.
    """
    n = min(len(dataset.x_val), MAX_SAMPLES) if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= len(dataset.x_val):
        raise ValueError(f"n must be an integer in 2..{len(dataset.x_val)}, got {n!r}")
    if classifier is None:
        classifier = feature_classifier(dataset, cache_dir)
    real_idx = np.sort(np.random.default_rng(seed).permutation(len(dataset.x_val))[:n])
    real, _ = _outputs(dataset.x_val[real_idx], classifier)
    fake, probs = _outputs(_draw(generator, n, seed), classifier)
    return {"fcd": frechet_distance(*_gaussian(real), *_gaussian(fake)),
            "classifier_score": _score(probs), "n": n, "seed": seed,
            "classifier_id": getattr(classifier, "mobench_id", None), "dataset": dataset.describe()}


def split_result(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """A `quality_metrics` result as (the measurements, what they were measured against)."""
    return ({k: float(result[k]) for k in ("fcd", "classifier_score")},
            {k: result[k] for k in ("n", "seed", "classifier_id")})
