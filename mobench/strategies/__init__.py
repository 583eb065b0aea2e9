"""The registry of search strategies: every strategy is an Optuna sampler made by a factory.

A factory has the signature ``factory(*, seed, directions, grid=None) -> BaseSampler``. The
registry maps a name to the factory's import path (``"module:attr"``) so that nothing heavy is
imported until a strategy is asked for: importing this package imports neither Optuna nor
TensorFlow. Third-party packages add strategies through the ``mobench.strategies`` entry-point
group; a third-party name that clashes with a built-in one is ignored with a warning.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mobench.errors import UsageError, unknown_name

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

__all__ = ["STRATEGIES", "ENTRY_POINT_GROUP", "make_sampler", "registry", "strategy_names"]

ENTRY_POINT_GROUP = "mobench.strategies"

#: Population size of the genetic strategies. Optuna's default (50) leaves one or two
#: generations in a 30-100 trial budget; 20 gives 2-5 generations there.
GA_POPULATION_SIZE = 20
#: Random trials before a model-based strategy (TPE, GP) starts modelling.
N_STARTUP_TRIALS = 10

#: Built-in strategies: name -> "module:factory".
STRATEGIES: dict[str, str] = {
    "random": "mobench.strategies:make_random",
    "grid": "mobench.strategies:make_grid",
    "nsga2": "mobench.strategies:make_nsga2",
    "nsga3": "mobench.strategies:make_nsga3",
    "motpe": "mobench.strategies:make_motpe",
    "gp": "mobench.strategies:make_gp",
    "pesa2": "mobench.strategies.pesa2:make_pesa2",
    "parego": "mobench.strategies.parego:make_parego",
    "kt-random": "mobench.strategies.keras_tuner:make_kt_random",
    "kt-bayes": "mobench.strategies.keras_tuner:make_kt_bayes",
}

_DIRECTIONS = ("minimize", "maximize")


@functools.cache
def _entry_point_strategies() -> dict[str, str]:
    """Strategies declared by installed distributions (group ``mobench.strategies``)."""
    from importlib.metadata import entry_points

    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in STRATEGIES:
            warnings.warn(
                f"entry point strategy {ep.name!r} ({ep.value}) clashes with a built-in "
                "strategy and is ignored",
                stacklevel=2,
            )
            continue
        found[ep.name] = ep.value
    return found


def registry() -> dict[str, str]:
    """Every known strategy: the built-ins merged with the entry-point ones."""
    return {**STRATEGIES, **_entry_point_strategies()}


def strategy_names() -> list[str]:
    """Sorted names of every known strategy."""
    return sorted(registry())


def _load_factory(name: str, path: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(
            f"strategy {name!r} is unavailable: importing {module_name} failed ({exc})"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise UsageError(f"strategy {name!r} is unavailable: {path} does not exist") from exc


def make_sampler(
    name: str,
    *,
    seed: int,
    directions: Sequence[str],
    grid: Mapping[str, Sequence[Any]] | None = None,
) -> BaseSampler:
    """Build the Optuna sampler of strategy ``name`` for a study with these ``directions``."""
    table = registry()
    if name not in table:
        raise unknown_name("strategy", name, table)
    directions = tuple(str(d).lower() for d in directions)
    if not directions:
        raise UsageError("a study needs at least one direction ('minimize' or 'maximize')")
    for direction in directions:
        if direction not in _DIRECTIONS:
            raise unknown_name("direction", direction, _DIRECTIONS)
    factory = _load_factory(name, table[name])
    sampler = factory(seed=seed, directions=directions, grid=grid)

    from optuna.samplers import BaseSampler

    if not isinstance(sampler, BaseSampler):
        raise UsageError(
            f"strategy {name!r} ({table[name]}) returned {type(sampler).__name__}, "
            "not an optuna.samplers.BaseSampler"
        )
    return sampler


# --- factories of Optuna's built-in samplers -------------------------------------------------


def make_random(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Uniform random search: the baseline every strategy has to beat."""
    from optuna.samplers import RandomSampler

    return RandomSampler(seed=seed)


def make_grid(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Exhaustive search over the suite's finite grid, in a seeded random order."""
    if grid is None:
        raise UsageError(
            "strategy 'grid' needs a finite grid: declare [grid] in the suite file"
        )
    from optuna.samplers import GridSampler

    return GridSampler({k: list(v) for k, v in grid.items()}, seed=seed)


def make_nsga2(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """NSGA-II with a population of ``GA_POPULATION_SIZE`` (sized for 30-100 trial budgets)."""
    from optuna.samplers import NSGAIISampler

    return NSGAIISampler(population_size=GA_POPULATION_SIZE, seed=seed)


def make_nsga3(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """NSGA-III (reference-point niching) with a population of ``GA_POPULATION_SIZE``."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.samplers import NSGAIIISampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # stable enough for a baseline
        return NSGAIIISampler(population_size=GA_POPULATION_SIZE, seed=seed)


def make_motpe(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Multi-objective TPE (multivariate), random for the first ``N_STARTUP_TRIALS`` trials."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.samplers import TPESampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # older Optunas flag multivariate
        return TPESampler(multivariate=True, n_startup_trials=N_STARTUP_TRIALS, seed=seed)


def make_gp(
    *, seed: int, directions: Sequence[str], grid: Mapping[str, Sequence[Any]] | None = None
) -> BaseSampler:
    """Optuna's Gaussian-process sampler (logEHVI); needs PyTorch and SciPy."""
    missing = [m for m in ("torch", "scipy") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"strategy 'gp' needs {' and '.join(missing)}, which Optuna's GPSampler imports: "
            f"pip install {' '.join(missing)}"
            + (" (the CPU build of torch is enough)" if "torch" in missing else "")
        )
    from optuna.samplers import GPSampler

    return GPSampler(seed=seed, n_startup_trials=N_STARTUP_TRIALS)
