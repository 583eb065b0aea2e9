"""The `transfer` verb: a curves table of another machine carried to this one, and what
survived of its trade-offs."""

from __future__ import annotations

import argparse
from pathlib import Path

from mobench.cli.output import check_output, log


def run_transfer(args: argparse.Namespace) -> int:
    from mobench.compare.transfer import transfer
    from mobench.suites import get_suite

    if args.out:
        check_output(args.out, "--out")
    suite = get_suite(args.suite, args.suites_dir)
    ref = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    result = transfer(suite, ref, args.out, calibrate=args.calibrate,
                      objectives=args.objectives, configs=args.configs, rounds=args.rounds,
                      check_out=lambda path: check_output(path, "--out"), on_line=log)
    print(transfer_summary(result))
    log(f"wrote {result.out} and {result.out.with_suffix('.json')}")
    return 0


def transfer_summary(result) -> str:
    """The calibration, what was measured, and the trade-offs that survived or appeared."""
    from mobench.compare.transfer import column
    from mobench.display import objective_value, table

    ref, here = result.reference, result.here
    cal = result.calibration.describe()
    ok = [i for i, r in result.measured.items() if r.get("status") == "ok"]
    predicted = len(here) - int((here["origin"] == "measured").sum())
    rebuild = float(here["train_time"].sum())
    lines = [
        f"calibration on {len(result.calibration_ids)} configs ({cal['model']}); penalty: "
        + ", ".join(f"{t} {a:g}" for t, a in cal["alpha"].items()),
        f"measured here: {len(result.measured)} configs ({len(ok)} ok), "
        f"{objective_value('train_time', result.measured_seconds())} of training; predicted: "
        f"{predicted} configs; every config here would train for "
        f"{objective_value('train_time', rebuild)} (measured where measured, else predicted)",
        f"front rounds: {len(result.rounds)}"
        + "".join(f"; round {k + 1} measured {len(ids)}" for k, ids in enumerate(result.rounds))]
    was, now = result.reference_front, result.front
    names = [o.name for o in result.objectives]
    rows = []
    for i in sorted(was | now, key=lambda i: tuple(
            o.minimized(float(here.loc[i, column(o.name)] if i in here.index
                              else ref.configs.loc[i, column(o.name)]))
            for o in result.objectives)):
        fate = "survived" if i in was and i in now else ("appeared" if i in now else "gone")
        mine = [objective_value(n, here.loc[i, column(n)]) if i in here.index else "-"
                for n in names]
        theirs = [objective_value(n, ref.configs.loc[i, column(n)]) for n in names]
        origin = here.loc[i, "origin"] if i in here.index else "failed here"
        rows.append([str(i), fate, *mine, origin, *theirs])
    lines.append(f"trade-offs of {', '.join(names)}: {len(was & now)} survived (on the "
                 f"reference's front, {ref.hardware_id}, and on this one's), "
                 f"{len(now - was)} appeared, {len(was - now)} gone")
    lines.append(table(["config", "trade-off", *(f"{n} here" for n in names), "here is",
                        *(f"{n} {ref.hardware_id}" for n in names)], rows))
    return "\n".join(lines)
