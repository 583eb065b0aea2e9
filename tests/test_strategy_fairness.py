"""The published behaviour of PESA-II and ParEGO, pinned on cheap deterministic inputs.

Region-based selection by squeeze factor, SBX and polynomial mutation with their eta-dependent
spreads and the mutation rate, ParEGO's training subset and incumbent, infeasible trials below
every feasible one, invariance to objective direction and scale, and a margin over random
search on a small ZDT1-like problem (no TensorFlow anywhere).
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from mobench.strategies import make_sampler
from mobench.strategies.parego import (
    INFEASIBLE_MARGIN,
    ParEGOSampler,
    infeasible_scores,
    training_subset,
    violation,
)
from mobench.strategies.pesa2 import (
    PESA2Sampler,
    hyperbox_indices,
    polynomial_mutation,
    region_tournament,
    sbx,
    select_parent,
)
from mobench.testing.problems import PROBLEMS, Problem, Variable, _zdt1

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Six non-dominated points on a 3-division grid: box (0, 2) holds 1, (1, 1) holds 2, (2, 0) 3.
THREE_BOXES = np.array([[0.0, 1.0], [0.4, 0.55], [0.45, 0.5], [0.8, 0.15], [0.9, 0.05],
                        [1.0, 0.0]])
# Tournament between two boxes drawn with replacement, the lower squeeze factor wins:
# P(box 1) = 1 - (2/3)^2 = 5/9, P(box 2) = (2/3)^2 - (1/3)^2 = 3/9, P(box 3) = 1/9; then a
# member uniformly within the box.
PARENT_P = np.array([5 / 9, 3 / 18, 3 / 18, 1 / 27, 1 / 27, 1 / 27])


class Scripted:
    """A stand-in for numpy's Generator that returns scripted draws."""

    def __init__(self, integers=(), randoms=()) -> None:
        self._integers, self._randoms = list(integers), list(randoms)

    def integers(self, high, size=None):
        if size is None:
            return self._integers.pop(0)
        return np.array([self._integers.pop(0) for _ in range(size)])

    def random(self):
        return self._randoms.pop(0)


# --- PESA-II: region-based selection ------------------------------------------------------


def test_three_boxes_and_their_squeeze_factors() -> None:
    boxes = hyperbox_indices(THREE_BOXES, 3)
    assert boxes.tolist() == [[0, 2], [1, 1], [1, 1], [2, 0], [2, 0], [2, 0]]
    # Scaling the objectives changes no box: the grid spans the archive.
    assert (hyperbox_indices(THREE_BOXES * [7.0, 1000.0] + [3.0, -5.0], 3) == boxes).all()


def test_region_tournament_by_hand() -> None:
    members = {(0, 2): [0], (1, 1): [1, 2], (2, 0): [3, 4, 5]}
    # Keys sorted: (0, 2), (1, 1), (2, 0). Draw boxes 2 and 1: the less crowded, (1, 1), wins
    # whichever order the two were drawn in; a tie is broken by one coin flip.
    assert region_tournament(members, Scripted(integers=[2, 1])) == (1, 1)
    assert region_tournament(members, Scripted(integers=[1, 2])) == (1, 1)
    assert region_tournament(members, Scripted(integers=[0, 2])) == (0, 2)
    assert region_tournament(members, Scripted(integers=[2, 0])) == (0, 2)
    tie = {(0, 0): [0, 1], (1, 1): [2, 3]}
    assert region_tournament(tie, Scripted(integers=[0, 1], randoms=[0.2])) == (0, 0)
    assert region_tournament(tie, Scripted(integers=[0, 1], randoms=[0.7])) == (1, 1)
    # select_parent: the tournament's winning box, then the scripted member of it.
    boxes = hyperbox_indices(THREE_BOXES, 3)
    assert select_parent(boxes, Scripted(integers=[2, 2, 2], randoms=[0.9])) == 5
    assert select_parent(boxes, Scripted(integers=[2, 1, 1])) == 2


def test_region_selection_frequencies_in_three_boxes() -> None:
    rng = np.random.default_rng(1)
    boxes = hyperbox_indices(THREE_BOXES, 3)
    counts = np.bincount([select_parent(boxes, rng) for _ in range(9000)], minlength=6)
    assert counts / 9000 == pytest.approx(PARENT_P, abs=0.02)


def _study_with(points, dominated=(), directions=("minimize", "minimize"), x_of=None):
    """A study whose trials have objective ``points`` and parameter x = the trial's index."""
    study = optuna.create_study(directions=list(directions))
    dist = {"x": FloatDistribution(0.0, 100.0), "y": FloatDistribution(0.0, 1.0)}
    for i, values in enumerate([*points, *dominated]):
        study.add_trial(create_trial(values=list(values), params={"x": float(i), "y": 0.5},
                                     distributions=dist))
    return study, dist


