"""Multi-fidelity targets on the surrogate problems, measured side by side in one run.

For each suite: full-fidelity `random`, 20 seeds x 50 trials, gives the reference: its median
final hypervolume H and its median training seconds C. Then `mo-asha`, `mo-hyperband` and
Syne Tune's MOASHA (`st-moasha`) run 20 seeds each with a budget of C training seconds (and
no trial limit that binds), on the same surrogate and objective set, normalised together.
Every hypervolume counts found configurations only (`compare.protocol.found`: fully trained
and feasible): a config stopped at a rung costs its training seconds and adds nothing, the
rule `tune`'s front and the report apply. Printed per suite and strategy:
- the median HV at C/3 and at C training seconds, and its ratio to H;
- the median training seconds a run needed to reach H (runs that never do count as
  infinite), as a fraction of C;
- the median number of configs started and of configs fully trained within C.
Targets (issue: multi-objective early stopping): `mo-asha` reaches H within C/3 on at least
2 of the 4 suites; `mo-asha`'s median HV is at least `st-moasha`'s at equal training seconds
(C/3 and C) on at least 3. The document per suite goes to
results/reference/comparisons/multifidelity-SUITE-OBJ1+OBJ2.json.

Then the tests at equal seconds (C and C/3): each strategy against random cut at the same
seconds, and mo-asha against st-moasha, with p_holm (over every test printed) and A12.

Run: python benchmarks/multifidelity_targets.py [--suites mnist-mlp,...] [--seeds 20]
     [--objectives val_accuracy,train_time]
     (each suite's surrogate document must exist: `python -m mobench surrogate SUITE`)
     python benchmarks/multifidelity_targets.py --reprint DOC [DOC ...]  (the tests only)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STRATEGIES = ("mo-asha", "mo-hyperband", "st-moasha")
BUDGET = 50
NO_TRIAL_LIMIT = 100_000


def hv_at(run: dict, seconds: float) -> float:
    """The run's hypervolume once it had spent `seconds` of training (0 before any trial)."""
    cost = np.asarray(run["cumulative_cost_s"])
    hv = np.asarray(run["hypervolume"])[:len(cost)]
    done = np.flatnonzero(cost <= seconds + 1e-9)
    return float(hv[done[-1]]) if len(done) else 0.0


def seconds_to(run: dict, target: float) -> float:
    cost = np.asarray(run["cumulative_cost_s"])
    hv = np.asarray(run["hypervolume"])[:len(cost)]
    reached = np.flatnonzero(hv >= target - 1e-12)
    return float(cost[reached[0]]) if len(reached) else math.inf


def open_problem(suite_name: str, objective_names: str):
    """(suite, objectives, surrogate, its document, its reference front) of a committed
    surrogate; the script ends with a line when the surrogate document is missing."""
    from mobench.compare.surrogate_store import ensure_front, open_surrogate
    from mobench.objectives import parse_objectives
    from mobench.suites import get_suite

    suite = get_suite(suite_name)
    objectives = parse_objectives(objective_names)
    table = Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    surrogate, document, _, changed = open_surrogate(table, suite, objectives,
                                                     on_line=lambda _: None)
    if changed:
        raise SystemExit(f"{suite.name}: no surrogate document for {table}; run `python -m "
                         f"mobench surrogate {suite.name}` first")
    front, _ = ensure_front(surrogate, document, objectives, on_line=lambda _: None)
    return suite, objectives, surrogate, document, front


def random_reference(surrogate, objectives, seeds: int, front) -> tuple[list, dict, float]:
    """Full-fidelity random, `seeds` x BUDGET trials: its traces, timing and median training
    seconds (C, the budget of the strategies it is compared with)."""
    from mobench.compare.surrogate_store import run_all

    traces, timing = run_all(surrogate, objectives, "median", ["random"], seeds, BUDGET, front,
                             on_line=lambda _: None)
    return traces, timing, float(np.median([sum(t.cost_s) for t in traces]))


def measure(suite_name: str, objective_names: str, seeds: int) -> dict:
    from mobench.compare.protocol import analyse
    from mobench.compare.surrogate_store import run_all

    suite, objectives, surrogate, document, front = open_problem(suite_name, objective_names)
    t0 = time.perf_counter()
    traces, timing, random_cost = random_reference(surrogate, objectives, seeds, front)
    more, more_timing = run_all(surrogate, objectives, "median", list(STRATEGIES), seeds,
                                NO_TRIAL_LIMIT, front, on_line=lambda _: None,
                                budget_seconds=random_cost)
    timing.update(more_timing)
    points = np.asarray(front["points"], dtype=float)
    analysis = analyse([*traces, *more], objectives,
                       reference_points=np.vstack([points, front["low"], front["high"]]),
                       true_front=points)
    runs = analysis["runs"]
    target = float(np.median([r["hypervolume"][len(r["cumulative_cost_s"]) - 1]
                              for r in runs if r["strategy"] == "random"]))
    rows = {}
    for name in STRATEGIES:
        mine = [r for r in runs if r["strategy"] == name]
        rows[name] = {
            "hv_at_third": float(np.median([hv_at(r, random_cost / 3) for r in mine])),
            "hv_at_full": float(np.median([hv_at(r, random_cost) for r in mine])),
            "seconds_to_random_hv": float(np.median([seconds_to(r, target) for r in mine])),
            "configs_started": float(np.median([len(r["cumulative_cost_s"]) for r in mine])),
            "configs_fully_trained": float(np.median([
                sum(e == surrogate.epochs for e in r["epochs"]) for r in mine])),
        }
    return {"schema_version": 1, "kind": "multifidelity-targets", "suite": suite.name,
            "objectives": [o.name for o in objectives], "seeds": seeds,
            "random": {"budget": BUDGET, "median_hv": target,
                       "median_training_seconds": random_cost},
            "strategies": rows, "strategy_time_s": timing,
            "elapsed_s": time.perf_counter() - t0,
            "surrogate": {"table_sha256": document["table"]["sha256"],
                          "fidelity": document["fidelity"]},
            "runs": runs}


