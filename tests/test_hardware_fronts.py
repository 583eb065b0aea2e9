"""Fronts across hardware: which hardware reaches each accuracy target cheapest and by how
much, quality pooled only when the machines agree within the measured noise, measured runs
preferred to predicted ones, tables of one hardware id that disagree flagged, and the report's
section and warnings. Tables are small hand-made curves tables written by the project's CSV
writer; the numbers are chosen so that every answer can be read off them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mobench.compare.appendcsv import Appender, Rows
from mobench.compare.curves_table import cell, csv_fields
from mobench.compare.hardware_fronts import compare, disagreements, side_by_side
from mobench.compare.hardware_points import (
    gather,
    surrogate_points,
    table_points,
    tuning_points,
)
from mobench.report.build import build_report

QUALITY = [0.95, 0.90, 0.80, 0.60]
SECONDS = [10.0, 5.0, 2.0, 1.0]
FIXTURES = Path(__file__).parent / "fixtures"


def write_table(path: Path, hardware: str, *, time_scale=1.0, latency_scale=1.0,
                quality_shift=0.0, noise=0.01, configs=None, origin=None) -> Path:
    """A curves table: config i has QUALITY[i] (minus `quality_shift`) and SECONDS[i] x
    `time_scale`; every config also runs with seed 1, `noise` less accurate."""
    fields = csv_fields(False) + (["origin"] if origin else [])
    header = {"schema_version": 1, "kind": "curves", "suite": "mnist-mlp", "suite_version": 1,
              "dataset": {"name": "digits", "n_train": 300}, "epochs": 2,
              "hardware_id": hardware, "columns": fields}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(header))
    table = Appender(Rows(path), fields)
    table.start()
    for i in configs if configs is not None else range(len(QUALITY)):
        for seed in (0, 1):
            q = QUALITY[i % len(QUALITY)] - quality_shift - noise * seed - 0.001 * (i // 4)
            t = SECONDS[i % len(SECONDS)] * time_scale * (1 + 0.02 * seed) * (1 + i // 4)
            row = {"config_id": i, "seed": seed, "repeat": seed, "status": "ok",
                   "config": json.dumps({"units": 32 * (i + 1)}), "epochs_done": 2,
                   "val_accuracy": q, "val_loss": 1 - q, "train_time": t,
                   "latency_p50": 0.001 * (i + 1) * latency_scale,
                   "peak_memory": 1e6 * (i + 1), "time_curve": [t / 2, t],
                   "val_accuracy_curve": [q, q]}
            if origin:
                row["origin"] = origin(i)
            table.append({k: cell(row.get(k)) for k in fields})
    return path


def points_of(*paths: Path):
    frames = [table_points(p, json.loads(p.with_suffix(".json").read_text())) for p in paths]
    import pandas as pd

    return frames[0][0], pd.concat([f for _, f in frames], ignore_index=True)


def answers(comparison):
    return {(a.cost, a.fraction): a for a in comparison.answers}


def test_the_cheaper_hardware_wins_each_target_by_its_ratio(tmp_path):
    """b trains twice as long and answers in half the latency: a wins every training-time
    target by 2x, b every latency target by 2x; the cheapest config reaching 0.95 less 10%
    (0.855) is config 1 (0.90, 5.05 s), not config 0."""
    workload, points = points_of(write_table(tmp_path / "a.csv", "cpu-a", configs=range(8)),
                                 write_table(tmp_path / "b.csv", "cpu-b", time_scale=2.0,
                                             latency_scale=0.5, configs=range(8)))
    c = compare(workload, points)
    assert c.pooling.pooled and "pooled" in c.pooling.why
    assert c.reachable == pytest.approx(0.95)  # config 0's first run (seed 0; seed 1: 0.94)
    got = answers(c)
    assert set(got) == {(cost, f) for cost in ("train_time", "latency", "peak_memory")
                        for f in (0.01, 0.05, 0.10)}
    for f in (0.01, 0.05):  # configs 0 and 4 reach 0.95 less 1% or 5%; 4 takes twice as long
        a = got[("train_time", f)]
        assert a.winner == "cpu-a" and a.ratio == pytest.approx(2.0)
        assert a.best["cpu-a"][0] == pytest.approx(10.1)  # median of 10 and 10.2 s
    ten = got[("train_time", 0.10)]
    assert ten.best == {"cpu-a": (pytest.approx(5.05), json.dumps({"units": 64}), False),
                        "cpu-b": (pytest.approx(10.1), json.dumps({"units": 64}), False)}
    assert got[("latency", 0.01)].winner == "cpu-b"
    assert got[("latency", 0.01)].ratio == pytest.approx(2.0)
    assert got[("peak_memory", 0.10)].ratio == pytest.approx(1.0)


def test_quality_is_pooled_only_when_the_machines_agree_within_the_noise(tmp_path):
    """b's accuracies are 0.05 lower than a's, five times the seed-to-seed noise: each keeps
    its own, so b (though four times as fast) reaches no config within 1% of the best."""
    configs = list(range(8))
    workload, points = points_of(
        write_table(tmp_path / "a.csv", "cpu-a", configs=configs),
        write_table(tmp_path / "b.csv", "cpu-b", time_scale=0.25, quality_shift=0.05,
                    configs=configs))
    c = compare(workload, points)
    assert not c.pooling.pooled and "differ beyond the measured noise" in c.pooling.why
    one = answers(c)[("train_time", 0.01)]
    assert one.winner == "cpu-a" and "cpu-b" not in one.best
    ten = answers(c)[("train_time", 0.10)]  # 0.855: b's config 0 (0.90) reaches it in
    assert ten.winner == "cpu-b" and ten.ratio == pytest.approx(5.05 / 2.525)  # 2.525 s
    same = compare(*points_of(write_table(tmp_path / "a2.csv", "cpu-a", configs=configs),
                              write_table(tmp_path / "b2.csv", "cpu-b", time_scale=0.5,
                                          quality_shift=0.001, configs=configs)))
    assert same.pooling.pooled  # 0.001 apart: within the 0.01 between seeds


def test_pooling_needs_shared_configs_and_repeats(tmp_path):
    workload, points = points_of(write_table(tmp_path / "a.csv", "cpu-a", configs=[0, 1, 2]),
                                 write_table(tmp_path / "b.csv", "cpu-b", configs=[0, 1, 2]))
    assert "3 configs were measured on more than one hardware" in compare(
        workload, points).pooling.why
    points = points[points["seed"] == 0]  # no repeats: the noise is unknown
    workload, more = points_of(write_table(tmp_path / "c.csv", "cpu-a", configs=range(6)),
                               write_table(tmp_path / "d.csv", "cpu-b", configs=range(6)))
    why = compare(workload, more[more["seed"] == 0]).pooling.why
    assert "0 configs were measured twice on one hardware, too few to know the noise" in why


def test_measured_runs_win_over_predicted_ones_and_predictions_are_said(tmp_path):
    """In a transferred table config 0 was measured and the rest predicted: config 0's
    predicted row (if any) is ignored, and an answer from a predicted config says so."""
    a = write_table(tmp_path / "a.csv", "cpu-a")
    b = write_table(tmp_path / "b.csv", "cpu-b", time_scale=3.0,
                    origin=lambda i: "measured" if i == 0 else "predicted")
    extra = write_table(tmp_path / "b-extra.csv", "cpu-b", time_scale=0.01, configs=[0, 1],
                        origin=lambda i: "predicted")
    workload, points = points_of(a, b, extra)
    c = compare(workload, points)
    rows = c.configs[c.configs["hardware_id"] == "cpu-b"].set_index("config")
    key = json.dumps({"units": 64})  # config 1: predicted only, the median of all 4 runs
    assert rows.loc[key, "predicted"]
    assert rows.loc[key, "train_time"] == pytest.approx(np.median([15, 15.3, 0.05, 0.051]))
    first = rows.loc[json.dumps({"units": 32})]  # config 0: measured, its predictions unused
    assert not first["predicted"] and first["train_time"] == pytest.approx(30.3)
    ten = answers(c)[("train_time", 0.10)]
    assert ten.best["cpu-b"][2] is True and ten.best["cpu-a"][2] is False


def test_tables_of_one_hardware_that_disagree_are_flagged(tmp_path):
    configs = list(range(8))
    a = write_table(tmp_path / "a.csv", "cpu-a", configs=configs)
    slow = write_table(tmp_path / "slow.csv", "cpu-a", time_scale=1.5, configs=configs)
    same = tmp_path / "same.csv"
    shutil.copy(a, same)
    shutil.copy(a.with_suffix(".json"), same.with_suffix(".json"))
    lines = disagreements(points_of(a, slow)[1])
    assert len(lines) == 1 and "cpu-a" in lines[0] and "1.5x as long" in lines[0]
    assert disagreements(points_of(a, same)[1]) == []
    noisy = write_table(tmp_path / "noisy.csv", "cpu-a", time_scale=1.05, configs=configs)
    assert disagreements(points_of(a, noisy)[1]) == []  # 5%: within the 10% floor


def tune_document(hardware: str, seconds: list[float]) -> dict:
    trials = [{"number": i, "state": "complete", "feasible": True, "params": {"units": 32 * i},
               "objectives": {"val_accuracy": q, "train_time": t}}
              for i, (q, t) in enumerate(zip(QUALITY, seconds, strict=True))]
    trials.append({"number": 9, "state": "complete", "feasible": False, "params": {},
                   "objectives": {"val_accuracy": 0.99, "train_time": 0.1}})
    return {"schema_version": 1, "kind": "tuning", "suite": "mnist-mlp", "suite_version": 1,
            "epochs": 2, "dataset": {"name": "digits", "n_train": 300},
            "objectives": [{"name": "val_accuracy", "direction": "maximize", "unit": ""},
                           {"name": "train_time", "direction": "minimize", "unit": "s"}],
            "provenance": {"hardware_id": hardware}, "trials": trials, "pareto_front": []}


def surrogate_document(hardware: str, scale: float) -> dict:
    return {"schema_version": 1, "kind": "surrogate", "suite": "mnist-mlp",
            "dataset": {"name": "digits", "n_train": 300},
            "table": {"epochs": 2, "header_provenance": {"hardware_id": hardware}},
            "fronts": {"val_accuracy,train_time": {
                "objectives": ["val_accuracy", "train_time"],
                "points": [[-q, t * scale] for q, t in zip(QUALITY, SECONDS, strict=True)]}}}


def test_tune_runs_and_surrogates_give_their_own_evidence():
    workload, points = tuning_points(tune_document("cpu-a", SECONDS), "t.json")
    assert workload.evidence == "measured" and len(points) == 4  # the infeasible left out
    assert points["quality"].tolist() == QUALITY
    docs = {"s1.json": surrogate_document("cpu-a", 1.0), "s2.json": surrogate_document(
        "cpu-b", 4.0), "t1.json": tune_document("cpu-a", SECONDS),
        "t2.json": tune_document("cpu-c", [s / 2 for s in SECONDS])}
    found = side_by_side(gather(docs))
    assert [c.workload.evidence for c in found] == ["measured", "surrogate"]
    measured, surrogate = found
    assert measured.hardware == ["cpu-a", "cpu-c"]
    assert answers(measured)[("train_time", 0.01)].winner == "cpu-c"
    assert "5 configs" not in measured.pooling.why and not measured.pooling.pooled
    assert surrogate.hardware == ["cpu-a", "cpu-b"] and not surrogate.pooling.pooled
    assert "predictions" in surrogate.pooling.why
    one = answers(surrogate)[("train_time", 0.01)]
    assert one.winner == "cpu-a" and one.ratio == pytest.approx(4.0)
    assert surrogate_points({"kind": "surrogate", "fronts": {}}, "x") is None


def two_tables_and_a_profile(tmp_path: Path, profiled_on: str) -> Path:
    """results/ with curves tables of cpu-a and cpu-b (twice as slow) and a profile of yours
    measured on `profiled_on`."""
    results = tmp_path / "results"
    write_table(results / "tables" / "a-curves.csv", "cpu-a", configs=range(8))
    write_table(results / "tables" / "b-curves.csv", "cpu-b", time_scale=2.0, configs=range(8))
    profile = json.loads(next((FIXTURES / "hardware" / "laptop" / "results" / "runs")
                              .glob("profile-*.json")).read_text())
    profile["provenance"]["hardware_id"] = profiled_on
    (results / "runs").mkdir()
    (results / "runs" / "mine.json").write_text(json.dumps(profile))
    return results


def test_report_overlays_fronts_and_answers_per_target(tmp_path):
    """Two machines' tables and a profile of yours measured on cpu-b: the fronts are about
    your machine, so they come before the reference section."""
    results = two_tables_and_a_profile(tmp_path, "cpu-b")
    outcome = build_report([results], tmp_path / "out", formats=["md", "html"])
    md = (tmp_path / "out" / "report.md").read_text()
    assert outcome.exit_status == 0
    assert "## Fronts across hardware" in md and "## Hardware consistency" not in md
    part = md.split("## Fronts across hardware")[1].split("\n## ")[0]
    assert "mnist-mlp on digits, 300 training examples, 2 epochs (measured)" in part
    assert "quality pooled across hardware" in part
    assert "| best 1% (≥ 0.9405) | training time | 10.1 s | 20.2 s | cpu-a | 2x | units=32 |" \
        in part
    assert "| best 10% (≥ 0.855) | peak memory (allocator, training) | 977 KiB | 977 KiB | " \
        "tied: cpu-a, cpu-b | 1x |" in part
    assert "Fronts across hardware (reference)" not in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Fronts across hardware" in html and "data:image/png;base64," in html


def test_fronts_of_other_machines_alone_are_folded_as_reference(tmp_path):
    """Shipped tables of two machines, and a profile of yours from a third: nothing about
    your machine, so the fronts sit in the folded reference section, badged."""
    results = two_tables_and_a_profile(tmp_path, "cpu-c")
    build_report([results], tmp_path / "out", formats=["md"])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "\n## Fronts across hardware" not in md
    part = md.split("## Reference results")[1].split("### Fronts across hardware (reference)"
                                                       )[1].split("\n### ")[0]
    assert "mnist-mlp on digits, 300 training examples, 2 epochs (measured)" in part
    assert "| best 1% (≥ 0.9405) (reference) | training time | 10.1 s | 20.2 s | cpu-a | 2x |" \
        in part


def test_report_warns_when_documents_of_one_hardware_id_disagree(tmp_path):
    """Two profiles of one workload on one hardware id, 1.6x apart with IQRs apart; and two
    curves tables of one id whose training seconds differ 1.5x."""
    results = tmp_path / "results"
    source = FIXTURES / "hardware" / "laptop" / "results" / "runs"
    profile = json.loads(next(source.glob("profile-*.json")).read_text())
    (results / "runs").mkdir(parents=True)
    (results / "runs" / "p1.json").write_text(json.dumps(profile))
    for mode in profile["modes"]:
        step = mode.get("step_time")
        if isinstance(step, dict):
            for key in ("median_s", "p25_s", "p75_s", "mean_s", "min_s", "max_s"):
                if isinstance(step.get(key), int | float):
                    step[key] *= 1.6
    (results / "runs" / "p2.json").write_text(json.dumps(profile))
    write_table(results / "tables" / "a-curves.csv", "cpu-a", configs=range(8))
    write_table(results / "tables" / "a2-curves.csv", "cpu-a", time_scale=1.5,
                configs=range(8))
    build_report([results], tmp_path / "out", formats=["md"])
    md = (tmp_path / "out" / "report.md").read_text()
    part = md.split("## Hardware consistency")[1].split("\n## ")[0]
    hw = profile["provenance"]["hardware_id"]
    assert f"{hw}, mnist-mlp" in part and "1.6x apart, beyond their noise" in part
    assert "cpu-a:" in part and "1.5x as long" in part


def test_hardware_are_compared_on_the_configs_they_share(tmp_path):
    """b also ran config 8 (0.948, 0.3 s), which a never tried: like for like, it is left out
    and the answer is config 0's; with fewer than 5 shared configs each keeps its own."""
    a = write_table(tmp_path / "a.csv", "cpu-a", configs=range(6))
    b = write_table(tmp_path / "b.csv", "cpu-b", time_scale=2.0, configs=range(6))
    extra = write_table(tmp_path / "b8.csv", "cpu-b", time_scale=0.01, configs=[8])
    c = compare(*points_of(a, b, extra))
    assert c.scope.startswith("like for like: the 6 configs") and "1 points" in c.scope
    one = answers(c)[("train_time", 0.01)]
    assert one.best["cpu-b"][1] == json.dumps({"units": 32}) and one.winner == "cpu-a"
    few = compare(*points_of(write_table(tmp_path / "a4.csv", "cpu-a", configs=range(4)), b,
                             extra))
    assert few.scope.startswith("each hardware on its own configs: 4 are on every hardware")
    assert answers(few)[("train_time", 0.01)].best["cpu-b"][1] == json.dumps({"units": 288})
