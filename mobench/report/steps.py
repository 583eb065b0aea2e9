"""Progress inside a report build: the slow parts (a comparison's plots) say when each unit
is done, so `report` can show progress between sections, not only after each one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ON_STEP: ContextVar[Callable[[], None] | None] = ContextVar("mobench_report_step",
                                                             default=None)


def step_done() -> None:
    """One unit of work finished (a no-op outside `reporting_steps`)."""
    on_step = _ON_STEP.get()
    if on_step is not None:
        on_step()


@contextmanager
def reporting_steps(on_step: Callable[[], None]) -> Iterator[None]:
    token = _ON_STEP.set(on_step)
    try:
        yield
    finally:
        _ON_STEP.reset(token)
