"""MO-ASHA / MO-Hyperband: rungs, the multi-objective promotion order, and replay on a toy
learning-curve problem (TensorFlow-free, fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mobench.compare.protocol import analyse, run_strategy
from mobench.errors import UsageError
from mobench.objectives import parse_objectives
from mobench.strategies.multifidelity import (
    MultiFidelity,
    Rungs,
    bracket_weights,
    brackets,
    check_epochs,
    check_multi_fidelity,
    continues,
    epsilon_net,
    parse_multi_fidelity,
    promotion_order,
    rung_levels,
)
from mobench.study.outcome import TrialOutcome

OBJECTIVES = parse_objectives(["val_accuracy", "train_time"])


class CurveProblem:
    """Two hyperparameters; accuracy rises along a learning curve towards a ceiling set by
    `x`, and each epoch costs `1 + 4 * width` seconds: a cheap/accurate trade-off."""

    constraints = ()
    epochs = 10
    first_epoch = 1

    def __init__(self) -> None:
        from optuna.distributions import FloatDistribution

        self.distributions = {"x": FloatDistribution(0.0, 1.0),
                              "width": FloatDistribution(0.0, 1.0)}
        self.observed: list[tuple[dict, int]] = []

    def curve(self, params: dict, epoch: int) -> tuple[float, float]:
        ceiling = 0.5 + 0.45 * (1 - (params["x"] - 0.3) ** 2) * (0.6 + 0.4 * params["width"])
        accuracy = ceiling * (1 - 0.5 ** epoch)
        return accuracy, epoch * (1 + 4 * params["width"])

    def observe(self, params: dict, epoch: int) -> tuple[TrialOutcome, float]:
        self.observed.append((dict(params), epoch))
        accuracy, seconds = self.curve(params, epoch)
        return TrialOutcome({"val_accuracy": accuracy, "train_time": seconds}), seconds

    def __call__(self, trial) -> TrialOutcome:
        return self.observe(dict(trial.params), self.epochs)[0]

    def cost(self, trial) -> float:
        return self.curve(dict(trial.params), self.epochs)[1]


def test_rung_levels_are_min_epochs_times_powers_of_eta_below_the_last_epoch():
    assert rung_levels(10) == [1, 3, 9]
    assert rung_levels(9) == [1, 3]
    assert rung_levels(15, eta=3, min_epochs=3) == [3, 9]
    assert rung_levels(8, eta=2) == [1, 2, 4]
    assert rung_levels(1) == []
    with pytest.raises(UsageError, match="eta >= 2"):
        rung_levels(10, eta=1)


def test_hyperband_brackets_start_one_rung_higher_each_and_follow_hyperbands_shares():
    spec = MultiFidelity("mo-hyperband")
    levels = brackets(spec, 10)
    assert levels == [[1, 3, 9], [3, 9], [9], []]
    assert brackets(MultiFidelity("mo-asha"), 10) == [[1, 3, 9]]
    # n_s = ceil((s_max + 1) * eta**s / (s + 1)) for s = 3, 2, 1, 0 rungs: 27, 12, 6, 4
    assert bracket_weights(levels).tolist() == pytest.approx(np.array([27, 12, 6, 4]) / 49)
    # eta 2, 8 epochs: rungs 1, 2, 4 (s_max 3): ceil(4 * 2**s / (s + 1)) = 8, 6, 4, 4
    halving = MultiFidelity("mo-hyperband", eta=2)
    assert brackets(halving, 8) == [[1, 2, 4], [2, 4], [4], []]
    assert bracket_weights(brackets(halving, 8), eta=2).tolist() == \
        pytest.approx(np.array([8, 6, 4, 4]) / 22)


def bracket_draw_fits(draws: list[int], weights: np.ndarray) -> None:
    """Every bracket drawn, and the counts within a chi-square bound of the shares: with a
    fixed seed, the statistic of a faithful draw stays below the 0.999 quantile (a constant
    bracket, or 27/18/6/4 shares, give statistics in the hundreds at 4000 draws)."""
    from scipy.stats import chi2, chisquare

    counts = np.bincount(draws, minlength=len(weights))
    assert (counts > 0).all(), counts
    statistic = chisquare(counts, len(draws) * weights).statistic
    assert statistic < chi2.ppf(0.999, len(weights) - 1), (counts, statistic)


def test_new_trials_join_hyperband_brackets_with_hyperbands_shares():
    rungs = Rungs(MultiFidelity("mo-hyperband"), max_epochs=10, seed=5)
    bracket_draw_fits([rungs.new_bracket() for _ in range(4000)], rungs.weights)
    two = Rungs(MultiFidelity("mo-hyperband"), max_epochs=2, seed=5)  # rung 1, or none
    assert two.levels == [[1], []] and two.weights.tolist() == pytest.approx([0.6, 0.4])
    bracket_draw_fits([two.new_bracket() for _ in range(4000)], two.weights)
    assert Rungs(MultiFidelity("mo-asha"), 10).new_bracket() == 0


def test_promotion_order_sorts_fronts_first_then_by_an_epsilon_net():
    points = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.6, 0.6], [1.0, 1.0]])
    order = promotion_order(points).tolist()
    assert order[:3] == [0, 2, 1]  # each objective's best, then the point farthest from both
    assert order[3:] == [3, 4]     # second front, then the dominated-by-all point


def test_the_epsilon_net_takes_the_point_farthest_from_those_taken():
    x = np.array([0.0, 0.05, 0.3, 0.6, 0.95, 1.0])
    front = np.c_[x, (1 - x) ** 2]
    # the two ends, then 0.3 (0.51 from the nearest end), then 0.6 (0.33 from 0.3 and the
    # nearest end); 0.05 (0.098 from 0) before 0.95 (0.050 from 1)
    assert epsilon_net(front).tolist() == [0, 5, 2, 3, 1, 4]
    # after 0.5, 0.55 is near a taken point: 0.2 (0.28 from 0) goes before it (0.07 from 0.5)
    x = np.array([0.0, 0.2, 0.5, 0.55, 1.0])
    assert epsilon_net(np.c_[x, 1 - x]).tolist() == [0, 4, 2, 1, 3]
    assert promotion_order(np.zeros((0, 2))).tolist() == []


@pytest.mark.parametrize("objectives", [2, 3])
def test_each_objectives_best_point_at_a_rung_continues(objectives):
    """MOASHA's tie-break keeps a front's extremes: whatever else is at the rung, the most
    accurate (and the cheapest) newcomer goes on once the rung holds 3 x objectives points."""
    rng = np.random.default_rng(objectives)
    for _ in range(30):
        n = int(rng.integers(3 * objectives, 40))
        cloud = rng.random((n, objectives))
        front = cloud / np.linalg.norm(cloud, axis=1, keepdims=True)  # mutually non-dominated
        for points in (cloud, front):
            for j in range(objectives):
                best = int(np.argmin(points[:, j]))
                others = np.delete(points, best, axis=0)
                assert continues(others, points[best]), (points.tolist(), j)


def test_promotion_order_ignores_the_scale_of_an_objective():
    rng = np.random.default_rng(3)
    points = rng.random((25, 3))
    scaled = points * np.array([1000.0, 0.001, 7.0]) + np.array([5.0, -2.0, 0.0])
    assert promotion_order(points).tolist() == promotion_order(scaled).tolist()


def test_a_trial_continues_only_in_the_top_third_of_its_rung():
    assert continues([], [5.0, 5.0])
    better = [[0.0, 0.0]] * 2
    assert not continues(better, [1.0, 1.0])      # position 2 of 3
    assert not continues([[0.0, 0.0], [2.0, 2.0]], [1.0, 1.0])  # position 1 of 3: 1 < 3/3 no
    assert continues(better[:1] * 1, [-1.0, -1.0])  # dominates: position 0 of 2
    line = [[i, 10.0 - i] for i in range(5)]        # 5 mutually non-dominated points
    # the new point dominates everything: position 0 of 6 < 2
    assert continues(line, [-1.0, -1.0])
    # dominated by all but one: second front, position >= 4 of 6
    assert not continues(line, [4.5, 10.5])
    # two mutually non-dominated vectors: the more accurate (first objective) goes first
    assert continues([[-0.5, 1.0]], [-0.9, 5.0])
    assert not continues([[-0.9, 5.0]], [-0.5, 1.0])


def test_rungs_record_every_vector_and_count_trials_per_rung():
    rungs = Rungs(MultiFidelity("mo-asha"), max_epochs=10, seed=0)
    assert rungs.decide(0, 1, [1.0, 1.0])
    assert not rungs.decide(0, 1, [2.0, 2.0])
    assert rungs.decide(0, 3, [1.0, 1.0])
    assert rungs.counts() == {"1": 2, "3": 1, "9": 0}


@pytest.mark.parametrize("name, message", [
    ("mo-asha:grid", "cannot propose"),
    ("mo-asha:mo-hyperband", "cannot propose"),
    ("mo-asha:", "name the sampler"),
    ("mo-asha:tpe-ish", "unknown sampler of mo-asha"),
    ("mo-ashaa", "unknown multi-fidelity strategy"),
    ("mo-asha:eta=1", r"eta='1' must be an integer >= 2 \(the reduction factor\)"),
    ("mo-asha:motpe:eta=two", "eta='two' must be an integer >= 2"),
    ("mo-hyperband:min=0", "min='0' must be an integer >= 1"),
    ("mo-asha:rate=2", "unknown option 'rate'"),
    ("mo-asha:random:motpe", r"expected mo-asha\[:SAMPLER\]\[:eta=E\]\[:min=M\]"),
    ("mo-asha:eta=2:eta=3", "expected mo-asha"),
])
def test_bad_multi_fidelity_names_get_one_line(name, message):
    with pytest.raises(UsageError, match=message) as info:
        parse_multi_fidelity(name)
    assert "\n" not in str(info.value)


def test_parse_names_the_proposing_sampler():
    assert parse_multi_fidelity("mo-asha") == MultiFidelity("mo-asha", "random")
    assert parse_multi_fidelity("mo-hyperband:motpe").proposer == "motpe"
    assert parse_multi_fidelity("mo-asha:motpe").name == "mo-asha:motpe"
    assert check_multi_fidelity("mo-hyperband:motpe:eta=2") == "motpe"
    assert check_multi_fidelity("st-moasha") is None  # Syne Tune proposes its own configs


def test_eta_and_first_rung_are_options_of_the_name_and_set_the_rungs():
    spec = parse_multi_fidelity("mo-asha:motpe:eta=2:min=2")
    assert (spec.proposer, spec.eta, spec.min_epochs) == ("motpe", 2, 2)
    assert parse_multi_fidelity(spec.name) == spec  # the name round-trips
    assert parse_multi_fidelity("mo-asha:min=1:eta=3").name == "mo-asha"  # defaults vanish
    assert brackets(spec, 10) == [[2, 4, 8]]
    assert Rungs(parse_multi_fidelity("mo-asha:eta=4"), 20).levels == [[1, 4, 16]]


@pytest.mark.parametrize("name, epochs, fix", [
    ("mo-asha", 1, "train for more --epochs"),
    ("mo-hyperband:min=4", 4, "lower min=4"),
])
def test_epochs_without_a_rung_below_the_last_are_refused(name, epochs, fix):
    with pytest.raises(UsageError, match=f"no rung; {fix}"):
        check_epochs(parse_multi_fidelity(name), epochs)
    check_epochs(parse_multi_fidelity(name), epochs + 1)  # one more epoch makes a rung


def test_mo_asha_stops_most_configs_early_and_records_what_it_observed():
    problem = CurveProblem()
    trace = run_strategy(problem, "mo-asha", 0, 40, OBJECTIVES)
    assert len(trace.points) == 40
    assert set(trace.epochs) <= {1, 3, 9, 10}
    stopped = [i for i, e in enumerate(trace.epochs) if e < 10]
    assert len(stopped) >= 20  # about 2/3 stop at the first rung
    assert trace.rungs["1"] == 40 and trace.rungs["3"] < trace.rungs["1"]
    assert trace.rungs["9"] < trace.rungs["3"]
    # a stopped config's point and cost are its vector at the epoch it stopped, not its final
    finals = {}
    for params, epoch in problem.observed:
        finals.setdefault(tuple(sorted(params.items())), []).append(epoch)
    configs = list(finals)
    for i in stopped[:5]:
        params = dict(configs[i])
        accuracy, seconds = problem.curve(params, trace.epochs[i])
        assert trace.points[i] == pytest.approx([-accuracy, seconds])
        assert trace.cost_s[i] == pytest.approx(seconds)
        assert max(finals[configs[i]]) == trace.epochs[i]  # never trained past its stop


def test_mo_asha_spends_far_less_training_than_random_for_the_same_configs():
    problem = CurveProblem()
    random = run_strategy(problem, "random", 0, 40, OBJECTIVES,
                          cost=lambda trial, _: problem.cost(trial))
    asha = run_strategy(CurveProblem(), "mo-asha", 0, 40, OBJECTIVES)
    assert sum(asha.cost_s) < 0.5 * sum(random.cost_s)


@pytest.mark.parametrize("strategy", ["random", "mo-asha", "mo-hyperband:motpe"])
def test_budget_seconds_caps_the_training_seconds_of_a_run(strategy):
    problem = CurveProblem()
    trace = run_strategy(problem, strategy, 1, 1000, OBJECTIVES,
                         cost=lambda trial, _: problem.cost(trial), budget_seconds=150.0)
    assert 0 < sum(trace.cost_s) <= 150.0
    assert len(trace.points) < 1000


def test_a_config_stopped_early_costs_its_seconds_and_counts_for_no_front():
    """One value for a found configuration: only fully trained configs make the front (the
    rule tune's front and the report apply); a stopped one's cheap vector is not credited."""
    from mobench.compare import indicators as ind

    trace = run_strategy(CurveProblem(), "mo-asha", 0, 1000, OBJECTIVES, budget_seconds=200.0)
    assert trace.full_epochs == 10 and 0 < trace.epochs.count(10) < len(trace.epochs)
    box = np.array([[-1.0, 0.0], [0.0, 50.0]])
    true = np.array([[-1.0, 50.0], [0.0, 0.0]])  # the problem's extremes as its "true front"
    run = analyse([trace], OBJECTIVES, reference_points=box, true_front=true)["runs"][0]
    full = np.array([p for p, e in zip(trace.points, trace.epochs, strict=True) if e == 10])
    reference = ind.nondominated(np.vstack([true, full]))
    low, high = ind.bounds(reference)
    expected = (ind.hypervolume(ind.nondominated(ind.normalise(full, low, high)))
                / ind.hypervolume(ind.normalise(reference, low, high)))
    assert run["hypervolume"][-1] == pytest.approx(expected) and expected < 1
    assert sum(p is not None for p in run["found_points"]) == len(full)
    assert run["stopped"] == len(trace.points) - len(full)
    assert run["front_size"] <= len(full)
    assert all(math.isfinite(h) for h in run["hypervolume"])


def test_multi_fidelity_on_a_grid_table_is_refused_before_anything_runs(tmp_path, monkeypatch,
                                                                        capsys):
    from mobench.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["compare", "mnist-mlp", "--strategies", "random,mo-asha"]) == 2
    err = capsys.readouterr().err
    assert err == ("mobench: error: strategy 'mo-asha' stops trials early and needs learning "
                   "curves: use --problem surrogate (a curves table's surrogate), or --live\n")
    assert not list(tmp_path.iterdir())


def test_syne_tune_domains_sample_inside_the_optuna_distributions():
    pytest.importorskip("syne_tune")
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from mobench.strategies.synetune import syne_domain

    np.random.seed(0)
    cases = [FloatDistribution(1e-4, 1e-1, log=True), FloatDistribution(0.0, 0.5, step=0.1),
             FloatDistribution(0.0, 1.0), IntDistribution(32, 512, step=32),
             IntDistribution(1, 3), IntDistribution(8, 256, log=True),
             CategoricalDistribution(["relu", "tanh"])]
    for distribution in cases:
        domain = syne_domain(distribution)
        values = [domain.sample() for _ in range(200)]
        assert all(distribution._contains(distribution.to_internal_repr(v)) for v in values), \
            distribution
        assert len(set(values)) > 1


def test_syne_tunes_moasha_runs_as_a_baseline_with_its_own_rungs():
    pytest.importorskip("syne_tune")
    first = run_strategy(CurveProblem(), "st-moasha", 3, 40, OBJECTIVES)
    again = run_strategy(CurveProblem(), "st-moasha", 3, 40, OBJECTIVES)
    assert first.points == again.points  # seeded: the same run twice
    assert len(first.points) == 40 and set(first.epochs) <= {1, 3, 9, 10}
    assert first.rungs["1"] == 40 and first.rungs["9"] < first.rungs["3"] < 40
    stopped = [c for c, e in zip(first.cost_s, first.epochs, strict=True) if e < 10]
    assert len(stopped) >= 20


def test_syne_tune_missing_is_one_line(monkeypatch):
    import importlib.util

    from mobench.strategies.multifidelity import check_multi_fidelity

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "syne_tune" else real(name, *a))
    with pytest.raises(UsageError, match="needs Syne Tune: pip install syne-tune"):
        check_multi_fidelity("st-moasha")


@pytest.mark.parametrize("complete", [5, 12])
def test_the_proposer_of_mo_asha_motpe_models_finished_trials_only(monkeypatch, complete):
    """Optuna's TPE fills its "good" group with pruned trials when few are complete (5 of 10
    with 5 complete and 95 pruned). MO-ASHA's proposer sees no stopped trial: with 5 complete
    TPE is still in its random start-up; with 12 it models them, and its good group holds
    complete trials only."""
    from optuna.samplers._tpe import sampler as tpe
    from optuna.trial import TrialState, create_trial

    from mobench.compare.multifidelity import OptunaRungs

    groups = []
    split = tpe._split_trials
    monkeypatch.setattr(tpe, "_split_trials",
                        lambda *args: groups.append(split(*args)) or groups[-1])
    problem = CurveProblem()
    scheduler = OptunaRungs(problem, "mo-asha:motpe", 0, OBJECTIVES)
    rng = np.random.default_rng(0)
    for i in range(complete + 95):
        params = {"x": float(rng.random()), "width": float(rng.random())}
        accuracy, seconds = problem.curve(params, 10 if i < complete else 1)
        scheduler.study.add_trial(create_trial(
            params=params, distributions=problem.distributions,
            **({"values": [accuracy, seconds]} if i < complete else
               {"state": TrialState.PRUNED, "intermediate_values": {1: accuracy}})))
    scheduler.ask()
    assert len(scheduler.study.get_trials(states=(TrialState.PRUNED,))) == 95  # still stored
    if complete < 10:  # optuna's default: 5 of the 10 good trials were pruned ones
        assert not groups
        assert tpe.default_gamma_multiobjective(complete + 95) == 10
    else:
        assert groups and all(below for below, _ in groups)
        assert all(t.state == TrialState.COMPLETE for below, _ in groups for t in below)


def test_st_moasha_lets_a_newcomer_that_dominates_its_rung_go_on():
    """Syne Tune 0.16's bracket reads its priority as ranks, but its non-dominated priority
    returns an order: fed [1, 1], [2, 2], [3, 3] then a newcomer [0, 0] that dominates all,
    upstream stops the newcomer (it reads the last row's index in the order, 2 of 4); the
    baseline's rank priority lets it go on."""
    pytest.importorskip("syne_tune")
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.asha import Bracket
    from syne_tune.optimizer.schedulers.multiobjective.multiobjective_priority import (
        NonDominatedPriority,
    )

    from mobench.strategies.synetune import SyneTuneMOASHA

    vectors = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [0.0, 0.0]]
    upstream = Bracket(1, 10, 3, 0, NonDominatedPriority())
    said = [upstream.on_result(i, 1, dict(zip("ab", v, strict=True)))
            for i, v in enumerate(vectors)]
    assert said[-1] == SchedulerDecision.STOP  # the upstream defect
    baseline = SyneTuneMOASHA(CurveProblem().distributions, ["a", "b"], 10, 1, seed=0)
    handles = [baseline.ask()[0] for _ in vectors]
    assert [baseline.judge(h, 1, v) for h, v in zip(handles, vectors, strict=True)] == \
        [True, False, False, True]


def test_st_moashas_rank_priority_orders_a_front_by_its_epsilon_net():
    """Inside a front, upstream `nondominated_sort` indexes with `compute_epsilon_net`'s ranks
    as if they were its order; the baseline's priority ranks each point by the net's order."""
    pytest.importorskip("syne_tune")
    from syne_tune.optimizer.schedulers.multiobjective.non_dominated_priority import (
        compute_epsilon_net,
        nondominated_sort,
    )

    from mobench.strategies.synetune import rank_priority

    x = np.array([0.0, 0.05, 0.3, 0.6, 0.95, 1.0])
    front = np.c_[x, (1 - x) ** 2]
    net_ranks = compute_epsilon_net(front, dim=0)  # the documented order, as ranks
    assert np.argsort(net_ranks).tolist() == [0, 5, 2, 3, 1, 4]
    assert nondominated_sort(front, dim=0) == [0, 4, 2, 3, 5, 1]  # upstream's mix-up
    assert rank_priority()(front).tolist() == net_ranks.tolist()
    dominated = np.vstack([front + 1.0, front])  # a second front ranks after the first
    assert rank_priority()(dominated).tolist() == [*(net_ranks + 6), *net_ranks]
