"""Fronts across hardware, measured: a reference curves table (another machine's) carried to
this one against a full rebuild here (issue 23's targets).

Steps, each resumable, every config trained here once (a config measured for the calibration
or the front serves the rebuild too):
1. `transfer` of the reference's first N configs (`--configs`, default all) with K
   calibration configs (`--calibrate`, default 10): WORK/transferred-curves.csv.
2. The rebuild: every one of those N configs measured here, WORK/rebuild-curves.csv, the
   transfer's measured rows copied; a sample of `--sample` configs (default 50, none of the
   calibration ones, drawn with seed 0) measured first, so `--sample-only` can stop there.
3. Printed with the targets, and written to WORK/transfer-targets.json:
   - Spearman's rho of the predicted against the measured training seconds and latency over
     the sample (target >= 0.9), beside the rho of the reference machine's own costs (what
     the calibration adds) and the median ratio predicted / measured;
   - the hypervolume of the transferred front (its configs at the costs and quality measured
     here) over that of the rebuild's front (target >= 0.95), both normalised to the rebuild
     front's ideal and nadir, reference point 1.1 (`mobench.compare.indicators`);
   - the transfer's training seconds over the rebuild's (target <= 0.2), and wall seconds;
   - the report's per-target answer (`mobench.compare.hardware_fronts`) for the reference
     machine against this one, from the rebuild and from the transferred table.

Run (TensorFlow's threads are set from the reference's header; pin the process and set the
BLAS thread variables yourself, as the reference was built):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        taskset -c 1 python benchmarks/transfer_targets.py --configs 200
WORK defaults to results/transfer/<reference name>-<this hardware id>/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGETS = {"spearman": 0.9, "hypervolume_ratio": 0.95, "seconds_ratio": 0.2}
COSTS = ("train_time", "latency_p50")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", default="mnist-mlp")
    p.add_argument("--table", type=Path, help="the reference curves table (default "
                   "results/tables/SUITE-digits-curves.csv)")
    p.add_argument("--configs", type=int, help="the reference's first N configs (default all)")
    p.add_argument("--calibrate", type=int, default=10)
    p.add_argument("--sample", type=int, default=50, help="configs for the rank correlation")
    p.add_argument("--sample-only", action="store_true",
                   help="measure the sample, not the whole rebuild (no hypervolume target)")
    p.add_argument("--work", type=Path, help="folder of the tables and the document")
    return p.parse_args(argv)


def work_folder(args, ref_path: Path) -> Path:
    """The default WORK: named by the reference and this machine's id under the reference's
    TensorFlow threads (set here, as the transfer would)."""
    from mobench.compare.curves_table import load_header
    from mobench.profiling.hardware import fingerprint, set_threads

    threads = load_header(ref_path).get("threads") or {}
    set_threads(*(t if isinstance(t, int) and t > 0 else None
                  for t in (threads.get("intra_op"), threads.get("inter_op"))))
    name = f"{ref_path.stem.removesuffix('-curves')}-{fingerprint()['hardware_id']}"
    return Path("results") / "transfer" / name


def sample_ids(ids: list[int], calibration: list[int], size: int) -> list[int]:
    pool = sorted(set(ids) - set(calibration))
    rng = np.random.default_rng(0)
    return sorted(int(i) for i in rng.choice(pool, size=min(size, len(pool)), replace=False))


def rank_agreement(result, measured: dict, ids: list[int]) -> dict:
    """Per cost: rho of predicted and of the reference's cost against the measured one."""
    from scipy.stats import spearmanr

    out = {}
    for cost in COSTS:
        ok = [i for i in ids if measured[i].get("status") == "ok"
              and measured[i].get(cost) is not None and cost in result.predicted]
        if len(ok) < 3:
            out[cost] = {"configs": len(ok)}
            continue
        here = np.array([measured[i][cost] for i in ok], dtype=float)
        predicted = result.predicted.loc[ok, cost].to_numpy(float)
        reference = result.reference.configs.loc[ok, cost].to_numpy(float)
        out[cost] = {"configs": len(ok),
                     "spearman": float(spearmanr(predicted, here).statistic),
                     "spearman_reference_cost": float(spearmanr(reference, here).statistic),
                     "median_ratio_predicted_measured": float(np.median(predicted / here)),
                     "median_ratio_reference_measured": float(np.median(reference / here))}
    return out


