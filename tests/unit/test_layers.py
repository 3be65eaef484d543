"""The layers hold: every module's imports, read with ``ast`` (imports inside functions too), obey
web → services → {sources, analytics, coach, models}, and no modules import each other in a loop.

Imports under ``if TYPE_CHECKING:`` never run: the layer rules let them be (an annotation may
name a model), the loops count them (two modules that name each other are one room). The
exceptions to the rules, each with its reason:

- ``app.records`` (the typed records every layer passes around), ``app.config`` (the one
  Settings object) and ``app.security.redaction`` (what a log line may say) are beneath every
  layer: an adapter may use them, analytics only the records.
- ``app.i18n`` and ``app.i18n_particles`` (gettext and Korean particles) are used by every layer
  that writes a sentence; ``app.messages`` is the app's message catalogue on top of them.
- ``app/web/app.py`` is the composition root: it builds the engine, the scheduler and the
  runners, so it alone in the web imports ``app.db`` and ``app.jobs``.
- ``app/web/charts.py`` thins a chart's points with LTTB (``app.analytics.downsample``) at the
  moment it draws them: a display concern on pure functions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import app

APP = Path(app.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(APP.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str) -> str:
    """The longest prefix of ``name`` that is a module of the app."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _import_nodes(tree: ast.AST, *, typing: bool):
    """Every import statement, inside functions too; those under ``if TYPE_CHECKING`` when
    ``typing``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if not typing and isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(module: str, *, typing: bool) -> set[str]:
    """The app's modules that ``module`` imports (a package's own ``__init__`` when named)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), typing=typing):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                for alias in node.names
            ]
        for name in names:
            if name == "app" or name.startswith("app."):
                target = _resolve(name)
                if target and target != module:
                    found.add(target)
    return found


GRAPH: dict[str, set[str]] = {module: imports_of(module, typing=False) for module in MODULES}
TYPED_GRAPH: dict[str, set[str]] = {module: imports_of(module, typing=True) for module in MODULES}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    """``module`` is one of ``prefixes`` or inside one (``app`` itself names only the package)."""
    return any(module == p or (p != "app" and module.startswith(p + ".")) for p in prefixes)


BENEATH_ALL = ("app.records", "app.config", "app.security.redaction")
WORDS = ("app.i18n", "app.i18n_particles", "app.messages")


@dataclass(frozen=True)
class Rule:
    layer: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    exceptions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def breaches(self) -> list[str]:
        found = []
        extra = dict(self.exceptions)
        for module, targets in sorted(GRAPH.items()):
            if not _within(module, self.layer):
                continue
            for target in sorted(targets):
                if _within(target, self.layer) or _within(target, extra.get(module, ())):
                    continue
                if (self.allowed and not _within(target, self.allowed)) or _within(
                    target, self.forbidden
                ):
                    found.append(f"{module} -> {target}")
        return found


RULES = {
    # Pure training science: arrays and records in, numbers out.
    "analytics": Rule(("app.analytics",), allowed=("app.records",)),
    # Adapters speak to one outside service or file format; no database, no web, no services.
    "sources": Rule(("app.sources",), allowed=BENEATH_ALL + WORDS),
    # The coach's pure core: no database, network, services or web.
    "coach": Rule(
        ("app.coach",),
        forbidden=(
            "app.services",
            "app.models",
            "app.db",
            "app.web",
            "app.sources",
            "app.jobs",
            "app.cli",
        ),
    ),
    # Models and the database know nothing above them.
    "models and db": Rule(
        ("app.models", "app.db"),
        allowed=("app.models", "app.db", "app.security", "app.logs", *BENEATH_ALL, *WORDS),
    ),
    # Services use everything beneath them, never the web, the jobs or the CLI above.
    "services": Rule(("app.services",), forbidden=("app.web", "app.jobs", "app.cli")),
    # The web calls services; it never reaches past them into adapters or models.
    "web": Rule(
        ("app.web",),
        allowed=("app", "app.services", "app.security", "app.logs", *BENEATH_ALL, *WORDS),
        exceptions=(
            ("app.web.app", ("app.db", "app.jobs")),
            ("app.web.charts", ("app.analytics.downsample",)),
        ),
    ),
    # A job is one line that calls a service.
    "jobs": Rule(("app.jobs",), allowed=("app.services", "app.logs", *BENEATH_ALL, *WORDS)),
}


@pytest.mark.parametrize("name", list(RULES))
def test_layer_imports_only_what_it_may(name: str) -> None:
    assert RULES[name].breaches() == []


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert import_cycles(TYPED_GRAPH) == []


def test_the_reader_sees_function_local_imports_and_loops() -> None:
    """The checks can fail: a loop hidden in a function is found, a TYPE_CHECKING one is not."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import app.web\n"
        "def f():\n    from app import services\n"
    )
    run = [
        n for n in _import_nodes(tree, typing=False) if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert sorted(n.module for n in run if isinstance(n, ast.ImportFrom)) == ["app", "typing"]
    assert not [n for n in run if isinstance(n, ast.Import)]
    assert [
        a.name
        for n in _import_nodes(tree, typing=True)
        if isinstance(n, ast.Import)
        for a in n.names
    ] == ["app.web"]
    assert _within("app.web.app", ("app",)) is False
    assert _within("app.web.app", ("app.web",)) is True


def test_routes_open_no_transactions() -> None:
    """A route parses, calls one service, renders: the service owns the unit of work."""
    opened = [
        f"{module}:{node.lineno}"
        for module, path in sorted(MODULES.items())
        if module.startswith("app.web.")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "begin"
    ]
    assert opened == []
