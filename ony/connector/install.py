"""``ony install claude-code``: add (or remove) Ony's PreToolUse hook in Claude Code's settings.

The hook runs this interpreter by absolute path with ``-P``, so that a
project directory (Claude Code runs hooks in it, and the agent can write
there) can never put its own ``ony`` package ahead of the real one. Its
``timeout`` is the connector's deadline plus a margin, so the connector
always answers before Claude Code would give up on it and run the tool.
The user's other settings and hooks are kept as they are.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

#: What the hook command runs, as ``python -P -c``: ``-m`` would import
#: ``runpy`` and ``importlib.util``, about 6 ms more on every tool call.
ENTRY = "import sys; from ony.connector.cli import main; sys.exit(main())"
#: How our hook commands end, this version's and earlier ones (``-m ony.connector``, ``ony``).
MARKERS = (
    f"{shlex.quote(ENTRY)} hook claude-code",
    "ony.connector hook claude-code",
    "ony hook claude-code",
)
MATCHER = "*"


class InstallError(Exception):
    pass


def settings_path(scope: str, home: Path | None = None, project: Path | None = None) -> Path:
    """``~/.claude/settings.json`` (user) or ``./.claude/settings.json`` (project)."""
    if scope == "project":
        return (project or Path.cwd()) / ".claude" / "settings.json"
    return (home or Path.home()) / ".claude" / "settings.json"


def hook_command(python: str | None = None) -> str:
    """The command a hook runs: this interpreter by absolute path, ``-P`` (the project
    directory, which the agent can write to, is not on ``sys.path``) and the connector."""
    return f"{shlex.quote(python or sys.executable)} -P -c {shlex.quote(ENTRY)} hook claude-code"


def is_ours(hook: Any) -> bool:
    command = hook.get("command") if isinstance(hook, dict) else None
    return isinstance(command, str) and any(command.rstrip().endswith(m) for m in MARKERS)


def check_runnable(python: str | None = None) -> None:
    """Refuse to install a hook that would crash: Claude Code would then run every tool call."""
    probe = [python or sys.executable, "-P", "-c", "import ony.connector.hooks"]
    result = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    if result.returncode != 0:
        raise InstallError(
            f"{probe[0]} cannot import the connector ({result.stderr.strip()[-200:]}); "
            "install Ony into that Python first"
        )


def read_settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise InstallError(f"{path} is not valid JSON ({exc}); it was left unchanged") from None
    if not isinstance(data, dict):
        raise InstallError(f"{path} is not a JSON object; it was left unchanged")
    return data


def remove_ours(settings: dict[str, Any]) -> int:
    """Drop Ony's hooks from ``settings`` (and containers they leave empty); how many."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return 0
    groups = hooks.get("PreToolUse")
    if not isinstance(groups, list):
        return 0
    removed, kept = 0, []
    for group in groups:
        inner = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(inner, list):
            kept.append(group)
            continue
        remaining = [hook for hook in inner if not is_ours(hook)]
        removed += len(inner) - len(remaining)
        if remaining or len(remaining) == len(inner):
            kept.append({**group, "hooks": remaining})
    if removed:
        if kept:
            hooks["PreToolUse"] = kept
        else:
            del hooks["PreToolUse"]
            if not hooks:
                del settings["hooks"]
    return removed


def install(path: Path, command: str, timeout: int) -> None:
    settings = read_settings(path)
    remove_ours(settings)
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict) or not isinstance(hooks.setdefault("PreToolUse", []), list):
        raise InstallError(f"{path}: hooks.PreToolUse is not a list; it was left unchanged")
    hooks["PreToolUse"].append(
        {"matcher": MATCHER, "hooks": [{"type": "command", "command": command, "timeout": timeout}]}
    )
    write_settings(path, settings)


def uninstall(path: Path) -> int:
    settings = read_settings(path)
    removed = remove_ours(settings)
    if removed:
        write_settings(path, settings)
    return removed


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    """Replace ``path`` atomically, keeping its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.chmod(temporary, mode)
    os.replace(temporary, path)
