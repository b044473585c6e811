"""Shell commands -> actions: the rules for each command an agent may run.

``classify_shell`` reads a command line with ``ony.connector.shell``, classifies
every simple command, substitution and here-document fed to a shell, and
returns the riskiest. docs/connector.md lists the rules; the table in
tests/test_connector_classify.py holds them to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

from ony.connector import shell
from ony.connector.actions import (
    URL,
    Classification,
    Context,
    clean,
    command_name,
    riskiest,
    url_target,
    words,
)

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
DB_CLIENTS = words("psql mysql mariadb sqlite3 sqlite mongo mongosh cqlsh clickhouse-client duckdb")
NETWORK_UPLOAD_FLAGS = re.compile(
    r"^(-d|--data.*|-F|--form.*|-T|--upload-file|--post-data.*|--post-file.*|--json|--body-file.*)"
    r"(=.*)?$"
)
UNSAFE_CODE = re.compile(
    r"\b(exec|eval|compile|__import__|system|popen|spawn|subprocess|child_process|pty|"
    r"execSync|execFile|b64decode|fromhex|getattr)\b"
)
SQL_DROP = re.compile(r"\b(drop|truncate)\b|\bdelete\s+from\s+\w+\s*(;|$)", re.I)
SQL_WRITE = re.compile(
    r"\b(insert|update|delete|alter|create|grant|revoke|merge|upsert|replace|copy|vacuum|"
    r"reindex|cluster|comment|lock|call|do)\b",
    re.I,
)
REDIS_DROP = frozenset({"flushall", "flushdb"})
REDIS_READ = words(
    "get mget keys scan info ping type ttl pttl exists hget hgetall hkeys hlen lrange llen "
    "scard smembers zrange zcard strlen dbsize memory config"
)


def classify_shell(command: str, context: Context) -> Classification:
    """The riskiest command ``command`` would run, its target fit to send."""
    found = _script(command, context, 0)
    return Classification(found.action, clean(found.target))


def _script(command: str, context: Context, depth: int) -> Classification:
    """The riskiest command of ``command``, read ``depth`` substitutions or shells deep."""
    if depth > MAX_DEPTH:
        return Classification("shell.obfuscated", "nested too deep")
    try:
        script = shell.parse(command)
    except shell.ShellSyntaxError as exc:
        return Classification("shell.obfuscated", f"unreadable shell: {exc}")
    parts = []  # the commands first: on a tie, the target names what the line mainly does
    for simple in script.commands:
        parts.extend(_simple_command(simple, context, depth))
    parts.extend(_script(sub, context, depth + 1) for sub in script.substitutions)
    return riskiest(parts) or Classification("shell.readonly", "empty command")


KEYWORDS = words("if then else elif fi do done while until case esac in ! { } function select")


def _simple_command(command: shell.Command, context: Context, depth: int) -> list[Classification]:
    parts = []
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
        _argv(argv, context, depth, piped_into=command.piped_into, heredoc=command.heredoc)
    )
    secret = context.secret_in(argv[1:])
    if secret:
        parts.append(Classification("secret.read", context.display(secret)))
    return parts


DEV_FILES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})


def _argv(
    argv: list[str],
    context: Context,
    depth: int,
    *,
    piped_into: bool = False,
    heredoc: str | None = None,
) -> Classification:
    """One simple command's action, from its name and arguments."""
    word = argv[0]
    if "$" in word or "`" in word or word.startswith(("<(", ">(")):
        return Classification("shell.obfuscated", "a command named by an expansion")
    name = command_name(word)
    args = argv[1:]
    if name in PRIVILEGED:
        inner = next((a for a in args if not a.startswith("-")), name)
        return Classification("shell.privileged", f"{name} {command_name(inner)}")
    if name in WRAPPERS:
        rest = _after_wrapper(name, args)
        if not rest:
            action = "secret.read" if name == "env" else "shell.readonly"
            return Classification(action, "environment variables" if name == "env" else name)
        return _argv(rest, context, depth, piped_into=piped_into, heredoc=heredoc)
    if name == "eval" or (name in ("source", ".") and any(a.startswith("<(") for a in args)):
        return Classification("shell.obfuscated", name)
    if name in SHELLS:
        return _shell_command(name, args, context, depth, piped_into, heredoc)
    if name in INTERPRETERS:
        return _interpreter(name, args, context, depth, piped_into, heredoc)
    handler = COMMANDS.get(name)
    if handler is not None:
        return handler(name, args, context)
    if "deploy" in name:
        return _deploy_script(name, args)
    if name in READONLY:
        return Classification("shell.readonly", name)
    return Classification("shell.exec", name)


