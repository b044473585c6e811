"""Commands that change files: rm, cp, mv, mkdir, sed -i, tee; awk and find by what they run."""

from __future__ import annotations

import re

from ony.connector.actions import Classification, Context, riskiest
from ony.connector.commands.arguments import InnerCommand, positional

#: Writing here changes no file.
DEV_FILES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})


def rm(name: str, args: list[str], context: Context) -> Classification:
    recursive = any(
        a in ("--recursive", "-r", "-R") or (re.fullmatch(r"-[a-zA-Z]+", a) and "r" in a.lower())
        for a in args
    )
    paths = positional(args) or ["?"]
    action = "file.delete_recursive" if recursive else "file.delete"
    return Classification(action, " ".join(context.display(p) for p in paths[:3]))


def copy(name: str, args: list[str], context: Context) -> Classification:
    paths = positional(args, ("-t", "--target-directory"))
    if not paths:
        return Classification("file.write", name)
    return context.file_change(paths[-1])


def writes_files(name: str, args: list[str], context: Context) -> Classification:
    paths = positional(args, ("-m", "--mode")) or ["."]
    return riskiest([context.file_change(p) for p in paths]) or Classification("file.write", name)


def sed(name: str, args: list[str], context: Context) -> Classification:
    if any(a == "-i" or a.startswith(("-i", "--in-place")) for a in args):
        paths = positional(args, ("-e", "-f"))[1:] or ["?"]
        return context.file_change(paths[0])
    return Classification("shell.readonly", name)


def awk(name: str, args: list[str], context: Context) -> Classification:
    if any("system(" in a or re.search(r"\|\s*getline|print[^;]*\|", a) for a in args):
        return Classification("shell.obfuscated", f"{name} running commands")
    return Classification("shell.readonly", name)


def find(name: str, args: list[str], context: Context) -> Classification | InnerCommand:
    if "-delete" in args:
        return Classification("file.delete_recursive", " ".join(positional(args[:1]) or ["."]))
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in args:
            start = args.index(flag) + 1
            end = next((i for i in range(start, len(args)) if args[i] in (";", "+")), len(args))
            inner = [a for a in args[start:end] if a != "{}"]
            if inner:
                return InnerCommand(inner)
    return Classification("shell.readonly", name)


def tee(name: str, args: list[str], context: Context) -> Classification:
    paths = positional(args)
    found = riskiest([context.file_change(p) for p in paths if p not in DEV_FILES])
    return found or Classification("shell.readonly", name)
