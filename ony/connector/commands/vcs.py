"""git and gh: reads, local commits, pushes (forced, deleting, to a protected branch)."""

from __future__ import annotations

import os

from ony.connector.actions import URL, Classification, Context, url_target, words
from ony.connector.commands.arguments import positional

GIT_READ = words(
    "status log diff show blame ls-files ls-tree ls-remote rev-parse rev-list describe reflog "
    "shortlog grep fetch cat-file for-each-ref show-ref name-rev merge-base whatchanged "
    "worktree help version count-objects fsck check-ignore"
)
GIT_LOCAL = words(
    "add commit checkout switch restore stash merge rebase reset cherry-pick revert pull tag "
    "branch init clone mv rm am apply notes submodule config bisect gc prune"
)
#: Options before git's subcommand that take a value (``git -C dir status``).
GIT_VALUE_OPTIONS = ("-C", "-c", "--git-dir", "--work-tree", "--namespace")
#: Subcommands that only list when given no arguments (``git branch``, ``git stash``).
GIT_LISTS_WITHOUT_ARGUMENTS = ("branch", "tag", "remote", "stash")
GIT_LIST_FLAGS = ("-l", "--list", "-v", "-a", "-r")
GIT_CONFIG_READ_FLAGS = ("--get", "--list", "-l", "--get-all")
PUSH_VALUE_FLAGS = ("-o", "--push-option", "--repo", "--receive-pack", "--exec")


def git(name: str, args: list[str], context: Context) -> Classification:
    rest, git_dir = _after_git_options(args, context)
    if not rest:
        return Classification("git.read", "git")
    sub, sub_args = rest[0], rest[1:]
    if sub == "push":
        return _git_push(sub_args, context, git_dir)
    return _git_subcommand(sub, sub_args)


def _after_git_options(args: list[str], context: Context) -> tuple[list[str], str]:
    """The arguments from git's subcommand on, and the repository's directory (``-C``)."""
    rest, git_dir = list(args), context.cwd
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in GIT_VALUE_OPTIONS and rest:
            value = rest.pop(0)
            if flag == "-C":
                git_dir = context.absolute(value)
    return rest, git_dir


def _git_subcommand(sub: str, sub_args: list[str]) -> Classification:
    """Every git subcommand but ``push``."""
    if _git_reads(sub, sub_args):
        return Classification("git.read", f"git {sub}")
    if sub == "clean" or (sub == "reset" and "--hard" in sub_args):
        return Classification("file.delete", f"git {sub}")
    if sub in ("checkout", "restore") and ("." in sub_args or "--" in sub_args):
        return Classification("file.delete", f"git {sub} (discards changes)")
    if sub in GIT_LOCAL:
        return Classification("git.commit", f"git {sub}")
    if sub == "credential" or (sub == "config" and "credential" in " ".join(sub_args)):
        return Classification("secret.read", "git credentials")
    return Classification("shell.exec", f"git {sub}")


def _git_reads(sub: str, sub_args: list[str]) -> bool:
    if sub in GIT_READ or (sub in GIT_LISTS_WITHOUT_ARGUMENTS and not sub_args):
        return True
    if sub in ("branch", "tag"):
        return any(a in GIT_LIST_FLAGS for a in sub_args)
    return sub == "config" and any(a in GIT_CONFIG_READ_FLAGS for a in sub_args)


def _git_push(args: list[str], context: Context, git_dir: str) -> Classification:
    remote_and_refspecs = positional(args, PUSH_VALUE_FLAGS)
    remote = remote_and_refspecs[0] if remote_and_refspecs else "origin"
    refspecs = remote_and_refspecs[1:]
    branches = _pushed_branches(args, refspecs, git_dir)
    target = f"{url_target(remote) if URL.match(remote) else remote} {' '.join(branches)}"
    if _push_forces(args, refspecs):
        return Classification("git.push_force", target)
    if _push_deletes(args, refspecs):
        return Classification("git.branch_delete", target)
    if any(b == "--all" or _protected(b, context) for b in branches):
        return Classification("git.push_protected", target)
    return Classification("git.push", target)


def _push_forces(args: list[str], refspecs: list[str]) -> bool:
    """``--force``, ``--force-with-lease``, ``--mirror`` or a ``+ref``."""
    return any(
        a in ("-f", "--force", "--mirror") or a.startswith("--force-with-lease") for a in args
    ) or any(r.startswith("+") for r in refspecs)


def _push_deletes(args: list[str], refspecs: list[str]) -> bool:
    """``--delete`` or a ``:ref``."""
    return any(a in ("-d", "--delete") for a in args) or any(r.startswith(":") for r in refspecs)


def _pushed_branches(args: list[str], refspecs: list[str], git_dir: str) -> list[str]:
    """The remote branches a push updates: its refspecs, ``--all``, else the checked-out one."""
    branches = [r.lstrip("+").split(":")[-1].removeprefix("refs/heads/") for r in refspecs]
    if branches:
        return branches
    if any(a in ("--all", "--mirror", "--tags") for a in args):
        return ["--all"]
    current = current_branch(git_dir)
    return [current] if current else ["HEAD"]


def _protected(branch: str, context: Context) -> bool:
    for pattern in context.protected_branches:
        if pattern.endswith("*") and branch.startswith(pattern[:-1]):
            return True
        if branch == pattern:
            return True
    return branch == "HEAD"  # unknown: treat the branch as protected


def current_branch(directory: str) -> str | None:
    """The branch checked out in the repository around ``directory`` (read from ``.git/HEAD``)."""
    folder = os.path.abspath(directory)
    while True:
        git = os.path.join(folder, ".git")
        if os.path.isfile(git):  # a worktree: "gitdir: ..."
            text = _read(git)
            if text is None or ":" not in text:
                return None
            git = os.path.normpath(os.path.join(folder, text.split(":", 1)[1].strip()))
        head = _read(os.path.join(git, "HEAD"))
        if head is not None:
            return head.removeprefix("ref: refs/heads/") if head.startswith("ref:") else None
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return None


def gh(name: str, args: list[str], context: Context) -> Classification:
    words = positional(args)
    joined = " ".join(words[:2])
    if joined in ("secret set", "secret delete", "variable set"):
        return Classification("secret.write", f"gh {joined}")
    if joined == "auth token":
        return Classification("secret.read", "gh auth token")
    if joined in ("release create", "release upload"):
        return Classification("package.publish", f"gh {joined}")
    if joined in ("pr merge", "repo delete"):
        action = "git.push_protected" if joined == "pr merge" else "infra.destroy"
        return Classification(action, f"gh {joined}")
    if words[:1] and words[0] in ("pr", "issue", "repo", "run", "workflow", "api", "release"):
        read = len(words) > 1 and words[1] in ("view", "list", "status", "diff", "checks", "watch")
        return Classification("shell.readonly" if read else "network.upload", f"gh {joined}")
    return Classification("shell.exec", f"gh {joined}".strip())
