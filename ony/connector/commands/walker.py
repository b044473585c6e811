"""Walking a command line: every simple command, substitution and here-document it runs.

``Walker`` reads a line with ``ony.connector.shell`` and classifies each
command it would run, then returns the riskiest. It sees through what only
runs another command (``sudo``, ``env``, ``timeout``, ``xargs``, ``bash -c``,
``python -m``) and treats what hides the command (``eval``, a shell or
interpreter reading a pipe, code that builds code) as ``shell.obfuscated``.
Any other command goes to its handler in the registry the walker is given
(``ony.connector.commands.COMMANDS``); a handler may hand back the command it
runs (``InnerCommand``), which the walker reads in turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ony.connector import shell
from ony.connector.actions import (
    Classification,
    Context,
    clean,
    command_name,
    riskiest,
    words,
)
from ony.connector.commands.arguments import Handler, InnerCommand
from ony.connector.commands.cloud import deploy_script
from ony.connector.commands.databases import django
from ony.connector.commands.files import DEV_FILES

MAX_DEPTH = 4
READONLY = words(
    "ls ll la cat head tail less more wc grep egrep fgrep rg ag ack tree pwd echo printf "
    "which whereis type file stat du df date whoami id uname hostname sort uniq cut tr diff "
    "cmp comm jq yq basename dirname realpath readlink true false test [ [[ sleep cd pushd "
    "popd ps man help column nl fold od hexdump xxd sha256sum sha1sum md5sum shasum cksum "
    "zcat bat fd exa eza lsof uptime free nproc arch tput clear history wait seq expr "
    "sed awk find"
)
SHELLS = words("sh bash zsh dash ksh fish ash busybox")
INTERPRETERS = words("python perl ruby node php deno bun lua Rscript osascript")
WRAPPERS = words(
    "env nohup time nice ionice stdbuf command builtin exec caffeinate timeout xargs watch "
    "chronic unbuffer"
)
WRAPPER_VALUE_FLAGS = words("-n -s -k -I -u -L -P -d --signal --kill-after")
PRIVILEGED = words("sudo su doas pkexec runas")
UNSAFE_CODE = re.compile(
    r"\b(exec|eval|compile|__import__|system|popen|spawn|subprocess|child_process|pty|"
    r"execSync|execFile|b64decode|fromhex|getattr)\b"
)
KEYWORDS = words("if then else elif fi do done while until case esac in ! { } function select")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class Walker:
    """Classifies command lines run in ``context``, ``commands`` naming each command's handler."""

    def __init__(self, commands: Mapping[str, Handler], context: Context) -> None:
        self.commands = commands
        self.context = context

    def classify(self, command: str) -> Classification:
        """The riskiest command ``command`` would run, its target fit to send."""
        found = self._script(command, 0)
        return Classification(found.action, clean(found.target))

    def _script(self, command: str, depth: int) -> Classification:
        """The riskiest command of ``command``, read ``depth`` substitutions or shells deep."""
        if depth > MAX_DEPTH:
            return Classification("shell.obfuscated", "nested too deep")
        try:
            parsed = shell.parse(command)
        except shell.ShellSyntaxError as exc:
            return Classification("shell.obfuscated", f"unreadable shell: {exc}")
        # The commands first: on a tie, the target names what the line mainly does.
        parts: list[Classification] = []
        for simple in parsed.commands:
            parts.extend(self._simple_command(simple, depth))
        parts.extend(self._script(sub, depth + 1) for sub in parsed.substitutions)
        return riskiest(parts) or Classification("shell.readonly", "empty command")

    def _simple_command(self, command: shell.Command, depth: int) -> list[Classification]:
        context = self.context
        parts: list[Classification] = []
        for op, target in command.redirects:
            if op in (">", ">>", ">|", "<>") and target not in DEV_FILES:
                parts.append(context.file_change(target))
            elif op == "<" and context.is_secret(target):
                parts.append(Classification("secret.read", context.display(target)))
        argv = list(command.argv)
        while argv and argv[0] in KEYWORDS:
            argv.pop(0)
        if not argv or command.argv[0] in ("for", "case", "select"):
            return parts
        parts.append(
            self._argv(argv, depth, piped_into=command.piped_into, heredoc=command.heredoc)
        )
        secret = context.secret_in(argv[1:])
        if secret:
            parts.append(Classification("secret.read", context.display(secret)))
        return parts

    def _argv(
        self, argv: list[str], depth: int, *, piped_into: bool = False, heredoc: str | None = None
    ) -> Classification:
        """One simple command's action, from its name and arguments."""
        word = argv[0]
        if "$" in word or "`" in word or word.startswith(("<(", ">(")):
            return Classification("shell.obfuscated", "a command named by an expansion")
        name = command_name(word)
        args = argv[1:]
        if name in PRIVILEGED:
            return _privileged(name, args)
        if name in WRAPPERS:
            return self._wrapper(name, args, depth, piped_into, heredoc)
        if name == "eval" or (name in ("source", ".") and any(a.startswith("<(") for a in args)):
            return Classification("shell.obfuscated", name)
        if name in SHELLS:
            return self._shell_command(name, args, depth, piped_into, heredoc)
        if name in INTERPRETERS:
            return self._interpreter(name, args, depth, piped_into, heredoc)
        return self._command(name, args)

    def _wrapper(
        self, name: str, args: list[str], depth: int, piped_into: bool, heredoc: str | None
    ) -> Classification:
        """The command a wrapper runs; a bare ``env`` shows the environment."""
        rest = _after_wrapper(name, args)
        if not rest:
            action = "secret.read" if name == "env" else "shell.readonly"
            return Classification(action, "environment variables" if name == "env" else name)
        return self._argv(rest, depth, piped_into=piped_into, heredoc=heredoc)

    def _command(self, name: str, args: list[str]) -> Classification:
        """A command by its handler; else a deploy script, a read-only command, or unknown."""
        handler = self.commands.get(name)
        if handler is not None:
            found = handler(name, args, self.context)
            if isinstance(found, InnerCommand):  # read afresh, at depth 0
                return self._argv(found.argv, 0)
            return found
        if "deploy" in name:
            return deploy_script(name, args)
        if name in READONLY:
            return Classification("shell.readonly", name)
        return Classification("shell.exec", name)

    def _shell_command(
        self, name: str, args: list[str], depth: int, piped_into: bool, heredoc: str | None
    ) -> Classification:
        """``bash -c '...'`` is read in turn; a shell reading a pipe or ``<(...)`` hides it."""
        flag = next((i for i, a in enumerate(args) if re.fullmatch(r"-[a-z]*c[a-z]*", a)), None)
        if flag is not None:
            code = args[flag + 1] if flag + 1 < len(args) else ""
            if "$(" in code or "`" in code:
                return Classification("shell.obfuscated", f"{name} -c with a substitution")
            return self._script(code, depth + 1)
        scripts = [a for a in args if not a.startswith("-")]
        if scripts and scripts[0].startswith(("<(", "/dev/fd/", "/proc/self/fd/")):
            return Classification("shell.obfuscated", f"{name} running a substitution")
        if scripts:
            return Classification("shell.exec", f"{name} {scripts[0]}")
        if heredoc is not None and not piped_into:
            return self._script(heredoc, depth + 1)
        return Classification("shell.obfuscated", f"{name} reading commands from stdin")

    def _interpreter(
        self, name: str, args: list[str], depth: int, piped_into: bool, heredoc: str | None
    ) -> Classification:
        """``python -c`` with exec/os.system hides what runs; ``python -m X`` is ``X``."""
        for i, arg in enumerate(args):
            if arg in ("-c", "-e", "--eval", "-p", "--print", "-E") and i + 1 < len(args):
                return _code(f"{name} {arg}", args[i + 1])
            if arg == "-m" and i + 1 < len(args):
                return self._argv(args[i + 1 :], depth)
            if arg.startswith("<("):
                return Classification("shell.obfuscated", f"{name} running a substitution")
            if not arg.startswith("-"):
                if arg.endswith("manage.py"):
                    return django(args[i + 1 :])
                return Classification("shell.exec", f"{name} {arg}")
        if heredoc is not None and not piped_into:
            return _code(name, heredoc)
        if piped_into:
            return Classification("shell.obfuscated", f"{name} reading code from stdin")
        return Classification("shell.exec", name)


