"""What a comparison ran on, beyond its table: a surrogate's measured fidelity, and for
multi-fidelity strategies how many configurations reached each rung.

Read from a comparison document: `problem.fidelity` (`mobench.compare.surrogate_fidelity`:
{"family", "configs", "folds", "objectives": {name: {"rho_final", "r2_final", "rho_mean",
"r2_mean", "repeat_rho", "rho_best_quarter", "repeat_rho_best_quarter"}}}) and each run's
`rungs` ({epoch: trials recorded there}) and `epochs` (the epoch each trial reached).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mobench.report.formats import fmt
from mobench.report.render import Table
from mobench.report.rows import number


def fidelity_table(problem: dict[str, Any]) -> Table | None:
    fidelity = problem.get("fidelity") if isinstance(problem.get("fidelity"), dict) else None
    objectives = (fidelity or {}).get("objectives")
    if not isinstance(objectives, dict) or not objectives:
        return None
    rows = [[str(name)] + [fmt("", number(s.get(k))) for k in
                           ("rho_final", "r2_final", "rho_mean", "r2_mean", "repeat_rho",
                            "rho_best_quarter", "repeat_rho_best_quarter")]
            for name, s in objectives.items() if isinstance(s, dict)]
    return Table(["objective", "Spearman rho (final epoch)", "R^2 (final)", "rho (mean over "
                  "epochs)", "R^2 (mean)", "rho between two seeds", "rho, best quarter",
                  "two seeds, best quarter"], rows,
                 caption=f"Surrogate fidelity: {fidelity.get('family', '?')} regressors, "
                 f"{fidelity.get('folds', '?')}-fold cross-validation grouped by config over "
                 f"{fidelity.get('configs', '?')} measured configs (out-of-fold predictions); "
                 "the two-seed rho is the ceiling measurement noise puts on any model; the best "
                 "quarter is the quarter of configs best by that objective, where fronts are.")


def rung_table(doc: dict[str, Any]) -> Table | None:
    """Per multi-fidelity strategy: median trials per run reaching each rung and the end."""
    runs = [r for r in doc.get("runs") or [] if isinstance(r, dict)
            and isinstance(r.get("rungs"), dict) and isinstance(r.get("epochs"), list)]
    if not runs:
        return None
    levels = sorted({int(k) for r in runs for k in r["rungs"]})
    last = max(int(e) for r in runs for e in r["epochs"] or [0])
    rows = []
    for strategy in dict.fromkeys(str(r.get("strategy")) for r in runs):
        mine = [r for r in runs if str(r.get("strategy")) == strategy]
        cells = [f"{np.median([number(r['rungs'].get(str(level))) or 0 for r in mine]):g}"
                 for level in levels]
        done = np.median([sum(1 for e in r["epochs"] if e == last) for r in mine])
        started = np.median([len(r["epochs"]) for r in mine])
        rows.append([strategy, f"{started:g}", *cells, f"{done:g}"])
    return Table(["strategy", "configs started", *(f"reached epoch {level}" for level in levels),
                  f"trained to epoch {last}"], rows,
                 caption="Multi-fidelity runs: configurations per run that reached each rung "
                 "(median over seeds); the others were stopped there and cost only the epochs "
                 "they used.")
