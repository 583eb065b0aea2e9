"""Contract tests: every registered strategy through the same checks on cheap numpy problems."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from mobench.errors import UsageError
from mobench.strategies import make_sampler, strategy_names
from mobench.testing.problems import PROBLEMS, get_problem

optuna.logging.set_verbosity(optuna.logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
DIRECTIONS = ["minimize", "maximize"]
CHOICES = ["a", "b", "c"]
GRID = {
    "f": [-2.0, 0.5, 3.0], "lf": [1e-4, 1e-1, 10.0], "sf": [0.0, 0.75],
    "i": [1, 5, 9], "li": [1, 1000], "c": CHOICES,
}
KT = {"kt-random", "kt-bayes"}


def suggest(trial: optuna.Trial) -> dict:
    """A small mixed space: Float, log Float, stepped Float, stepped Int, log Int, Categorical."""
    return {
        "f": trial.suggest_float("f", -2.0, 3.0),
        "lf": trial.suggest_float("lf", 1e-4, 10.0, log=True),
        "sf": trial.suggest_float("sf", 0.0, 1.0, step=0.25),
        "i": trial.suggest_int("i", 1, 9, step=2),
        "li": trial.suggest_int("li", 1, 1000, log=True),
        "c": trial.suggest_categorical("c", CHOICES),
    }


def values(p: dict) -> tuple[float, float]:
    """Two conflicting objectives (the second maximised) of a configuration."""
    rest = math.log10(p["lf"]) ** 2 / 4 + p["sf"] + p["i"] / 9 + math.log10(p["li"]) / 3
    rest += CHOICES.index(p["c"]) / 2
    return (p["f"] - 1.0) ** 2 + rest, -((p["f"] + 1.0) ** 2) - rest


def objective(trial: optuna.Trial) -> tuple[float, float]:
    return values(suggest(trial))


def unavailable(name: str) -> str | None:
    """Why strategy ``name`` cannot run here (optional dependency, module not landed yet)."""
    if name in KT:
        try:
            importlib.import_module("mobench.strategies.keras_tuner")
        except Exception as exc:  # the other module may land later or fail to import
            return f"mobench.strategies.keras_tuner is not importable: {exc!r}"
    if name in KT | {"gp"}:
        try:
            make_sampler(name, seed=0, directions=DIRECTIONS, grid=GRID)
        except UsageError as exc:
            return str(exc)
    return None


@pytest.fixture(params=strategy_names())
def name(request: pytest.FixtureRequest) -> str:
    reason = unavailable(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


def study_for(name: str, seed: int = 0, **kwargs) -> optuna.Study:
    sampler = make_sampler(name, seed=seed, directions=DIRECTIONS, grid=GRID)
    return optuna.create_study(directions=DIRECTIONS, sampler=sampler, **kwargs)


def test_respects_the_search_space(name: str) -> None:
    study = study_for(name)
    study.optimize(objective, n_trials=20)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 20
    for t in trials:
        p = t.params
        assert -2.0 <= p["f"] <= 3.0
        assert 1e-4 <= p["lf"] <= 10.0
        assert p["sf"] in {0.0, 0.25, 0.5, 0.75, 1.0}
        assert isinstance(p["i"], int) and p["i"] in {1, 3, 5, 7, 9}
        assert isinstance(p["li"], int) and 1 <= p["li"] <= 1000
        assert p["c"] in CHOICES
    assert len({tuple(sorted(t.params.items())) for t in trials}) > 1


def test_deterministic_under_a_seed(name: str) -> None:
    runs = []
    for _ in range(2):
        study = study_for(name, seed=7)
        study.optimize(objective, n_trials=15)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


def test_survives_infeasible_and_failed_trials(name: str) -> None:
    def fragile(trial: optuna.Trial) -> tuple[float, float]:
        p = suggest(trial)
        trial.set_constraint("f_cap", p["f"] - 1.0)  # infeasible when f > 1
        if p["c"] == "c":
            raise ValueError("this configuration crashes")
        if p["i"] == 9:
            return math.nan, 0.0  # Optuna records a FAIL
        return values(p)

    study = study_for(name)
    study.enqueue_trial({"f": 0.0, "lf": 1.0, "sf": 0.0, "i": 1, "li": 1, "c": "c"})
    study.enqueue_trial({"f": 0.0, "lf": 1.0, "sf": 0.0, "i": 9, "li": 1, "c": "a"})
    study.enqueue_trial({"f": 2.0, "lf": 1.0, "sf": 0.0, "i": 1, "li": 1, "c": "a"})
    study.optimize(fragile, n_trials=25, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert len(states) == 25
    assert states.count(TrialState.FAIL) >= 2
    assert any(
        t.state == TrialState.COMPLETE and t.constraints["f_cap"] > 0 for t in study.trials
    )
    assert all(set(t.params) == set(GRID) for t in study.trials[3:])


def test_resumes_from_storage(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    for _ in range(2):
        study = study_for(name, seed=3, storage=url, study_name="resume", load_if_exists=True)
        study.optimize(objective, n_trials=10)
    trials = optuna.load_study(study_name="resume", storage=url).trials
    assert len(trials) == 20
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_grid_needs_a_grid() -> None:
    with pytest.raises(UsageError, match=r"strategy 'grid' needs a finite grid: declare \[grid\]"):
        make_sampler("grid", seed=0, directions=DIRECTIONS)


def test_grid_covers_the_grid() -> None:
    grid = {"x": [0, 1, 2], "c": ["a", "b"]}
    sampler = make_sampler("grid", seed=0, directions=["minimize"], grid=grid)
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: t.suggest_int("x", 0, 2) + len(t.suggest_categorical("c", ["a", "b"])),
        n_trials=50,
    )
    seen = [(t.params["x"], t.params["c"]) for t in study.trials]
    assert sorted(seen) == sorted((x, c) for x in grid["x"] for c in grid["c"])


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        make_sampler("nope", seed=0, directions=DIRECTIONS)
    message = str(info.value)
    assert "unknown strategy 'nope'" in message
    assert all(n in message for n in strategy_names())


def test_bad_direction_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown direction 'minimise'"):
        make_sampler("random", seed=0, directions=["minimise"])


def test_gp_says_what_to_install() -> None:
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed: GPSampler builds")
    with pytest.raises(UsageError, match=r"strategy 'gp' needs torch, .*pip install torch"):
        make_sampler("gp", seed=0, directions=DIRECTIONS)


def test_entry_point_strategies_join_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    import mobench.strategies as strategies

    fake = md.EntryPoint("thirdparty", "mobench.strategies:make_random", "mobench.strategies")
    clash = md.EntryPoint("random", "mobench.strategies:make_grid", "mobench.strategies")
    monkeypatch.setattr(md, "entry_points", lambda group: [fake, clash])
    strategies._entry_point_strategies.cache_clear()
    try:
        with pytest.warns(UserWarning, match="clashes with a built-in"):
            names = strategy_names()
        assert "thirdparty" in names
        sampler = make_sampler("thirdparty", seed=0, directions=DIRECTIONS)
        assert isinstance(sampler, optuna.samplers.RandomSampler)
        assert strategies.registry()["random"] == "mobench.strategies:make_random"
    finally:
        strategies._entry_point_strategies.cache_clear()


def test_registry_import_is_cheap() -> None:
    code = "import sys, mobench.strategies; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_strategies_never_import_tensorflow() -> None:
    names = [n for n in strategy_names() if n not in KT and not unavailable(n)]
    code = textwrap.dedent(f"""
        import sys, optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        from mobench.strategies import make_sampler
        from mobench.testing.problems import get_problem
        p = get_problem("zdt1")
        for name in {names!r}:
            grid = {{v.name: [0.0] for v in p.variables}} if name == "grid" else None
            s = optuna.create_study(directions=p.directions,
                sampler=make_sampler(name, seed=0, directions=p.directions, grid=grid))
            if name != "grid":
                s.optimize(p.objective, n_trials=12)
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


