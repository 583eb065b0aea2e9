"""mobench.data: offline datasets, local-only loading, fast failures with a fix in the message."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mobench.data import (
    DATASET_NAMES,
    dataset_available,
    fetch_dataset,
    load_dataset,
)
from mobench.errors import UsageError


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    """An empty HOME, no KERAS_HOME / TFDS_DATA_DIR: nothing is cached or prepared."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    return home


def _fake_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


@pytest.fixture(scope="module")
def prepared_mnist(tmp_path_factory) -> Path:
    """A real, tiny prepared TFDS mnist folder (40 train, 12 test) built without network."""
    tfds = pytest.importorskip("tensorflow_datasets")
    from tensorflow_datasets.image_classification.mnist import MNIST

    tfds.disable_progress_bar()

    class TinyMnist(MNIST, skip_registration=True):
        name = "mnist"

        def _split_generators(self, dl_manager):
            return {"train": self._gen(40, 0), "test": self._gen(12, 1)}

        def _gen(self, n, seed):
            x, y = _fake_images(n, seed)
            for i in range(n):
                yield i, {"image": x[i][..., None], "label": int(y[i])}

    root = tmp_path_factory.mktemp("tfds")
    TinyMnist(data_dir=str(root)).download_and_prepare()
    return root


# --- digits -------------------------------------------------------------------------------------

