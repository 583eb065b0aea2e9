"""`mobench transfer` and benchmarks/transfer_targets.py for real, on a tiny slice: a
reference table of 8 configs (1 epoch, 100 digits) built here and relabelled as another
machine's (this machine has no second one), carried here by the CLI, then the targets script
continues from that table, rebuilds, and prints every target; a rerun trains nothing.
Subprocesses: TensorFlow's threads are set once per process, from the reference's header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobench.compare.curves_table import load_curves

ROOT = Path(__file__).resolve().parents[1]


def mobench(*argv: str, script: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, script] if script else [sys.executable, "-m", "mobench"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=1800)


@pytest.mark.slow
def test_transfer_and_its_targets_end_to_end(tmp_path):
    ref = tmp_path / "ref-curves.csv"
    built = mobench("table", "mnist-mlp", "--sample", "8", "--epochs", "1", "--dataset",
                    "digits", "--limit", "100", "--threads", "1", "--repeat-every", "0",
                    "--out", str(ref))
    assert built.returncode == 0, built.stderr
    header = json.loads(ref.with_suffix(".json").read_text())
    assert header["threads"]["intra_op"] == 1 and "-t1" in header["hardware_id"]
    header["hardware_id"] = "cpu-reference-test"  # the other machine, for this test
    ref.with_suffix(".json").write_text(json.dumps(header))

    work = tmp_path / "work"
    moved = mobench("transfer", "mnist-mlp", "--table", str(ref), "--calibrate", "3",
                    "--out", str(work / "transferred-curves.csv"))
    assert moved.returncode == 0, moved.stderr
    assert "calibration on 3 configs" in moved.stdout and "survived" in moved.stdout
    table_header, frame = load_curves(work / "transferred-curves.csv")
    assert table_header["hardware_id"] != "cpu-reference-test"
    assert table_header["threads"]["intra_op"] == 1  # the reference's threads, set here
    assert sorted(frame["config_id"]) == list(range(8))
    measured = frame[frame["origin"] == "measured"]
    assert len(measured) >= 3 and set(table_header["transfer"]["calibration_ids"]) <= set(
        measured["config_id"])

    targets = mobench("--table", str(ref), "--calibrate", "3", "--sample", "4", "--work",
                      str(work), script=str(ROOT / "benchmarks" / "transfer_targets.py"))
    assert targets.returncode == 0, targets.stderr
    assert f"{len(measured)} configs measured here already" in targets.stderr  # continued
    out = targets.stdout
    assert "train_time: Spearman predicted vs measured over" in out
    assert "hypervolume of the transferred front / the rebuild's" in out
    assert "training seconds: transfer" in out and "per target, cpu-reference-test" in out
    document = json.loads((work / "transfer-targets.json").read_text())
    assert document["kind"] == "transfer-targets" and document["configs"] == 8
    assert 0 < document["hypervolume"]["ratio"] <= 1
    assert document["seconds"]["rebuild_configs"] == 8
    assert document["seconds"]["transfer_train_s"] <= document["seconds"]["rebuild_train_s"]
    rebuilt = load_curves(work / "rebuild-curves.csv")[1]
    assert (rebuilt["origin"] == "measured").all() and sorted(rebuilt["config_id"]) == list(
        range(8))

    again = mobench("--table", str(ref), "--calibrate", "3", "--sample", "4", "--work",
                    str(work), script=str(ROOT / "benchmarks" / "transfer_targets.py"))
    assert again.returncode == 0, again.stderr
    assert "] calibration:" not in again.stderr and "] rebuild:" not in again.stderr
    assert json.loads((work / "transfer-targets.json").read_text())["seconds"] == \
        document["seconds"]  # nothing trained again: the same measurements
