"""Datasets: mnist / fashion_mnist (Keras cache or a prepared TFDS folder), digits, synthetic.

Nothing here touches the network except `fetch_dataset`; TensorFlow and tensorflow-datasets are
imported only inside the functions that read or write TFDS folders.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobench.errors import UsageError, unknown_name

DATASET_NAMES = ("auto", "mnist", "fashion_mnist", "digits", "synthetic")
TFDS_NAMES = ("mnist", "fashion_mnist")
_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")
_FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and validation arrays (float32 in [0, 1], int32 labels) with their provenance."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    source: str

    def describe(self) -> dict:
        """JSON-able summary recorded next to every result."""
        return {"name": self.name, "source": self.source, "n_train": int(len(self.y_train)),
                "n_val": int(len(self.y_val)), "input_shape": list(self.x_train.shape[1:]),
                "num_classes": int(self.num_classes)}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _check_name(name: str) -> None:
    if name not in DATASET_NAMES:
        raise unknown_name("dataset", name, DATASET_NAMES)


def tfds_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The TFDS data folder: `data_dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    root = data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
    return Path(root).expanduser()


def _prepared_tfds_dir(name: str, data_dir: str | os.PathLike | None) -> Path | None:
    """Newest `<root>/<name>/<version>/` holding a dataset_info.json (filesystem only)."""
    base = tfds_root(data_dir) / name
    if not base.is_dir():
        return None
    found = [p for p in base.iterdir()
             if _VERSION_DIR.match(p.name) and (p / "dataset_info.json").is_file()]
    return max(found, key=lambda p: tuple(map(int, p.name.split(".")))) if found else None


def _keras_cache(name: str) -> Path | None:
    """The Keras download cache for `name`, when present (`$KERAS_HOME` or `~/.keras`)."""
    datasets = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser() / "datasets"
    if name == "mnist":
        path = datasets / "mnist.npz"
        return path if path.is_file() else None
    folder = datasets / "fashion-mnist"
    return folder if all((folder / f).is_file() for f in _FASHION_FILES) else None


def _local_source(name: str, data_dir: str | os.PathLike | None) -> tuple[str, Path] | None:
    """Where `name` can be read from without network; an explicit `data_dir` wins."""
    found = [("tfds", _prepared_tfds_dir(name, data_dir)), ("keras", _keras_cache(name))]
    if data_dir is None:
        found.reverse()
    return next(((kind, path) for kind, path in found if path is not None), None)


def dataset_available(name: str, data_dir: str | os.PathLike | None = None) -> bool:
    """True when `name` loads without network (digits, synthetic and auto always do)."""
    _check_name(name)
    return name not in TFDS_NAMES or _local_source(name, data_dir) is not None


def _not_prepared(name: str, data_dir: str | os.PathLike | None) -> UsageError:
    return UsageError(
        f"dataset {name!r} is not prepared locally (no Keras cache, no TFDS folder under "
        f"{tfds_root(data_dir)}); run 'python -m mobench data fetch {name}' on a machine with "
        f"internet, then copy its tensorflow_datasets folder here or set TFDS_DATA_DIR; "
        f"or use --dataset digits")


def _read_keras(name: str, path: Path) -> tuple[np.ndarray, ...]:
    if name == "mnist":
        with np.load(path, allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    out = []
    for fname in _FASHION_FILES:
        with gzip.open(path / fname, "rb") as f:
            raw = f.read()
        is_images = "images" in fname
        arr = np.frombuffer(raw, np.uint8, offset=16 if is_images else 8)
        out.append(arr.reshape(-1, 28, 28) if is_images else arr)
    return tuple(out)


def _read_tfds(path: Path) -> tuple[np.ndarray, ...]:
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder_from_directory(path)
        out = []
        for split in ("train", "test"):
            data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
            out += [np.squeeze(data["image"], axis=-1), data["label"]]
    except Exception as exc:  # a broken folder is a user-fixable problem: say where and why
        raise UsageError(f"cannot read TFDS folder {path}: {type(exc).__name__}: {exc}") from exc
    return tuple(out)


def _take(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded subsample of `n` examples, stratified by label when every class fits."""
    if n >= len(y):
        return x, y
    classes = len(np.unique(y))
    if min(n, len(y) - n) >= classes:
        from sklearn.model_selection import train_test_split

        x, _, y, _ = train_test_split(x, y, train_size=n, stratify=y, random_state=seed)
        return x, y
    idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
    return x[idx], y[idx]


def _finish(name: str, arrays: tuple[np.ndarray, ...], scale: float, num_classes: int,
            source: str, limit: int | None, seed: int,
            val_limit: int | None = None) -> Dataset:
    x_tr, y_tr, x_va, y_va = arrays
    if limit is not None:
        x_tr, y_tr = _take(x_tr, y_tr, limit, seed)
    val_cap = _val_cap(limit, val_limit)
    if val_cap is not None:
        x_va, y_va = _take(x_va, y_va, val_cap, seed)

    def norm(x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, np.float32) / np.float32(scale), 0.0, 1.0)

    return Dataset(name, norm(x_tr), np.asarray(y_tr, np.int32), norm(x_va),
                   np.asarray(y_va, np.int32), num_classes, source)