def add_suite_options(parser: argparse.ArgumentParser) -> None:
    """--suites, --seeds and --objectives, as this script and broken_rules.py take them."""
    parser.add_argument("--suites", default="mnist-mlp,mnist-cnn,mnist-rnn,mnist-gan")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--objectives", default=None,
                        help="objective set (default: the suite's two objectives)")


def tests_at_equal_seconds(docs: list[dict]) -> list[dict]:
    """Per suite, at C and at C/3 training seconds: each early-stopping strategy against
    full-fidelity random (cut at the same seconds), and mo-asha against st-moasha; two-sided
    Mann-Whitney over seeds with A12 and its interval (`mobench.compare.statistics`), Holm
    over every test of all the documents together."""
    from mobench.compare.statistics import compare_samples, holm

    claims = []
    for doc in docs:
        c = doc["random"]["median_training_seconds"]
        by = {}
        for run in doc["runs"]:
            by.setdefault(run["strategy"], []).append(run)
        pairs = [(name, "random") for name in STRATEGIES] + [("mo-asha", "st-moasha")]
        for label, seconds in (("C", c), ("C/3", c / 3)):
            for a, b in pairs:
                result = compare_samples([hv_at(r, seconds) for r in by[a]],
                                         [hv_at(r, seconds) for r in by[b]])
                claims.append({"suite": doc["suite"], "at": label, "a": a, "b": b, **result})
    for claim, adjusted in zip(claims, holm([c["p"] for c in claims]), strict=True):
        claim["p_holm"] = adjusted
    return claims


def print_tests(claims: list[dict]) -> None:
    print("| suite | at | pair | p | p_holm | A12 (first over second) [95% CI] | verdict |")
    print("|" + " --- |" * 7)
    for c in claims:
        verdict = "no difference"
        if c["p_holm"] < 0.05 and c["better"]:
            verdict = f"{c[c['better']]} better"
        low, high = c["a12_ci"]
        print(f"| {c['suite']} | {c['at']} | {c['a']} vs {c['b']} | {c['p']:.2g} | "
              f"{c['p_holm']:.2g} | {c['a12']:.2f} [{low:.2f}, {high:.2f}] | {verdict} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_suite_options(parser)
    parser.add_argument("--out", type=Path,
                        default=Path("results") / "reference" / "comparisons")
    parser.add_argument("--reprint", type=Path, nargs="+", metavar="DOC",
                        help="only the tests at equal seconds of documents this script wrote")
    args = parser.parse_args()
    if args.reprint:
        try:
            docs = [json.loads(path.read_text()) for path in args.reprint]
            claims = tests_at_equal_seconds(docs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--reprint: not a document of this script ({exc})")
        print_tests(claims)
        return 0
    from mobench.console import quiet_tensorflow
    from mobench.suites import get_suite

    quiet_tensorflow()
    print("| suite | strategy | HV at C/3 / H | HV at C / H | seconds to H / C | configs "
          "started | fully trained | C (s) | H |")
    print("|" + " --- |" * 9)
    reached, beats, docs = set(), {}, []
    for suite_name in args.suites.split(","):
        objectives = args.objectives or ",".join(get_suite(suite_name).objectives)
        doc = measure(suite_name, objectives, args.seeds)
        docs.append(doc)
        args.out.mkdir(parents=True, exist_ok=True)
        name = f"multifidelity-{suite_name}-{objectives.replace(',', '+')}.json"
        (args.out / name).write_text(json.dumps(doc, indent=1) + "\n")
        h, c = doc["random"]["median_hv"], doc["random"]["median_training_seconds"]
        for strategy, row in doc["strategies"].items():
            print(f"| {suite_name} | {strategy} | {row['hv_at_third'] / h:.3f} | "
                  f"{row['hv_at_full'] / h:.3f} | {row['seconds_to_random_hv'] / c:.3f} | "
                  f"{row['configs_started']:g} | {row['configs_fully_trained']:g} | "
                  f"{c:.0f} | {h:.3f} |")
        ours, anchor = doc["strategies"]["mo-asha"], doc["strategies"]["st-moasha"]
        if ours["seconds_to_random_hv"] <= c / 3:
            reached.add(suite_name)
        beats[suite_name] = (ours["hv_at_third"] >= anchor["hv_at_third"]
                             and ours["hv_at_full"] >= anchor["hv_at_full"])
    print()
    print_tests(tests_at_equal_seconds(docs))
    print()
    print(f"- mo-asha reaches random's final median HV within 1/3 of its training seconds on "
          f"{len(reached)} of {len(beats)} suites ({', '.join(sorted(reached)) or 'none'}); "
          "target: at least 2")
    print(f"- mo-asha's median HV >= st-moasha's at C/3 and at C on {sum(beats.values())} of "
          f"{len(beats)} suites; target: at least 3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
