"""The package's shape, read from its own source (AST): layers, import cycles, module and function sizes.

Layers, dependencies pointing one way (a module may import its own layer and the layers below):

    0  settings, commerceml                 pure: no Dagster, no database
    1  intake, store, synth, media          files and SQL; no Dagster
    2  defs                                 Dagster definitions, thin
    3  runs                                 running uploads through Dagster (run_import, run status)
    4  cli, exchange, bench                 entry points

Every import counts, function-local ones included: a local import does not hide a cycle from this test.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = "onec_pipeline"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

LAYERS: dict[str, int] = {
    "settings": 0,
    "commerceml": 0,
    "intake": 1,
    "store": 1,
    "synth": 1,
    "media": 1,
    "defs": 2,
    "runs": 3,
    "cli": 4,
    "exchange": 4,
    "bench": 4,
}
# third-party packages a layer must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "settings": ("dagster", "sqlalchemy", "alembic"),
    "commerceml": ("dagster", "sqlalchemy", "alembic", "psycopg2"),
    "intake": ("dagster", "sqlalchemy", "alembic", "psycopg2"),
    "store": ("dagster",),
    "synth": ("dagster", "sqlalchemy"),
    "media": ("dagster", "sqlalchemy", "alembic", "psycopg2"),
    "defs": ("sqlalchemy", "alembic", "psycopg2"),
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        if "migrations" in rel.parts:
            continue  # Alembic's scripts: frozen copies, loaded by Alembic, not imported
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """Package modules an import statement names (``from x import y`` may import module ``x.y``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    return [target, *(f"{target}.{a.name}" for a in node.names)]


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _resolve(module, node, is_package):
                    graph[module].add(name)
    return graph


def _package_target(name: str) -> str | None:
    """The package module an imported name refers to (longest known prefix), or None if external."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE else None


def _internal_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, names in _imports().items():
        targets = {_package_target(n) for n in names}
        # a submodule importing its own package (``from onec_pipeline.store import rows``) imports ``rows``
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def test_every_top_level_part_has_a_layer():
    unknown = {_layer_of(m) for m in MODULES if m != PACKAGE} - set(LAYERS)
    assert not unknown, f"give these parts a layer in LAYERS (and docs/ARCHITECTURE.md): {sorted(unknown)}"


def _against_the_layers(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Imports from a module to a higher layer."""
    found = set()
    for module, targets in graph.items():
        own = _layer_of(module)
        for target in targets:
            other = _layer_of(target)
            if own and other and own != other and LAYERS[other] > LAYERS[own]:
                found.add((module, target))
    return found


def test_imports_follow_the_layers():
    found = _against_the_layers(_internal_graph())
    assert not found, "imports against the layer direction:\n" + "\n".join(
        f"{a} -> {b}" for a, b in sorted(found)
    )


def test_the_layer_rule_catches_an_upward_import():
    graph = {
        "onec_pipeline.store.catalog": {"onec_pipeline.defs.resources", "onec_pipeline.commerceml.records"},
        "onec_pipeline.cli.main": {"onec_pipeline.defs.resources"},
    }
    assert _against_the_layers(graph) == {("onec_pipeline.store.catalog", "onec_pipeline.defs.resources")}


def test_layers_keep_out_of_forbidden_packages():
    bad = []
    for module, names in _imports().items():
        layer = _layer_of(module)
        for name in names:
            top = name.split(".")[0]
            if top in FORBIDDEN.get(layer or "", ()):
                bad.append(f"{module} imports {name}")
    assert not bad, "\n".join(sorted(set(bad)))


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = _cycles(_internal_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in found)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT.parent).as_posix()


def test_module_sizes():
    long = {
        _rel(p)
        for p in MODULES.values()
        if len(p.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {sorted(long)}"


def test_function_sizes():
    long = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long.add(f"{_rel(path)}:{node.name}")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {sorted(long)}"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from onec_pipeline.store import catalog", {"onec_pipeline.store", "onec_pipeline.store.catalog"}),
        ("from . import rows", {"onec_pipeline.store", "onec_pipeline.store.rows"}),
    ],
)
def test_resolve_names_submodules(source, expected):
    node = ast.parse(source).body[0]
    assert set(_resolve("onec_pipeline.store.catalog", node, False)) == expected