def test_pesa2_parents_come_from_the_archive_by_region_selection() -> None:
    # Two dominated trials and an infeasible one that dominates everything: never parents.
    study, dist = _study_with(THREE_BOXES, dominated=[[1.0, 1.0], [0.9, 0.9]])
    study.add_trial(create_trial(values=[-1.0, -1.0], params={"x": 8.0, "y": 0.5},
                                 distributions=dist, constraints={"c": 1.0}))
    sampler = PESA2Sampler(seed=3, divisions=3, n_startup_trials=9)
    parents: list[int] = []

    def record(first, second, space):
        parents.extend([int(first.params["x"]), int(second.params["x"])])
        return {}

    sampler._child = record
    trial = study.ask()
    space = sampler.infer_relative_search_space(study, trial)
    assert set(space) == {"x", "y"}
    for _ in range(1500):
        sampler.sample_relative(study, trial, space)
    counts = np.bincount(parents, minlength=9)
    assert counts[6:].sum() == 0
    assert counts[:6] / len(parents) == pytest.approx(PARENT_P, abs=0.035)


def test_pesa2_waits_for_startup_and_a_feasible_trial() -> None:
    study, _ = _study_with(THREE_BOXES)
    trial = study.ask()
    sampler = PESA2Sampler(seed=0, n_startup_trials=7)
    space = sampler.infer_relative_search_space(study, trial)
    assert sampler.sample_relative(study, trial, space) == {}  # 6 < 7 trials done
    assert sampler.sample_relative(study, trial, {}) == {}
    ready = PESA2Sampler(seed=0, n_startup_trials=6).sample_relative(study, trial, space)
    assert set(ready) == {"x", "y"}
    infeasible = optuna.create_study(directions=["minimize", "minimize"])
    for i in range(3):
        infeasible.add_trial(create_trial(
            values=[i, -i], params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)},
            constraints={"c": 0.5}))
    t = infeasible.ask()
    s = PESA2Sampler(seed=0, n_startup_trials=1)
    assert s.archive(infeasible) == []
    assert s.sample_relative(infeasible, t, s.infer_relative_search_space(infeasible, t)) == {}


def test_pesa2_archive_is_truncated_to_capacity() -> None:
    study, _ = _study_with(THREE_BOXES)
    archive = PESA2Sampler(seed=0, divisions=3, archive_size=4).archive(study)
    # The most crowded box loses members first: (2, 0) with three, then a tie of two.
    kept = sorted(int(t.params["x"]) for t in archive)
    assert len(kept) == 4 and 0 in kept
    assert PESA2Sampler(seed=0, archive_size=6).archive(study) == study.trials
    assert PESA2Sampler(divisions=1, archive_size=1)._divisions == 1
    with pytest.raises(ValueError):
        PESA2Sampler(divisions=0)
    with pytest.raises(ValueError):
        PESA2Sampler(archive_size=0)


# --- PESA-II: variation ---------------------------------------------------------------------


def _spread(eta: float, x1: float = 0.4, x2: float = 0.6, n: int = 20000) -> np.ndarray:
    """The spread factors beta = |child - mid| / half-distance of SBX children."""
    rng = np.random.default_rng(5)
    children = np.array([sbx(x1, x2, eta, rng) for _ in range(n)])
    assert ((children >= 0) & (children <= 1)).all()
    return children, np.abs(children - (x1 + x2) / 2) / (abs(x2 - x1) / 2)


@pytest.mark.parametrize("eta", [2.0, 20.0])
def test_sbx_children_lie_around_the_parents_with_the_eta_spread(eta: float) -> None:
    children, beta = _spread(eta)
    # Deb and Agrawal: P(beta <= b) = b^(eta+1) / 2 for b <= 1, 1 - b^-(eta+1) / 2 above.
    for q, b in [(0.1, 0.2 ** (1 / (eta + 1))), (0.5, 1.0), (0.9, 5 ** (1 / (eta + 1)))]:
        assert np.quantile(beta, q) == pytest.approx(b, rel=0.03)
    # Each of the two children is returned half of the time: symmetric about the midpoint.
    assert np.mean(children > 0.5) == pytest.approx(0.5, abs=0.02)
    assert np.mean(children) == pytest.approx(0.5, abs=0.005)


