"""Package managers, builds and tests: npm/cargo/pip... install or publish, their scripts,
make targets, test runners, build tools and linters, and runners like npx."""

from __future__ import annotations

import re

from ony.connector.actions import Classification, Context, words
from ony.connector.commands.arguments import InnerCommand, positional, subcommand
from ony.connector.commands.cloud import deploy_script

PACKAGE_MANAGER_VALUE_FLAGS = ("--prefix", "-C", "--filter", "-w", "--workspace", "--cwd")
PACKAGE_PUBLISH = words("publish upload push release")
#: ``npm run x``, ``pnpm exec x``: subcommands that run a script or another command.
PACKAGE_RUN = words("run run-script exec dlx x")
PACKAGE_BUILD = words("build compile check lint fmt clippy vet tsc pack")
PACKAGE_INSTALL = words("install i ci add upgrade update sync get remove uninstall rm un lock up")
PACKAGE_READ = words("list ls show info outdated view why audit freeze tree")


def package_manager(name: str, args: list[str], context: Context) -> Classification | InnerCommand:
    sub, rest = subcommand(args, PACKAGE_MANAGER_VALUE_FLAGS)
    if sub in PACKAGE_PUBLISH or (name in ("twine",) and sub in ("upload", "register")):
        return Classification("package.publish", f"{name} {sub}")
    if sub in ("test", "t") or (sub in ("run", "run-script") and rest[:1] == ["test"]):
        return Classification("test.run", f"{name} test")
    if sub in PACKAGE_RUN and rest:
        return _package_run(name, sub, rest)
    if sub in PACKAGE_BUILD:
        return Classification("build.run", f"{name} {sub}")
    if sub in PACKAGE_INSTALL:
        packages = positional(rest)
        return Classification("package.install", f"{name} {sub} {' '.join(packages[:3])}".strip())
    if sub in PACKAGE_READ:
        return Classification("shell.readonly", f"{name} {sub}")
    return Classification("shell.exec", f"{name} {sub}".strip())  # also ``cargo run``, ``go run``


def _package_run(name: str, sub: str, rest: list[str]) -> Classification | InnerCommand:
    """``npm run SCRIPT`` by the script's name; ``npm exec CMD`` (``dlx``, ``x``) is ``CMD``."""
    script = positional(rest)
    script_name = script[0] if script else ""
    if sub in ("exec", "dlx", "x") and script:
        return InnerCommand(script)
    if re.search(r"test|spec|e2e", script_name):
        return Classification("test.run", f"{name} run {script_name}")
    if re.search(r"build|lint|format|check|typecheck|compile|dev|start|serve", script_name):
        return Classification("build.run", f"{name} run {script_name}")
    if "deploy" in script_name:
        return deploy_script(script_name, script[1:])
    if re.search(r"migrat", script_name):
        return Classification("db.migrate", f"{name} run {script_name}")
    return Classification("shell.exec", f"{name} run {script_name}")


def pip(name: str, args: list[str], context: Context) -> Classification | InnerCommand:
    sub, rest = subcommand(args)
    if name == "uv" and sub in ("pip", "tool"):
        return pip("pip", rest, context)
    if name == "uv" and sub == "run":
        inner = positional(rest, ("--with", "--python", "-p", "--directory", "--project"))
        return InnerCommand(rest[rest.index(inner[0]) :]) if inner else pip(name, [], context)
    if name in ("poetry", "pipenv", "pdm", "hatch") and sub == "run":
        return InnerCommand(rest) if rest else Classification("shell.exec", name)
    return package_manager(name, args, context)


def make(name: str, args: list[str], context: Context) -> Classification:
    targets = positional(args, ("-C", "-f", "-j", "--directory", "--file"))
    joined = " ".join(targets)
    if re.search(r"\btest|check\b", joined):
        return Classification("test.run", f"make {joined}")
    if "deploy" in joined or "release" in joined or "publish" in joined:
        return deploy_script(f"make {joined}", [])
    if "migrat" in joined:
        return Classification("db.migrate", f"make {joined}")
    if re.search(r"\b(clean|distclean)\b", joined):
        return Classification("file.delete_recursive", f"make {joined}")
    return Classification("build.run", f"make {joined}".strip())


def test_runner(name: str, args: list[str], context: Context) -> Classification:
    return Classification("test.run", name)


def build_tool(name: str, args: list[str], context: Context) -> Classification:
    sub = positional(args)[:1]
    if name in ("mvn", "gradle", "gradlew", "./gradlew") and sub and sub[0] in ("test", "check"):
        return Classification("test.run", f"{name} {sub[0]}")
    if name in ("mvn", "gradle") and sub and sub[0] in ("deploy", "publish"):
        return Classification("package.publish", f"{name} {sub[0]}")
    return Classification("build.run", name)


def npx(name: str, args: list[str], context: Context) -> Classification | InnerCommand:
    """``npx jest``, ``uvx ruff``: the command they fetch and run."""
    inner = [a for a in args if not a.startswith("-")]
    if not inner:
        return Classification("shell.exec", name)
    return InnerCommand(args[args.index(inner[0]) :])


def bundle(name: str, args: list[str], context: Context) -> Classification | InnerCommand:
    if args[:1] == ["exec"] and len(args) > 1:
        return InnerCommand(args[1:])
    return package_manager(name, args, context)
