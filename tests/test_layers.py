"""The import rules of docs/development.md, checked on the source.

Dependencies point one way, from the bottom up:

    ony (core) <- audit <- ony (organizations) <- devices <- handoffs <- telephony, chat
    <- lifecycle (retention and exports: reads and prunes every app's data)
    <- ony.urls (the project's URLs, which wire every app together)

A module imports only from its own layer's app or from layers below it;
sibling channels (telephony, chat) never import each other. Project modules
are imported at module level: the only function-local imports allowed are in
``AppConfig.ready()`` (which runs once every model is loaded). The connector
(``ony/connector``) imports nothing of the server but the standard-library-only
``ony.canonical``, and tests never import the benchmarks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.servers import ROOT

SERVER_APPS = ("ony", "audit", "devices", "handoffs", "telephony", "chat", "lifecycle")
PROJECT_PACKAGES = (*SERVER_APPS, "tests", "bench")

#: ``ony`` modules above ``audit``: organization and member changes are audited.
ORGANIZATIONS = (
    "ony.services",
    "ony.forms",
    "ony.admin",
    "ony.api.team",
    "ony.demo",
    "ony.invitations",
    "ony.management.commands.seed_demo",
    "ony.management.commands.totp_device",
    "ony.management.commands.erase_member",
    "ony.management.commands.create_org",
    "ony.management.commands.invite",
    "ony.management.commands.api_token",
)
#: ``ony`` modules that wire the apps together: the URLs, the app config whose
#: ``ready()`` connects receivers, and the dashboard's index, which reads them all.
PROJECT = ("ony.urls", "ony.apps", "ony.dashboard")
#: Standard-library-only modules the connector shares with the server.
CONNECTOR_SHARED = ("ony.canonical",)
#: Layer names, bottom first; a module may import its own layer and those below.
ORDER = (
    "ony core",
    "audit",
    "organizations",
    "devices",
    "handoffs",
    "channels",
    "lifecycle",
    "project",
)


def layer_of(module: str) -> tuple[str, str]:
    """(layer, app) of a server module; sibling apps share a layer but not an app."""
    if module in PROJECT:
        return "project", "ony"
    if any(module == name or module.startswith(name + ".") for name in ORGANIZATIONS):
        return "organizations", "ony"
    top = module.split(".")[0]
    if top == "ony":
        return "ony core", "ony"
    if top in ("telephony", "chat"):
        return "channels", top
    return top, top


def may_import(source: str, target: str) -> bool:
    source_layer, source_app = layer_of(source)
    target_layer, target_app = layer_of(target)
    if source_layer == target_layer:
        return source_app == target_app
    return ORDER.index(target_layer) < ORDER.index(source_layer)


def python_files(*packages: str) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            yield module, path


def imports(path: Path) -> Iterator[tuple[str, int, str | None]]:
    """(imported module, line, enclosing function or None) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def visit(node: ast.AST, function: str | None) -> Iterator[tuple[str, int, str | None]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from visit(child, child.name)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                for alias in child.names:
                    yield f"{child.module}.{alias.name}", child.lineno, function
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, function
            else:
                yield from visit(child, function)

    yield from visit(tree, None)


def server_module(imported: str) -> str | None:
    """The server module an import names (``from x import name`` may name a module or not)."""
    if imported.split(".")[0] not in SERVER_APPS or imported.startswith("ony.connector"):
        return None
    return imported


def test_it_keeps_every_server_import_pointing_down_the_layers():
    wrong = []
    for module, path in python_files(*SERVER_APPS):
        if module.startswith("ony.connector"):
            continue
        for imported, line, _ in imports(path):
            target = server_module(imported)
            if target and not may_import(module, target):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == []


def test_it_imports_project_modules_at_module_level_outside_ready():
    wrong = []
    for module, path in python_files(*SERVER_APPS, "tests"):
        if module.startswith("ony.connector"):
            continue  # it loads per command what the command needs (start-up time)
        for imported, line, function in imports(path):
            top = imported.split(".")[0]
            if function not in (None, "ready") and top in PROJECT_PACKAGES:
                wrong.append(f"{path.relative_to(ROOT)}:{line} in {function}() imports {imported}")
    assert wrong == []


def test_the_connector_imports_nothing_of_the_server():
    wrong = []
    for _, path in python_files("ony/connector"):
        for imported, line, _ in imports(path):
            top = imported.split(".")[0]
            allowed = imported.startswith(("ony.connector", *CONNECTOR_SHARED))
            if top in PROJECT_PACKAGES and not allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert wrong == []


def test_tests_never_import_the_benchmarks():
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for _, path in python_files("tests")
        for imported, line, _ in imports(path)
        if imported.split(".")[0] == "bench"
    ]
    assert wrong == []


def test_the_rules_themselves_can_fail():
    assert not may_import("handoffs.services", "telephony.services")
    assert not may_import("telephony.services", "chat.services")
    assert not may_import("ony.models.org", "handoffs.taxonomy")
    assert not may_import("audit.services", "ony.services")
    assert may_import("ony.services", "audit.services")
    assert may_import("telephony.receivers", "handoffs.signals")
    assert may_import("ony.urls", "handoffs.api")
