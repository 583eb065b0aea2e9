"""The console: listing verbs answer without TensorFlow, TensorFlow's start-up logs stay off
stderr (unless --verbose), and progress prints plain lines when stderr is not a terminal."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobench import console
from mobench.console import NOISE, Progress

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
NOISE_MARKS = ("I0000", "E0000", "W0000", "cuInit", "absl")

CHECK = """
import sys
from mobench.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("TF-IMPORTED" if "tensorflow" in sys.modules else "NO-TF", code)
"""


@pytest.mark.parametrize("argv, code", [
    (["suites"], 0), (["suites", "--json"], 0), (["hw"], 0), (["data", "list"], 0),
    (["--help"], 0), (["profile", "--help"], 0), (["profile"], 2),
    (["profile", "mnist-mlp", "--variant", "nosuch"], 2), (["tune", "nosuch"], 2),
    (["tune", "mnist-mlp", "--trials", "0"], 2),
])
def test_listing_verbs_and_argument_errors_do_not_import_tensorflow(argv, code, tmp_path):
    out = subprocess.run([sys.executable, "-c", CHECK, *argv], cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-2:] == ["NO-TF", str(code)], out.stderr


def test_unknown_variant_is_named_before_the_model_is_imported():
    out = subprocess.run([sys.executable, "-m", "mobench", "profile", "mnist-mlp", "--variant",
                          "huge"], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "unknown variant 'huge'; valid variants: large, medium, small" in out.stderr


def test_noise_pattern_matches_tensorflow_start_up_lines_only():
    assert NOISE.match("I0000 00:00:1796185097.509958   23054 cudart_stub.cc:31] Could not")
    assert NOISE.match("E0000 00:00:1796185104.343879   23054 cuda_platform.cc:52] failed call"
                       " to cuInit: INTERNAL")
    assert NOISE.match("WARNING: All log messages before absl::InitializeLog() is called are")
    assert not NOISE.match("mobench: profiling mnist-mlp:small")
    assert not NOISE.match("Traceback (most recent call last):")


def test_captured_stderr_keeps_lines_that_are_not_tensorflow_logs(capfd):
    with console.captured_stderr():
        os.write(2, b"I0000 00:00:1796185097.5  1 cudart_stub.cc:31] noise\nreal problem\n")
    assert capfd.readouterr().err == "real problem\n"


def test_progress_prints_plain_lines_with_eta_when_not_a_terminal():
    lines: list[str] = []
    with Progress(3, "trials", on_line=lines.append) as progress:
        assert not progress.live
        for i in range(3):
            progress.advance(status=f"trial #{i}")
    assert len(lines) == 3 and lines[-1].startswith("[3/3] trial #2 | elapsed ")
    assert "ETA" in lines[-1]
    quiet: list[str] = []
    with Progress(100, "runs", on_line=quiet.append, every_s=3600) as progress:
        for _ in range(100):
            progress.advance()
    assert quiet == []  # periodic: none within the hour


@pytest.mark.slow
def test_profile_prints_no_tensorflow_log_lines(tmp_path):
    cmd = [sys.executable, "-m", "mobench", "profile", "mnist-mlp", "--variant", "small",
           "--dataset", "digits", "--limit", "200", "--steps", "2", "--warmup", "1",
           "--modes", "graph", "--no-peak", "--json", str(tmp_path / "p.json")]
    out = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    noisy = [line for line in out.stderr.splitlines()
             if any(mark in line for mark in NOISE_MARKS)]
    assert noisy == [], out.stderr
    assert "mobench: profiling mnist-mlp:small" in out.stderr
