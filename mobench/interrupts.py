"""Ctrl-C always ends a run: the interrupt is remembered, not only raised.

Python raises KeyboardInterrupt in whatever code runs when SIGINT arrives. During a build that
is often a destructor or a weakref callback of TensorFlow's objects (Keras' `clear_session`
collects garbage once per model), where Python prints "Exception ignored ... KeyboardInterrupt"
and goes on; or TensorFlow's C++ code, which turns it into another error (a `SystemError`).
So `interruptible()` installs a SIGINT handler that also sets a flag; the loops check it at
safe points (`raise_if_interrupted`: each epoch, each config or trial, each progress step),
and the CLI exits 130 whatever error an interrupt became.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
