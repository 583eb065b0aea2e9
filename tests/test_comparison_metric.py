"""The comparison's metric and its document: hypervolume normalised to the reference front
(never above 1), the box beside it, found points stored and scored again, the CLI's
--normalisation and --seeds checks, provenance, and benchmarks/reproduce.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mobench.cli import main
from mobench.compare import indicators as ind
from mobench.compare.protocol import analyse, reanalyse
from mobench.compare.trace import RunTrace
from mobench.objectives import parse_objectives

OBJ = parse_objectives("f0:min,f1:min")
TRUE = np.array([[0.0, 1.0], [1.0, 0.0]])


def trace(strategy: str, seed: int, points, feasible=None) -> RunTrace:
    feasible = [True] * len(points) if feasible is None else feasible
    return RunTrace(strategy, seed, [list(map(float, p)) for p in points], feasible,
                    [1.0] * len(points), [0.001] * len(points))


# --- the scales -------------------------------------------------------------------------------


def test_front_scale_runs_from_ideal_to_nadir_with_the_margin() -> None:
    front = np.array([[2.0, 30.0], [4.0, 10.0]])
    box = np.array([[0.0, 0.0], [100.0, 1000.0]])
    scale = ind.make_scale("front", front, box)
    assert scale.low.tolist() == [2.0, 10.0] and scale.high.tolist() == [4.0, 30.0]
    assert scale.front.tolist() == [[0.0, 1.0], [1.0, 0.0]] and scale.reference == 1.1
    # a point at the nadir plus the margin adds nothing; one inside adds its box
    assert scale.anytime(np.array([[4.2, 32.0]]), [True]).tolist() == [0.0]
    # (3, 31) is dominated by (2, 30): normalised (0.5, 1.05), its box 0.6 x 0.05
    inside = scale.anytime(np.array([[3.0, 31.0]]), [True])[0]
    assert scale.front_hypervolume == pytest.approx(0.21)  # 2 x 1.1 x 0.1 - 0.1 x 0.1
    assert inside == pytest.approx(0.6 * 0.05 / 0.21)
    boxed = ind.make_scale("box", front, box)
    assert boxed.low.tolist() == [0.0, 0.0] and boxed.high.tolist() == [100.0, 1000.0]
    # the box is mostly dominated space: the same poor point holds almost all of the front's HV
    assert boxed.anytime(np.array([[3.0, 31.0]]), [True])[0] > 0.95 > 0.2 > inside
    shifted = np.array([[1.0, 5.0], [101.0, 1005.0]])
    flat = ind.make_scale("front", np.array([[2.0, 30.0]]), shifted)
    assert flat.high.tolist() == [102.0, 1030.0]  # flat objectives take the box's span
    flatter = ind.make_scale("front", np.array([[2.0, 30.0]]), np.array([[2.0, 30.0],
                                                                         [2.0, 40.0]]))
    assert flatter.high.tolist() == [3.0, 40.0]  # flat in the box too: a unit span
    with pytest.raises(ValueError, match="unknown normalisation 'ideal'"):
        ind.make_scale("ideal", front, box)


def test_no_hypervolume_exceeds_one_when_runs_beat_the_stored_front() -> None:
    traces = [trace("a", 0, [[0.2, 0.2]]),  # beyond the stored true front
              trace("b", 0, [[0.5, 0.5], [0.0, 0.9]]),
              trace("b", 1, [[1.0, 1.0]])]
    result = analyse(traces, OBJ, true_front=TRUE)
    reference = result["normalisation"]["reference_front"]["points"]
    assert sorted(map(tuple, reference)) == [(0.0, 0.9), (0.2, 0.2), (1.0, 0.0)]
    for run in result["runs"]:
        assert all(0.0 <= h <= 1.0 for h in run["hypervolume"] + run["hypervolume_box"])
    a = result["runs"][0]
    # a's point alone holds most of the reference front's HV, but not all of it
    assert 0.5 < a["hypervolume"][-1] < 1.0
    # a stored front scored alone would put `a` far above 1
    whole = ind.make_scale("front", ind.nondominated(TRUE), TRUE)
    assert whole.anytime(np.array([[0.2, 0.2]]), [True])[0] > 1.0


def test_live_runs_are_scored_against_their_union_and_the_box_stays_beside() -> None:
    traces = [trace("a", 0, [[0.0, 1.0], [1.0, 0.0]]), trace("a", 1, [[0.5, 0.5]]),
              trace("b", 0, [[0.6, 0.6], [9.0, 9.0]], [True, False]),
              trace("b", 1, [[0.7, 0.7]], [False])]
    result = analyse(traces, OBJ)
    norm = result["normalisation"]
    assert not norm["hypervolume_normalised_by_true_front"]
    assert norm["reference_front"]["from"] == "every found point (no true front)"
    assert sorted(map(tuple, norm["reference_front"]["points"])) == [
        (0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    assert norm["ideal"] == [0.0, 0.0] and norm["nadir"] == [1.0, 1.0]
    assert norm["box"] == {"low": [0.0, 0.0], "high": [1.0, 1.0]}  # found points only
    runs = result["runs"]
    assert max(r["hypervolume"][-1] for r in runs) < 1.0  # no run found the whole union
    assert runs[3]["hypervolume"] == [0.0, 0.0] and runs[3]["igd_plus"] is None  # padded
    assert runs[2]["found_points"] == [[0.6, 0.6], None]  # raw points, None where not found
    json.dumps(result, allow_nan=False)  # a run that found nothing still writes


def test_runs_that_finished_no_trial_are_one_line_not_a_crash() -> None:
    from mobench.errors import UsageError

    with pytest.raises(UsageError, match="no run finished a trial within its budget"):
        analyse([trace("a", 0, []), trace("b", 0, [])], OBJ)
    empty = analyse([trace("a", 0, [[0.5, 0.5], [0.2, 0.9]]), trace("b", 0, [])], OBJ)["runs"][1]
    assert empty["hypervolume"] == [0.0, 0.0] and empty["infeasible_share"] is None
    json.dumps(empty, allow_nan=False)


def test_nothing_found_and_no_true_front_scores_zero_everywhere() -> None:
    traces = [trace(s, 0, [[0.5, 0.5], [0.1, 0.9]], [False, False]) for s in ("a", "b")]
    result = analyse(traces, OBJ)
    norm = result["normalisation"]
    assert norm["reference_front"]["points"] == [] and norm["ideal"] is None
    assert norm["box"] == {"low": [0.0, 0.0], "high": [1.0, 1.0]}  # a unit box
    assert all(r["hypervolume"] == [0.0, 0.0] and r["hypervolume_box"] == [0.0, 0.0]
               for r in result["runs"])
    json.dumps(result, allow_nan=False)


def test_box_as_primary_swaps_the_two_hypervolumes() -> None:
    traces = [trace("a", s, [[0.3 + 0.1 * s, 0.6], [0.8, 0.2]]) for s in range(2)]
    box = np.array([[0.0, 0.0], [10.0, 10.0]])
    front = analyse(traces, OBJ, reference_points=box, true_front=TRUE)
    boxed = analyse(traces, OBJ, reference_points=box, true_front=TRUE, normalisation="box")
    assert boxed["normalisation"]["primary"] == "box"
    assert boxed["normalisation"]["low"] == [0.0, 0.0] and boxed["normalisation"]["high"] == [
        10.0, 10.0]
    for f, b in zip(front["runs"], boxed["runs"], strict=True):
        assert b["hypervolume"] == f["hypervolume_box"] and b["hypervolume_front"] == f[
            "hypervolume"]
        assert b["hypervolume"][-1] > f["hypervolume"][-1]  # the box saturates


def test_a_document_is_scored_again_from_its_found_points() -> None:
    rng = np.random.default_rng(2)
    traces = [trace(s, seed, rng.random((6, 2)) + (0.2 if s == "x" else 0.0),
                    list(rng.random(6) > 0.2))
              for s in ("random", "x") for seed in range(4)]
    analysis = analyse(traces, OBJ, reference_points=np.array([[0, 0], [2, 2]]),
                       true_front=TRUE, checkpoints=[3])
    document = {"objectives": [{"name": o.name, "direction": o.direction.value}
                               for o in OBJ], **analysis}
    again = json.loads(json.dumps(reanalyse(document)))
    assert again["final"] == json.loads(json.dumps(analysis["final"]))
    assert [r["hypervolume"] for r in again["runs"]] == [r["hypervolume"]
                                                          for r in analysis["runs"]]
    boxed = reanalyse(document, "box")
    assert [r["hypervolume"] for r in boxed["runs"]] == [r["hypervolume_box"]
                                                         for r in analysis["runs"]]


# --- the CLI and the document -----------------------------------------------------------------

@pytest.fixture
def table(replay_table: Path) -> Path:
    """The shared grid table (conftest): 24 configs, one failed."""
    return replay_table


def compare(table: Path, out: Path, *extra: str) -> int:
    return main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random,nsga2",
                 "--budget", "8", "--seeds", "3", "--out", str(out), *extra])


def test_unknown_normalisation_and_one_seed_are_one_line_and_write_nothing(table, tmp_path,
                                                                           capsys):
    out = tmp_path / "cmp"
    assert compare(table, out, "--normalisation", "ideal") == 2
    assert capsys.readouterr().err == ("mobench: error: --normalisation must be one of front, "
                                       "box, got 'ideal'\n")
    assert compare(table, out, "--seeds", "1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds 1 leaves nothing to test between 2 strategies" in err
    assert not out.exists()
    assert main(["compare", "mnist-mlp", "--table", str(table), "--strategies", "random",
                 "--budget", "3", "--seeds", "1", "--out", str(out)]) == 0  # nothing to test


def test_surrogate_comparisons_default_to_forty_seeds(monkeypatch, tmp_path):
    from mobench.cli import comparing

    seen = []
    monkeypatch.setattr(comparing, "compare_surrogate",
                        lambda args, *_: seen.append(args.seeds) or 0)
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--strategies",
                 "random"]) == 0
    assert seen == [40]


def test_the_document_records_the_metric_versions_and_cpu(table, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert compare(table, out, "--normalisation", "box") == 0
    (path,) = out.glob("compare-*.json")
    doc = json.loads(path.read_text())
    assert doc["normalisation"]["primary"] == "box" and "hypervolume_front" in doc["runs"][0]
    assert doc["statistics"]["correction"].startswith("Holm over every test")
    hardware = doc["provenance"]["hardware"]
    assert hardware["cpu_model"]
    assert {"numpy", "scipy", "scikit_learn", "optuna", "moocore", "pandas"} <= set(
        hardware["versions"])
    printed = capsys.readouterr().out
    assert "tests (Holm over all" in printed and "A12 [95% CI]" in printed


def load_reproduce():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce.py"
    spec = importlib.util.spec_from_file_location("reproduce", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reproduce_reruns_seeds_and_names_the_ones_that_differ(table, tmp_path, capsys):
    reproduce = load_reproduce()
    out = tmp_path / "cmp"
    assert compare(table, out) == 0
    (path,) = out.glob("compare-*.json")
    capsys.readouterr()
    assert reproduce.main([str(path), "--seeds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["random: 0 of 2 seeds differ (largest difference 0)",
                         "nsga2: 0 of 2 seeds differ (largest difference 0)"]
    doc = json.loads(path.read_text())
    run = next(r for r in doc["runs"] if r["strategy"] == "nsga2" and r["seed"] == 1)
    first = next(i for i, p in enumerate(run["found_points"]) if p is not None)
    run["found_points"][first][0] += 1e-6
    path.write_text(json.dumps(doc))
    assert reproduce.main([str(path), "--seeds", "2"]) == 0
    assert "nsga2: 1 of 2 seeds differ (seeds 1; largest difference 1e-06)" in \
        capsys.readouterr().out


def test_reproduce_refuses_live_and_old_documents(table, tmp_path, capsys):
    reproduce = load_reproduce()
    live = tmp_path / "live.json"
    live.write_text(json.dumps({"kind": "comparison", "problem": {"live": True}, "runs": []}))
    assert reproduce.main([str(live)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a live comparison" in err
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"kind": "comparison", "problem": {"table": str(table)},
                               "seeds": 5, "runs": [{"strategy": "random", "seed": 0}]}))
    assert reproduce.main([str(old)]) == 2
    assert "stores no found points" in capsys.readouterr().err


def test_comparison_table_shows_holm_a12_and_the_discrimination_target(tmp_path,
                                                                       capsys):
    from mobench.compare.protocol import final_table

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "comparison_table.py"
    spec = importlib.util.spec_from_file_location("comparison_table", path)
    table_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table_script)
    runs = [{"strategy": s, "seed": i, "hypervolume": [level + 0.01 * i] * 50,
             "hypervolume_box": [0.95 + 0.001 * i] * 50}
            for s, level in (("random", 0.3), ("x", 0.6)) for i in range(5)]
    doc = {"suite": "mnist-mlp", "strategies": ["random", "x"], "budget": 50,
           "objectives": [{"name": "val_accuracy"}, {"name": "train_time"}],
           "normalisation": {"primary": "front"}, "runs": runs,
           "final": final_table(runs, [50])}
    saturated = json.loads(json.dumps(doc))
    saturated["suite"] = "mnist-cnn"
    for row in saturated["final"]:
        row["median"] += 0.6  # random at 0.92: outside the target range
    paths = []
    for i, d in enumerate((doc, saturated)):
        (tmp_path / f"{i}.json").write_text(json.dumps(d))
        paths.append(str(tmp_path / f"{i}.json"))
    assert table_script.main(paths) == 0
    out = capsys.readouterr().out
    # complete separation, 5 against 5, one test in the family: p_holm = 2 / 252
    assert "| mnist-mlp | val_accuracy+train_time | 50 | 0.320 | **0.620** (p_holm 0.0079, " \
        "A12 1.00 [0.6" in out
    assert "random's median HV at 50 = 0.320 (in [0.05, 0.7]; box normalisation 0.952)" in out
    assert "random's median HV at 50 = 0.920 (outside [0.05, 0.7]" in out
    assert "- random's median HV at 50 trials in [0.05, 0.7]: 1 of 2 problems" in out
    assert "x (p_holm 0.0079, A12 1.00" in out and "x better)" in out


def test_reproduce_reruns_a_surrogate_comparison(tmp_path, monkeypatch, capsys):
    from test_surrogate import write_table

    from mobench.compare import surrogate as sg

    reproduce = load_reproduce()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sg, "FRONT_EVALUATIONS", 500)
    table = write_table(tmp_path / "mnist-mlp-digits-curves.csv", n=30)
    assert main(["compare", "mnist-mlp", "--problem", "surrogate", "--table", str(table),
                 "--strategies", "random,nsga2", "--seeds", "2", "--budget", "4",
                 "--out", "cmp"]) == 0
    (path,) = (tmp_path / "cmp").glob("compare-*.json")
    capsys.readouterr()
    assert reproduce.main([str(path), "--seeds", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["random: 0 of 2 seeds differ (largest difference 0)",
                         "nsga2: 0 of 2 seeds differ (largest difference 0)"]
    with table.open("a") as f:  # the table changed since: refused, not rerun on other data
        f.write(table.read_text().splitlines()[-1] + "\n")
    assert reproduce.main([str(path), "--seeds", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "changed since the comparison" in err
