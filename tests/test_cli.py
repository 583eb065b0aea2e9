"""The CLI's usage errors: exit status 2 and one line naming the problem and the fix."""

import subprocess
import sys
import time

import pytest

from mobench.cli import main


@pytest.mark.parametrize("argv, message", [
    (["profile", "nope"], "unknown suite 'nope'; valid suites:"),
    (["profile", "mnist-mlp", "--variant", "huge"], "unknown variant 'huge'; valid variants:"),
    (["profile", "mnist-mlp", "--modes", "eager,turbo"], "unknown mode 'turbo'; valid modes:"),
    (["profile", "mnist-mlp", "--modes", ","], "--modes needs at least one of"),
    (["profile", "mnist-mlp", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["profile", "mnist-mlp", "--params", "units_0=4096"], "units_0: 4096 is outside 32..512"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1, err


@pytest.mark.parametrize("argv", [
    ["profile", "mnist-mlp", "--steps", "0"],
    ["profile", "mnist-mlp", "--limit", "-5"],
    ["profile", "mnist-mlp", "--warmup", "x"],
    ["profile", "mnist-mlp", "--params", "novalue"],
    ["frobnicate"],
])
def test_argument_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_is_fast_and_does_not_import_tensorflow():
    code = ("import sys, runpy; sys.argv = ['mobench', '--help']\n"
            "try:\n    runpy.run_module('mobench', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "profile" in out.stdout and "hw" in out.stdout
    print(f"--help took {time.perf_counter() - t0:.2f} s")


def test_suites_listing(capsys):
    assert main(["suites"]) == 0
    out = capsys.readouterr().out
    assert "mnist-mlp" in out and "small" in out


def test_durations_read_as_a_person_writes_them():
    from mobench.display import seconds

    assert [seconds(v) for v in (2.5e-6, 0.0123, 4.567, 599, 1062.4, 12000)] == [
        "2.5 us", "12.3 ms", "4.57 s", "599 s", "17 min 42 s", "3 h 20 min"]