def _after_wrapper(name: str, args: list[str]) -> list[str]:
    """The command a wrapper runs: ``env A=1 cmd``, ``timeout 5 cmd``, ``xargs -n1 cmd``."""
    rest = list(args)
    while rest and (rest[0].startswith("-") or _ASSIGNMENT.match(rest[0])):
        if rest.pop(0) in WRAPPER_VALUE_FLAGS and rest:
            rest.pop(0)
    if name == "timeout" and rest and re.fullmatch(r"[\d.]+[smhd]?", rest[0]):
        rest = rest[1:]
    return rest


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _shell_command(name, args, context, depth, piped_into, heredoc) -> Classification:
    """``bash -c '...'`` is read in turn; a shell reading a pipe or ``<(...)`` hides it."""
    flag = next((i for i, a in enumerate(args) if re.fullmatch(r"-[a-z]*c[a-z]*", a)), None)
    if flag is not None:
        code = args[flag + 1] if flag + 1 < len(args) else ""
        if "$(" in code or "`" in code:
            return Classification("shell.obfuscated", f"{name} -c with a substitution")
        return _script(code, context, depth + 1)
    scripts = [a for a in args if not a.startswith("-")]
    if scripts and scripts[0].startswith(("<(", "/dev/fd/", "/proc/self/fd/")):
        return Classification("shell.obfuscated", f"{name} running a substitution")
    if scripts:
        return Classification("shell.exec", f"{name} {scripts[0]}")
    if heredoc is not None and not piped_into:
        return _script(heredoc, context, depth + 1)
    return Classification("shell.obfuscated", f"{name} reading commands from stdin")


def _interpreter(name, args, context, depth, piped_into, heredoc) -> Classification:
    """``python -c`` with exec/os.system hides what runs; ``python -m X`` is ``X``."""
    for i, arg in enumerate(args):
        if arg in ("-c", "-e", "--eval", "-p", "--print", "-E") and i + 1 < len(args):
            return _code(name, f"{name} {arg}", args[i + 1])
        if arg == "-m" and i + 1 < len(args):
            return _argv(args[i + 1 :], context, depth)
        if arg.startswith("<("):
            return Classification("shell.obfuscated", f"{name} running a substitution")
        if not arg.startswith("-"):
            if arg.endswith("manage.py"):
                return _django(args[i + 1 :])
            return Classification("shell.exec", f"{name} {arg}")
    if heredoc is not None and not piped_into:
        return _code(name, name, heredoc)
    if piped_into:
        return Classification("shell.obfuscated", f"{name} reading code from stdin")
    return Classification("shell.exec", name)


def _code(name: str, target: str, code: str) -> Classification:
    if UNSAFE_CODE.search(code):
        return Classification("shell.obfuscated", f"{target} running code it builds")
    return Classification("shell.exec", target)


def _deploy_script(name: str, args: list[str]) -> Classification:
    words = " ".join([name, *args]).lower()
    if re.search(r"\b(staging|stage|stg)\b", words):
        return Classification("deploy.staging", name)
    if re.search(r"\b(preview|dev|review)\b", words):
        return Classification("deploy.preview", name)
    return Classification("deploy.production", name)


# Commands by name


