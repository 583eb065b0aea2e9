"""Mutation testing of the strategies, the statistics and the Pareto code (no TensorFlow).

A small AST mutator: for each module it enumerates mutation points, and for each mutant runs
the module's fast tests in a forked child of a process that has already imported the heavy
dependencies (numpy, optuna, scipy, scikit-learn, moocore, pandas, matplotlib), with the mutated
module installed in ``sys.modules`` before any test imports it. A mutant is killed when a test
fails, errors or runs past the per-mutant timeout; it survives when every selected test passes.

Operators: comparison flips (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``in`` <->
``not in``, ``is`` <-> ``is not``), arithmetic swaps (``+`` <-> ``-``, ``*`` <-> ``/``, ``**``
-> ``*``, ``//`` -> ``/``, also in augmented assignments), unary minus dropped, ``not`` dropped,
``and`` <-> ``or``, numeric constants (0 -> 1, n -> n + 1, ``True`` <-> ``False``), negated
conditions of ``if``/``while``/ternaries, ``return x`` -> ``return None``, an early ``return``
at the top of each function, ``break`` <-> ``continue``. Docstrings, strings and annotations
are left alone.

``mobench/strategies/keras_tuner.py`` is not mutated by default: its tests need TensorFlow
(name it with ``--modules`` to include it). Tests that start subprocesses or process pools (they
would import the unmutated file) are deselected.

Equivalent mutants, judged unkillable by reading them, are listed in ``EQUIVALENT`` with the
reason; they are reported separately and left out of the kill rate, never counted as killed.

Run: python benchmarks/mutation.py [--modules pesa2,parego,...] [--max-mutants N] [--jobs J]
     [--mutants 3,17 (with one module: test these again)]
     [--timeout-factor 6] [--list] [--show-survivors]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAIRNESS = "tests/test_strategy_fairness.py"
PAIRS = "tests/test_pesa2_parego.py"
STATS = "tests/test_statistics_edges.py"
REPLAY = "tests/test_replay_compare.py"
METRIC = "tests/test_comparison_metric.py"
COMPARISON_STATS = "tests/test_comparison_statistics.py"
#: the contract tests run per mutant (test_resumes_from_storage is slow and mostly SQLite)
CONTRACTS = ("test_respects_the_search_space", "test_deterministic_under_a_seed",
             "test_survives_infeasible_and_failed_trials")


def contract(*names: str) -> list[str]:
    """The contract tests of tests/test_strategies.py for these strategies."""
    return [f"tests/test_strategies.py::{t}[{n}]" for n in names for t in CONTRACTS]


#: module path -> (short name, pytest arguments selecting its fast tests). Tests that start
#: subprocesses or process pools (they would import the unmutated file) are left out.
MODULES: dict[str, tuple[str, list[str]]] = {
    "mobench/strategies/__init__.py": ("registry", [
        *(f"tests/test_strategies.py::{t}" for t in (
            "test_grid_needs_a_grid", "test_grid_covers_the_grid",
            "test_unknown_strategy_lists_the_valid_ones", "test_bad_direction_is_a_usage_error",
            "test_gp_says_what_to_install", "test_entry_point_strategies_join_the_registry",
            "test_factories_use_the_documented_settings",
            "test_an_entry_point_after_a_clashing_one_still_joins",
            "test_gp_factory_names_what_is_missing")),
        *(f"tests/test_strategies.py::{t}[{n}]" for t in CONTRACTS[:2]
          for n in ("random", "grid", "nsga2", "nsga3", "motpe")),
        f"{FAIRNESS}::test_pesa2_defaults_are_the_literature_ones",
        f"{FAIRNESS}::test_parego_defaults"]),
    "mobench/strategies/base.py": ("base", [
        FAIRNESS, PAIRS, *contract("pesa2"), "-k", "not margin and not proposes"]),
    "mobench/strategies/pesa2.py": ("pesa2", [
        FAIRNESS, PAIRS, *contract("pesa2"),
        "--deselect", f"{FAIRNESS}::test_parego_beats_random_search_by_a_margin",
        "--deselect", f"{PAIRS}::test_parego_proposes_valid_mixed_configurations_after_startup",
        "--deselect", f"{FAIRNESS}::test_flipping_a_direction_or_rescaling_gives_identical_"
        "proposals[parego]"]),
    "mobench/strategies/parego.py": ("parego", [
        FAIRNESS, PAIRS, *contract("parego"),
        "--deselect", f"{FAIRNESS}::test_pesa2_beats_random_search_by_a_margin"]),
    "mobench/strategies/multifidelity.py": ("multifidelity", [
        "tests/test_multifidelity.py", "-k", "not syne"]),
    "mobench/strategies/keras_tuner.py": ("keras_tuner", ["tests/test_kt_strategies.py"]),
    "mobench/compare/indicators.py": ("indicators", [
        "tests/test_indicators.py", STATS, REPLAY, METRIC, "-k",
        "not slow and not in_processes"]),
    "mobench/compare/statistics.py": ("statistics", [
        COMPARISON_STATS, "tests/test_indicators.py", STATS, "-k", "not slow"]),
    "mobench/compare/replay.py": ("replay", [
        "tests/test_replay_edges.py", REPLAY, "-k", "not slow and not in_processes"]),
    "mobench/pareto.py": ("pareto", [
        STATS, "tests/test_indicators.py", PAIRS, FAIRNESS, "-k", "not margin"]),
    "mobench/report/pareto.py": ("report_pareto", [STATS]),
}
DEFAULT = [m for m in MODULES if not m.endswith("keras_tuner.py")]

_SEED_LINE = "kernel, normalize_y=True, random_state=int(self._rng.integers(2**31 - 1))"
#: (module short name, stripped source line, mutation[, column]) -> why no test can tell it
#: apart; the column picks one of several equal mutations on a line.
EQUIVALENT: dict[tuple, str] = {
    ("multifidelity", "seed: int = 0", "`0` -> `1`"):
        "the default seed of an in-memory Rungs: every seed draws Hyperband's shares, and the "
        "replay passes its own",
    ("registry", "stacklevel=2,", "`2` -> `3`"):
        "the warning's reported source line changes, its text and category do not",
    ("base", "x = lo + np.clip(np.asarray(units, dtype=float), 0.0, 1.0) * (hi - lo)",
     "`1.0` -> `2.0`"):
        "decode clips its result to [low, high] again at the end, so units above 1 decode to "
        "high either way",
    ("pesa2", "width = np.where(upper > lower, upper - lower, 1.0)", "`>` -> `>=`"):
        "where upper == lower every point sits at lower: 0 / 0 is NaN, cast and clipped to box "
        "0, the box the fallback width gives",
    ("pesa2", "width = np.where(upper > lower, upper - lower, 1.0)", "`1.0` -> `2.0`"):
        "the fallback width only divides zeros (every point equals lower there)",
    ("pesa2", "return a if rng.random() < 0.5 else b", "`<` -> `<=`"):
        "a continuous draw equals 0.5 with probability 0",
    ("pesa2", "return a if len(members[a]) < len(members[b]) else b", "`<` -> `<=`"):
        "equal squeeze factors returned on the line above, so the sizes never tie here",
    ("pesa2", "if abs(x1 - x2) < 1e-14:", "`<` -> `<=`"):
        "parents exactly 1e-14 apart: probability 0, and the child would be x1 either way",
    ("pesa2", "if u <= 1.0 / alpha:", "`<=` -> `<`"):
        "u equals 1 / alpha with probability 0, and both branches give betaq = 1 there",
    ("pesa2", "return float(np.clip(c1 if rng.random() < 0.5 else c2, 0.0, 1.0))",
     "`<` -> `<=`"): "a continuous draw equals 0.5 with probability 0",
    ("pesa2", "return float(np.clip(c1 if rng.random() < 0.5 else c2, 0.0, 1.0))",
     "`1.0` -> `2.0`"): "bounded SBX keeps both children within [0, 1] by construction; the "
        "clip only guards rounding",
    ("pesa2", "if u < 0.5:", "`<` -> `<=`"): "a continuous draw equals 0.5 with probability 0",
    ("pesa2", "return float(np.clip(x + delta, 0.0, 1.0))", "`1.0` -> `2.0`"):
        "bounded polynomial mutation stays within [0, 1] by construction; the clip only "
        "guards rounding",
    ("pesa2", "done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))",
     "`False` -> `True`"): "deep copies of the trials hold the same values (only slower)",
    ("pesa2", "n_done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))",
     "`False` -> `True`"): "deep copies of the trials hold the same values (only slower)",
    ("parego", "finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, "
     "TrialState.FAIL))", "`False` -> `True`"):
        "deep copies of the trials hold the same values (only slower)",
    ("pesa2", "if len(front) > self._archive_size:", "`>` -> `>=`"):
        "truncating a front of exactly archive_size members keeps all of them",
    ("pesa2", "cross = self._rng.random() < self._crossover_prob", "`<` -> `<=`"):
        "a continuous draw equals the probability with probability 0",
    ("pesa2", "if cross and self._rng.random() < 0.5:", "`<` -> `<=`"):
        "a continuous draw equals 0.5 with probability 0 (categorical and numeric lines)",
    ("pesa2", "if self._rng.random() < p_mut and len(dist.choices) > 1:", "`<` -> `<=`"):
        "a continuous draw equals the rate with probability 0",
    ("pesa2", "if self._rng.random() < p_mut:", "`<` -> `<=`"):
        "a continuous draw equals the rate with probability 0",
    ("parego", "LATTICE_SIZE = {1: 1, 2: 10, 3: 4}", "`1` -> `2`"):
        "one objective has the single weight 1 on any lattice (key or value changed)",
    ("parego", "for d, u in zip(space.values(), units, strict=True)", "`True` -> `False`"):
        "one unit per parameter of the space: equal lengths",
    ("parego", "reset = rng.random(n) < p_reset", "`<` -> `<=`"):
        "a continuous draw equals the rate with probability 0",
    ("parego", "out[:, j] = np.clip(units[:, j] + rng.normal(0.0, sigma, size=n), 0.0, 1.0)",
     "`+` -> `-`"): "the Gaussian step is symmetric: subtracting it has the same distribution",
    ("parego", "out[:, j] = np.clip(units[:, j] + rng.normal(0.0, sigma, size=n), 0.0, 1.0)",
     "`1.0` -> `2.0`"): "_snap re-encodes every numeric unit, which clips it to [0, 1]",
    ("indicators", "front = np.empty((0, np.asarray(points).shape[1] if len(points) else 0))",
     "`0` -> `1`", 73): "the `else 0`: with no points the loop never runs (the `(0,` one at "
        "column 22 is a real fault, an uninitialised first row, that survives)",
    ("statistics", "PERMUTATIONS = 9999", "`9999` -> `10000`"):
        "more resamples change a Monte Carlo p within its error only",
    ("statistics", "z = float(norm.ppf(0.5 + confidence / 2))", "`+` -> `-`"):
        "z enters the interval squared",
    ("statistics", "low = 0.0 if estimate <= 0.0 else brentq(excess, 0.0, min(estimate, 1.0 - "
     "inside))", "`<=` -> `<`"): "at an estimate of 0 brentq on [0, 0] returns 0, the same bound",
    ("statistics", "high = 1.0 if estimate >= 1.0 else brentq(excess, max(estimate, inside), 1.0)",
     "`>=` -> `>`"): "at an estimate of 1 brentq on [1, 1] returns 1, the same bound",
    ("statistics", "high = 1.0 if estimate >= 1.0 else brentq(excess, max(estimate, inside), 1.0)",
     "`1.0` -> `2.0`", 30): "`estimate >= 2.0`: at an estimate of 1 brentq on [1, 1] returns "
        "1, the same bound",
    ("statistics", "if np.all(pooled == pooled[0]):", "`0` -> `1`"):
        "all values equal the first exactly when they equal the second (two samples, each "
        "non-empty)",
    ("statistics", "return min(1.0, float(p)), name", "`1.0` -> `2.0`"):
        "scipy's two-sided p never exceeds 1; the cap only guards other versions",
    ("statistics", "return min(1.0, float(wilcoxon(d, method=method).pvalue)), name",
     "`1.0` -> `2.0`"): "scipy's two-sided p never exceeds 1; the cap only guards other versions",
    ("statistics", "signed = rankdata(np.abs(nonzero)) * np.sign(nonzero)", "`*` -> `/`"):
        "the signs of non-zero differences are +1 and -1, their own reciprocals",
    ("statistics", "test[\"significant\"] = adjusted < ALPHA", "`<` -> `<=`"):
        "a Holm-adjusted p of exactly 0.05 (a multiple of 1 / 9999 or of an exact null "
        "distribution's step that equals it) does not occur in the tests' data",
    ("statistics", "for name, rank in zip(names, ranks, strict=True):", "`True` -> `False`"):
        "ranks come from the same names: equal lengths",
    ("statistics", "block_ranks = average_ranks(dict(zip(block, matrix.tolist(), strict=True)))",
     "`True` -> `False`"): "the matrix has one row per block strategy: equal lengths",
    ("statistics", "for name, row in zip(block, matrix, strict=True):", "`True` -> `False`"):
        "the matrix has one row per block strategy: equal lengths",
    ("statistics", "for test, adjusted in zip(tests, holm([t[\"p\"] for t in tests]), "
     "strict=True):", "`True` -> `False`"): "Holm returns one p per test: equal lengths",
    ("statistics", "return {n: float(r.mean()) for n, r in zip(names, ranks, strict=True)}",
     "`True` -> `False`"): "names and rows of ranks come from the same dict: equal lengths",
    ("pareto", "return np.asarray(values, dtype=float).reshape(-1, len(signs)) * signs",
     "`*` -> `/`"): "the signs are +1 and -1, their own reciprocals",
    ("pareto", "return np.asarray(values, dtype=float).reshape(-1, len(signs)) * signs",
     "`1` -> `2`"): "numpy reads any negative size in reshape as 'infer this one'",
    ("parego", "return np.where(std > 1e-12, ei, np.maximum(gain, 0.0))", "`>` -> `>=`"):
        "a predicted spread of exactly 1e-12: both branches agree to 1e-12",
    ("parego", "top = finite.max() if finite.size else 0.0", "`0.0` -> `1`"):
        "without finite violations every relative violation is the non-finite fill, 1",
    ("parego", "relative = np.where(np.isfinite(v), v / top if top > 0 else 1.0, 1.0)",
     "`1.0` -> `2.0`"): "both fills are capped to 1 by np.minimum(relative, 1.0) on the next line",
    ("parego", "return float(np.max(feasible)) + INFEASIBLE_MARGIN * (1.0 + np.minimum(relative, "
     "1.0))", "`1.0` -> `2.0`", 85):
        "the cap: relative violations never exceed 1 (v / max v, or the fill 1)",
    ("parego", "if len(y) <= max_points:", "`<=` -> `<`"):
        "with exactly max_points scalars the best max_points are all of them, in trial order",
    ("parego", "values = minimisation_values(study, [t for t, g in zip(usable, good, strict=True) "
     "if g])", "`True` -> `False`"): "good is built from usable: equal lengths",
    ("parego", "bad = [t for t, g in zip(usable, good, strict=True) if not g]",
     "`True` -> `False`"): "good is built from usable: equal lengths",
    ("parego", "search_space.items(), _from_units(search_space, best_units), strict=True",
     "`True` -> `False`"): "one unit per parameter of the space: equal lengths",
    ("parego", _SEED_LINE, "`-` -> `+`"):
        "the GP fits without optimiser restarts, so its random_state is unused",
    ("parego", _SEED_LINE, "`**` -> `*`"):
        "the GP fits without optimiser restarts, so its random_state is unused",
    ("parego", _SEED_LINE, "`31` -> `32`"):
        "the GP fits without optimiser restarts, so its random_state is unused",
    ("parego", _SEED_LINE, "`1` -> `2`"):
        "the GP fits without optimiser restarts, so its random_state is unused",
    ("parego", _SEED_LINE, "`2` -> `3`"):
        "the GP fits without optimiser restarts, so its random_state is unused",
}

COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
          ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
          ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
          ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%"}


@dataclass
class Mutant:
    module: str  # path relative to ROOT
    index: int
    line: int
    what: str
    source_line: str
    col: int = 0

    @property
    def short(self) -> str:
        return MODULES.get(self.module, (Path(self.module).stem, []))[0]

    def key(self) -> tuple[str, str, str]:
        return self.short, self.source_line, self.what

    def equivalent(self) -> str | None:
        """Why this mutant is equivalent (EQUIVALENT by line, or by line and column)."""
        return EQUIVALENT.get(self.key()) or EQUIVALENT.get((*self.key(), self.col))


class Mutator(ast.NodeTransformer):
    """Walks a module in a fixed order; counts mutation points, applies the ``target``-th."""

    def __init__(self, target: int = -1) -> None:
        self.target, self.count, self.found = target, 0, []

    def point(self, node: ast.AST, what: str) -> bool:
        """Register a mutation point; True when it is the one to apply."""
        hit = self.count == self.target
        self.found.append((getattr(node, "lineno", 0), getattr(node, "col_offset", 0), what))
        self.count += 1
        return hit

    # Leave docstrings, annotations and type-checking blocks alone.
    def visit_FunctionDef(self, node):  # noqa: N802
        body = node.body
        start = 1 if body and _is_docstring(body[0]) else 0
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [self.visit(d) if d else d for d in node.args.kw_defaults]
        early = self.point(node, f"early return in {node.name}()")
        is_generator = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(node))
        new_body = body[:start] + [self.visit(s) for s in body[start:]]
        node.body = [x for x in new_body if x is not None] or [ast.Pass()]
        if early and not is_generator:
            node.body.insert(start, ast.Return(value=None))
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node):  # noqa: N802
        start = 1 if node.body and _is_docstring(node.body[0]) else 0
        node.body = node.body[:start] + [self.visit(s) for s in node.body[start:]]
        return node

    def visit_Module(self, node):  # noqa: N802
        start = 1 if node.body and _is_docstring(node.body[0]) else 0
        node.body = node.body[:start] + [self.visit(s) for s in node.body[start:]]
        return node

    def visit_AnnAssign(self, node):  # noqa: N802
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_If(self, node):  # noqa: N802
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return node
        node = self._negate(node, "if")
        return node

    def visit_While(self, node):  # noqa: N802
        return self._negate(node, "while")

    def visit_IfExp(self, node):  # noqa: N802
        return self._negate(node, "ternary")

    def _negate(self, node, kind):
        if self.point(node, f"negate {kind} condition"):
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
            return node
        self.generic_visit(node)
        return node

    def visit_ImportFrom(self, node):  # noqa: N802
        return node

    def visit_Import(self, node):  # noqa: N802
        return node

    def visit_Compare(self, node):  # noqa: N802
        for i, op in enumerate(node.ops):
            new = COMPARE_SWAP.get(type(op))
            if new and self.point(node, f"`{SYMBOL[type(op)]}` -> `{SYMBOL[new]}`"):
                node.ops[i] = new()
                return node
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node):  # noqa: N802
        return self._swap_operator(node, "")

    def visit_AugAssign(self, node):  # noqa: N802
        return self._swap_operator(node, "=")

    def _swap_operator(self, node, suffix: str):
        """`a + b` -> `a - b` (and `+=` -> `-=`), ... one mutation point per operator."""
        new = BINOP_SWAP.get(type(node.op))
        if new and self.point(node, f"`{SYMBOL[type(node.op)]}{suffix}` -> "
                                    f"`{SYMBOL[new]}{suffix}`"):
            node.op = new()
            return node
        self.generic_visit(node)
        return node

    def visit_UnaryOp(self, node):  # noqa: N802
        if isinstance(node.op, ast.USub) and self.point(node, "drop unary `-`"):
            return node.operand
        if isinstance(node.op, ast.Not) and self.point(node, "drop `not`"):
            return node.operand
        self.generic_visit(node)
        return node

    def visit_BoolOp(self, node):  # noqa: N802
        name, other = ("and", ast.Or) if isinstance(node.op, ast.And) else ("or", ast.And)
        if self.point(node, f"`{name}` -> `{'or' if name == 'and' else 'and'}`"):
            node.op = other()
            return node
        self.generic_visit(node)
        return node

    def visit_Constant(self, node):  # noqa: N802
        v = node.value
        if isinstance(v, bool):
            if self.point(node, f"`{v}` -> `{not v}`"):
                return ast.Constant(value=not v)
        elif isinstance(v, int | float):
            new = 1 if v == 0 else v + 1
            if self.point(node, f"`{v!r}` -> `{new!r}`"):
                return ast.Constant(value=type(v)(new))
        return node

    def visit_JoinedStr(self, node):  # noqa: N802
        return node  # messages, not logic

    def visit_Return(self, node):  # noqa: N802
        if node.value is not None and not (isinstance(node.value, ast.Constant)
                                           and node.value.value is None):
            if self.point(node, "`return x` -> `return None`"):
                node.value = None
                return node
        self.generic_visit(node)
        return node

    def visit_Break(self, node):  # noqa: N802
        return ast.Continue() if self.point(node, "`break` -> `continue`") else node

    def visit_Continue(self, node):  # noqa: N802
        return ast.Break() if self.point(node, "`continue` -> `break`") else node

    def visit_arg(self, node):  # noqa: N802
        return node  # annotations

    def visit_arguments(self, node):  # noqa: N802
        return node  # defaults are visited from the function

    def visit_Lambda(self, node):  # noqa: N802
        node.body = self.visit(node.body)
        return node


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def mutants_of(module: str) -> list[Mutant]:
    source = (ROOT / module).read_text()
    lines = source.splitlines()
    walker = Mutator()
    walker.visit(ast.parse(source))
    return [Mutant(module, i, line, what, lines[line - 1].strip() if line else "", col)
            for i, (line, col, what) in enumerate(walker.found)]


def mutated_code(mutant: Mutant):
    path = ROOT / mutant.module
    tree = Mutator(mutant.index).visit(ast.parse(path.read_text()))
    return compile(ast.fix_missing_locations(tree), str(path), "exec")


def module_name(module: str) -> str:
    parts = list(Path(module).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def install(mutant: Mutant) -> None:
    """Put the mutated module into sys.modules (in the child) before any test imports it."""
    name = module_name(mutant.module)
    path = ROOT / mutant.module
    package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(mutated_code(mutant), module.__dict__)  # noqa: S102 - the point of the exercise
    parent, _, leaf = name.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), leaf, module)


def spawn(module: str, mutant: Mutant | None) -> int:
    """Fork a child that installs the mutant (none: the clean module) and runs the module's
    tests; its exit status is pytest's (0: every test passed)."""
    import pytest

    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        if mutant is not None:
            install(mutant)
        code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", "-W", "ignore",
                            *MODULES[module][1]])
    except BaseException:  # a mutant that breaks the import is killed
        code = 4
    os._exit(int(code))


