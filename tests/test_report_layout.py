"""The report's layout: your runs first, reference data folded and badged (and optional),
identical runs once, no stale comparison, every heading naming its problem, honest fronts."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from test_report import FIXTURES, parse, report

ROOT = Path(__file__).resolve().parents[1]
TUNING = json.loads((FIXTURES / "runs" / "tune-mnist-mlp-3obj.json").read_text())
COMPARISON = json.loads((FIXTURES / "comparisons" / "compare-mnist-mlp.json").read_text())
METHOD = "tf-bfc-cpu-allocator-peak"


def section(md: str, title: str) -> str:
    return md.split(f"## {title}")[1].split("\n## ")[0]


def write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def with_method(document: dict, method: str | None) -> dict:
    """A pytest-benchmark run recording `method` as its peak-memory method (None: a run made
    before mobench recorded it)."""
    document = copy.deepcopy(document)
    for bench in document["benchmarks"]:
        bench["extra_info"].pop("peak_memory_method", None)
        if method is not None:
            bench["extra_info"]["peak_memory_method"] = method
    return document


def shipped_benchmarks(tmp_path: Path, scale_throughput: float, method: str | None,
                       reference_method: str | None = METHOD) -> Path:
    """results/ with the committed tables and reference benchmark (recording
    `reference_method`), plus a run of yours on the same workloads (throughput scaled;
    `method`: the peak-memory method it records)."""
    results = tmp_path / "results"
    shutil.copytree(ROOT / "results" / "benchmarks", results / "benchmarks")
    shutil.copytree(ROOT / "results" / "tables", results / "tables",
                    ignore=shutil.ignore_patterns("*.csv"))
    reference = next((results / "benchmarks").rglob("*_reference.json"))
    shipped = json.loads(reference.read_text())
    write(reference, with_method(shipped, reference_method))
    mine = with_method(shipped, method)
    for bench in mine["benchmarks"]:
        bench["extra_info"]["throughput"] *= scale_throughput
    write(reference.parent / "0002_mine.json", mine)
    return results


def test_reference_is_folded_badged_compared_and_optional(tmp_path, capsys):
    results = shipped_benchmarks(tmp_path, 2.0, METHOD)  # measured as the reference was
    shipped = copy.deepcopy(COMPARISON)  # a shipped comparison: its tables badged too
    write(results / "reference" / "comparisons" / "c.json", shipped)
    assert report([str(results), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "reading " in err and " files under " in err  # progress while loading
    html = (tmp_path / "out" / "report.html").read_text()
    md = (tmp_path / "out" / "report.md").read_text()
    ref_html = html[html.index('<section id="reference"'):html.index('<section id="provenance"')]
    assert ref_html.index("<details>") < ref_html.index("<table>")  # folded
    assert 'details class="inner"' in ref_html and "median HV" in ref_html
    # every row of every reference table carries the badge
    for table in ref_html.split("<tbody>")[1:]:
        rows = table.split("</tbody>")[0].count("<tr")
        assert rows and table.split("</tbody>")[0].count('<span class="badge">reference') == rows
    shipped = section(md, "Reference results")
    assert "replay table" in shipped and "reference benchmark run" in shipped
    assert "0002_mine.json" not in shipped.split("Reference documents")[1]
    # yours ÷ reference: 2x the throughput, the same way measured
    assert "| 2× | 2× | 1× | 1× | compared |" in shipped
    summary = section(md, "Summary")
    assert "(reference data): median speed ratio 2×" in summary
    assert "0002_mine.json" in section(md, "Provenance")
    # --no-reference: the reference is gone from every part of the page
    assert report([str(results), "--out", str(tmp_path / "own"), "--no-reference"]) == 0
    own = (tmp_path / "own" / "report.md").read_text()
    assert "Reference results" not in own and "reference" not in section(own, "Summary")
    assert "0001_reference.json" not in own


def test_a_reference_measured_differently_gets_no_ratio(tmp_path):
    results = shipped_benchmarks(tmp_path, 1.4, METHOD, reference_method=None)
    assert report([str(results), "--out", str(tmp_path / "out"), "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    shipped = section(md, "Reference results")
    assert "not compared: measured differently: yours schema 1, peak memory by " \
        "tf-bfc-cpu-allocator-peak; reference schema 1, peak memory by a method not " \
        "recorded" in shipped
    assert "1.4×" not in md and "compared |" not in shipped
    assert "were not compared with the reference run (reference data)" in section(md, "Summary")


def test_identical_comparisons_are_kept_once_with_their_count(tmp_path):
    results = tmp_path / "results"
    write(results / "comparisons" / "a.json", COMPARISON)
    later = copy.deepcopy(COMPARISON)
    later["provenance"]["created_at"] = "2099-01-01T00:00:00+00:00"
    write(results / "comparisons" / "b.json", later)
    other = copy.deepcopy(COMPARISON)
    other["budget"] = 4  # other settings: its own experiment
    write(results / "comparisons" / "c.json", other)
    assert report([str(results), "--out", str(tmp_path / "out"), "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    summary = section(md, "Summary")
    assert summary.count("### Strategies compared on") == 2
    assert "(latest of 2 identical runs)" in summary
    comparisons = section(md, "Your strategy comparisons")
    assert "b.json (latest of 2" in comparisons and "a.json" not in comparisons
    assert f"| {results / 'comparisons' / 'a.json'} | {results / 'comparisons' / 'b.json'} |" \
        in section(md, "Provenance")


def test_headings_name_their_problem_and_never_repeat(tmp_path):
    results = tmp_path / "results"
    surrogate = copy.deepcopy(COMPARISON)
    surrogate["problem"] = {**surrogate["problem"], "kind": "surrogate"}
    noisy = copy.deepcopy(COMPARISON)
    noisy["problem"]["noise"] = "sample"  # same title, other settings
    for name, doc in (("a", COMPARISON), ("b", surrogate), ("c", noisy)):
        write(results / f"{name}.json", doc)
    assert report([str(results), "--out", str(tmp_path / "out"), "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    headings = [line for line in section(md, "Your strategy comparisons").splitlines()
                if line.startswith("### ")]
    assert len(headings) == len(set(headings)) == 3
    assert any("surrogate of" in h for h in headings)
    assert all("mnist-mlp: accuracy ↑, training time ↓" in h for h in headings)
    assert sum(r"c.json\]" in h or r"a.json\]" in h for h in headings) == 2  # md-escaped


def tuning(epochs: int, trials: list[dict], **extra) -> dict:
    doc = copy.deepcopy(TUNING)
    doc.update(epochs=epochs, trials=trials, strategy="motpe", **extra)
    doc["objectives"] = doc["objectives"][:2]
    doc["constraints"] = []
    doc["study_name"] = f"study-{epochs}"
    return doc


def trial(number: int, accuracy: float, seconds: float, params: dict, **extra) -> dict:
    values = {"val_accuracy": accuracy, "train_time": seconds}
    return {"number": number, "state": "complete", "params": params, "objectives": values,
            "feasible": True, "duration_s": seconds, **extra}


MLP = {"num_layers": 1, "units_0": 64, "units_1": 192, "units_2": 224}
CONDITIONS = {"units_1": {"num_layers": [2, 3]}, "units_2": {"num_layers": [3]}}


def test_fronts_state_epochs_hide_inactive_hps_and_plot_stopped_trials(tmp_path):
    results = tmp_path / "results"
    stopped = {"number": 2, "state": "pruned", "params": {**MLP, "num_layers": 3},
               "objectives": {}, "feasible": False, "stopped_at_epoch": 1,
               "stopped_values": {"val_accuracy": 0.99, "train_time": 0.5}}
    write(results / "one.json", tuning(1, [trial(0, 0.8, 2.0, MLP),
                                           trial(1, 0.9, 3.0, {**MLP, "num_layers": 2})],
                                       conditions=CONDITIONS))
    write(results / "four.json", tuning(4, [trial(0, 0.95, 9.0, {**MLP, "num_layers": 3}),
                                            stopped], conditions=CONDITIONS, rungs={"1": 2}))
    assert report([str(results), "--out", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    summary = section(md, "Summary")
    # two problems, never pooled: 1 and 4 epochs, each stated
    assert "### Configurations for mnist-mlp: accuracy ↑, training time ↓ on digits, 1 epoch" \
        in summary
    assert "on digits, 4 epochs (cpu-test-laptop-8c)" in summary
    # the stopped trial (0.99 in 0.5 s) would dominate: it is no candidate
    four = summary.split("4 epochs")[1]
    assert "99" not in four and "1 stopped early are not candidates" in four
    # inactive hyperparameters hidden: units_1/units_2 only where num_layers uses them
    assert "| 80.0% | 2 s | fastest to train | motpe, trial 0 | num_layers=1, units_0=64 |" \
        in summary
    assert "num_layers=2, units_0=64, units_1=192 |" in summary
    assert "num_layers=3, units_0=64, units_1=192, units_2=224 |" in summary
    fronts = section(md, "Pareto fronts of your tuning runs")
    assert "1 trial(s) stopped early drawn as the epoch they reached (not front members)" \
        in fronts
    assert "the front holds fully trained configurations only (4 epochs)" in fronts
    front_1 = fronts.split("*Pareto front: 2 member(s)")[1].split("\n\n")[1]
    assert front_1.splitlines()[0].endswith("| num_layers | units_0 | units_1 |")  # no units_2
    assert "| motpe | one | 0 | 80.0% | 2 s | 1 | 64 | - |" in front_1


def test_surrogate_of_a_replay_table_is_reference(tmp_path):
    from mobench.report.load import collect

    surrogate = json.loads((ROOT / "results" / "surrogates" / "mnist-mlp-digits.json")
                           .read_text())
    write(tmp_path / "surrogates" / "shipped.json", surrogate)
    mine = copy.deepcopy(surrogate)
    mine["table"]["path"] = "/home/me/my-curves.csv"
    write(tmp_path / "surrogates" / "mine.json", mine)
    results = collect([tmp_path])
    assert {Path(s).name: why for s, why in results.reference.items()} == {
        "shipped.json": "surrogate of a replay table"}


def test_hypervolume_above_one_is_not_called_a_share(tmp_path):
    live = copy.deepcopy(COMPARISON)
    live["normalisation"]["hypervolume_normalised_by_true_front"] = False
    for f in live["final"]:
        f["median"] = 1.19
    write(tmp_path / "live.json", live)
    assert report([str(tmp_path / "live.json"), "--out", str(tmp_path / "out"),
                   "--format", "md"]) == 0
    summary = section((tmp_path / "out" / "report.md").read_text(), "Summary")
    assert "1.19 (not a share) after" in summary and "a share of" not in summary


@pytest.mark.parametrize("value, text", [(1e5, "100,000"), (123456.7, "123,457"),
                                         (2.5e-5, "0.000025"), (0.1234567, "0.1235"),
                                         (0.0, "0"), (-3000.0, "-3,000"), (12.0, "12")])
def test_tick_labels_are_plain_numbers(value, text):
    from mobench.report.plots import plain_number

    assert plain_number(value) == text


def test_html_of_the_summary_wraps_configs_under_their_values(tmp_path):
    results = tmp_path / "results"
    write(results / "one.json", tuning(1, [trial(0, 0.8, 2.0, MLP)], conditions=CONDITIONS))
    assert report([str(results), "--out", str(tmp_path / "out"), "--format", "html"]) == 0
    html = (tmp_path / "out" / "report.html").read_text()
    summary = html[html.index('<section id="summary"'):html.index("</section>")]
    assert '<div class="table-wrap fit">' in summary
    row = summary.index("<td>80.0%</td>")
    note = summary.index('<tr class="note"><td colspan="4">')
    assert row < note and "num_layers=1, units_0=64" in parse(summary[note:]).text[1]


def test_comparison_fields_of_the_new_statistics_are_read_or_ignored(tmp_path):
    doc = copy.deepcopy(COMPARISON)
    doc["normalisation"]["primary"] = "front"
    for run in doc["runs"]:
        run["hypervolume_box"] = [min(1.0, 1.2 * v) for v in run["hypervolume"]]
    final = max(f["budget"] for f in doc["final"])
    for f in doc["final"]:
        for t in f["tests"]:
            t.update(a12=0.81, a12_ci=[0.6, 0.95], method="exact")
            if f["budget"] == final and {t["a"], t["b"]} == {"nsga2", "random"}:
                t.update(p_holm=0.01, significant=True, better="nsga2")
    write(tmp_path / "c.json", doc)
    assert report([str(tmp_path / "c.json"), "--out", str(tmp_path / "out"),
                   "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    summary = section(md, "Summary")
    assert "Median hypervolume as a share of the reference front's hypervolume (the reference " \
        "front: the true front plus every point found), higher is better" in summary
    assert "a share of the true front's" not in md  # the older wording is for older documents
    # the box hypervolume beside the primary one: 1.2 x each run's, capped at 1
    assert "0.794 (box 0.952) after" in summary
    comparisons = section(md, "Your strategy comparisons")
    assert r"random (p_holm 0.01, A12 0.81 \[0.60, 0.95\], nsga2 better)" in comparisons
    assert "| strategy | median HV | median HV (box) | HV IQR |" in comparisons
