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
    from typing import Any

__all__ = ["RANK", "Classification", "Context", "classify_shell", "classify_tool", "clean"]


def classify_tool(tool_name: str, tool_input: Any, context: Context) -> Classification:
    """The action and target of one Claude Code or Codex tool call."""
    tool_input = tool_input if isinstance(tool_input, dict) else {}

    def text(key: str) -> str:
        value = tool_input.get(key)
        return value if isinstance(value, str) else ""

    if tool_name in ("Bash", "shell", "exec_command", "local_shell"):
        command = tool_input.get("command")
        if isinstance(command, list):  # Codex sends argv
            command = " ".join(_quote(str(word)) for word in command)
        return classify_shell(command if isinstance(command, str) else "", context)
    if tool_name in ("Read", "NotebookRead"):
        path = text("file_path") or text("notebook_path")
        action = "secret.read" if context.is_secret(path) else "file.read"
        return Classification(action, clean(context.display(path)))
    if tool_name in ("Write", "Edit", "MultiEdit", "NotebookEdit"):
        path = text("file_path") or text("notebook_path")
        found = context.file_change(path)
        return Classification(found.action, clean(found.target))
    if tool_name == "apply_patch":
        return classify_patch(text("command") or text("input") or text("patch"), context)
    if tool_name in ("Glob", "Grep", "LS"):
        path = text("path")
        if path and context.is_secret(path):
            return Classification("secret.read", clean(context.display(path)))
        return Classification("file.search", clean(text("pattern") or path or "."))
    if tool_name == "WebFetch":
        return Classification("web.fetch", clean(url_target(text("url"))))
    if tool_name == "WebSearch":
        return Classification("web.search", clean(text("query"), 100))
    if tool_name in ("Task", "Agent"):
        return Classification("agent.spawn", clean(text("subagent_type") or text("description")))
    if tool_name in AGENT_INTERNAL_TOOLS:
        return Classification("agent.internal", tool_name)
    if tool_name.startswith("mcp__"):
        server, _, tool = tool_name[5:].partition("__")
        return Classification("mcp.call", clean(f"{server}/{tool}" if tool else server))
    if tool_name in ("ListMcpResourcesTool", "ReadMcpResourceTool"):
        return Classification("mcp.call", clean(text("server") or tool_name))
    name = re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", tool_name).lower())
    return Classification(f"tool.{name.strip('_') or 'unnamed'}", clean(tool_name))


#: Claude Code's own bookkeeping: a plan, a to-do list, a question to the user,
#: the output of a shell it started. Nothing outside the agent changes.
AGENT_INTERNAL_TOOLS = words(
    "TodoWrite ExitPlanMode EnterPlanMode AskUserQuestion BashOutput TaskOutput KillShell KillBash"
)


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
