"""Suite files: one TOML per suite naming the model, defaults and fixed variants.

Search order (first match of a name wins): `--suites-dir` folders, `./suites`, the suites
shipped inside the wheel (`mobench/_suites`), and the source checkout's `suites/`.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobench.errors import UsageError, unknown_name

PACKAGE_DIR = Path(__file__).resolve().parent
# Names that become file names and report headings: suites, studies.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MODEL_SPEC = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
REQUIRED = {"name": str, "version": int, "model": str}
OPTIONAL = {
    "description": str, "dataset": str, "epochs": int, "batch_size": int,
    "objectives": list, "variants": dict, "grid": dict, "space": dict, "conditions": dict,
}


@dataclass(frozen=True)
class Suite:
    """A validated suite file."""

    name: str
    version: int
    model: str  # "package.module:HyperModelClass" or "package.module:build_model"
    path: str
    description: str = ""
    dataset: str = "auto"
    epochs: int = 1
    batch_size: int = 128
    objectives: tuple[str, ...] = ("val_accuracy", "train_time")
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)  # finite grid for strategy `grid`
    space: dict[str, list[Any]] = field(default_factory=dict)  # search restricted to these values
    # hps used only for some values of another: {child: {parent: [values]}}, keras-tuner's
    # conditional_scope(parent_name, parent_values); displays hide inactive ones
    # (mobench.display.active_params), documents keep every sampled value
    conditions: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def hypermodel(self, input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10):
        """Instantiate the suite's keras-tuner HyperModel for the dataset's shape."""
        return load_hypermodel(self.model, self.path, input_shape, num_classes)

    def training_batch(self, hp_values: dict[str, Any]) -> int:
        """The batch a config trains at: its `batch_size` hyperparameter, else the suite's
        (every fit passes it: Keras alone would train at 32)."""
        return int(hp_values.get("batch_size") or self.batch_size)

    def hyperparameters(self, hypermodel, variant: str | None = None,
                        values: dict[str, Any] | None = None):
        """HyperParameters holding the model's space with a variant's (or given) values set.

        Raises UsageError naming file and key for an unknown variant, an hp the model does not
        define, or a value outside the model's range.
        """
        import keras_tuner as kt

        if variant is not None and variant not in self.variants:
            raise unknown_name("variant", variant, self.variants)
        chosen = dict(self.variants.get(variant, {}) if variant else {})
        chosen.update(values or {})
        space = kt.HyperParameters()
        hypermodel.build(space)
        where = f"variants.{variant}" if variant else "params"
        for key, value in chosen.items():
            if key not in space.values and not space._exists(key):
                raise UsageError(
                    f"{self.path}: {where}.{key}: the model defines no hyperparameter {key!r};"
                    f" it defines: {', '.join(sorted(space.values))}"
                )
            hp = space._hps[key][0]
            problem = out_of_range(hp, value)
            if problem:
                raise UsageError(f"{self.path}: {where}.{key}: {problem}")
            if isinstance(hp, kt.engine.hyperparameters.Int):
                chosen[key] = int(value)  # 64.0 means 64: Keras needs an int
        hp = kt.HyperParameters()
        hp.values.update(chosen)
        return hp


MAX_GRID = 1_000_000  # configs; a larger grid is a typo or a plan for years of training


def check_values(suite: Suite, hypermodel, table: str) -> dict[str, list[Any]]:
    """The suite's `grid` or `space` table, every value checked against the model's ranges;
    a grid of more than MAX_GRID configs is refused with its size before it is built."""
    values_by_name: dict[str, list[Any]] = getattr(suite, table)
    size = math.prod(len(v) for v in values_by_name.values())
    if table == "grid" and size > MAX_GRID:
        raise UsageError(f"{suite.path}: grid: {size:,} configs, more than {MAX_GRID:,}; "
                         "list fewer values (a strategy comparison needs a few hundred)")
    for name, values in values_by_name.items():
        for value in values:
            try:
                suite.hyperparameters(hypermodel, values={name: value})
            except UsageError as exc:
                raise UsageError(str(exc).replace(": params.", f": {table}.")) from None
    return values_by_name


def space_summary(hypermodel) -> dict[str, Any]:
    """Hyperparameter names and the number of distinct configs (None when a range is continuous)."""
    import keras_tuner as kt

    space = kt.HyperParameters()
    hypermodel.build(space)
    counts = [_count(hp) for hp in space.space]
    size = None if None in counts else math.prod(counts)
    return {"hyperparameters": [hp.name for hp in space.space], "configs": size}


def _count(hp) -> int | None:
    import keras_tuner as kt

    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Boolean):
        return 2
    if isinstance(hp, hps.Choice):
        return len(hp.values)
    if isinstance(hp, hps.Fixed):
        return 1
    if isinstance(hp, (hps.Int, hps.Float)) and hp.step and hp.sampling in (None, "linear"):
        return int(round((hp.max_value - hp.min_value) / hp.step)) + 1
    if isinstance(hp, hps.Int) and hp.sampling in (None, "linear"):
        return int(hp.max_value - hp.min_value) + 1
    return None


def out_of_range(hp, value: Any) -> str | None:
    """Why `value` is not a legal value of the keras-tuner hyperparameter `hp` (None if it is)."""
    import keras_tuner as kt

    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return None if isinstance(value, bool) else f"{value!r} is not a boolean"
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return None if value in hp.values else f"{value!r} is not one of {list(hp.values)}"
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return None if value == hp.value else f"{value!r} differs from the fixed {hp.value!r}"
    if isinstance(hp, (kt.engine.hyperparameters.Int, kt.engine.hyperparameters.Float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{value!r} is not a number"
        if not math.isfinite(value):
            return f"{value!r} is not a finite number"
        if isinstance(hp, kt.engine.hyperparameters.Int) and value != int(value):
            return f"{value!r} is not an integer"
        if not hp.min_value <= value <= hp.max_value:
            return f"{value!r} is outside {hp.min_value}..{hp.max_value}"
    return None


def load_hypermodel(spec: str, path: str, input_shape: tuple[int, ...], num_classes: int):
    """Import `module:attr` and turn it into a HyperModel (class, instance or build function)."""
    import keras_tuner as kt

    module_name, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"{path}: model: cannot import {spec!r}: {exc}") from exc
    except Exception as exc:  # the module itself failed while importing
        raise UsageError(f"{path}: model: importing {module_name!r} failed: "
                         f"{type(exc).__name__}: {exc}") from exc
    if inspect.isclass(obj) and issubclass(obj, kt.HyperModel):
        params = inspect.signature(obj).parameters
        kwargs = {k: v for k, v in (("input_shape", input_shape), ("num_classes", num_classes))
                  if k in params}
        return obj(**kwargs)
    if isinstance(obj, kt.HyperModel):
        return obj
    if inspect.isfunction(obj) and list(inspect.signature(obj).parameters)[:1] == ["hp"]:
        from keras_tuner.src.engine.hypermodel import DefaultHyperModel

        return DefaultHyperModel(obj)
    raise UsageError(f"{path}: model: {spec!r} is neither a keras_tuner.HyperModel "
                     "nor a function whose first parameter is hp, as in build_model(hp)")


def search_dirs(extra: list[str | Path] | None = None) -> list[Path]:
    """`--suites-dir` folders (each must exist), ./suites, the wheel's and the checkout's."""
    for d in extra or []:
        if not Path(d).is_dir():
            raise UsageError(f"--suites-dir {d}: no such folder")
    dirs = [Path(d) for d in extra or []]
    dirs += [Path.cwd() / "suites", PACKAGE_DIR / "_suites", PACKAGE_DIR.parent / "suites"]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def parse_suite(path: Path) -> Suite:
    """Read and validate one suite file; errors name the file and the key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: malformed TOML: {exc}") from exc
    for key in REQUIRED:
        if key not in doc:
            raise UsageError(f"{path}: {key}: required key is missing")
    for key, value in doc.items():
        kind = REQUIRED.get(key) or OPTIONAL.get(key)
        if kind is None:
            valid = ", ".join(sorted({*REQUIRED, *OPTIONAL}))
            raise UsageError(f"{path}: {key}: unknown key; valid keys: {valid}")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UsageError(f"{path}: {key}: expected {kind.__name__}, got {value!r}")
    for key in ("epochs", "batch_size", "version"):
        if key in doc and doc[key] <= 0:
            raise UsageError(f"{path}: {key}: must be positive, got {doc[key]}")
    for name, values in doc.get("variants", {}).items():
        if not isinstance(values, dict):
            raise UsageError(f"{path}: variants.{name}: expected a table of hp values")
    for table in ("grid", "space"):
        for name, values in doc.get(table, {}).items():
            if not isinstance(values, list) or not values:
                raise UsageError(f"{path}: {table}.{name}: expected a non-empty list of values")
    if "conditions" in doc:
        try:
            doc["conditions"] = check_conditions(doc["conditions"], "conditions")
        except ValueError as exc:
            raise UsageError(f"{path}: {exc}") from None
    if not SAFE_NAME.fullmatch(doc["name"]):  # it names result files and report headings
        raise UsageError(f"{path}: name: suite name {doc['name']!r} is not allowed; use 1-100 "
                         "letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not MODEL_SPEC.fullmatch(doc["model"]):
        raise UsageError(f"{path}: model: {doc['model']!r} is not 'package.module:name'; "
                         "e.g. model = \"mobench.models.mlp:MLP\"")
    doc["objectives"] = tuple(doc.get("objectives", Suite.objectives))
    return Suite(path=display_path(path), **doc)


def check_conditions(table: Any, where: str) -> dict[str, dict[str, list[Any]]]:
    """A `[conditions]` table as {child: {parent: [values]}}; ValueError naming the entry."""
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table of {{parent = [values]}} tables")
    out: dict[str, dict[str, list[Any]]] = {}
    for child, parents in table.items():
        if not isinstance(parents, dict) or not parents:
            raise ValueError(f"{where}.{child}: expected {{parent = [values]}}, e.g. "
                             "units_2 = { num_layers = [3] }")
        for parent, values in parents.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}.{child}.{parent}: expected a non-empty list of the "
                                 f"values of {parent} for which {child} is used")
            if parent == child:
                raise ValueError(f"{where}.{child}: a hyperparameter cannot depend on itself")
        out[str(child)] = {str(p): list(v) for p, v in parents.items()}
    return out


