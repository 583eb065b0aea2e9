"""Indicators against hand-computed fronts, reference handling, statistics with known answers."""

import numpy as np
import pytest

from mobench.compare import indicators as ind


def test_hypervolume_2d_by_hand():
    # reference 1.1: boxes of (0.1,0.5) and (0.5,0.1) -> 1.0*0.6 + 0.6*1.0 - 0.6*0.6
    front = np.array([[0.1, 0.5], [0.5, 0.1]])
    assert ind.hypervolume(front) == pytest.approx(1.0 * 0.6 + 0.6 * 1.0 - 0.6 * 0.6)
    assert ind.hypervolume(np.empty((0, 2))) == 0.0


def test_hypervolume_3d_single_point_and_reference_point_handling():
    assert ind.hypervolume(np.array([[0.1, 0.1, 0.1]])) == pytest.approx(1.0 ** 3)
    # a point beyond the reference point adds nothing
    assert ind.hypervolume(np.array([[0.1, 0.1, 0.1], [1.2, 0.0, 0.0]])) == pytest.approx(1.0)


def test_normalise_to_problem_bounds():
    pts = np.array([[2.0, 10.0], [4.0, 30.0]])
    low, high = ind.bounds(pts)
    assert ind.normalise(pts, low, high).tolist() == [[0.0, 0.0], [1.0, 1.0]]
    flat = ind.normalise(np.array([[1.0, 5.0]]), np.array([1.0, 5.0]), np.array([1.0, 5.0]))
    assert flat.tolist() == [[0.0, 0.0]]  # a constant objective does not divide by zero


def test_igd_plus_by_hand():
    true = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert ind.igd_plus(true, true) == 0.0
    # one point at (0.5, 0.5): IGD+ distance to each reference point is 0.5 -> mean 0.5
    assert ind.igd_plus(np.array([[0.5, 0.5]]), true) == pytest.approx(0.5)


def test_anytime_hypervolume_is_monotone_and_skips_infeasible():
    pts = np.array([[0.5, 0.5], [0.0, 0.0], [0.2, 0.2]])
    hv = ind.anytime_hypervolume(pts, [True, False, True])
    assert hv[0] == pytest.approx(0.6 * 0.6) and hv[1] == hv[0]  # infeasible ignored
    assert hv[2] == pytest.approx(0.9 * 0.9)
    assert all(np.diff(hv) >= 0)


def test_holm_by_hand():
    # p sorted: 0.01*3=0.03, 0.02*2=0.04, 0.04*1=0.04 (monotone)
    assert ind.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert ind.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_mann_whitney_known_answers():
    # complete separation of 5 vs 5: exact two-sided p = 2 / C(10,5) = 2/252
    assert ind.mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert ind.mann_whitney([1, 1, 1], [1, 1, 1]) == 1.0


def test_average_ranks():
    ranks = ind.average_ranks({"a": [0.9, 0.5], "b": [0.8, 0.7], "c": [0.1, 0.7]})
    assert ranks == {"a": 2.0, "b": 1.75, "c": 2.25}
