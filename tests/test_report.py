"""The report: loader rows, self-contained HTML (valid PNGs, escaping), Markdown, bad input."""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from mobench.cli.report import add_report_parser, run_report
from mobench.errors import UsageError
from mobench.pareto import minimisation, nondominated_mask
from mobench.report.load import COLUMNS, load_results
from mobench.report.render import md_escape

FIXTURES = Path(__file__).parent / "fixtures" / "results"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVIL = "<script>alert(1)</script>"


def report(argv: list[str]) -> int:
    """`python -m mobench report ...` as cli.main runs it (UsageError -> one line, exit 2)."""
    parser = argparse.ArgumentParser(prog="mobench")
    add_report_parser(parser.add_subparsers(dest="verb", required=True))
    try:
        return run_report(parser.parse_args(["report", *argv]))
    except UsageError as exc:
        print(f"mobench: error: {exc}", file=sys.stderr)
        return exc.exit_code


class Page(HTMLParser):
    """Collects tags, image sources and the decoded text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    status = report([str(FIXTURES), "--out", str(out)])
    return status, (out / "report.html").read_text(), (out / "report.md").read_text()


def copy_fixtures(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)
    return results


def test_load_results_rows_and_columns():
    frame = load_results(FIXTURES)
    assert frame.attrs["problems"] == []
    assert frame["kind"].value_counts().to_dict() == {
        "comparison": 9, "tuning": 7, "profile": 6, "evaluation": 1, "benchmark": 1}
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {"obj.val_accuracy", "obj.peak_memory", "param.activation", "final.hypervolume"} \
        <= set(frame.columns)
    trials = frame[frame["kind"] == "tuning"].set_index("trial")
    assert trials.loc[0, "param.activation"] == EVIL
    assert sorted(trials.index[trials["on_front"].astype(bool)]) == [0, 1, 2]
    assert not trials.loc[4, "feasible"] and trials.loc[4, "obj.train_time"] == 5.0
    assert trials.loc[5, "status"] == "fail" and np.isnan(trials.loc[5, "obj.val_accuracy"])
    profile = frame[frame["kind"] == "profile"]
    assert set(profile["hardware_id"]) == {"cpu-test-laptop-8c", "a100-sxm4-40gbx1"}
    xla_cpu = profile[(profile["mode"] == "xla") & (profile["hardware_id"] != "a100-sxm4-40gbx1")]
    assert xla_cpu["status"].item() == "failed" and np.isnan(xla_cpu["step_time_s"].item())
    gpu = profile[profile["hardware_id"] == "a100-sxm4-40gbx1"]
    gpu_graph = gpu[gpu["mode"] == "graph"]
    assert gpu_graph["energy_j_per_step"].item() == pytest.approx(0.5 / 5)
    bench = frame[frame["kind"] == "benchmark"].iloc[0]
    assert (bench["hardware_id"], bench["mode"], bench["config"]) == (
        "cpu-test-laptop-8c", "graph", "small")
    assert bench["throughput"] == 75000.0 and bench["git_commit"].endswith("+dirty")
    assert bench["obj.throughput"] == 75000.0 and bench["bench_median_s"] == 0.0021
    runs = frame[frame["kind"] == "comparison"]
    assert set(runs["strategy"]) == {"random", "nsga2", "motpe"} and set(runs["trial"]) == {8}
    assert runs["final.hypervolume"].between(0, 1).all()


def test_benchmark_hardware_id_from_folder_and_foreign_benchmark_json(tmp_path):
    doc = json.loads(next((FIXTURES / "benchmarks").rglob("*.json")).read_text())
    del doc["mobench"]["hardware_id"], doc["machine_info"]["hardware_id"]
    del doc["machine_info"]["mobench"]["hardware_id"], doc["benchmarks"][0]["extra_info"][
        "hardware_id"]
    folder = tmp_path / "results" / "benchmarks" / "gpu-from-folder"
    folder.mkdir(parents=True)
    (folder / "0002_run.json").write_text(json.dumps(doc))
    bare = {k: v for k, v in doc.items() if k != "mobench"}
    (folder / "0003_plain.json").write_text(json.dumps(bare))
    frame = load_results(tmp_path / "results")
    assert frame["hardware_id"].tolist() == ["gpu-from-folder"]
    (problem,) = frame.attrs["problems"]
    assert problem[0].endswith("0003_plain.json") and "without a mobench block" in problem[1]


def test_load_results_is_public_lazy_and_dedupes():
    import mobench

    frame = mobench.load_results([FIXTURES, FIXTURES / "runs" / "tune-mnist-mlp-3obj.json"])
    assert frame["source"].nunique() == 6
    code = ("import mobench, sys; assert 'pandas' not in sys.modules\n"
            "import mobench.cli.report; assert 'pandas' not in sys.modules\n"
            f"mobench.load_results({str(FIXTURES)!r}); assert 'matplotlib' not in sys.modules")
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_html_is_self_contained_with_valid_pngs(rendered):
    status, html, _ = rendered
    assert status == 0
    page = parse(html)
    assert page.tags[0] == "html" and "script" not in page.tags and "link" not in page.tags
    # pair projections, parallel coordinates, profiles, hardware ratios, anytime hypervolume
    # against trials and against training time, median attainment surfaces
    assert len(page.images) == 7
    from PIL import Image

    for img in page.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    alts = " ".join(img["alt"] for img in page.images)
    assert "parallel coordinates" in alts and "Pareto projections" in alts
    assert "against training time" in alts and "median attainment surfaces" in alts
    for title in ("Summary", "Provenance", "Pareto fronts of your tuning runs", "Your profiles",
                  "Hardware comparison", "Your strategy comparisons", "Your evaluations"):
        assert title in page.text


def test_results_text_is_escaped(rendered):
    _, html, md = rendered
    assert "<script" not in html.lower() and "<script" not in md.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the param value
    # Jinja2's autoescape (markupsafe) writes quotes as &#34; and &#39;
    assert "&lt;script&gt;alert(&#34;suite&#34;)&lt;/script&gt;" in html  # a suite name
    assert "&lt;script&gt;alert(&#39;strategy&#39;)&lt;/script&gt;" in html  # a strategy
    text = "".join(parse(html).text)
    assert EVIL in text and "<script>alert('strategy')</script>" in text  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def test_markdown_has_the_front_table(rendered):
    _, _, md = rendered
    assert "*Pareto front: 3 member(s), sorted by val_accuracy*" in md
    assert "| strategy | run | trial | val_accuracy | train_time | peak_memory |" in md
    front = md.split("*Pareto front: 3 member(s)")[1].split("\n\n")[1]
    assert [line.split(" | ")[2] for line in front.splitlines()[2:]] == ["1", "0", "2"]
    assert "Fastest hardware per workload" in md and "a100-sxm4-40gbx1" in md


def test_corrupt_and_foreign_files_are_named_and_skipped(tmp_path, capsys):
    results = copy_fixtures(tmp_path)
    good = (results / "runs" / "tune-mnist-mlp-3obj.json").read_text()
    (results / "runs" / "truncated.json").write_text(good[: len(good) // 2])
    (results / "runs" / "recipe.json").write_text(json.dumps({"schema_version": 1,
                                                              "kind": "recipe"}))
    (results / "package.json").write_text(json.dumps({"name": "not-ours"}))
    out = tmp_path / "out"
    assert report([str(results), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "truncated.json: not valid JSON" in err
    assert "recipe.json: unknown document kind 'recipe'" in err
    assert "package.json: not a mobench document" in err
    html = (out / "report.html").read_text()
    text = "".join(parse(html).text)
    assert "Skipped files" in text and "truncated.json" in text and "recipe.json" in text
    assert "Pareto fronts of your tuning runs" in text and "Hardware comparison" in text
    assert (out / "report.md").exists()


def test_strict_exits_2_and_writes_nothing(tmp_path, capsys):
    results = copy_fixtures(tmp_path)
    (results / "runs" / "truncated.json").write_text('{"schema_version": 1, "kind": "prof')
    out = tmp_path / "out"
    assert report([str(results), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "truncated.json" in err and "--strict: no report written" in err
    assert not out.exists()


def test_empty_folder_and_missing_default_exit_2(tmp_path, capsys, monkeypatch):
    empty = tmp_path / "results"
    empty.mkdir()
    assert report([str(empty), "--out", str(tmp_path / "out")]) == 2
    assert f"no mobench results under {empty}/" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    monkeypatch.chdir(tmp_path)
    empty.rmdir()
    assert report([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mobench: error: no mobench results under results/: run `python -m")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["does/not/exist"], "does/not/exist: no such file or folder"),
    ([str(FIXTURES), "--format", "pdf"], "unknown report format 'pdf'; valid formats: html, md"),
    ([str(FIXTURES), "--out", str(FIXTURES / "runs" / "tune-mnist-mlp-3obj.json")],
     "tune-mnist-mlp-3obj.json is a file; give a folder"),
])
def test_usage_errors(capsys, argv, message):
    assert report(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "reading" not in err  # refused before any reading
    assert len(err.strip().splitlines()) == 1


def test_one_hardware_no_hardware_section_and_odd_names_plot(tmp_path):
    runs = tmp_path / "results"
    runs.mkdir()
    shutil.copy(FIXTURES / "runs" / "profile-mnist-mlp-small-cpu.json", runs)
    doc = json.loads((FIXTURES / "runs" / "tune-mnist-mlp-3obj.json").read_text())
    doc["strategy"] = r"$\undefinedcommand{$ | x"  # mathtext must not break a plot
    (runs / "tune.json").write_text(json.dumps(doc))
    assert report([str(runs), "--out", str(tmp_path / "out"), "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Hardware comparison" not in md and "## Pareto fronts of your tuning runs" in md
    assert r"\| x" in md  # the pipe cannot break the table
    assert not (tmp_path / "out" / "report.html").exists()


def test_nondominated_respects_directions():
    values = np.array([[0.9, 2.0], [0.95, 4.0], [0.8, 1.0], [0.85, 3.0], [0.9, 2.0]])
    mask = nondominated_mask(minimisation(values, ["maximize", "minimize"]))
    assert mask.tolist() == [True, True, True, False, True]  # duplicates both stay


def test_md_escape():
    assert md_escape("a|b <i>*x*</i>\n[y]") == r"a\|b &lt;i&gt;\*x\*&lt;/i&gt; \[y\]"


def _wired() -> bool:
    from mobench.cli.parser import build_parser

    try:
        build_parser().parse_args(["report"])
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _wired(), reason="report verb not yet wired into mobench/cli.py")
def test_cli_main_runs_report(tmp_path, capsys):
    from mobench.cli import main

    assert main(["report", str(FIXTURES), "--out", str(tmp_path)]) == 0
    assert str(tmp_path / "report.html") in capsys.readouterr().out
    for name in ("report.html", "report.md"):  # shared like every result, not 0600
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_cost_curves_step_with_cumulative_training_time():
    from mobench.report.comparison import cost_curves

    runs = [{"strategy": "a", "hypervolume": [0.2, 0.5, 0.9], "cumulative_cost_s": [1, 2, 10]},
            {"strategy": "b", "hypervolume": [0.4, 0.4], "cumulative_cost_s": [4, 5]}]
    at, curves = cost_curves(runs, points=21)  # every 0.5 s up to the longest run, 10 s
    assert at[-1] == 10 and set(curves) == {"a", "b"}
    a, b = curves["a"][0], curves["b"][0]
    assert a[at == 0.5][0] == 0.0 and a[at == 1.0][0] == 0.2 and a[at == 1.5][0] == 0.2
    assert a[at == 5.0][0] == 0.5 and a[at == 10.0][0] == 0.9
    assert b[at == 3.5][0] == 0.0 and b[at == 4.5][0] == 0.4
    assert (b[at > 5] == 0.4).all()  # the run had spent its budget: its final front stands
    assert cost_curves([{"strategy": "a", "hypervolume": [1.0], "cumulative_cost_s": [0]}]) \
        is None


def test_median_attainment_surface_in_objective_units():
    from mobench.report.comparison import BEST, median_attainment

    doc = {"normalisation": {"low": [-2.0, 0.0], "high": [0.0, 10.0]},
           "runs": [{"strategy": "s", "front": [[0.0, 1.0]]},
                    {"strategy": "s", "front": [[0.5, 0.5]]},
                    {"strategy": "s", "front": [[1.0, 0.0]]},
                    {"strategy": "old", "front": None}]}
    spec = (("accuracy", "maximize", ""), ("time", "minimize", "s"))
    surfaces = median_attainment(doc, spec)
    assert set(surfaces) == {"s", BEST}
    assert sorted(map(tuple, surfaces[BEST].tolist())) == [(0.0, 0.0), (1.0, 5.0), (2.0, 10.0)]
    # attained by at least 2 of the 3 runs: (0.5, 1) and (1, 0.5) in normalised space;
    # accuracy back in its own units and direction: -(-2 + 0.5 * 2) = 1, -(-2 + 1 * 2) = 0
    got = sorted(map(tuple, surfaces["s"].tolist()))
    assert got == [(0.0, 5.0), (1.0, 10.0)]


HARDWARE = Path(__file__).parent / "fixtures" / "hardware"


def test_hardware_comparison_of_two_machines_end_to_end(tmp_path, capsys):
    """The README's workflow: each machine's results/ folder side by side, one report."""
    laptop, desktop = HARDWARE / "laptop" / "results", HARDWARE / "desktop" / "results"
    assert report([str(laptop), str(desktop), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    summary = md.split("## Summary")[1].split("\n## ")[0]
    assert "| mnist-mlp / small / graph / batch 128 | cpu-test-desktop-16c | 2× | " \
        "cpu-test-desktop-16c, cpu-test-laptop-8c |" in summary
    section = md.split("## Hardware comparison")[1].split("\n## ")[0]
    assert "| cpu-test-laptop-8c | 1 | cpu-test-desktop-16c | 80 k/s | 0.5× | 1.6 ms | 2× |" \
        in section
    assert "Software versions differ" not in section
    # the chart names its baseline: the hardware the ratios are relative to
    assert "Speed per workload relative to cpu-test-desktop-16c, log scale." in section
    html = (tmp_path / "report.html").read_text()
    assert parse(html).text.count("Hardware comparison") >= 1


def test_summary_and_final_table_claim_better_only_with_p_holm_and_a12(tmp_path):
    """A test written without A12 (older documents) gets it, and its interval, from the
    runs at that budget; the summary and the final table carry both beside p_holm."""
    from mobench.compare.statistics import a12_interval

    doc = json.loads((FIXTURES / "comparisons" / "compare-mnist-mlp.json").read_text())
    final = max(f["budget"] for f in doc["final"])
    for run in doc["runs"]:
        run["hypervolume"] = [{"random": 0.5, "nsga2": 0.9, "motpe": 0.7}[run["strategy"]]
                              + run["seed"] / 100] * final
    for f in doc["final"]:
        if f["budget"] == final:
            f["median"] = {"random": 0.5, "nsga2": 0.9, "motpe": 0.7}[f["strategy"]]
            for t in f["tests"]:
                if {t["a"], t["b"]} == {"nsga2", "random"}:
                    t.update(p_holm=0.01, significant=True, better="nsga2")
    (tmp_path / "c.json").write_text(json.dumps(doc))
    assert report([str(tmp_path / "c.json"), "--out", str(tmp_path / "out"),
                   "--format", "md"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    low, high = a12_interval([0.9, 0.91, 0.92], [0.5, 0.51, 0.52])
    evidence = rf"p_holm 0.01, A12 1.00 \[{low:.2f}, {high:.2f}\]"
    summary = md.split("## Summary")[1].split("\n## ")[0]
    assert f"| nsga2 ahead of random ({evidence}) | nsga2: 0.9 after {final} trials |" \
        in summary
    assert "Configurations for" not in summary and "Fastest hardware" not in summary
    # no `normalisation.primary`: an older document keeps its wording
    assert "Median hypervolume as a share of the true front's, higher is better" in summary
    comparisons = md.split("## Your strategy comparisons")[1].split("\n## ")[0]
    assert f"| random ({evidence}, nsga2 better) |" in comparisons


def test_summary_trade_offs_pick_the_best_per_objective():
    import pandas as pd

    from mobench.report.summary import trade_offs

    spec = (("val_accuracy", "maximize", ""), ("train_time", "minimize", "s"))
    front = pd.DataFrame({"obj.val_accuracy": [0.99, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
                          "obj.train_time": [70.0, 20.0, 10.0, 5.0, 4.0, 3.0, 1.0]})
    chosen = trade_offs(front, spec)
    assert len(chosen) == 5
    why = dict((i, w) for w, i in chosen)
    assert why[0] == "most accurate" and why[6] == "fastest to train" and "balanced" in why.values()
    assert [i for _, i in chosen] == sorted(i for _, i in chosen)  # most accurate first