def display_path(path: Path) -> str:
    """`suites/x.toml` when under the working directory, else the absolute path."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


_WARNED: set[str] = set()


def warn_skipped(reason: str) -> None:
    if reason not in _WARNED:  # once per file and process
        _WARNED.add(reason)
        print(f"mobench: warning: skipped {reason}", file=sys.stderr)


def discover(extra_dirs: list[str | Path] | None = None,
             skipped: dict[str, str] | None = None) -> dict[str, Suite]:
    """All suites found, by name. A file that is not a regular file (a FIFO would hang the
    read) or not a valid suite is skipped, so one broken file in ./suites blocks no verb: it
    is put in `skipped` (path -> reason) when given, else warned about on stderr."""
    found: dict[str, Suite] = {}
    for d in search_dirs(extra_dirs):
        for path in sorted(d.glob("*.toml")):
            try:
                if not path.is_file():
                    raise UsageError(f"{path}: not a regular file")
                suite = parse_suite(path)
            except (UsageError, OSError) as exc:
                reason = str(exc) if isinstance(exc, UsageError) else f"{path}: {exc}"
                if skipped is None:
                    warn_skipped(reason)
                else:
                    skipped[str(path)] = reason
                continue
            found.setdefault(suite.name, suite)
    return found


def get_suite(name: str, extra_dirs: list[str | Path] | None = None) -> Suite:
    """The suite `name`; its own broken file is the error, other broken files a warning."""
    skipped: dict[str, str] = {}
    suites = discover(extra_dirs, skipped)
    if name not in suites:
        broken = [reason for path, reason in skipped.items()
                  if Path(path).stem == name or repr(name) in reason]
        raise UsageError(broken[0]) if broken else unknown_name("suite", name, suites)
    for reason in skipped.values():
        warn_skipped(reason)
    return suites[name]