def test_sbx_edge_cases() -> None:
    rng = np.random.default_rng(0)
    assert sbx(0.3, 0.3, 20.0, rng) == 0.3
    near = np.array([sbx(0.0, 0.05, 2.0, rng) for _ in range(3000)])
    assert near.min() >= 0.0 and near.max() <= 1.0 and np.mean(near < 0.0) == 0.0
    # The bound 0 squeezes the lower child: the spread below the parents is smaller than above.
    assert np.quantile(near, 0.05) > -0.5 * np.quantile(near, 0.95) + 0.0
    # Parent order does not matter.
    a = [sbx(0.2, 0.7, 5.0, np.random.default_rng(9)) for _ in range(3)]
    b = [sbx(0.7, 0.2, 5.0, np.random.default_rng(9)) for _ in range(3)]
    assert a == b


def test_polynomial_mutation_spread() -> None:
    rng = np.random.default_rng(2)
    eta = 20.0
    delta = np.array([polynomial_mutation(0.5, eta, rng) for _ in range(20000)]) - 0.5
    # Deb and Goyal: P(|delta| <= d) = 1 - (1 - d)^(eta+1) away from the bounds.
    assert np.median(np.abs(delta)) == pytest.approx(1 - 0.5 ** (1 / (eta + 1)), rel=0.05)
    assert np.mean(delta > 0) == pytest.approx(0.5, abs=0.02)
    wide = np.array([polynomial_mutation(0.5, 2.0, rng) for _ in range(5000)]) - 0.5
    assert np.median(np.abs(wide)) > 3 * np.median(np.abs(delta))
    # Bounded: at x = 0 a step down stays at 0, a step up moves up; never outside [0, 1].
    low = np.array([polynomial_mutation(0.0, eta, rng) for _ in range(4000)])
    assert low.min() == 0.0 and np.mean(low == 0.0) == pytest.approx(0.5, abs=0.03)
    high = np.array([polynomial_mutation(1.0, eta, rng) for _ in range(4000)])
    assert high.max() == 1.0 and np.mean(high == 1.0) == pytest.approx(0.5, abs=0.03)
    assert np.mean(high) < 1.0 and np.mean(low) > 0.0


def _parents(n: int):
    space = {f"x{i}": FloatDistribution(0.0, 1.0) for i in range(n)}
    first = create_trial(values=[0.0, 0.0], params={k: 0.5 for k in space}, distributions=space)
    second = create_trial(values=[0.0, 0.0], params={k: 0.9 for k in space},
                          distributions=space)
    return space, first, second


@pytest.mark.parametrize("rate, expected", [(None, 1.0), (0.3, 3.0)])
def test_mutation_changes_about_rate_times_n_genes(rate, expected) -> None:
    space, first, second = _parents(10)
    sampler = PESA2Sampler(seed=0, crossover_prob=0.0, mutation_prob=rate)
    changed = [sum(v != 0.5 for v in sampler._child(first, second, space).values())
               for _ in range(1200)]
    assert np.mean(changed) == pytest.approx(expected, rel=0.12)  # default rate 1/n


def test_crossover_takes_about_half_the_genes_from_the_second_parent() -> None:
    space, first, second = _parents(10)
    sampler = PESA2Sampler(seed=0, crossover_prob=1.0, mutation_prob=0.0)
    children = np.array([list(sampler._child(first, second, space).values())
                         for _ in range(800)])
    crossed = children != 0.5
    assert crossed.mean() == pytest.approx(0.5, abs=0.03)
    assert np.mean(children[crossed]) == pytest.approx(0.7, abs=0.01)  # around the parents
    near = np.minimum(np.abs(children[crossed] - 0.5), np.abs(children[crossed] - 0.9))
    assert np.median(near) < 0.05  # eta 20: children close to one parent or the other
    assert PESA2Sampler(seed=0, crossover_prob=0.0, mutation_prob=0.0)._child(
        first, second, space) == first.params


def test_categorical_crossover_and_reset() -> None:
    space = {"c": CategoricalDistribution(["a", "b", "c", "d"]),
             "n": IntDistribution(0, 10, step=2)}
    first = create_trial(values=[0.0], params={"c": "a", "n": 2}, distributions=space)
    second = create_trial(values=[0.0], params={"c": "c", "n": 8}, distributions=space)
    cross = PESA2Sampler(seed=0, crossover_prob=1.0, mutation_prob=0.0)
    picks = [cross._child(first, second, space)["c"] for _ in range(2000)]
    assert set(picks) == {"a", "c"} and picks.count("c") / 2000 == pytest.approx(0.5, abs=0.04)
    reset = PESA2Sampler(seed=0, crossover_prob=0.0, mutation_prob=1.0)
    kids = [reset._child(first, second, space) for _ in range(1500)]
    assert {k["c"] for k in kids} == {"b", "c", "d"}
    assert all(k["n"] in range(0, 11, 2) and isinstance(k["n"], int) for k in kids)
    pair = {"c": CategoricalDistribution(["a", "b"])}
    first_of_two = create_trial(values=[0.0], params={"c": "a"}, distributions=pair)
    assert {reset._child(first_of_two, first_of_two, pair)["c"] for _ in range(20)} == {"b"}
    single = {"c": CategoricalDistribution(["a"])}
    only = create_trial(values=[0.0], params={"c": "a"}, distributions=single)
    assert reset._child(only, only, single) == {"c": "a"}