def hypervolumes(result, measured: dict) -> dict:
    """The transferred front's configs and the rebuild's front, at what was measured here."""
    from mobench.compare.indicators import hypervolume, normalise
    from mobench.compare.transfer import column
    from mobench.pareto import minimisation, nondominated_mask

    names = [column(o.name) for o in result.objectives]
    directions = [o.direction.value for o in result.objectives]
    ok = {i: r for i, r in measured.items() if r.get("status") == "ok"
          and all(r.get(n) is not None for n in names)}
    points = {i: minimisation([r[n] for n in names], directions)[0] for i, r in ok.items()}
    everything = np.array(list(points.values()))
    front = everything[nondominated_mask(everything)]
    low, high = front.min(axis=0), front.max(axis=0)
    moved = [i for i in result.front if i in points]
    rebuild_hv = hypervolume(normalise(front, low, high))
    moved_hv = hypervolume(normalise(np.array([points[i] for i in moved]), low, high)) \
        if moved else 0.0
    return {"objectives": [o.name for o in result.objectives], "rebuild_front": len(front),
            "transferred_front": len(result.front), "transferred_front_measured": len(moved),
            "rebuild": rebuild_hv, "transferred": moved_hv,
            "ratio": moved_hv / rebuild_hv if rebuild_hv > 0 else None}


def seconds(result, measured: dict) -> dict:
    def total(rows, key):
        return float(sum(r.get(key) or 0.0 for r in rows))

    moved = list(result.measured.values())
    return {"transfer_train_s": total(moved, "train_time"),
            "rebuild_train_s": total(measured.values(), "train_time"),
            "transfer_wall_s": total(moved, "wall_time"),
            "rebuild_wall_s": total(measured.values(), "wall_time"),
            "transfer_configs": len(moved), "rebuild_configs": len(measured)}


def per_target(ref_path: Path, *tables: Path) -> list[dict]:
    """The report's answer: the reference table's configs that were rebuilt here, against
    each of `tables` (this machine's)."""
    import pandas as pd

    from mobench.compare.hardware_fronts import answer_text, compare
    from mobench.compare.hardware_points import table_points

    workload, ref_points = table_points(ref_path, json.loads(
        ref_path.with_suffix(".json").read_text()))
    out = []
    for table in tables:
        _, mine = table_points(table, json.loads(table.with_suffix(".json").read_text()))
        shared = ref_points[ref_points["config"].isin(set(mine["config"]))]
        c = compare(workload, pd.concat([shared, mine], ignore_index=True))
        out.append({"table": str(table), "scope": c.scope, "pooling": c.pooling.why,
                    "reachable": c.reachable,
                    "answers": [{"cost": a.cost, "target": f"best {a.fraction:.0%}",
                                 "value": a.target, "winner": a.winner, "ratio": a.ratio,
                                 "best": {h: v[0] for h, v in a.best.items()},
                                 "text": answer_text(a, c.hardware)} for a in c.answers]})
    return out


def verdict(value, target, larger: bool) -> str:
    if value is None:
        return "not measured"
    return "met" if (value >= target if larger else value <= target) else "missed"


