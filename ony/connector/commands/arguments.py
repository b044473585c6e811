"""What every command handler shares: its signature, and reading its arguments.

A handler takes a command's name (``git``, ``rm``: the word after
``ony.connector.actions.command_name``), its arguments and the ``Context``,
and returns the command's ``Classification``. A command that only runs
another one (``find -exec rm``, ``npx jest``, ``bundle exec rake``) returns
that ``InnerCommand`` instead, and the walker (``commands.walker``)
classifies it in turn: handlers never call the walker themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ony.connector.actions import Classification, Context


class InnerCommand:
    """The command another one runs in its place, for the walker to classify."""

    __slots__ = ("argv",)

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv


#: ``handler(name, args, context)``: one command's action, or the command it runs.
Handler = Callable[[str, list[str], Context], Classification | InnerCommand]


def positional(args: Sequence[str], value_flags: Sequence[str] = ()) -> list[str]:
    """The arguments that are not flags (skipping the value of each flag in ``value_flags``)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in value_flags:
            skip = True
        elif not arg.startswith("-") or arg == "-":
            out.append(arg)
    return out


def subcommand(args: list[str], skip_flags: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The first positional argument and the arguments after it (``""`` and none if none)."""
    words = positional(args, skip_flags)
    if not words:
        return "", []
    return words[0], args[args.index(words[0]) + 1 :]
