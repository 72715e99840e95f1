"""The packages import in one direction: no module imports (even lazily, inside a function) a module that imports
it back, and ``harness.spec`` (the suite loader) stays free of the worker, the measurements and torch.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` anywhere in a module (outside
``if TYPE_CHECKING:`` blocks, which never run), and every string constant that names a project module (what
``importlib.import_module`` and the fork server's preload list receive). Importing a submodule runs its parent
package's ``__init__`` first, so ``import a.b.c`` from outside ``a.b`` depends on ``a`` and ``a.b`` as well; a
module inside a package depends on that package only when it imports a name from the package itself
(``from .. import register_operator``), not when it imports a sibling submodule (``from . import preprocess``).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "harness", "plots")


def project_modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text())
        never_run = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(block.test) for stmt in block.body for node in ast.walk(stmt)}
        package = name if is_package else name.rpartition(".")[0]

        def depend(target: str, explicit: bool = True) -> None:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                ancestor = name.startswith(prefix + ".")  # already initialising when this module runs
                if prefix in modules and prefix != name and (not ancestor or (explicit and i == len(parts))):
                    graph[name].add(prefix)

        for node in ast.walk(tree):
            if id(node) in never_run:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    depend(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in modules]
                depend(source, explicit=len(submodules) < len(node.names))
                for submodule in submodules:
                    depend(submodule)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
                depend(node.value)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_any_package():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_circle():
    graph = import_graph()
    graph["harness.config"].add("harness.spec")  # spec imports config: closing it is a circle
    assert any({"harness.config", "harness.spec"} <= set(component) for component in cycles(graph))


def test_packages_depend_downwards_only():
    """plots → harness → models, never back: models know nothing of files, the harness nothing of figures."""
    for module, targets in import_graph().items():
        layer = PACKAGES.index(module.split(".")[0])
        upward = sorted(t for t in targets if PACKAGES.index(t.split(".")[0]) > layer)
        assert not upward, f"{module} imports {upward}"


@pytest.mark.parametrize("module, absent", [
    ("harness.spec", ("harness.worker", "harness.measurements", "harness.runner", "torch")),
    ("harness.records", ("harness.spec", "harness.worker", "torch")),
    ("harness.failures", ("harness.spec", "harness.records", "torch")),
    ("models.registry", ("torch", "harness")),
    ("plots.registry", ("torch",)),
])
def test_light_modules_import_alone(module, absent):
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                                text=True).stdout.split())
    assert module in loaded
    assert not loaded & set(absent), f"importing {module} imported {sorted(loaded & set(absent))}"