def main(argv=None) -> int:
    from mobench.cli.output import check_output
    from mobench.compare.transfer import rebuild, transfer
    from mobench.console import quiet_tensorflow
    from mobench.documents import provenance, write_json
    from mobench.errors import UsageError
    from mobench.profiling.hardware import fingerprint
    from mobench.suites import get_suite

    quiet_tensorflow()
    args = parse_args(argv)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        suite = get_suite(args.suite)
        ref_path = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
        if not ref_path.exists():
            raise UsageError(f"--table {ref_path}: no such file")
        work = check_output(args.work or work_folder(args, ref_path), "--work", folder=True)
        moved = transfer(suite, ref_path, work / "transferred-curves.csv",
                         calibrate=args.calibrate, configs=args.configs, on_line=log)
        ids = [int(i) for i in moved.reference.configs.index]
        sample = sample_ids(ids, moved.calibration_ids, args.sample)
        rebuilt = work / "rebuild-curves.csv"
        measured = rebuild(suite, ref_path, rebuilt, configs=args.configs, first=sample,
                           only=sample if args.sample_only else None, copy_from=moved.out,
                           on_line=log)
    except UsageError as exc:
        print(f"transfer_targets: error: {exc}", file=sys.stderr)
        return 2
    ranks = rank_agreement(moved, measured, sample)
    complete = len(measured) == len(ids)
    volume = hypervolumes(moved, measured) if complete else None
    spent = seconds(moved, measured) if complete else None
    seconds_ratio = spent["transfer_train_s"] / spent["rebuild_train_s"] if spent else None
    answers = per_target(ref_path, *([rebuilt, moved.out] if complete else [moved.out]))
    document = {
        "schema_version": 1, "kind": "transfer-targets", "suite": suite.name,
        "reference": {"table": str(ref_path), "hardware_id": moved.reference.hardware_id},
        "hardware_id": moved.hardware_id, "configs": len(ids), "calibrate": args.calibrate,
        "calibration_ids": moved.calibration_ids, "sample": sample,
        "calibration": moved.calibration.describe(), "rank_agreement": ranks,
        "hypervolume": volume, "seconds": spent, "seconds_ratio": seconds_ratio,
        "per_target": answers, "targets": TARGETS,
        "provenance": provenance(fingerprint(), 0, suite_version=suite.version)}
    write_json(work / "transfer-targets.json", document)
    print(f"{suite.name}: {moved.reference.hardware_id} ({ref_path}) carried to "
          f"{moved.hardware_id}; {len(ids)} configs, K = {args.calibrate}")
    for cost, r in ranks.items():
        rho = r.get("spearman")
        print(f"  {cost}: Spearman predicted vs measured over {r['configs']} sampled configs "
              + (f"{rho:.3f} ({verdict(rho, TARGETS['spearman'], True)} >= 0.9); the "
                 f"reference's own {cost}: {r['spearman_reference_cost']:.3f}; median "
                 f"predicted / measured {r['median_ratio_predicted_measured']:.3f} (reference "
                 f"/ measured {r['median_ratio_reference_measured']:.3f})" if rho is not None
                 else "not measured (fewer than 3 ok)"))
    if volume is not None:
        print(f"  hypervolume of the transferred front / the rebuild's "
              f"({', '.join(volume['objectives'])}): {volume['ratio']:.4f} "
              f"({verdict(volume['ratio'], TARGETS['hypervolume_ratio'], True)} >= 0.95); "
              f"fronts of {volume['transferred_front']} and {volume['rebuild_front']} configs")
        print(f"  training seconds: transfer {spent['transfer_train_s']:.1f} s "
              f"({spent['transfer_configs']} configs) / rebuild {spent['rebuild_train_s']:.1f}"
              f" s ({spent['rebuild_configs']} configs) = {seconds_ratio:.3f} "
              f"({verdict(seconds_ratio, TARGETS['seconds_ratio'], False)} <= 0.2); wall "
              f"{spent['transfer_wall_s']:.0f} s / {spent['rebuild_wall_s']:.0f} s")
    else:
        print("  hypervolume and seconds: not measured (the rebuild is not complete)")
    for block in answers:
        print(f"  per target, {moved.reference.hardware_id} against {moved.hardware_id} "
              f"({block['table']}), {block['scope']}; {block['pooling']}")
        for a in block["answers"]:
            print(f"    {a['target']} ({a['value']:.4g}): {a['text']}")
    print(f"wrote {work / 'transfer-targets.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