def test_pesa2_defaults_are_the_literature_ones() -> None:
    sampler = PESA2Sampler()
    assert (sampler._crossover_prob, sampler._crossover_eta, sampler._mutation_eta) == (
        0.9, 20.0, 20.0)
    assert sampler._mutation_prob is None  # 1/n
    assert (sampler._divisions, sampler._archive_size, sampler._n_startup_trials) == (
        10, 100, 10)


# --- ParEGO: training subset, incumbent, infeasible trials ---------------------------------


def test_training_subset_keeps_the_best() -> None:
    y = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2])
    assert training_subset(y, 3).tolist() == [1, 3, 5]  # the three best, in trial order
    assert training_subset(y, 6).tolist() == list(range(6))
    assert training_subset(y, 10).tolist() == list(range(6))
    assert training_subset(np.array([0.2, 0.2, 0.1]), 2).tolist() == [0, 2]


def test_infeasible_scores_rank_below_every_feasible_one() -> None:
    feasible = np.array([0.2, 0.7, 0.4])
    scores = infeasible_scores(feasible, [0.0, 1.0, 4.0, math.inf])
    assert (scores > feasible.max()).all()
    assert scores.tolist() == pytest.approx(
        [0.7 + INFEASIBLE_MARGIN * r for r in (1.0, 1.25, 2.0, 2.0)])
    # Without any finite violation (only FAIL trials), every one gets the largest margin.
    assert infeasible_scores(feasible, [math.inf]).tolist() == pytest.approx(
        [0.7 + 2 * INFEASIBLE_MARGIN])
    assert infeasible_scores(feasible, [0.0, 0.0]).tolist() == pytest.approx(
        [0.7 + 2 * INFEASIBLE_MARGIN] * 2)


def test_violation_of_trials() -> None:
    dist = {"x": FloatDistribution(0.0, 1.0)}
    ok = create_trial(values=[1.0], params={"x": 0.1}, distributions=dist,
                      constraints={"a": -1.0, "b": 0.0})
    bad = create_trial(values=[1.0], params={"x": 0.1}, distributions=dist,
                       constraints={"a": 2.0, "b": -3.0, "c": 0.5})
    failed = create_trial(state=TrialState.FAIL, params={"x": 0.1}, distributions=dist)
    assert (violation(ok), violation(bad), violation(failed)) == (0.0, 2.5, math.inf)


class Spy(ParEGOSampler):
    """ParEGO that records what its model would be trained on instead of fitting it."""

    def _maximise_ei(self, space, units, y, best):
        self.seen = (units.copy(), y.copy(), best)
        return units[np.argmin(y)]


def _spy_study(n: int, best_at: int):
    """n feasible trials on a line, the one at ``best_at`` best under any weights."""
    study = optuna.create_study(directions=["minimize", "minimize"])
    dist = {"x": FloatDistribution(0.0, 100.0)}
    rng = np.random.default_rng(4)
    for i in range(n):
        values = [0.0, 0.0] if i == best_at else list(0.5 + rng.random(2))
        study.add_trial(create_trial(values=values, params={"x": float(i)}, distributions=dist))
    return study, dist


@pytest.mark.parametrize("best_at", [0, 7, 29])
def test_parego_training_subset_always_holds_the_best_trial(best_at: int) -> None:
    study, dist = _spy_study(30, best_at)
    sampler = Spy(seed=0, max_points=8)
    trial = study.ask()
    for _ in range(5):
        sampler.sample_relative(study, trial, dist)
        units, y, best = sampler.seen
        assert len(y) == 8
        assert units[np.argmin(y), 0] == pytest.approx(best_at / 100)
        assert best == y.min() == 0.0
        # Kept in trial order, eight distinct trials.
        kept = np.round(units[:, 0] * 100).astype(int).tolist()
        assert kept == sorted(set(kept)) and len(kept) == 8


