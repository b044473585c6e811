"""Turn an agent's tool call into an ``(action, target)`` of Ony's taxonomy, locally.

Only the action and a short target leave the machine; the raw command goes
to the server only as the optional payload. The server decides the risk from
the action (docs/taxonomy.md). Shell commands are read by
``ony.connector.commands``; this module handles the agents' tools.

Rules (docs/connector.md lists them with examples):

- A compound command (``;``, ``&&``, ``||``, pipes, subshells, command and
  process substitutions, here-documents fed to a shell) takes its riskiest part.
- Anything that hides what it runs is ``shell.obfuscated``: ``eval``, a shell
  or interpreter reading a pipe, a here-document or ``<(...)``, ``sh -c`` with
  a substitution, ``python -c`` with ``exec``/``os.system``, a command named
  by a variable, and text that does not read as complete shell.
- Reading ``.env``, ``~/.ssh``, ``~/.aws``, cloud credential files or the
  connector's own configuration is ``secret.read`` (writing them,
  ``secret.write``), whichever tool does it.
- A command nothing recognises is ``shell.exec``; a tool nothing recognises
  is ``tool.<name>``, which the server treats as critical.
"""

from __future__ import annotations

import re

from ony.connector.actions import RANK, Classification, Context, clean, riskiest, url_target, words
from ony.connector.commands import classify_shell

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["RANK", "Classification", "Context", "classify_shell", "classify_tool", "clean"]


#: The longest ``<name>`` in ``tool.<name>`` (the tool's full name is the target).
MAX_TOOL_NAME = 64


def classify_tool(tool_name: str, tool_input: Any, context: Context) -> Classification:
    """The action and target of one Claude Code or Codex tool call."""
    fields = tool_input if isinstance(tool_input, dict) else {}
    classify = TOOLS.get(tool_name)
    if classify is not None:
        return classify(tool_name, fields, context)
    if tool_name in AGENT_INTERNAL_TOOLS:
        return Classification("agent.internal", tool_name)
    if tool_name.startswith("mcp__"):
        server, _, tool = tool_name[5:].partition("__")
        return Classification("mcp.call", clean(f"{server}/{tool}" if tool else server))
    name = re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", tool_name).lower())
    # An action name the server takes: each part starts with a letter, 100 characters at most.
    name = re.sub(r"^[^a-z]+", "", name)[:MAX_TOOL_NAME].rstrip("_")
    return Classification(f"tool.{name or 'unnamed'}", clean(tool_name))


#: Claude Code's own bookkeeping: a plan, a to-do list, a question to the user,
#: the output of a shell it started. Nothing outside the agent changes.
AGENT_INTERNAL_TOOLS = words(
    "TodoWrite ExitPlanMode EnterPlanMode AskUserQuestion BashOutput TaskOutput KillShell KillBash"
)


def _text(fields: dict[str, Any], key: str) -> str:
    """The tool input's ``key`` if it is text, else ``""``."""
    value = fields.get(key)
    return value if isinstance(value, str) else ""


def _shell(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    command = fields.get("command")
    if isinstance(command, list):  # Codex sends argv
        command = " ".join(_quote(str(word)) for word in command)
    return classify_shell(command if isinstance(command, str) else "", context)


def _read(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    path = _text(fields, "file_path") or _text(fields, "notebook_path")
    action = "secret.read" if context.is_secret(path) else "file.read"
    return Classification(action, clean(context.display(path)))


def _write(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    path = _text(fields, "file_path") or _text(fields, "notebook_path")
    found = context.file_change(path)
    return Classification(found.action, clean(found.target))


def _apply_patch(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    patch = _text(fields, "command") or _text(fields, "input") or _text(fields, "patch")
    return classify_patch(patch, context)


def _search(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    path = _text(fields, "path")
    if path and context.is_secret(path):
        return Classification("secret.read", clean(context.display(path)))
    return Classification("file.search", clean(_text(fields, "pattern") or path or "."))


def _web_fetch(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    return Classification("web.fetch", clean(url_target(_text(fields, "url"))))


def _web_search(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    return Classification("web.search", clean(_text(fields, "query"), 100))


def _agent_spawn(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    subagent = _text(fields, "subagent_type") or _text(fields, "description")
    return Classification("agent.spawn", clean(subagent))


def _mcp_resources(tool_name: str, fields: dict[str, Any], context: Context) -> Classification:
    return Classification("mcp.call", clean(_text(fields, "server") or tool_name))


#: The agents' tools by name (Claude Code's, and Codex's ``shell`` and ``apply_patch``).
TOOLS: dict[str, Callable[[str, dict[str, Any], Context], Classification]] = {
    **dict.fromkeys(("Bash", "shell", "exec_command", "local_shell"), _shell),
    **dict.fromkeys(("Read", "NotebookRead"), _read),
    **dict.fromkeys(("Write", "Edit", "MultiEdit", "NotebookEdit"), _write),
    "apply_patch": _apply_patch,
    **dict.fromkeys(("Glob", "Grep", "LS"), _search),
    "WebFetch": _web_fetch,
    "WebSearch": _web_search,
    **dict.fromkeys(("Task", "Agent"), _agent_spawn),
    **dict.fromkeys(("ListMcpResourcesTool", "ReadMcpResourceTool"), _mcp_resources),
}


def classify_patch(patch: str, context: Context) -> Classification:
    """Codex's ``apply_patch``: the riskiest file it adds, updates or deletes."""
    parts = []
    for match in re.finditer(r"^\*\*\* (Add|Update|Delete) File: (.+)$", patch, re.M):
        verb, path = match.group(1), match.group(2).strip()
        if verb == "Delete":
            parts.append(Classification("file.delete", context.display(path)))
        else:
            parts.append(context.file_change(path))
    found = riskiest(parts) or Classification("file.write", "patch")
    return Classification(found.action, clean(found.target))


def _quote(word: str) -> str:
    return word if re.fullmatch(r"[\w@%+=:,./-]+", word) else "'" + word.replace("'", "'\\''") + "'"