# --- the test problems ----------------------------------------------------------------------


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_problem_optimum_lies_on_the_true_front(problem: str) -> None:
    p = get_problem(problem)
    best = {"zdt1": dict(x1=0.0, x2=0, x3=1e-3, x4="a", x5=0.0),
            "zdt2": dict(x1=0.0, x2=0, x3=1e-3, x4="a", x5=0.0),
            "dtlz2": dict(x2=0.5, x3=10, x4=0.5 + 0.5e-3, x5="c", x6=0.5)}[problem]
    positional = {"x0": 0.3, "x1": 0.6} if problem == "dtlz2" else {"x0": 0.3}
    study = optuna.create_study(directions=p.directions)
    study.enqueue_trial({**best, **positional})
    study.optimize(p.objective, n_trials=1)
    f = np.array(study.trials[0].values)
    if problem == "dtlz2":
        assert np.linalg.norm(f) == pytest.approx(1.0)
    else:
        expected = 1 - np.sqrt(0.3) if problem == "zdt1" else 1 - 0.3**2
        assert f == pytest.approx([0.3, expected])
    assert p.normalised_hypervolume(p.true_front()) == pytest.approx(1.0)
    assert p.normalised_hypervolume([[2.0] * p.n_objectives]) == 0.0


def test_unknown_problem_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="valid problems: dtlz2, zdt1, zdt2"):
        get_problem("zdt9")