def test_parego_incumbent_comes_from_every_trial() -> None:
    study, dist = _spy_study(12, best_at=3)
    sampler = Spy(seed=1, max_points=100, n_startup_trials=5)
    trial = study.ask()
    sampler.sample_relative(study, trial, dist)
    units, y, best = sampler.seen
    assert len(y) == 12 and best == 0.0
    assert units[:, 0].tolist() == pytest.approx([i / 100 for i in range(12)])


def test_parego_scores_infeasible_and_failed_trials_below_feasible_ones() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    dist = {"x": FloatDistribution(0.0, 100.0)}
    for i, (values, c) in enumerate([([1.0, 1.0], 0.0), ([0.0, 0.0], 0.0), ([2.0, 3.0], -1.0),
                                     ([-5.0, 9.0], 3.0), ([-5.0, 9.0], 1.0)]):
        study.add_trial(create_trial(values=values, params={"x": float(i)}, distributions=dist,
                                     constraints={"c": c}))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 5.0}, distributions=dist))
    study.add_trial(create_trial(state=TrialState.FAIL, params={}, distributions={}))
    sampler = Spy(seed=2, n_startup_trials=5)
    trial = study.ask()
    for _ in range(5):
        sampler.sample_relative(study, trial, dist)
        units, y, best = sampler.seen
        assert len(y) == 6  # the FAIL trial without parameters cannot be modelled
        feasible, infeasible = y[:3], y[3:]
        assert infeasible.min() > feasible.max()
        assert y[4] < y[3] == y[5]  # a smaller violation scores better; FAIL as the largest
        assert best == feasible.min()


def test_parego_waits_for_startup_and_a_feasible_trial() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    dist = {"x": FloatDistribution(0.0, 1.0)}
    for i in range(4):
        study.add_trial(create_trial(values=[i, -i], params={"x": 0.5}, distributions=dist,
                                     constraints={"c": 1.0}))
    trial = study.ask()
    assert Spy(seed=0, n_startup_trials=5).sample_relative(study, trial, dist) == {}
    assert Spy(seed=0, n_startup_trials=4).sample_relative(study, trial, dist) == {}
    assert Spy(seed=0, n_startup_trials=4).sample_relative(study, trial, {}) == {}
    study.add_trial(create_trial(values=[9.0, 9.0], params={"x": 0.25}, distributions=dist))
    assert Spy(seed=0, n_startup_trials=4).sample_relative(study, trial, dist) == {"x": 0.25}


def test_parego_defaults() -> None:
    sampler = make_sampler("parego", seed=0, directions=["minimize", "minimize"])
    assert (sampler._max_points, sampler._rho, sampler._n_startup_trials) == (100, 0.05, 10)
    assert (sampler._n_candidates, sampler._n_mutants) == (1000, 100)


# --- invariance: directions and scales ------------------------------------------------------


def _proposals(sampler, flip: bool, scale: float, n_trials: int) -> list[dict]:
    directions = ["maximize", "minimize"] if flip else ["minimize", "minimize"]
    study = optuna.create_study(directions=directions, sampler=sampler)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        f1, f2 = x, (1 + 4 * y) * (1 - math.sqrt(x / (1 + 4 * y)))
        return (-f1 if flip else f1), f2 * scale

    study.optimize(objective, n_trials=n_trials)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("make", [
    lambda: PESA2Sampler(seed=4, n_startup_trials=5),
    lambda: ParEGOSampler(seed=4, n_startup_trials=5, n_candidates=100, n_mutants=10),
], ids=["pesa2", "parego"])
def test_flipping_a_direction_or_rescaling_gives_identical_proposals(make) -> None:
    n = 30 if isinstance(make(), PESA2Sampler) else 9
    base = _proposals(make(), flip=False, scale=1.0, n_trials=n)
    assert _proposals(make(), flip=True, scale=1.0, n_trials=n) == base
    assert _proposals(make(), flip=False, scale=1024.0, n_trials=n) == base
    assert _proposals(make(), flip=True, scale=0.125, n_trials=n) == base
    assert len({tuple(p.values()) for p in base}) > n // 2


# --- a margin over random search on a ZDT1-like problem -------------------------------------

#: ZDT1 with three float variables (the judging problems use six mixed ones).
SMALL_ZDT1 = Problem("zdt1-3", tuple(Variable(f"x{i}", "float") for i in range(3)), _zdt1,
                     PROBLEMS["zdt1"].front, 2)