def run_all(module: str, mutants: list[Mutant | None], timeout: float, jobs: int,
            on_result) -> None:
    """Run the mutants, ``jobs`` children at a time; on_result(mutant, outcome, seconds) with
    outcome 'killed' | 'survived' | 'timeout'."""
    queue = list(mutants)
    running: dict[int, tuple[Mutant | None, float]] = {}
    while queue or running:
        while queue and len(running) < jobs:
            mutant = queue.pop(0)
            running[spawn(module, mutant)] = (mutant, time.perf_counter())
        time.sleep(0.02)
        for pid, (mutant, start) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.perf_counter() - start
            if done:
                del running[pid]
                code = os.waitstatus_to_exitcode(status)
                on_result(mutant, "survived" if code == 0 else "killed", elapsed)
            elif elapsed > timeout:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                del running[pid]
                on_result(mutant, "timeout", elapsed)


def preload() -> None:
    """Import the heavy third-party modules once, before forking (never mobench itself)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import warnings

    warnings.simplefilter("ignore")
    for name in ("numpy", "scipy.stats", "scipy.special", "optuna", "moocore", "pandas",
                 "sklearn.gaussian_process", "matplotlib.pyplot", "jinja2", "pytest"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    assert not any(m == "mobench" or m.startswith("mobench.") for m in sys.modules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", default=None,
                        help="comma-separated short names or paths (default: all but "
                             "keras_tuner): " + ", ".join(v[0] for v in MODULES.values()))
    parser.add_argument("--max-mutants", type=int, default=None,
                        help="at most this many mutants per module, a seeded random sample")
    parser.add_argument("--mutants", default=None,
                        help="comma-separated mutant indices (as --list prints them) to test "
                             "again, with one module in --modules")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--timeout-factor", type=float, default=6.0,
                        help="per-mutant timeout = factor x the module's clean test time")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--show-survivors", action="store_true")
    args = parser.parse_args(argv)

    by_short = {v[0]: k for k, v in MODULES.items()}
    modules = DEFAULT
    if args.modules:
        modules = [by_short.get(m, m) for m in args.modules.split(",")]
        unknown = [m for m in modules if m not in MODULES]
        if unknown:
            parser.error(f"unknown module(s) {unknown}; valid: {', '.join(by_short)}")

    if args.mutants and len(modules) != 1:
        parser.error("--mutants needs exactly one module in --modules")
    plan: list[tuple[str, list[Mutant]]] = []
    for module in modules:
        mutants = mutants_of(module)
        if args.mutants:
            wanted = {int(i) for i in args.mutants.split(",")}
            mutants = [m for m in mutants if m.index in wanted]
        if args.max_mutants is not None and len(mutants) > args.max_mutants:
            mutants = sorted(random.Random(args.seed).sample(mutants, args.max_mutants),
                             key=lambda m: m.index)
        plan.append((module, mutants))
    if args.list:
        for module, mutants in plan:
            for m in mutants:
                print(f"{module}:{m.line} [{m.index}] {m.what}: {m.source_line}")
        return 0

    preload()
    total = sum(len(m) for _, m in plan)
    results: dict[str, dict[str, list[Mutant]]] = {}
    done, started = 0, time.perf_counter()
    for module, mutants in plan:
        clean: list[tuple[str, float]] = []
        run_all(module, [None], 600.0, 1,
                lambda _m, outcome, secs, clean=clean: clean.append((outcome, secs)))
        if clean[0][0] != "survived":
            print(f"{module}: its tests fail without any mutation; skipped", flush=True)
            continue
        timeout = max(30.0, args.timeout_factor * clean[0][1])
        print(f"{module}: {len(mutants)} mutants, clean tests {clean[0][1]:.1f} s, "
              f"timeout {timeout:.0f} s", flush=True)
        tally = results.setdefault(module, {"killed": [], "timeout": [], "survived": [],
                                            "equivalent": []})
        todo = []
        for m in mutants:
            if m.equivalent():
                tally["equivalent"].append(m)
                done += 1
            else:
                todo.append(m)

        def record(m, outcome, _secs, module=module, tally=tally):
            nonlocal done
            tally[outcome].append(m)
            if outcome == "survived" and args.show_survivors:
                print(f"\n  survived {module}:{m.line} [{m.index}] {m.what}: "
                      f"{m.source_line}", flush=True)
            done += 1
            eta = (time.perf_counter() - started) / done * (total - done)
            print(f"\r  [{done}/{total}] {MODULES[module][0]}: "
                  f"{len(tally['killed']) + len(tally['timeout'])} killed, "
                  f"{len(tally['survived'])} survived; ETA {eta / 60:.1f} min   ",
                  end="", flush=True)

        run_all(module, todo, timeout, args.jobs, record)
        print(flush=True)

    print("\nmodule                              mutants  killed  timeout  survived  "
          "equivalent  kill rate")
    all_killed = all_counted = 0
    for module, tally in results.items():
        killed = len(tally["killed"]) + len(tally["timeout"])
        counted = killed + len(tally["survived"])
        all_killed, all_counted = all_killed + killed, all_counted + counted
        n = counted + len(tally["equivalent"])
        print(f"{module:36s} {n:7d} {len(tally['killed']):7d} {len(tally['timeout']):8d} "
              f"{len(tally['survived']):9d} {len(tally['equivalent']):11d} "
              f"{100 * killed / max(counted, 1):9.1f}%")
    print(f"{'overall':36s} {all_counted:7d} {'':7s} {'':8s} {all_counted - all_killed:9d} "
          f"{'':11s} {100 * all_killed / max(all_counted, 1):9.1f}%")
    print(f"({(time.perf_counter() - started) / 60:.1f} min; equivalent mutants are left out "
          "of the rate, see EQUIVALENT)")
    for module, tally in results.items():
        for m in tally["equivalent"]:
            print(f"  equivalent {module}:{m.line}:{m.col} {m.what}: {m.equivalent()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