def test_digits_shapes_dtype_range():
    ds = load_dataset("digits")
    assert ds.name == "digits" and ds.num_classes == 10
    assert ds.x_train.shape[1:] == (28, 28) and ds.x_val.shape[1:] == (28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert len(ds.y_train) + len(ds.y_val) == 1797
    assert len(ds.y_val) == pytest.approx(0.2 * 1797, abs=1)
    for x in (ds.x_train, ds.x_val):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert ds.x_train.max() > 0.95
    assert "load_digits" in ds.source
    info = ds.describe()
    assert info == json.loads(json.dumps(info))
    assert info["input_shape"] == [28, 28] and info["n_train"] == len(ds.y_train)


def test_digits_split_is_stratified():
    ds = load_dataset("digits")
    tr = np.bincount(ds.y_train, minlength=10) / len(ds.y_train)
    va = np.bincount(ds.y_val, minlength=10) / len(ds.y_val)
    assert (np.bincount(ds.y_val, minlength=10) > 0).all()
    assert np.abs(tr - va).max() < 0.01


def test_digits_deterministic_under_seed():
    a, b, c = load_dataset("digits", seed=1), load_dataset("digits", seed=1), load_dataset("digits")
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_limit_caps_counts_and_keeps_classes():
    ds = load_dataset("digits", limit=100, seed=3)
    assert len(ds.y_train) == 100 and len(ds.y_val) == 25
    assert set(ds.y_train) == set(range(10)) and set(ds.y_val) == set(range(10))
    again = load_dataset("digits", limit=100, seed=3)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    tiny = load_dataset("digits", limit=3)
    assert len(tiny.y_train) == 3 and len(tiny.y_val) == 1


# --- synthetic ----------------------------------------------------------------------------------

def test_synthetic_shape_limit_determinism():
    ds = load_dataset("synthetic", input_shape=(8, 4, 3), num_classes=5, seed=7)
    assert ds.x_train.shape == (1024, 8, 4, 3) and ds.x_val.shape == (256, 8, 4, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert set(np.unique(ds.y_train)) <= set(range(5)) and ds.num_classes == 5
    again = load_dataset("synthetic", input_shape=(8, 4, 3), num_classes=5, seed=7)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    small = load_dataset("synthetic", limit=10)
    assert small.x_train.shape == (10, 28, 28) and small.x_val.shape == (2, 28, 28)


# --- bad input ----------------------------------------------------------------------------------

def test_unknown_name_lists_valid_ones():
    with pytest.raises(UsageError) as err:
        load_dataset("cifar")
    assert "'cifar'" in str(err.value)
    assert all(n in str(err.value) for n in DATASET_NAMES)
    with pytest.raises(UsageError):
        dataset_available("cifar")


@pytest.mark.parametrize("limit", [0, -5])
def test_non_positive_limit(limit):
    with pytest.raises(UsageError, match=rf"--limit must be a positive integer, got {limit}"):
        load_dataset("digits", limit=limit)


# --- mnist: unavailable, keras cache, prepared TFDS folder --------------------------------------

def test_mnist_unavailable_fails_fast_with_hint(offline_home, tmp_path):
    empty = tmp_path / "tfds"
    empty.mkdir()
    assert not dataset_available("mnist", empty) and not dataset_available("fashion_mnist")
    start = time.perf_counter()
    with pytest.raises(UsageError) as err:
        load_dataset("mnist", data_dir=empty)
    assert time.perf_counter() - start < 2.0
    message = str(err.value)
    assert "\n" not in message
    assert "python -m mobench data fetch mnist" in message and "--dataset digits" in message


def test_incomplete_tfds_folder_is_not_prepared(offline_home, tmp_path):
    (tmp_path / "mnist" / "incomplete.AB12_3.0.1").mkdir(parents=True)
    (tmp_path / "mnist" / "3.0.1").mkdir()  # no dataset_info.json yet
    assert not dataset_available("mnist", tmp_path)


def test_auto_falls_back_to_digits_in_one_line(offline_home, tmp_path):
    lines: list[str] = []
    ds = load_dataset("auto", data_dir=tmp_path, limit=50, announce=lines.append)
    assert ds.name == "digits"
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("mobench: dataset auto -> digits")
    assert "data fetch mnist" in lines[0]


def test_auto_announces_on_stderr_by_default(offline_home, tmp_path, capsys):
    load_dataset("auto", data_dir=tmp_path, limit=20)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "auto -> digits" in err


def test_mnist_from_keras_cache(offline_home):
    cache = offline_home / ".keras" / "datasets"
    cache.mkdir(parents=True)
    (x_tr, y_tr), (x_te, y_te) = _fake_images(30, 0), _fake_images(10, 1)
    np.savez(cache / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    assert dataset_available("mnist")
    ds = load_dataset("mnist")
    assert ds.source == f"keras cache {cache / 'mnist.npz'}"
    assert ds.x_train.shape == (30, 28, 28) and ds.x_val.shape == (10, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    np.testing.assert_allclose(ds.x_train, x_tr / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_val, y_te)
    lines: list[str] = []
    assert load_dataset("auto", announce=lines.append).name == "mnist"
    assert lines == ["mobench: dataset auto -> mnist (mnist found locally)"]


def test_fashion_mnist_from_keras_cache(offline_home):
    folder = offline_home / ".keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    (x_tr, y_tr), (x_te, y_te) = _fake_images(20, 2), _fake_images(8, 3)
    for prefix, x, y in (("train", x_tr, y_tr), ("t10k", x_te, y_te)):
        images, labels = bytes(16) + x.tobytes(), bytes(8) + y.tobytes()  # idx headers + data
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    ds = load_dataset("fashion_mnist")
    assert ds.source.startswith("keras cache") and ds.x_val.shape == (8, 28, 28)
    np.testing.assert_array_equal(ds.y_train, y_tr)
    np.testing.assert_allclose(ds.x_val, x_te / 255.0, rtol=1e-6)


def test_mnist_from_prepared_tfds_folder(offline_home, prepared_mnist):
    assert dataset_available("mnist", prepared_mnist)
    ds = load_dataset("mnist", data_dir=prepared_mnist)
    assert ds.source == f"tfds:mnist in {prepared_mnist / 'mnist' / '3.0.1'}"
    assert ds.x_train.shape == (40, 28, 28) and ds.x_val.shape == (12, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert sorted(ds.y_val.tolist()) == sorted(_fake_images(12, 1)[1].tolist())
    limited = load_dataset("mnist", data_dir=prepared_mnist, limit=20)
    assert len(limited.y_train) == 20 and len(limited.y_val) == 5
    assert set(limited.y_train) == set(range(10))


def test_tfds_data_dir_env(offline_home, prepared_mnist, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(prepared_mnist))
    assert load_dataset("auto", announce=lambda _: None).source.startswith("tfds:mnist")


# --- fetch --------------------------------------------------------------------------------------

def test_fetch_builtin_and_already_prepared(prepared_mnist):
    assert "no download" in fetch_dataset("digits")
    assert "no download" in fetch_dataset("synthetic")
    assert fetch_dataset("mnist", prepared_mnist) == str(prepared_mnist / "mnist" / "3.0.1")
    with pytest.raises(UsageError):
        fetch_dataset("auto")


def test_fetch_offline_fails_fast(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    import socket

    def offline(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", offline)
    start = time.perf_counter()
    with pytest.raises(UsageError, match="download failed: cannot reach"):
        fetch_dataset("mnist", tmp_path)
    assert time.perf_counter() - start < 30.0


# --- import cost --------------------------------------------------------------------------------

def test_import_does_not_import_tensorflow(tmp_path):
    """Importing, loading digits and failing on missing mnist all stay TensorFlow-free."""
    code = (
        "import sys, mobench.data as d\n"
        "d.load_dataset('digits', limit=10)\n"
        f"assert not d.dataset_available('mnist', {str(tmp_path)!r})\n"
        "bad = [m for m in ('tensorflow', 'tensorflow_datasets', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo, env=env)


def test_val_limit_caps_validation_apart_from_training():
    from mobench.data import load_dataset

    both = load_dataset("digits", limit=100)
    assert (len(both.x_train), len(both.x_val)) == (100, 25)
    wide = load_dataset("digits", limit=100, val_limit=300)
    assert (len(wide.x_train), len(wide.x_val)) == (100, 300)
    assert len(load_dataset("digits", val_limit=50).x_val) == 50
    assert len(load_dataset("digits", val_limit=10_000).x_val) == 360  # all there is


def test_val_limit_must_be_positive():
    from mobench.data import load_dataset
    from mobench.errors import UsageError

    with pytest.raises(UsageError, match="--val-limit"):
        load_dataset("digits", val_limit=0)
