"""Unit tests of the pieces of PESA-II and ParEGO, on hand-made inputs."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from mobench.pareto import nondominated_mask, normalise
from mobench.strategies.base import decode, encode
from mobench.strategies.parego import (
    ParEGOSampler,
    augmented_tchebycheff,
    expected_improvement,
    simplex_lattice,
)
from mobench.strategies.pesa2 import (
    PESA2Sampler,
    box_members,
    hyperbox_indices,
    region_tournament,
    select_parent,
    truncate_archive,
)

# Five points on a 2-division grid over [0, 1]^2: three in box (0, 1), two in box (1, 0).
FIVE = np.array([[0.0, 1.0], [0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [1.0, 0.0]])


def test_hyperbox_assignment_and_squeeze_factor() -> None:
    boxes = hyperbox_indices(FIVE, divisions=2)
    assert boxes.tolist() == [[0, 1], [0, 1], [0, 1], [1, 0], [1, 0]]
    members = box_members(boxes)
    assert {box: len(m) for box, m in members.items()} == {(0, 1): 3, (1, 0): 2}
    # Ten divisions: the grid spans the archive's min..max, the maximum lands in the last box.
    assert hyperbox_indices(FIVE, divisions=10)[:, 0].tolist() == [0, 1, 2, 9, 9]


def test_constant_objective_falls_in_one_box() -> None:
    assert hyperbox_indices(np.array([[0.0, 5.0], [1.0, 5.0]]), 4).tolist() == [[0, 0], [3, 0]]


def test_tournament_prefers_the_less_crowded_box() -> None:
    rng = np.random.default_rng(0)
    members = {(0, 0): [0, 1, 2, 3], (5, 5): [4]}
    wins = sum(region_tournament(members, rng) == (5, 5) for _ in range(4000))
    # The crowded box wins only when both draws pick it: P = 1/4.
    assert wins / 4000 == pytest.approx(0.75, abs=0.03)
    parents = [select_parent(hyperbox_indices(FIVE, 2), rng) for _ in range(4000)]
    from_sparse_box = np.isin(parents, [3, 4]).mean()
    assert from_sparse_box == pytest.approx(0.75, abs=0.03)


def test_archive_keeps_only_nondominated_points() -> None:
    points = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0], [2.0, 2.0], [5.0, 5.0]])
    assert nondominated_mask(points).tolist() == [True, True, False, True, True, False]


def test_archive_truncation_thins_the_most_crowded_box() -> None:
    kept = truncate_archive(FIVE, capacity=4, divisions=2, rng=np.random.default_rng(0))
    assert len(kept) == 4 and {3, 4} <= set(kept.tolist())


def test_sampler_archive_respects_feasibility_directions_and_failures() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"])
    dist = {"x": FloatDistribution(0.0, 1.0)}

    def add(values, state=TrialState.COMPLETE, violation=None):
        study.add_trial(create_trial(
            state=state, values=values, params={"x": 0.5}, distributions=dist,
            constraints=None if violation is None else {"c": violation},
        ))

    add([1.0, 1.0])            # dominated once maximising the 2nd objective
    add([1.0, 2.0])            # non-dominated
    add([0.5, 0.5])            # non-dominated
    add([0.0, 9.0], violation=1.0)  # would dominate all, but infeasible
    add(None, state=TrialState.FAIL)
    archive = PESA2Sampler(seed=0).archive(study)
    assert sorted(t.values for t in archive) == [[0.5, 0.5], [1.0, 2.0]]


@pytest.mark.parametrize("dist, value", [
    (FloatDistribution(1e-4, 10.0, log=True), 1e-2),
    (FloatDistribution(0.0, 1.0, step=0.25), 0.75),
    (IntDistribution(1, 9, step=2), 7),
    (IntDistribution(1, 1000, log=True), 37),
])
def test_normalised_space_round_trips_and_snaps(dist, value) -> None:
    assert decode(dist, encode(dist, value)) == pytest.approx(value)
    grid = decode(dist, np.linspace(0, 1, 101))
    assert all(dist._contains(dist.to_internal_repr(float(v))) for v in grid)


def test_log_encoding_is_uniform_in_log_space() -> None:
    dist = FloatDistribution(1e-4, 1.0, log=True)
    assert encode(dist, 1e-2) == pytest.approx(0.5)


def test_augmented_tchebycheff_by_hand() -> None:
    raw = np.array([[2.0, 30.0], [4.0, 10.0], [3.0, 20.0]])
    f = normalise(raw, raw.min(axis=0), raw.max(axis=0))
    assert f.tolist() == [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
    w = np.array([0.3, 0.7])
    # max(0.15, 0.35) + 0.05 * (0.15 + 0.35) = 0.375
    assert augmented_tchebycheff(f, w, rho=0.05) == pytest.approx([0.735, 0.315, 0.375])


def test_weight_vectors_lie_on_the_simplex_lattice() -> None:
    for m, s, count in [(2, 10, 11), (3, 4, 15), (4, 3, 20)]:
        lattice = simplex_lattice(m, s)
        assert lattice.shape == (count, m)
        assert np.allclose(lattice.sum(axis=1), 1.0) and (lattice >= 0).all()
        assert np.allclose(lattice * s, np.round(lattice * s))
        assert len({tuple(row) for row in lattice}) == count
    sampler = ParEGOSampler(seed=1)
    drawn = np.array([sampler.weights(3) for _ in range(200)])
    assert np.allclose(drawn.sum(axis=1), 1.0) and (drawn >= 0).all()
    assert len({tuple(w) for w in drawn}) == 15


def test_expected_improvement_formula() -> None:
    # mean == best: EI = sigma * phi(0) = sigma / sqrt(2 pi)
    assert expected_improvement([1.0], [2.0], 1.0)[0] == pytest.approx(2.0 / math.sqrt(2 * math.pi))
    # mean 0, std 1, best 1: z = 1, EI = Phi(1) + phi(1)
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    big_phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert expected_improvement([0.0], [1.0], 1.0)[0] == pytest.approx(big_phi + phi)
    # No uncertainty: the plain improvement, never negative.
    assert expected_improvement([0.2, 3.0], [0.0, 0.0], 1.0).tolist() == pytest.approx([0.8, 0.0])


def test_parego_proposes_valid_mixed_configurations_after_startup() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        n = trial.suggest_int("n", 0, 10, step=2)
        c = trial.suggest_categorical("c", ["p", "q"])
        return x + n / 10 + (c == "q"), (1 - x) ** 2 + n / 10

    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=ParEGOSampler(seed=0, n_startup_trials=5))
    study.optimize(objective, n_trials=12)
    later = study.trials[5:]
    assert all(t.params["n"] in range(0, 11, 2) and t.params["c"] in "pq" for t in later)
    # The model-based trials exploit: n = 0 and c = p are optimal in both objectives.
    assert sum(t.params["n"] == 0 and t.params["c"] == "p" for t in later) >= 4


def test_categorical_distribution_is_supported_by_pesa2() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=PESA2Sampler(seed=0, n_startup_trials=4))
    study.optimize(lambda t: (len(t.suggest_categorical("c", ["a", "bb", "ccc"])),
                              t.suggest_float("x", 0, 1)), n_trials=15)
    assert isinstance(study.trials[-1].distributions["c"], CategoricalDistribution)