def _positional(args: Sequence[str], value_flags: Sequence[str] = ()) -> list[str]:
    """The arguments that are not flags (skipping the value of each flag in ``value_flags``)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in value_flags:
            skip = True
        elif not arg.startswith("-") or arg == "-":
            out.append(arg)
    return out


def _rm(name: str, args: list[str], context: Context) -> Classification:
    recursive = any(
        a in ("--recursive", "-r", "-R") or (re.fullmatch(r"-[a-zA-Z]+", a) and "r" in a.lower())
        for a in args
    )
    paths = _positional(args) or ["?"]
    action = "file.delete_recursive" if recursive else "file.delete"
    return Classification(action, " ".join(context.display(p) for p in paths[:3]))


def _copy(name: str, args: list[str], context: Context) -> Classification:
    paths = _positional(args, ("-t", "--target-directory"))
    if not paths:
        return Classification("file.write", name)
    return context.file_change(paths[-1])


def _writes_files(name: str, args: list[str], context: Context) -> Classification:
    paths = _positional(args, ("-m", "--mode")) or ["."]
    return riskiest([context.file_change(p) for p in paths]) or Classification("file.write", name)


def _sed(name: str, args: list[str], context: Context) -> Classification:
    if any(a == "-i" or a.startswith(("-i", "--in-place")) for a in args):
        paths = _positional(args, ("-e", "-f"))[1:] or ["?"]
        return context.file_change(paths[0])
    return Classification("shell.readonly", name)


def _awk(name: str, args: list[str], context: Context) -> Classification:
    if any("system(" in a or re.search(r"\|\s*getline|print[^;]*\|", a) for a in args):
        return Classification("shell.obfuscated", f"{name} running commands")
    return Classification("shell.readonly", name)


def _find(name: str, args: list[str], context: Context) -> Classification:
    if "-delete" in args:
        return Classification("file.delete_recursive", " ".join(_positional(args[:1]) or ["."]))
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in args:
            start = args.index(flag) + 1
            end = next((i for i in range(start, len(args)) if args[i] in (";", "+")), len(args))
            inner = [a for a in args[start:end] if a != "{}"]
            if inner:
                return _argv(inner, context, 0)
    return Classification("shell.readonly", name)


def _tee(name: str, args: list[str], context: Context) -> Classification:
    paths = _positional(args)
    found = riskiest([context.file_change(p) for p in paths if p not in DEV_FILES])
    return found or Classification("shell.readonly", name)


def _git(name: str, args: list[str], context: Context) -> Classification:
    rest, git_dir = list(args), context.cwd
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") and rest:
            value = rest.pop(0)
            if flag == "-C":
                git_dir = context.absolute(value)
    if not rest:
        return Classification("git.read", "git")
    sub, sub_args = rest[0], rest[1:]
    if sub == "push":
        return _git_push(sub_args, context, git_dir)
    if sub in GIT_READ or (sub in ("branch", "tag", "remote", "stash") and not sub_args):
        return Classification("git.read", f"git {sub}")
    if sub in ("branch", "tag") and any(a in ("-l", "--list", "-v", "-a", "-r") for a in sub_args):
        return Classification("git.read", f"git {sub}")
    if sub == "config" and any(a in ("--get", "--list", "-l", "--get-all") for a in sub_args):
        return Classification("git.read", "git config")
    if sub == "clean" or (sub == "reset" and "--hard" in sub_args):
        return Classification("file.delete", f"git {sub}")
    if sub in ("checkout", "restore") and ("." in sub_args or "--" in sub_args):
        return Classification("file.delete", f"git {sub} (discards changes)")
    if sub in GIT_LOCAL:
        return Classification("git.commit", f"git {sub}")
    if sub == "credential" or (sub == "config" and "credential" in " ".join(sub_args)):
        return Classification("secret.read", "git credentials")
    return Classification("shell.exec", f"git {sub}")


GIT_READ = words(
    "status log diff show blame ls-files ls-tree ls-remote rev-parse rev-list describe reflog "
    "shortlog grep fetch cat-file for-each-ref show-ref name-rev merge-base whatchanged "
    "worktree help version count-objects fsck check-ignore"
)
GIT_LOCAL = words(
    "add commit checkout switch restore stash merge rebase reset cherry-pick revert pull tag "
    "branch init clone mv rm am apply notes submodule config bisect gc prune"
)


def _git_push(args: list[str], context: Context, git_dir: str) -> Classification:
    force = any(
        a in ("-f", "--force", "--mirror") or a.startswith("--force-with-lease") for a in args
    )
    delete = any(a in ("-d", "--delete") for a in args)
    positional = _positional(args, ("-o", "--push-option", "--repo", "--receive-pack", "--exec"))
    remote = positional[0] if positional else "origin"
    refspecs = positional[1:]
    force = force or any(r.startswith("+") for r in refspecs)
    delete = delete or any(r.startswith(":") for r in refspecs)
    branches = [r.lstrip("+").split(":")[-1].removeprefix("refs/heads/") for r in refspecs]
    if not branches and any(a in ("--all", "--mirror", "--tags") for a in args):
        branches = ["--all"]
    if not branches:
        current = current_branch(git_dir)
        branches = [current] if current else ["HEAD"]
    target = f"{url_target(remote) if URL.match(remote) else remote} {' '.join(branches)}"
    if force:
        return Classification("git.push_force", target)
    if delete:
        return Classification("git.branch_delete", target)
    if any(b == "--all" or _protected(b, context) for b in branches):
        return Classification("git.push_protected", target)
    return Classification("git.push", target)


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


def _subcommand(args: list[str], skip_flags: Sequence[str] = ()) -> tuple[str, list[str]]:
    positional = _positional(args, skip_flags)
    if not positional:
        return "", []
    return positional[0], args[args.index(positional[0]) + 1 :]


def _package_manager(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args, ("--prefix", "-C", "--filter", "-w", "--workspace", "--cwd"))
    if sub in ("publish", "upload", "push", "release") or (
        name in ("twine",) and sub in ("upload", "register")
    ):
        return Classification("package.publish", f"{name} {sub}")
    if sub in ("test", "t") or (sub in ("run", "run-script") and rest[:1] == ["test"]):
        return Classification("test.run", f"{name} test")
    if sub in ("run", "run-script", "exec", "dlx", "x") and rest:
        script = _positional(rest)
        script_name = script[0] if script else ""
        if sub in ("exec", "dlx", "x") and script:
            return _argv(script, context, 0)
        if re.search(r"test|spec|e2e", script_name):
            return Classification("test.run", f"{name} run {script_name}")
        if re.search(r"build|lint|format|check|typecheck|compile|dev|start|serve", script_name):
            return Classification("build.run", f"{name} run {script_name}")
        if "deploy" in script_name:
            return _deploy_script(script_name, script[1:])
        if re.search(r"migrat", script_name):
            return Classification("db.migrate", f"{name} run {script_name}")
        return Classification("shell.exec", f"{name} run {script_name}")
    if sub in ("build", "compile", "check", "lint", "fmt", "clippy", "vet", "tsc", "pack"):
        return Classification("build.run", f"{name} {sub}")
    if sub in PACKAGE_INSTALL:
        packages = _positional(rest)
        return Classification("package.install", f"{name} {sub} {' '.join(packages[:3])}".strip())
    if sub in ("list", "ls", "show", "info", "outdated", "view", "why", "audit", "freeze", "tree"):
        return Classification("shell.readonly", f"{name} {sub}")
    if name in ("cargo", "go") and sub == "run":
        return Classification("shell.exec", f"{name} run")
    return Classification("shell.exec", f"{name} {sub}".strip())


PACKAGE_INSTALL = words("install i ci add upgrade update sync get remove uninstall rm un lock up")


def _pip(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args)
    if name == "uv" and sub in ("pip", "tool"):
        return _pip("pip", rest, context)
    if name == "uv" and sub == "run":
        inner = _positional(rest, ("--with", "--python", "-p", "--directory", "--project"))
        return _argv(rest[rest.index(inner[0]) :], context, 0) if inner else _pip(name, [], context)
    if name in ("poetry", "pipenv", "pdm", "hatch") and sub == "run":
        return _argv(rest, context, 0) if rest else Classification("shell.exec", name)
    return _package_manager(name, args, context)


def _make(name: str, args: list[str], context: Context) -> Classification:
    targets = _positional(args, ("-C", "-f", "-j", "--directory", "--file"))
    joined = " ".join(targets)
    if re.search(r"\btest|check\b", joined):
        return Classification("test.run", f"make {joined}")
    if "deploy" in joined or "release" in joined or "publish" in joined:
        return _deploy_script(f"make {joined}", [])
    if "migrat" in joined:
        return Classification("db.migrate", f"make {joined}")
    if re.search(r"\b(clean|distclean)\b", joined):
        return Classification("file.delete_recursive", f"make {joined}")
    return Classification("build.run", f"make {joined}".strip())


def _test_runner(name: str, args: list[str], context: Context) -> Classification:
    return Classification("test.run", name)


def _build_tool(name: str, args: list[str], context: Context) -> Classification:
    sub = _positional(args)[:1]
    if name in ("mvn", "gradle", "gradlew", "./gradlew") and sub and sub[0] in ("test", "check"):
        return Classification("test.run", f"{name} {sub[0]}")
    if name in ("mvn", "gradle") and sub and sub[0] in ("deploy", "publish"):
        return Classification("package.publish", f"{name} {sub[0]}")
    return Classification("build.run", name)


def _django(args: list[str]) -> Classification:
    sub = args[0] if args else ""
    if sub == "test":
        return Classification("test.run", "manage.py test")
    if sub in ("migrate",):
        return Classification("db.migrate", "manage.py migrate")
    if sub in ("flush", "reset_db", "sqlflush"):
        return Classification("db.drop", f"manage.py {sub}")
    if sub in ("dbshell", "shell", "shell_plus", "loaddata", "createsuperuser", "changepassword"):
        action = "identity.user_create" if sub == "createsuperuser" else "db.write"
        return Classification(action, f"manage.py {sub}")
    if sub in ("makemigrations", "check", "collectstatic", "compilemessages", "showmigrations"):
        return Classification("build.run", f"manage.py {sub}")
    return Classification("shell.exec", f"manage.py {sub}".strip())


def _migration_tool(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if re.search(r"\b(reset|drop|db:drop|db:reset|purge|clean)\b", words):
        return Classification("db.drop", f"{name} {words}"[:80])
    if re.search(r"\b(history|current|status|show|info|validate|heads|check)\b", words):
        return Classification("db.query", f"{name} {words}"[:80])
    if name == "prisma" and not re.search(r"\b(migrate|db)\b", words):
        return Classification("build.run", f"prisma {words}"[:80])
    return Classification("db.migrate", f"{name} {words}"[:80])


def _rails(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if re.search(r"db:(drop|reset|purge|schema:load)", words):
        return Classification("db.drop", f"{name} {words}")
    if "db:migrate" in words or "db:rollback" in words or "db:setup" in words:
        return Classification("db.migrate", f"{name} {words}")
    if re.search(r"\b(test|spec)\b", words):
        return Classification("test.run", f"{name} {words}")
    return Classification("shell.exec", f"{name} {words}"[:80])


def _db_client(name: str, args: list[str], context: Context) -> Classification:
    sql_flags = ("-c", "--command", "-e", "--execute", "--eval", "-q")
    sql = " ".join(args[i + 1] for i, a in enumerate(args[:-1]) if a in sql_flags)
    positional = _positional(args, ("-h", "-p", "-U", "-d", "-u", "-P", "-f", "--host", *sql_flags))
    if name in ("sqlite3", "sqlite", "duckdb") and len(positional) > 1:
        sql = " ".join(positional[1:])
    database = next((p for p in positional if URL.match(p)), positional[0] if positional else "")
    target = f"{name} {url_target(database) if URL.match(database) else database}".strip()
    return _sql(sql, target)


def _sql(sql: str, target: str) -> Classification:
    if not sql.strip():
        return Classification("db.write", target)  # interactive or a file: anything may run
    if SQL_DROP.search(sql):
        return Classification("db.drop", target)
    if SQL_WRITE.search(sql):
        return Classification("db.write", target)
    return Classification("db.query", target)


def _redis(name: str, args: list[str], context: Context) -> Classification:
    words = _positional(args, ("-h", "-p", "-a", "-n", "-u", "--user", "--pass"))
    command = words[0].lower() if words else ""
    if command in REDIS_DROP:
        return Classification("db.drop", f"redis {command}")
    if command in REDIS_READ:
        return Classification("db.query", f"redis {command}")
    return Classification("db.write", f"redis {command}".strip())


def _db_dump(name: str, args: list[str], context: Context) -> Classification:
    if name in ("dropdb", "dropuser"):
        return Classification("db.drop", name)
    if name in ("pg_restore", "createdb", "createuser", "mysqlimport"):
        return Classification("db.write", name)
    return Classification("db.query", name)


def _http_client(name: str, args: list[str], context: Context) -> Classification:
    urls = [a for a in args if URL.match(a) or re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", a)]
    target = url_target(urls[0]) if urls else name
    methods = " ".join(args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-X", "--request"))
    upload = any(NETWORK_UPLOAD_FLAGS.match(a) for a in args) or re.search(
        r"POST|PUT|PATCH|DELETE", methods, re.I
    )
    if name in ("http", "https", "xh") and any("=" in a for a in args if not URL.match(a)):
        upload = True
    return Classification("network.upload" if upload else "network.request", target)


def _transfer(name: str, args: list[str], context: Context) -> Classification:
    paths = _positional(args, ("-e", "-i", "-P", "-p", "-o", "-F"))
    remote = [p for p in paths if re.match(r"^[\w.@-]+:", p) and not URL.match(p)]
    if remote and paths and paths[-1] in remote:
        return Classification("network.upload", remote[-1].split(":", 1)[0])
    if remote:
        return context.file_change(paths[-1]) if paths else Classification("file.write", name)
    return _copy(name, args, context)


def _ssh(name: str, args: list[str], context: Context) -> Classification:
    hosts = _positional(args, ("-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W"))
    return Classification("shell.exec", f"ssh {hosts[0].rsplit('@', 1)[-1]}" if hosts else "ssh")


def _terraform(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args, ("-chdir",))
    if sub == "destroy" or (sub == "apply" and "-destroy" in rest):
        return Classification("infra.destroy", f"{name} {sub}")
    if sub in ("apply", "import", "taint", "untaint", "state", "refresh", "up", "deploy"):
        return Classification("infra.apply", f"{name} {sub}")
    if sub in (
        "plan",
        "validate",
        "fmt",
        "show",
        "init",
        "output",
        "providers",
        "version",
        "graph",
        "preview",
        "get",
        "workspace",
        "stack",
        "login",
    ):
        return Classification("infra.plan", f"{name} {sub}")
    return Classification("infra.apply", f"{name} {sub}".strip())


def _kubectl(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args, ("-n", "--namespace", "--context", "-c", "--kubeconfig"))
    words = [w.lower() for w in _positional(rest, ("-n", "--namespace", "-o", "--context"))]
    if sub in ("get", "describe") and words and words[0].startswith("secret"):
        return Classification("secret.read", f"kubectl {sub} secret")
    if sub == "create" and words and words[0] == "secret":
        return Classification("secret.write", "kubectl create secret")
    if sub in ("delete", "drain"):
        return Classification("infra.destroy", f"kubectl {sub} {' '.join(words[:2])}".strip())
    if sub in ("scale", "autoscale"):
        return Classification("infra.scale", f"kubectl {sub} {' '.join(words[:2])}".strip())
    if sub == "rollout" and words[:1] == ["undo"]:
        return Classification("deploy.rollback", "kubectl rollout undo")
    if sub in (
        "get",
        "describe",
        "logs",
        "diff",
        "top",
        "explain",
        "version",
        "api-resources",
        "cluster-info",
        "config",
        "auth",
        "events",
        "wait",
    ):
        return Classification("infra.plan", f"kubectl {sub}")
    if sub in ("create", "apply") and "rolebinding" in " ".join(words):
        return Classification("identity.permission_grant", f"kubectl {sub} {words[0]}")
    return Classification("infra.apply", f"kubectl {sub}".strip())


def _helm(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args, ("-n", "--namespace", "--kube-context"))
    release = " ".join(_positional(rest)[:1])
    if sub in ("uninstall", "delete", "del", "un"):
        return Classification("infra.destroy", f"helm {sub} {release}".strip())
    if sub == "rollback":
        return Classification("deploy.rollback", f"helm rollback {release}".strip())
    if sub in ("install", "upgrade"):
        return Classification("infra.apply", f"helm {sub} {release}".strip())
    return Classification("infra.plan", f"helm {sub}".strip())


def _cloud_cli(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(_positional(args)).lower()
    target = f"{name} {' '.join(_positional(args)[:2])}"
    if re.search(
        r"get-secret-value|get-parameters?\b.*decrypt|secrets versions access|"
        r"keyvault secret show|print-access-token|get-login-password",
        words + " " + " ".join(args),
    ):
        return Classification("secret.read", target)
    if re.search(r"rotate|(create|update)-access-key|keys create", words):
        action = "secret.rotate" if "rotate" in words else "identity.key_create"
        return Classification(action, target)
    if re.search(
        r"put-secret-value|create-secret|secrets (create|versions add)|put-parameter", words
    ):
        return Classification("secret.write", target)
    if re.search(r"create-user|service-accounts create|ad user create", words):
        return Classification("identity.user_create", target)
    if re.search(
        r"attach-\w*-policy|put-\w*-policy|add-iam-policy-binding|role assignment create", words
    ):
        return Classification("identity.permission_grant", target)
    if re.search(r"\bs3 (cp|sync|mv)\b", words) and re.search(r"s3://\S+$", words):
        return Classification("network.upload", target)
    if re.search(r"\b(delete|terminate|remove|destroy)", words):
        return Classification("infra.destroy", target)
    if re.search(r"\b(describe|list|get|show|ls|whoami|info|version|help)", words):
        return Classification("infra.plan", target)
    return Classification("infra.apply", target)


def _docker(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = _subcommand(args, ("-H", "--context", "-f", "--file", "-p", "--project-name"))
    if sub == "compose":
        return _docker("docker", rest, context)
    if sub in ("build", "buildx"):
        return Classification("build.run", f"docker {sub}")
    if sub == "push":
        image = _positional(rest)
        return Classification("package.publish", f"docker push {' '.join(image[:1])}".strip())
    if sub in ("ps", "images", "logs", "inspect", "version", "info", "config", "top", "stats"):
        return Classification("shell.readonly", f"docker {sub}")
    if sub == "login":
        return Classification("secret.write", "docker login")
    return Classification("shell.exec", f"docker {sub}".strip())


def _vault(name: str, args: list[str], context: Context) -> Classification:
    words = [w.lower() for w in _positional(args)]
    joined = " ".join(words)
    if re.search(r"\b(rotate|rekey)\b", joined):
        return Classification("secret.rotate", f"{name} {joined}"[:80])
    if re.search(r"\b(put|write|set|create|patch|edit|import|add|delete)\b", joined):
        return Classification("secret.write", f"{name} {joined}"[:80])
    return Classification("secret.read", f"{name} {joined}"[:80])


def _gh(name: str, args: list[str], context: Context) -> Classification:
    words = _positional(args)
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


def _platform_deploy(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if name in ("vercel", "netlify"):
        if "--prod" in args or "--production" in args:
            return Classification("deploy.production", name)
        if name == "netlify" and "deploy" not in args:
            return Classification("shell.exec", f"netlify {words}"[:60])
        return Classification("deploy.preview", name)
    if re.search(r"\b(deploy|up|release)\b", words):
        return _deploy_script(f"{name} {words}"[:60], [])
    if re.search(r"\bsecrets?\b", words):
        return Classification("secret.write" if "set" in words else "secret.read", name)
    if re.search(r"\bscale\b", words):
        return Classification("infra.scale", name)
    return Classification("shell.exec", f"{name} {words}"[:60])


def _identity(name: str, args: list[str], context: Context) -> Classification:
    if name in ("ssh-keygen", "gpg", "openssl", "age-keygen"):
        if name == "gpg" and not any("gen" in a or "export-secret" in a for a in args):
            return Classification("shell.exec", name)
        if name == "openssl" and not {"genrsa", "genpkey", "req", "ecparam"} & set(args):
            return Classification("shell.exec", name)
        return Classification("identity.key_create", name)
    if name in ("usermod", "gpasswd", "chgrp", "setfacl", "visudo"):
        return Classification("identity.permission_grant", name)
    return Classification("identity.user_create", name)


def _npx(name: str, args: list[str], context: Context) -> Classification:
    inner = [a for a in args if not a.startswith("-")]
    if not inner:
        return Classification("shell.exec", name)
    return _argv(args[args.index(inner[0]) :], context, 0)


def _bundle(name: str, args: list[str], context: Context) -> Classification:
    if args[:1] == ["exec"] and len(args) > 1:
        return _argv(args[1:], context, 0)
    return _package_manager(name, args, context)


def _environment(name: str, args: list[str], context: Context) -> Classification:
    if (
        name in ("export", "set", "declare")
        and args
        and not all(a.startswith(("-p", "-x")) for a in args)
    ):
        return Classification("shell.readonly", name)
    return Classification("secret.read", "environment variables")


def _table() -> dict[str, Callable[[str, list[str], Context], Classification]]:
    table: dict[str, Callable[[str, list[str], Context], Classification]] = {}

    def add(names: str, handler: Callable[[str, list[str], Context], Classification]) -> None:
        for name in names.split():
            table[name] = handler

    add("rm rmdir shred unlink srm trash", _rm)
    add("cp mv install", _copy)
    add("rsync scp sftp", _transfer)
    add("mkdir touch ln chmod chown truncate patch", _writes_files)
    add("sed gsed", _sed)
    add("awk gawk mawk nawk", _awk)
    add("find", _find)
    add("tee", _tee)
    add("git", _git)
    add(
        "npm yarn pnpm bun cargo go gem composer brew apt apt-get dnf yum apk pacman twine "
        "mix dotnet swift flutter dart",
        _package_manager,
    )
    add("pip uv poetry pipenv pdm hatch conda mamba", _pip)
    add("make gmake just task", _make)
    add(
        "pytest py.test tox nox jest vitest mocha rspec phpunit ctest karma ava playwright "
        "cypress unittest",
        _test_runner,
    )
    add(
        "tsc mvn gradle gradlew ./gradlew cmake ninja bazel webpack vite esbuild rollup "
        "ruff mypy black isort flake8 pylint eslint prettier rustfmt gofmt clang-format "
        "pre-commit biome",
        _build_tool,
    )
    add(
        "alembic flyway liquibase prisma knex sequelize goose migrate dbmate atlas sqitch",
        _migration_tool,
    )
    add("rails rake", _rails)
    for client in DB_CLIENTS:
        table[client] = _db_client
    add("redis-cli valkey-cli", _redis)
    add(
        "pg_dump pg_dumpall mysqldump mongodump pg_restore dropdb createdb dropuser createuser "
        "mysqlimport mongorestore",
        _db_dump,
    )
    add("curl wget http https xh httpie aria2c", _http_client)
    add("nc ncat netcat socat telnet ftp", lambda n, a, c: Classification("network.upload", n))
    add("ssh mosh", _ssh)
    add("terraform tofu terragrunt pulumi cdk cdktf", _terraform)
    add("kubectl oc k", _kubectl)
    add("helm", _helm)
    add("aws gcloud az doctl", _cloud_cli)
    add("docker podman", _docker)
    add("vault op doppler infisical pass sops bw", _vault)
    add("gh", _gh)
    add("vercel netlify fly flyctl heroku railway render serverless sls", _platform_deploy)
    add(
        "ssh-keygen gpg openssl age-keygen useradd adduser usermod gpasswd chgrp setfacl visudo",
        _identity,
    )
    add("npx pnpx bunx uvx", _npx)
    add("bundle", _bundle)
    add("printenv export set declare", _environment)
    return table


COMMANDS = _table()
