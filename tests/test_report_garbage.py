"""`report` never tracebacks: a document with a value of the wrong type or past any range is
named with the field and skipped (exit 1, the rest rendered; `--strict`: exit 2, nothing
written), and every output path problem is one line. No TensorFlow."""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from mobench.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "results"
DOCUMENTS = ["benchmarks/cpu-test-laptop-8c/0001_fixture.json",
             "comparisons/compare-mnist-mlp.json", "runs/evaluate-script-suite.json",
             "runs/profile-mnist-mlp-small-cpu.json", "runs/tune-mnist-mlp-3obj.json"]
# values of the wrong type, or past any range, for a leaf of a document
WRONG = ["fast", 10**400, "NaN", {"a": [1, {"b": None}]}, [[1, 2], "x"], True, None]


def leaves(node, path=()):
    """Every leaf's path; of a list, its first element's (the others are alike)."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from leaves(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node[:1]):
            yield from leaves(child, (*path, i))
    else:
        yield path, node


def with_value(document: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(document)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = main(["report", *argv])
    except SystemExit as exc:  # argparse
        status = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


@pytest.fixture
def fast_plots(monkeypatch):
    """Plots are made (their data checked) but not drawn to PNG: hundreds of documents."""
    from mobench.report import plots

    monkeypatch.setattr(plots, "to_png", lambda fig: b"")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_any_leaf_of_the_wrong_type_is_named_and_skipped_never_raised(name, tmp_path, capsys,
                                                                      fast_plots):
    document = json.loads((FIXTURES / name).read_text())
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy(FIXTURES / name, folder / "valid.json")
    mutants = {}
    for n, (path, value) in enumerate(leaves(document)):
        # each leaf gets a wrong value in turn, the kinds of wrong values rotating
        wrong = next(w for w in WRONG[n % len(WRONG):] + WRONG if type(w) is not type(value))
        mutants[f"m{n:03d}.json"] = path
        (folder / f"m{n:03d}.json").write_text(json.dumps(with_value(document, path, wrong)))
    status, err = run([str(folder), "--out", str(tmp_path / "out")], capsys)
    assert status in (0, 1)
    skipped = [line for line in err.splitlines() if line.startswith("mobench: skipped ")]
    assert skipped and status == 1
    for line in skipped:  # each names its file
        assert line.split()[2].rstrip(":").endswith(tuple(mutants)), line
    assert "valid.json" not in err
    assert (tmp_path / "out" / "report.html").exists()


CASES = [  # (document, path, value, what the message says)
    ("runs/profile-mnist-mlp-small-cpu.json", ("modes", 0, "step_time", "median_s"), "fast",
     "modes[0].step_time.median_s: 'fast' is not a number"),
    ("runs/evaluate-script-suite.json", ("batch_size",), 10**400,
     "batch_size: 100000000000000000000000000000...(401 characters) is out of range"),
    ("runs/evaluate-script-suite.json", ("batch_size",), 10**30,
     "batch_size: 1e+30 is out of range"),
    ("runs/tune-mnist-mlp-3obj.json", ("trials", 0, "objectives", "val_accuracy"), "NaN",
     "trials[0].objectives.val_accuracy: 'NaN' is not a number"),
    ("runs/tune-mnist-mlp-3obj.json", ("trials", 0, "objectives", "train_time"),
     {"a": [{"b": [1, "x"]}]}, "trials[0].objectives.train_time: {'a': [{'b': [1, 'x']}]}"),
    ("comparisons/compare-mnist-mlp.json", ("final", 0, "median"), "fast",
     "final[0].median: 'fast' is not a number"),
    ("comparisons/compare-mnist-mlp.json", ("runs", 0, "front"), [["fast", 1.0]],
     "runs[0].front[0][0]: 'fast' is not a number"),
    ("runs/profile-mnist-mlp-small-cpu.json", ("modes", 0, "mode"), {"eager": 1},
     "modes[0].mode: {'eager': 1} is not text"),
]


@pytest.mark.parametrize(("name", "path", "value", "message"), CASES,
                         ids=[c[3][:30] for c in CASES])
def test_a_bad_value_is_named_with_its_field_and_the_rest_renders(
        name, path, value, message, tmp_path, capsys, fast_plots):
    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)
    bad = results / name
    bad.write_text(json.dumps(with_value(json.loads(bad.read_text()), path, value)))
    out = tmp_path / "out"
    status, err = run([str(results), "--out", str(out)], capsys)
    assert status == 1
    assert f"mobench: skipped {bad}: " in err and message in err, err
    assert len([line for line in err.splitlines() if line.startswith("mobench: skipped ")]) == 1
    html = (out / "report.html").read_text()
    assert bad.name in html  # listed among the skipped files
    assert "tune-mnist-mlp-3obj.json" in html  # the rest rendered
    # --strict: exit 2 and nothing written
    strict_out = tmp_path / "strict"
    status, err = run([str(results), "--out", str(strict_out), "--strict"], capsys)
    assert status == 2 and "--strict: no report written" in err
    assert not strict_out.exists()


def test_a_document_that_breaks_a_section_is_skipped_and_the_rest_renders(
        tmp_path, monkeypatch, capsys, fast_plots):
    """Whatever a section trips on in a document the loader took, that document is named
    and skipped (tried alone), not the report."""
    from mobench.report import build

    builders = build.section_builders

    def tripping(results):
        if any("evaluate-script" in source for source in results.documents):
            raise TypeError("unorderable garbage")
        return None

    monkeypatch.setattr(build, "section_builders", lambda: [*builders(), (tripping, True)])
    out = tmp_path / "out"
    status, err = run([str(FIXTURES), "--out", str(out)], capsys)
    assert status == 1
    assert "evaluate-script-suite.json: cannot be shown: TypeError: unorderable garbage" in err
    html = (out / "report.html").read_text()
    assert "tune-mnist-mlp-3obj.json" in html  # the rest rendered
    assert "evaluate-script-suite.json" in html  # listed as skipped


# the report's progress: its two opening lines, then "[k/N] ... | elapsed ... | ETA ..." at most
# every few seconds, which a slow machine prints and a fast one does not
PROGRESS = re.compile(r"mobench: (reading |building the report|\[\d+/\d+\] .* \| ETA )")


def one_line(err: str, message: str) -> None:
    assert message in err, err
    said = [line for line in err.strip().splitlines() if not PROGRESS.match(line)]
    assert len(said) == 1, err


def test_out_naming_a_file_or_below_a_file_is_one_line_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    for out in (blocker, blocker / "report"):
        status, err = run([str(FIXTURES), "--out", str(out)], capsys)
        assert status == 2
        one_line(err, f"--out {out}")
    assert blocker.read_text() == "keep"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_an_unwritable_out_folder_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        status, err = run([str(FIXTURES), "--out", str(locked / "report")], capsys)
    finally:
        locked.chmod(0o755)
    assert status == 2
    one_line(err, "is not writable")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_write_that_fails_after_the_checks_is_one_line(code, tmp_path, monkeypatch, capsys,
                                                          fast_plots):
    """A full disk or a mount gone read-only while the report was built."""
    from mobench.report import render

    def failing(path, content):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(render, "write_text", failing)
    status, err = run([str(FIXTURES), "--out", str(tmp_path / "out")], capsys)
    assert status == 1
    one_line(err, f"cannot write the report to {tmp_path / 'out'}: {os.strerror(code)}")
