"""The `report` verb: its argparse parser and its runner (cheap to import: no pandas here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_RESULTS = Path("results")
DEFAULT_OUT = DEFAULT_RESULTS / "report"


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add `report` to the CLI's verb subparsers."""
    r = subparsers.add_parser(
        "report", help="HTML + Markdown report of everything under results/",
        description="Read mobench results (profile, evaluate and tune documents, strategy "
        "comparisons, pytest-benchmark files) and write a self-contained HTML page and a "
        "Markdown summary. Unreadable files are named and skipped (exit status 1).")
    r.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="result files or folders, *.json read recursively (default: results/)")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help="output folder for report.html and report.md (default results/report/)")
    r.add_argument("--format", default="html,md", metavar="html,md",
                   help="which files to write, comma separated (default html,md)")
    r.add_argument("--strict", action="store_true",
                   help="any unreadable file is an error: exit 2 and write nothing")
    r.add_argument("--no-reference", dest="reference", action="store_false",
                   help="leave out the reference data shipped with mobench (replay tables, "
                   "surrogates, reference comparisons and benchmarks): your runs only")
    return r


def run_report(args: argparse.Namespace) -> int:
    """Write the report; 0 when every file was read, 1 when some were skipped (or the pages
    could not be written after all: a full disk)."""
    from mobench.cli.output import check_output, log
    from mobench.report.build import build_report, check_formats

    paths = list(args.paths) or [DEFAULT_RESULTS]
    if not args.paths and not DEFAULT_RESULTS.exists():
        from mobench.errors import UsageError
        from mobench.report.build import EMPTY_HINT

        raise UsageError(f"no mobench results under {DEFAULT_RESULTS}/: {EMPTY_HINT}")
    check_formats(args.format.split(","))  # bad input before any reading
    check_output(args.out, "--out", folder=True)
    outcome = build_report(
        paths, args.out, formats=args.format.split(","), strict=args.strict,
        reference=args.reference, on_line=log,
        on_problem=lambda p: print(f"mobench: skipped {p.path}: {p.reason}", file=sys.stderr))
    for path in outcome.written:
        print(f"wrote {path}")
    if outcome.problems:
        print(f"mobench: {len(outcome.problems)} file(s) skipped (listed above and in the "
              "report)", file=sys.stderr)
    return outcome.exit_status
