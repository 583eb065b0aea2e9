"""Ctrl-C always ends a build with exit status 130, and what finished is kept: even when the
interrupt lands in a destructor (Python swallows it there) or TensorFlow turns it into another
error."""

from __future__ import annotations

import csv
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mobench import cli
from mobench.console import Progress, interrupted, interruptible, raise_if_interrupted

ROOT = Path(__file__).resolve().parents[1]


class SignalsInDestructor:
    """Sends Ctrl-C to this process while Python runs its `__del__`: the KeyboardInterrupt is
    raised there and Python prints "Exception ignored", as with TensorFlow's objects."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs here, inside the destructor


def test_an_interrupt_swallowed_by_a_destructor_still_ends_the_loop(monkeypatch):
    swallowed = []  # what Python prints as "Exception ignored in ..."
    monkeypatch.setattr(sys, "unraisablehook", lambda u: swallowed.append(u.exc_type))
    done = []
    with interruptible(), pytest.raises(KeyboardInterrupt):
        with Progress(5, "configs", on_line=None) as progress:
            for unit in range(5):
                if unit == 1:
                    SignalsInDestructor()  # collected at once: the interrupt is swallowed
                    gc.collect()
                done.append(unit)
                progress.advance()
    assert swallowed == [KeyboardInterrupt]
    assert done == [0, 1]  # the unit that was running finished, no later one started


def test_the_cli_exits_130_when_the_interrupt_became_another_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "unraisablehook", lambda u: None)
    def verb(args):
        SignalsInDestructor()
        gc.collect()
        raise SystemError("Objects/listobject.c:338: bad argument to internal function")

    monkeypatch.setattr(cli, "verb_runner", lambda name: verb)
    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["hw"]) == 130
    assert capsys.readouterr().err.strip().endswith("mobench: interrupted")
    assert signal.getsignal(signal.SIGINT) is before and not interrupted()  # as it was


def test_an_interrupt_swallowed_to_the_end_still_exits_130(monkeypatch):
    monkeypatch.setattr(sys, "unraisablehook", lambda u: None)
    def verb(args):
        SignalsInDestructor()
        gc.collect()
        return 0

    monkeypatch.setattr(cli, "verb_runner", lambda name: verb)
    assert cli.main(["hw"]) == 130


def test_other_errors_are_not_taken_for_interrupts(monkeypatch):
    def verb(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(cli, "verb_runner", lambda name: verb)
    with pytest.raises(SystemError, match="a real bug"):
        cli.main(["hw"])
    with interruptible():
        assert not interrupted()
        raise_if_interrupted()  # nothing to raise


# --- a real grid table build, interrupted at several points ---------------------------------

GRID = ["--grid", "units_0=32,64,96", "--grid", "num_layers=1", "--grid", "learning_rate=0.001",
        "--grid", "dropout=0.0"]


def build(out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "mobench", "table", "mnist-mlp", "--dataset", "digits",
               "--limit", "64", "--epochs", "1", *GRID, "--out", str(out)]
    return subprocess.Popen(command, cwd=out.parent, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def interrupt_when(process: subprocess.Popen, seen, delay_s: float = 0.0) -> tuple[int, str]:
    """SIGINT once a stderr line satisfies `seen` (and `delay_s` later); (status, stderr)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while not any(seen(line) for line in list(lines)) and process.poll() is None:
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.02)
    time.sleep(delay_s)
    process.send_signal(signal.SIGINT)
    status = process.wait(timeout=120)
    reader.join(timeout=10)
    return status, "".join(lines)


def complete_rows(out: Path) -> list[dict]:
    """The table's rows; every one complete (all its fields, a status)."""
    if not out.exists():
        return []
    with out.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), rows
    body = [dict(zip(header, r, strict=True)) for r in body]
    assert all(r["status"] == "ok" for r in body)
    return body


@pytest.mark.slow
@pytest.mark.parametrize(("point", "seen", "delay_s"), [
    ("start-up and data load", lambda line: True, 0.0),  # at its first line of output
    ("the first run", lambda line: "configs," in line, 0.3),
    ("between runs", lambda line: "[1/3]" in line, 0.0),
])
def test_ctrl_c_ends_a_grid_table_build_with_130_and_keeps_finished_rows(
        point, seen, delay_s, tmp_path):
    out = tmp_path / "t.csv"
    process = build(out)
    if point == "start-up and data load":  # before any line: the interpreter is importing
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        status, err = process.wait(timeout=120), process.stderr.read()
    else:
        status, err = interrupt_when(process, seen, delay_s)
    assert status == 130, err
    assert "mobench: interrupted" in err and "wrote" not in err
    rows = complete_rows(out)
    if point == "between runs":
        assert len(rows) >= 1  # the finished config is kept
        # the same command resumes: the kept rows are not run again, the table completes
        again = build(out)
        _, rest = again.communicate(timeout=300)
        assert again.returncode == 0, rest
        assert f"{len(rows)} already done" in rest
        final = complete_rows(out)
        assert final[:len(rows)] == rows and len(final) == 3
