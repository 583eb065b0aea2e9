"""The package's shape (docs/ARCHITECTURE.md): layers as folders, no import cycles (lazy imports
included), the import-linter contracts in pyproject.toml kept, and a cheap `import mobench`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mobench"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at any depth of the file (lazy included)."""
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_lazy_imports_included():
    assert cycles(import_graph(PACKAGE)) == []


def test_the_cycle_check_sees_a_lazy_cycle(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (package / "b.py").write_text("from pkg import a\n")
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b"]]


def test_the_root_holds_at_most_twelve_modules_and_the_layers_are_folders():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules
    for layer in ("study", "compare", "profiling", "strategies", "report", "cli",
                  "benchmarking", "testing", "models"):
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


def lint_imports(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
                          timeout=120)


def test_the_import_linter_contracts_are_kept():
    result = lint_imports(ROOT, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line"), [
    # a lazy import of a higher layer inside the lowest one
    ("records.py", "\n\ndef _sneak():\n    from mobench.cli import main  # noqa\n"),
    # the report reaching into training code
    ("report/rows.py", "\n\ndef _sneak():\n    import mobench.profiling.training  # noqa\n"),
    # a strategy importing TensorFlow
    ("strategies/base.py", "\n\ndef _sneak():\n    import tensorflow  # noqa\n"),
])
def test_a_forbidden_import_breaks_the_contracts(tmp_path, module, line):
    shutil.copytree(PACKAGE, tmp_path / "mobench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "mobench" / module).open("a", encoding="utf-8") as f:
        f.write(line)
    result = lint_imports(tmp_path, tmp_path)
    assert result.returncode != 0 and "BROKEN" in result.stdout, result.stdout + result.stderr


def test_import_mobench_and_the_cli_parser_import_no_tensorflow():
    code = ("import sys, mobench, mobench.cli, mobench.pareto, mobench.strategies; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