def _mean_hv(name: str, seeds, budget: int) -> float:
    hvs = []
    for seed in seeds:
        sampler = make_sampler(name, seed=seed, directions=SMALL_ZDT1.directions)
        study = optuna.create_study(directions=SMALL_ZDT1.directions, sampler=sampler)
        study.optimize(SMALL_ZDT1.objective, n_trials=budget)
        hvs.append(SMALL_ZDT1.normalised_hypervolume([t.values for t in study.best_trials]))
    return float(np.mean(hvs))


def test_pesa2_beats_random_search_by_a_margin() -> None:
    # Measured (seeds 0-9, 100 trials): pesa2 0.476, random 0.250 mean normalised HV.
    pesa2, random = _mean_hv("pesa2", range(10), 100), _mean_hv("random", range(10), 100)
    assert pesa2 - random > 0.12, (pesa2, random)


def test_parego_beats_random_search_by_a_margin() -> None:
    # Measured (seeds 0-2, 25 trials): parego 0.848, random 0.038 mean normalised HV.
    parego, random = _mean_hv("parego", range(3), 25), _mean_hv("random", range(3), 25)
    assert parego - random > 0.5, (parego, random)


# --- the normalised parameter space ---------------------------------------------------------


@pytest.mark.parametrize("dist, interval", [
    (FloatDistribution(2.0, 6.0), (2.0, 6.0)),
    (FloatDistribution(0.0, 1.0, step=0.25), (-0.125, 1.125)),
    (FloatDistribution(1e-3, 10.0, log=True), (math.log(1e-3), math.log(10.0))),
    (IntDistribution(1, 9, step=2), (0.0, 10.0)),
    (IntDistribution(1, 1000, log=True), (math.log(0.5), math.log(1000.5))),
])
def test_each_value_owns_an_equal_cell_of_the_unit_interval(dist, interval) -> None:
    from mobench.strategies.base import _interval, decode, encode

    assert _interval(dist) == pytest.approx(interval)
    lo, hi = interval
    mid = lo + 0.5 * (hi - lo)
    expected = math.exp(mid) if dist.log else mid
    if dist.step is not None:
        expected = dist.low + round((expected - dist.low) / dist.step) * dist.step
    assert float(decode(dist, 0.5)) == pytest.approx(expected, rel=1e-6)
    for units, value in [(0.0, dist.low), (1.0, dist.high), (-3.0, dist.low), (7.0, dist.high)]:
        assert float(decode(dist, units)) == pytest.approx(value, rel=1e-12)
    for x in (dist.low, dist.high):
        position = ((math.log(x) if dist.log else x) - lo) / (hi - lo)
        assert float(encode(dist, x)) == pytest.approx(position)


# --- ParEGO: the model and the search for the next point ------------------------------------

MIXED = {"x": FloatDistribution(0.0, 1.0), "n": IntDistribution(0, 10, step=2),
         "c": CategoricalDistribution(["p", "q", "r"])}


def test_parego_gp_is_the_documented_kernel() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((12, 3))
    gp = ParEGOSampler(seed=0)._fit(features, features.sum(axis=1))
    params = gp.kernel.get_params()
    assert gp.normalize_y
    assert params["k1__k1__constant_value"] == 1.0
    assert params["k1__k1__constant_value_bounds"] == (1e-3, 1e3)
    assert params["k1__k2__nu"] == 2.5
    assert params["k1__k2__length_scale"].tolist() == [0.5, 0.5, 0.5]  # one per input (ARD)
    assert params["k1__k2__length_scale_bounds"] == (1e-2, 1e2)
    assert params["k2__noise_level"] == 1e-4 and params["k2__noise_level_bounds"] == (1e-8, 1.0)
    mean = gp.predict(features[:3])
    assert mean == pytest.approx(features[:3].sum(axis=1), abs=0.05)