def _val_cap(limit: int | None, val_limit: int | None) -> int | None:
    """Validation examples to keep: `val_limit`, else a quarter of `limit`, else all."""
    if val_limit is not None:
        return val_limit
    return None if limit is None else max(1, limit // 4)


def _load_digits(limit: int | None, seed: int, val_limit: int | None = None) -> Dataset:
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = zoom(bunch.images.astype(np.float32), (1, 3.5, 3.5), order=1)  # 8x8 -> 28x28
    x_tr, x_va, y_tr, y_va = train_test_split(
        images, bunch.target, test_size=0.2, stratify=bunch.target, random_state=seed)
    return _finish("digits", (x_tr, y_tr, x_va, y_va), 16.0, 10,
                   "sklearn.datasets.load_digits (8x8 upsampled to 28x28)", limit, seed, val_limit)


def _load_synthetic(limit: int | None, seed: int, input_shape: tuple[int, ...],
                    num_classes: int, val_limit: int | None = None) -> Dataset:
    shape = tuple(int(d) for d in input_shape)
    if not shape or min(shape) <= 0 or num_classes <= 0:
        raise UsageError(f"synthetic data needs positive input_shape and num_classes, "
                         f"got {input_shape} and {num_classes}")
    n_train, n_val = 1024, 256
    if limit is not None:
        n_train = min(n_train, limit)
    if _val_cap(limit, val_limit) is not None:
        n_val = min(n_val, _val_cap(limit, val_limit))
    rng = np.random.default_rng(seed)
    x_tr = rng.random((n_train, *shape), dtype=np.float32)
    x_va = rng.random((n_val, *shape), dtype=np.float32)
    y_tr = rng.integers(0, num_classes, n_train).astype(np.int32)
    y_va = rng.integers(0, num_classes, n_val).astype(np.int32)
    return Dataset("synthetic", x_tr, y_tr, x_va, y_va, num_classes,
                   f"synthetic: numpy uniform [0, 1), seed {seed}")


def load_dataset(name: str = "auto", *, limit: int | None = None, seed: int = 0,
                 val_limit: int | None = None,
                 data_dir: str | os.PathLike | None = None,
                 input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10,
                 announce: Callable[[str], None] | None = None) -> Dataset:
    """Load `name` from local files only; never downloads.

    `auto` is mnist when it is available locally, else digits, announced in one line (`announce`,
    default stderr). `limit` caps training examples at `limit` and validation examples at
    `max(1, limit // 4)` (or `val_limit` when given, e.g. to keep a small training set with
    enough validation examples to rank configs), drawn with `seed` and stratified by label
    when every class fits.
    `input_shape` and `num_classes` shape `synthetic` only. mnist and fashion_mnist come from
    the Keras cache or a prepared TFDS folder (`data_dir`, `$TFDS_DATA_DIR`,
    `~/tensorflow_datasets`; an explicit `data_dir` is tried first); the `test` split serves as
    validation. An unavailable dataset raises `UsageError` saying how to prepare it.
    """
    _check_name(name)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise UsageError(f"--limit must be a positive integer, got {limit}")
    if val_limit is not None and (isinstance(val_limit, bool) or not isinstance(val_limit, int)
                                  or val_limit <= 0):
        raise UsageError(f"--val-limit must be a positive integer, got {val_limit}")
    if name == "auto":
        name = "mnist" if dataset_available("mnist", data_dir) else "digits"
        why = ("mnist found locally" if name == "mnist" else "mnist not prepared locally; run "
               "'python -m mobench data fetch mnist' on a machine with internet")
        (announce or _stderr)(f"mobench: dataset auto -> {name} ({why})")
    if name == "digits":
        return _load_digits(limit, seed, val_limit)
    if name == "synthetic":
        return _load_synthetic(limit, seed, input_shape, num_classes, val_limit)
    found = _local_source(name, data_dir)
    if found is None:
        raise _not_prepared(name, data_dir)
    kind, path = found
    if kind == "keras":
        return _finish(name, _read_keras(name, path), 255.0, 10, f"keras cache {path}", limit, seed,
                       val_limit)
    return _finish(name, _read_tfds(path), 255.0, 10, f"tfds:{name} in {path}", limit, seed,
                   val_limit)


def _check_reachable(url: str | None, timeout: float = 10.0) -> None:
    """Fail in seconds, not after TFDS's minutes of retries, when the download host is offline."""
    import socket
    from urllib.parse import urlsplit

    if not url:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"download failed: cannot reach {parts.hostname}:{port} ({exc}); fetch "
                         f"on a machine with internet, or use --dataset digits") from exc


def fetch_dataset(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """Download and prepare `name` with TFDS (needs internet); return the prepared folder.

    Already prepared: returns the folder without network. digits and synthetic need no download:
    returns a sentence saying so.
    """
    _check_name(name)
    if name == "auto":
        raise UsageError(f"name the dataset to fetch: one of {', '.join(TFDS_NAMES)}")
    if name not in TFDS_NAMES:
        return f"{name} needs no download (it is built in)"
    prepared = _prepared_tfds_dir(name, data_dir)
    if prepared is not None:
        return str(prepared)
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(tfds_root(data_dir)))
    _check_reachable(getattr(builder, "URL", None))
    try:
        builder.download_and_prepare()
    except ModuleNotFoundError as exc:  # tensorflow/datasets#11212
        raise UsageError(f"download failed: {exc} (pip install {exc.name})") from exc
    except Exception as exc:
        raise UsageError(f"download failed for {name}: {type(exc).__name__}: {exc}") from exc
    return str(builder.data_dir)