def _privileged(name: str, args: list[str]) -> Classification:
    """``sudo CMD``: named by the command it runs, whatever that is."""
    inner = next((a for a in args if not a.startswith("-")), name)
    return Classification("shell.privileged", f"{name} {command_name(inner)}")


def _after_wrapper(name: str, args: list[str]) -> list[str]:
    """The command a wrapper runs: ``env A=1 cmd``, ``timeout 5 cmd``, ``xargs -n1 cmd``."""
    rest = list(args)
    while rest and (rest[0].startswith("-") or _ASSIGNMENT.match(rest[0])):
        if rest.pop(0) in WRAPPER_VALUE_FLAGS and rest:
            rest.pop(0)
    if name == "timeout" and rest and re.fullmatch(r"[\d.]+[smhd]?", rest[0]):
        rest = rest[1:]
    return rest


def _code(target: str, code: str) -> Classification:
    """Code given to an interpreter: ``shell.obfuscated`` if it can run code it builds."""
    if UNSAFE_CODE.search(code):
        return Classification("shell.obfuscated", f"{target} running code it builds")
    return Classification("shell.exec", target)


def environment(name: str, args: list[str], context: Context) -> Classification:
    """``printenv``, or a bare ``export``/``set``/``declare``, shows the environment's secrets;
    setting a variable does not."""
    if (
        name in ("export", "set", "declare")
        and args
        and not all(a.startswith(("-p", "-x")) for a in args)
    ):
        return Classification("shell.readonly", name)
    return Classification("secret.read", "environment variables")