def test_parego_mixed_space_helpers() -> None:
    from mobench.strategies.parego import (
        _features,
        _from_units,
        _mutate,
        _random_units,
        _snap,
        _to_units,
    )

    units = _to_units(MIXED, {"x": 0.25, "n": 4, "c": "r"})
    assert units == pytest.approx([0.25, 5 / 12, 2.0])  # n: -1..11 in cells of 2
    assert _from_units(MIXED, np.array(units)) == pytest.approx([0.25, 4.0, 2.0])
    snapped = _snap(MIXED, np.array([[0.3, 0.55, 1.0]]))
    assert snapped[0].tolist() == pytest.approx([0.3, 7 / 12, 1.0])  # n: 6 owns 0.55
    assert _features(MIXED, np.array([[0.3, 0.5, 1.0], [0.1, 0.2, 2.0]])).tolist() == [
        [0.3, 0.5, 0.0, 1.0, 0.0], [0.1, 0.2, 0.0, 0.0, 1.0]]
    rng = np.random.default_rng(0)
    drawn = _random_units(MIXED, 3000, rng)
    assert drawn.shape == (3000, 3) and set(drawn[:, 2]) == {0.0, 1.0, 2.0}
    assert drawn[:, 0].mean() == pytest.approx(0.5, abs=0.03)
    assert set(np.round(drawn[:, 1] * 12 - 1).astype(int)) == {0, 2, 4, 6, 8, 10}
    base = np.tile([[0.5, 7 / 12, 1.0]], (4000, 1))
    for sigma in (0.1, 0.02):
        moved = _mutate(MIXED, base, sigma, rng)
        assert np.std(moved[:, 0]) == pytest.approx(sigma, rel=0.1)
        assert ((moved >= 0) & (moved[:, :2] <= 1).all(axis=1)[:, None]).all()
    reset = _mutate(MIXED, base, 0.1, rng)[:, 2]
    # Categoricals are reset with probability 1/3 (one over the parameters) to any choice.
    assert np.mean(reset != 1.0) == pytest.approx(1 / 3 * 2 / 3, abs=0.03)


def test_parego_searches_random_and_mutated_candidates(monkeypatch) -> None:
    import mobench.strategies.parego as pg

    calls = []
    real_random, real_mutate = pg._random_units, pg._mutate

    def random_units(space, n, rng):
        calls.append(("random", n))
        return real_random(space, n, rng)

    def mutate(space, units, sigma, rng):
        calls.append(("mutate", len(units), sigma))
        return real_mutate(space, units, sigma, rng)

    monkeypatch.setattr(pg, "_random_units", random_units)
    monkeypatch.setattr(pg, "_mutate", mutate)
    sampler = ParEGOSampler(seed=0, n_candidates=50, n_mutants=7)
    rng = np.random.default_rng(1)
    units = _random_units_for_test(rng, 9)
    y = units[:, 0] ** 2 + (units[:, 2] == 1)  # best near x = 0 with c = p or r
    calls.clear()
    best = sampler._maximise_ei(MIXED, units, y, float(y.min()))
    assert calls == [("random", 50), ("mutate", 5 * 7, 0.1), ("mutate", 3 * 7, 0.02)]
    assert best.shape == (3,) and best[2] in (0.0, 2.0) and best[0] < 0.3


def _random_units_for_test(rng, n):
    from mobench.strategies.parego import _random_units

    return _random_units(MIXED, n, rng)


def test_parego_weights_use_the_papers_lattices() -> None:
    sampler = ParEGOSampler(seed=0)
    two = {tuple(sampler.weights(2)) for _ in range(300)}
    assert len(two) == 11 and all(round(w * 10, 9) == round(w * 10) for t in two for w in t)
    assert len({tuple(sampler.weights(3)) for _ in range(300)}) == 15  # s = 4
    assert len({tuple(sampler.weights(4)) for _ in range(600)}) == 20  # s = 3 beyond three
    assert {tuple(sampler.weights(1)) for _ in range(5)} == {(1.0,)}
    fine = ParEGOSampler(seed=0, lattice_size=2)
    assert {tuple(fine.weights(2)) for _ in range(100)} == {(0, 1), (0.5, 0.5), (1, 0)}


def test_parego_models_only_trials_over_the_same_space() -> None:
    study, dist = _spy_study(12, best_at=3)
    other = {"x": FloatDistribution(0.0, 50.0)}
    study.add_trial(create_trial(values=[-1.0, -1.0], params={"x": 1.0}, distributions=other))
    sampler = Spy(seed=0, n_startup_trials=5)
    sampler.sample_relative(study, study.ask(), dist)
    units, y, best = sampler.seen
    assert len(y) == 12 and best == 0.0 and y.min() == 0.0


def test_values_beyond_the_range_encode_to_its_ends() -> None:
    from mobench.strategies.base import encode

    dist = FloatDistribution(0.0, 2.0)
    assert encode(dist, [5.0, -1.0, 1.0]).tolist() == [1.0, 0.0, 0.5]


def test_relative_sampler_defaults_and_reseeding() -> None:
    from mobench.strategies.base import RelativeSampler

    class Plain(RelativeSampler):
        def sample_relative(self, study, trial, search_space):
            return {}

    assert Plain()._n_startup_trials == 10
    sampler = PESA2Sampler(seed=0)
    rng, state = sampler._rng, sampler._random._rng.rng.get_state()[1].copy()
    sampler.reseed_rng()
    assert sampler._rng is not rng
    assert (sampler._random._rng.rng.get_state()[1] != state).any()


