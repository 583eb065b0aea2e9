"""The README's surrogate fidelity table from surrogate documents, and issue 20's target.

    python benchmarks/fidelity_table.py results/surrogates/*.json

One row per (suite, objective) of each document: the family the document was fitted with,
out-of-fold Spearman rho and R^2 at the final epoch, rho within the best quarter of configs
(where fronts are) and the same two rhos between two seeds of the repeated configs (the
ceiling measurement noise puts on any model). Target: best-quarter rho >= 0.5 for the quality
objective and train_time.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

COLUMNS = ("rho_final", "r2_final", "rho_best_quarter", "repeat_rho", "repeat_rho_best_quarter")
TARGETED = ("val_accuracy", "fcd", "train_time")
TARGET = 0.5


def cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", nargs="+", type=Path)
    args = parser.parse_args()
    print("| suite | family | objective | rho final | R^2 final | rho best quarter "
          "| repeat rho | repeat rho best quarter |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    verdicts = []
    for path in args.documents:
        document = json.loads(path.read_text())
        fidelity = document.get("fidelity", {})
        for objective, scores in fidelity.get("objectives", {}).items():
            print(f"| {document['suite']} | {fidelity.get('family', '-')} | {objective} | "
                  + " | ".join(cell(scores.get(c)) for c in COLUMNS) + " |")
            if objective in TARGETED:
                quarter = scores.get("rho_best_quarter")
                repeat = scores.get("repeat_rho_best_quarter")
                met = isinstance(quarter, (int, float)) and quarter >= TARGET
                verdicts.append(f"{document['suite']} {objective}: best-quarter rho "
                                f"{cell(quarter)} (repeat {cell(repeat)})"
                                f" {'meets' if met else 'misses'} >= {TARGET}")
    print()
    for line in verdicts:
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
