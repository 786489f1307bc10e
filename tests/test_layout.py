"""The package's layers as docs/ARCHITECTURE.md draws them, checked on every import in the code
(those inside functions included): no module imports a layer above its own, and no two modules
or packages import each other, directly or around a loop."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "physllm"
LAYERS = [  # bottom to top; a module imports only from its own layer or those below
    {"errors", "pulse", "classic_methods", "vitals", "progress", "config", "device"},  # leaves
    {"data_catalog", "render", "cues", "model", "shards", "evaluation"},  # libraries
    {"pipeline", "train"},  # jobs
    {"predict", "evaluate", "demo", "api", "cli", "tables", "__init__"},  # apps
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """physllm modules imported anywhere in the file: `from physllm.x import y` is physllm.x.y
    where that is a module, else physllm.x. `import physllm` alone (for `__version__`) is left
    out: every import of a submodule runs the package's __init__ anyway."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "physllm":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "physllm"}
    return found - {"physllm"}


GRAPH = {module: imports_of(path) for module, path in MODULES.items()}


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py (and docs/ARCHITECTURE.md)")


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_layer_above_its_own(module):
    above = sorted(m for m in GRAPH[module] if layer_of(m) > layer_of(module))
    assert not above, f"{module} reaches up to {above}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop of `graph` (depth-first search), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (loop := visit(target, [*path, target])):
                return loop
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (loop := visit(start, [start])):
            return loop
    return None


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_modules():
    assert find_cycle(GRAPH) is None, find_cycle(GRAPH)


def test_no_import_cycle_between_packages():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(module))
    assert find_cycle(packages) is None, find_cycle(packages)


def test_find_cycle_finds_a_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