@pytest.mark.parametrize("u", [0.3, 0.9])
@pytest.mark.parametrize("x1, x2, eta", [(0.1, 0.3, 2.0), (0.85, 0.6, 20.0), (0.0, 0.02, 5.0)])
def test_sbx_children_by_deb_and_agrawal(x1, x2, eta, u) -> None:
    # Bounded SBX on [0, 1] written out: beta from the distance to each bound, alpha, betaq.
    y1, y2 = min(x1, x2), max(x1, x2)
    expected = []
    for beta, sign in ((1 + 2 * y1 / (y2 - y1), -1), (1 + 2 * (1 - y2) / (y2 - y1), 1)):
        alpha = 2 - beta ** (-(eta + 1))
        betaq = ((u * alpha) if u <= 1 / alpha else 1 / (2 - u * alpha)) ** (1 / (eta + 1))
        expected.append((y1 + y2) / 2 + sign * betaq * (y2 - y1) / 2)
    assert sbx(x1, x2, eta, Scripted(randoms=[u, 0.2])) == pytest.approx(expected[0], abs=1e-12)
    assert sbx(x1, x2, eta, Scripted(randoms=[u, 0.7])) == pytest.approx(expected[1], abs=1e-12)
    assert 0.0 <= expected[0] and expected[1] <= 1.0


@pytest.mark.parametrize("u", [0.1, 0.45, 0.55, 0.95])
@pytest.mark.parametrize("x, eta", [(0.2, 20.0), (0.9, 2.0), (0.5, 5.0)])
def test_polynomial_mutation_by_deb_and_goyal(x, eta, u) -> None:
    if u < 0.5:
        delta = (2 * u + (1 - 2 * u) * (1 - x) ** (eta + 1)) ** (1 / (eta + 1)) - 1
    else:
        delta = 1 - (2 * (1 - u) + 2 * (u - 0.5) * x ** (eta + 1)) ** (1 / (eta + 1))
    assert polynomial_mutation(x, eta, Scripted(randoms=[u])) == pytest.approx(x + delta)


def test_parego_scalarisation_and_margin_by_hand() -> None:
    from mobench.strategies.parego import augmented_tchebycheff

    # Default rho 0.05: max(0.2 * 0.5, 0.8 * 0.25) + 0.05 * (0.1 + 0.2) = 0.215
    assert augmented_tchebycheff(np.array([[0.5, 0.25]]), np.array([0.2, 0.8])).tolist() == (
        pytest.approx([0.215]))
    # Margin 0.1: half the largest violation -> worst + 0.15, the largest -> worst + 0.2.
    assert infeasible_scores(np.array([0.3, 0.7]), [1.0, 2.0]).tolist() == pytest.approx(
        [0.85, 0.9])
    assert infeasible_scores(np.array([0.3, 0.7]), [0.25, 0.5]).tolist() == pytest.approx(
        [0.85, 0.9])  # small violations are relative too


def test_expected_improvement_with_a_small_spread() -> None:
    from mobench.strategies.parego import expected_improvement

    mean, std, best = 0.7, 0.25, 1.0
    z = (best - mean) / std
    phi = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    big_phi = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert expected_improvement([mean], [std], best)[0] == pytest.approx(
        (best - mean) * big_phi + std * phi)
    assert expected_improvement([1.2], [1e-13], 1.0).tolist() == [0.0]  # no spread, no gain
    assert expected_improvement([0.9], [2e-12], 1.0)[0] == pytest.approx(0.1)


def test_parego_refines_around_the_three_best_candidates(monkeypatch) -> None:
    import mobench.strategies.parego as pg

    class Model:  # EI grows with x: the best candidates are those of largest x
        def predict(self, features, return_std=True):
            return -features[:, 0], np.ones(len(features))

    centres = []
    real_mutate = pg._mutate

    def mutate(space, units, sigma, rng):
        if sigma == 0.02:
            centres.append(units.copy())
        return real_mutate(space, units, sigma, rng)

    monkeypatch.setattr(pg, "_mutate", mutate)
    sampler = ParEGOSampler(seed=0, n_candidates=40, n_mutants=4)
    monkeypatch.setattr(sampler, "_fit", lambda features, y: Model())
    units = _random_units_for_test(np.random.default_rng(2), 6)
    best = sampler._maximise_ei(MIXED, units, units[:, 0], 0.0)
    (local,) = centres
    assert len(local) == 12 and len({tuple(r) for r in local}) == 3
    assert local[:, 0].min() >= 0.9  # 40 random + 20 mutated candidates: the top 3 of x
    assert best[0] >= local[:, 0].max() - 0.1