def test_factories_use_the_documented_settings() -> None:
    def build(name: str):
        return make_sampler(name, seed=0, directions=DIRECTIONS)

    from mobench.strategies import GA_POPULATION_SIZE, N_STARTUP_TRIALS

    assert (GA_POPULATION_SIZE, N_STARTUP_TRIALS) == (20, 10)
    assert build("nsga2")._population_size == 20 and build("nsga3")._population_size == 20
    motpe = build("motpe")
    assert motpe._n_startup_trials == 10 and motpe._multivariate
    assert isinstance(build("random"), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler("grid", seed=0, directions=["MINIMIZE"], grid={"x": [1]}),
                      optuna.samplers.GridSampler)
    with pytest.raises(UsageError, match="at least one direction"):
        make_sampler("random", seed=0, directions=[])


def test_an_entry_point_after_a_clashing_one_still_joins(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    import mobench.strategies as strategies

    clash = md.EntryPoint("random", "mobench.strategies:make_grid", "mobench.strategies")
    fake = md.EntryPoint("thirdparty", "mobench.strategies:make_random", "mobench.strategies")
    missing = md.EntryPoint("absent", "mobench.strategies:make_nothing", "mobench.strategies")
    broken = md.EntryPoint("broken", "mobench.no_such_module:make", "mobench.strategies")
    odd = md.EntryPoint("odd", "builtins:dict", "mobench.strategies")
    monkeypatch.setattr(md, "entry_points", lambda group: [clash, fake, missing, broken, odd])
    strategies._entry_point_strategies.cache_clear()
    try:
        with pytest.warns(UserWarning, match="'random' .* clashes"):
            assert {"thirdparty", "absent", "broken"} <= set(strategy_names())
        with pytest.raises(UsageError, match="'absent' is unavailable: .* does not exist"):
            make_sampler("absent", seed=0, directions=DIRECTIONS)
        with pytest.raises(UsageError, match="'broken' is unavailable: importing"):
            make_sampler("broken", seed=0, directions=DIRECTIONS)
        with pytest.raises(UsageError, match="returned dict, not an optuna"):
            make_sampler("odd", seed=0, directions=DIRECTIONS)
    finally:
        strategies._entry_point_strategies.cache_clear()


def test_gp_factory_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import mobench.strategies as strategies

    for absent, message in [({"torch"}, r"needs torch, .*pip install torch \(the CPU build"),
                            ({"scipy"}, r"needs scipy, .*pip install scipy$"),
                            ({"torch", "scipy"}, r"needs torch and scipy, .*torch scipy \(")]:
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a, absent=absent: None if name in absent
                            else object())
        with pytest.raises(UsageError, match=message):
            strategies.make_gp(seed=0, directions=DIRECTIONS)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    sampler = strategies.make_gp(seed=0, directions=DIRECTIONS)  # built lazily: no torch yet
    assert isinstance(sampler, optuna.samplers.GPSampler) and sampler._n_startup_trials == 10
