"""What the terminal shows: TensorFlow's native start-up logs kept off it, and progress.

`quiet_tensorflow()` (called first by `python -m mobench` and by worker processes): on TF 2.21
the C++ lines TensorFlow writes while it loads (`cudart_stub`, `cpu_feature_guard`, `All log
messages before absl::InitializeLog()`, `failed call to cuInit`) ignore `TF_CPP_MIN_LOG_LEVEL`
and every absl/glog environment variable (measured: 0, 2, 3, ABSL_MIN_LOG_LEVEL,
GLOG_minloglevel, ABSL_STDERRTHRESHOLD all still print them), because they are logged before
absl is initialised. So file descriptor 2 is redirected to a temporary file while
`import tensorflow` runs (an import hook; nothing imports TensorFlow early) and while the
physical devices are first listed (cuInit); afterwards the lines that are not such log lines
are written back to stderr. TensorFlow's Python logger is set to ERROR, which hides the
"triggered tf.function retracing" warnings. `MOBENCH_VERBOSE=1` (`--verbose`) keeps it all.

`Progress`: a rich progress bar with ETA when stderr is a terminal and bars are enabled
(`enable_bars()`, done by the CLI), else plain lines through `on_line`, at most one per
`every_s` seconds (every update when `every_s` is 0).

`interruptible()`: Ctrl-C remembered as well as raised, so that one swallowed on its way still
ends the run at the next safe point (see the section at the end).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

VERBOSE_ENV = "MOBENCH_VERBOSE"
# absl/TSL prefixes ("I0000 00:00:1796185097.509958   23054 file.cc:31] ...") and the
# continuation and pre-init lines TensorFlow writes while loading.
NOISE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl"
                   r"|To enable the following instructions|.*\bcuInit\b)")

_BARS = False


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def enable_bars(on: bool = True) -> None:
    """Let `Progress` draw a bar (when stderr is a terminal); the CLI turns this on."""
    global _BARS
    _BARS = on


class _Quiet:
    """`sys.meta_path` hook: the first `import tensorflow` runs with fd 2 captured."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != "tensorflow" or verbose():  # --verbose may come after the hook
            return None
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read as TensorFlow loads
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real = spec.loader.exec_module

        def exec_module(module) -> None:
            with captured_stderr():
                real(module)
                module.get_logger().setLevel("ERROR")  # retracing warnings and friends
                module.config.list_physical_devices()  # cuInit's failure is logged here
        spec.loader.exec_module = exec_module  # this spec's loader instance only
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        return spec


class captured_stderr:
    """Redirect fd 2 to a temporary file; on exit write back the lines that are not
    TensorFlow/absl log lines (Python warnings and errors still show)."""

    def __enter__(self) -> captured_stderr:
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.file = tempfile.TemporaryFile()
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        text = self.file.read().decode("utf-8", "replace")
        self.file.close()
        kept = [line for line in text.splitlines() if line.strip() and not NOISE.match(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up log lines off stderr (unless `MOBENCH_VERBOSE` is set when
    TensorFlow is imported). `import mobench` runs it, so the Python API is as quiet as the
    CLI. Must run before TensorFlow is imported; a no-op if it already is."""
    if "tensorflow" in sys.modules or any(isinstance(f, _Quiet) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Quiet())


def _terminal() -> bool:
    try:
        return _BARS and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of `total` units ("trials", "configs", "runs", "modes") with ETA.

    `advance(status=...)` after each unit: on a terminal the bar shows done/total, the status
    (e.g. front size and hypervolume), elapsed and ETA; elsewhere `on_line` gets
    "[k/N] <line or status> | elapsed 12 s | ETA 30 s", at most once per `every_s` seconds.
    Use as a context manager (the bar is removed at the end).
    """

    def __init__(self, total: int, what: str = "", *, done: int = 0,
                 on_line: Callable[[str], None] | None = print, every_s: float = 0.0) -> None:
        self.total, self.what, self.done, self.start = total, what, done, done
        self.on_line, self.every_s = on_line, every_s
        self.started = time.monotonic()
        self.last_line = self.started
        self._bar = self._task = None
        if _terminal() and on_line is not None:
            try:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as Bar
            except ImportError:
                return
            from rich.console import Console

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(file=sys.stderr), transient=True)
            self._task = self._bar.add_task(what, total=total, completed=done, status="")
            self._bar.start()

    def begin(self, done: int) -> None:
        """Set the units already done when this process started (the first call only)."""
        if self.done == self.start == 0 and not getattr(self, "_begun", False):
            self.done = self.start = done
            if self._bar is not None:
                self._bar.update(self._task, completed=done)
        self._begun = True

    @property
    def live(self) -> bool:
        """A bar is drawn (lines that describe each unit are redundant)."""
        return self._bar is not None

    def eta_s(self) -> float:
        new = self.done - self.start
        elapsed = time.monotonic() - self.started
        return elapsed / new * max(self.total - self.done, 0) if new > 0 else 0.0

    def line(self, text: str = "") -> str:
        from mobench.display import seconds

        elapsed = time.monotonic() - self.started
        eta = self.eta_s()
        eta = ("-" if self.done <= self.start else seconds(eta) if eta >= 1e-3 else "0 s")
        return (f"[{self.done}/{self.total}] {text}".rstrip()
                + f" | elapsed {seconds(elapsed)}"
                + f" | ETA {eta}")

    def advance(self, n: int = 1, *, status: str = "", line: str | None = None,
                done: int | None = None) -> None:
        """`n` more units finished (or `done` in all); `status` for the bar, `line` (default
        `status`) for the plain line. A Ctrl-C swallowed during the unit ends the loop here."""
        raise_if_interrupted()
        self.done = self.done + n if done is None else done
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, status=status)
            return
        now = time.monotonic()
        if self.on_line is not None and (now - self.last_line >= self.every_s
                                         or self.every_s == 0):
            self.last_line = now
            self.on_line(self.line(status if line is None else line))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- Ctrl-C always ends a run: the interrupt is remembered, not only raised ----------------
#
# Python raises KeyboardInterrupt in whatever code runs when SIGINT arrives. During a build that
# is often a destructor or a weakref callback of TensorFlow's objects (Keras' `clear_session`
# collects garbage once per model), where Python prints "Exception ignored ... KeyboardInterrupt"
# and goes on; or TensorFlow's C++ code, which turns it into another error (a `SystemError`).
# So `interruptible()` installs a SIGINT handler that also sets a flag; the loops check it at
# safe points (`raise_if_interrupted`: each epoch, each config or trial, each progress step),
# and the CLI exits 130 whatever error an interrupt became.

_interrupted = False


def interrupted() -> bool:
    """Whether Ctrl-C (or SIGTERM raised as it) arrived since `interruptible()` began."""
    return _interrupted


def note_interrupt() -> None:
    """Remember an interrupt (for a handler of another signal that raises like Ctrl-C)."""
    global _interrupted
    _interrupted = True


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if an interrupt arrived and was swallowed on its way."""
    if _interrupted:
        raise KeyboardInterrupt("interrupted earlier (the first signal was swallowed)")


def _on_sigint(signum, frame) -> None:
    note_interrupt()
    raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[None]:
    """While the block runs (in the main thread), SIGINT raises KeyboardInterrupt and is
    remembered; the previous handler, and the flag as it was, come back afterwards."""
    global _interrupted
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    was, _interrupted = _interrupted, False
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted = was
