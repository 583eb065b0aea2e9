"""Can the comparison tell promotion rules apart? MO-ASHA's real rule against deliberately
broken ones on the committed surrogates, at equal training seconds.

For each suite: full-fidelity `random`, --seeds x 50 trials, sets the budget C (its median
training seconds, as in `multifidelity_targets.py`, whose set-up it shares). Then, each
with C training seconds and no trial limit that binds:
`mo-asha` (the real rule), `mo-asha/inverted` (keeps the worst 1/eta of a rung),
`mo-asha/coin-flip` (goes on with probability 1/eta, whatever it measured), all with the same
random proposer (`mobench.testing.broken_rules`), and `random` again at C seconds. Scored
under the found rule (only fully trained, feasible configs count: `compare.protocol.found`),
final hypervolume normalised by the surrogate's reference front, as `compare` does.

Printed per suite: the median final hypervolume of each, the one-sided Mann-Whitney p
that the real rule's is larger than each other's, raw and Holm-adjusted over every test of
the run (all suites), and the Vargha-Delaney A12 of the real rule over each other with its
95% interval (`mobench.compare.statistics`). A comparison that cannot put the real rule
above both broken ones is measuring the wrong thing.

Run: python benchmarks/broken_rules.py [--suites mnist-mlp,mnist-cnn,mnist-rnn,mnist-gan]
     [--seeds 20] [--objectives val_accuracy,train_time] [--json PATH]
     python benchmarks/broken_rules.py --reprint PATH [PATH ...]  (the table of earlier runs'
     --json files, Holm over all of them together)
     (each suite's surrogate document must exist: `python -m mobench surrogate SUITE`)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RULES = ("real", "inverted", "coin-flip")
NO_TRIAL_LIMIT = 100_000


def measure(suite_name: str, objective_names: str, seeds: int) -> dict:
    from multifidelity_targets import open_problem, random_reference
    from scipy.stats import mannwhitneyu

    from mobench.compare.protocol import analyse
    from mobench.compare.surrogate_problem import SurrogateProblem
    from mobench.compare.surrogate_store import run_all
    from mobench.testing.broken_rules import run_rule

    suite, objectives, surrogate, _, front = open_problem(suite_name, objective_names)
    t0 = time.perf_counter()
    _, _, seconds = random_reference(surrogate, objectives, seeds, front)
    traces, _ = run_all(surrogate, objectives, "median", ["random"], seeds, NO_TRIAL_LIMIT,
                        front, on_line=lambda _: None, budget_seconds=seconds)
    for rule in RULES:
        for seed in range(seeds):
            problem = SurrogateProblem(surrogate, objectives, seed=seed, front=front)
            traces.append(run_rule(problem, rule, seed, NO_TRIAL_LIMIT, objectives,
                                   budget_seconds=seconds))
    points = np.asarray(front["points"], dtype=float)
    runs = analyse(traces, objectives,
                   reference_points=np.vstack([points, front["low"], front["high"]]),
                   true_front=points)["runs"]
    hv: dict[str, list[float]] = {}
    fully_trained: dict[str, list[int]] = {}
    for run, trace in zip(runs, traces, strict=True):
        hv.setdefault(run["strategy"], []).append(run["hypervolume"][-1])
        full_epochs = trace.full_epochs
        fully_trained.setdefault(run["strategy"], []).append(
            trace.epochs.count(full_epochs) if trace.epochs else len(trace.points))
    tests = {other: float(mannwhitneyu(hv["mo-asha"], hv[other], alternative="greater").pvalue)
             for other in hv if other != "mo-asha"}
    return {"suite": suite.name, "objectives": [o.name for o in objectives], "seeds": seeds,
            "seconds": seconds, "elapsed_s": time.perf_counter() - t0,
            "median_hv": {k: float(np.median(v)) for k, v in hv.items()},
            "median_fully_trained": {k: float(np.median(v)) for k, v in fully_trained.items()},
            "p_real_greater": tests, "hypervolume": hv}


def print_table(results: list[dict]) -> dict[str, float]:
    """The table of `results`, Holm over every test in them; the adjusted p per claim."""
    from mobench.compare.statistics import a12, a12_interval, holm

    claims = [(r["suite"], other, p) for r in results for other, p in r["p_real_greater"].items()]
    adjusted = dict(zip([(s, o) for s, o, _ in claims], holm([p for _, _, p in claims]),
                        strict=True))
    print("| suite | C (s) | strategy | median HV | median fully trained | p (real > it) | "
          "p_holm | A12 (real over it) [95% CI] |")
    print("|" + " --- |" * 8)
    for r in results:
        real = r["hypervolume"]["mo-asha"]
        for name, median in r["median_hv"].items():
            p = r["p_real_greater"].get(name)
            if p is None:
                cells = ("-", "-", "-")
            else:
                other = r["hypervolume"][name]
                low, high = a12_interval(real, other)
                cells = (f"{p:.2g}", f"{adjusted[r['suite'], name]:.2g}",
                         f"{a12(real, other):.2f} [{low:.2f}, {high:.2f}]")
            print(f"| {r['suite']} | {r['seconds']:.0f} | {name} | {median:.3f} | "
                  f"{r['median_fully_trained'][name]:g} | " + " | ".join(cells) + " |")
    return {f"{s} {o}": q for (s, o), q in adjusted.items()}


def main() -> int:
    from multifidelity_targets import add_suite_options

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_suite_options(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--reprint", type=Path, nargs="+", metavar="JSON",
                        help="print the table of earlier runs' --json files instead of running")
    args = parser.parse_args()
    if args.reprint:
        try:
            results = [r for path in args.reprint for r in json.loads(path.read_text())["results"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--reprint: not a --json file of this script ({exc})")
        print_table(results)
        return 0
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (a test needs two samples per side)")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: no folder {args.json.parent}")
    from mobench.console import quiet_tensorflow
    from mobench.suites import get_suite

    quiet_tensorflow()
    results = []
    for suite_name in args.suites.split(","):
        objectives = args.objectives or ",".join(get_suite(suite_name).objectives)
        results.append(measure(suite_name, objectives, args.seeds))
    adjusted = print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"kind": "broken-rules", "results": results,
                                         "p_holm": adjusted}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
