"""`python -m mobench <verb>` (and the `mobench` script): parse, run the verb, turn mobench's
errors into one line and an exit status.

Heavy imports (TensorFlow, keras-tuner) happen inside the verbs, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from mobench.cli.parser import build_parser
from mobench.errors import MobenchError, UsageError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from mobench.console import (
        VERBOSE_ENV,
        enable_bars,
        interrupted,
        interruptible,
        quiet_tensorflow,
    )

    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"  # worker processes inherit it
    quiet_tensorflow()  # before anything imports TensorFlow
    enable_bars()
    with interruptible():
        try:
            status = verb_runner(args.verb)(args)
        except KeyboardInterrupt:
            status = None
        except Exception as exc:
            if not interrupted():  # else TensorFlow made the interrupt another error
                return report_error(exc)
            status = None
        # a verb that said so itself returns 130; one swallowed until the end still counts
        if status is None or (interrupted() and status != 130):
            print("mobench: interrupted", file=sys.stderr)
            return 130
        return status


def report_error(exc: Exception) -> int:
    """mobench's errors as one line and their exit status; anything else is a bug: raised."""
    if isinstance(exc, UsageError):
        print(f"mobench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, MobenchError):
        print(f"mobench: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    raise exc


def verb_runner(verb: str) -> Callable[[argparse.Namespace], int]:
    """`run_<verb>` from the module that holds it (imported only when that verb runs)."""
    if verb == "tune":
        from mobench.cli import tuning as module
    elif verb in ("compare", "surrogate"):
        from mobench.cli import comparing as module
    elif verb == "report":
        from mobench.cli import report as module
    elif verb == "transfer":
        from mobench.cli import transferring as module
    else:
        from mobench.cli import commands as module
    return getattr(module, f"run_{verb}")
