"""The ``ony`` command: enroll, hook, install, request, status.

``ony request`` exits 0 only on a verified approval, so that
``ony request ... && ./deploy.sh`` deploys only when a human said yes.

``ony hook ...`` runs on every tool call: ``main`` hands it to the hook before
anything else, and this module imports at its top only what the hook needs
too (``argparse`` is imported by ``parser``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from ony.connector import config as settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

#: ``ony request`` exit statuses.
EXIT_APPROVED, EXIT_ERROR, EXIT_USAGE, EXIT_DENIED, EXIT_ASK, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 5
EXIT_BY_DECISION = {
    "approve": EXIT_APPROVED,
    "deny": EXIT_DENIED,
    "ask": EXIT_ASK,
    "timeout": EXIT_TIMEOUT,
    "error": EXIT_ERROR,
}
LOOPBACK = ("localhost", "127.0.0.1", "::1")  # Server.host has no brackets


def parser() -> argparse.ArgumentParser:
    import argparse

    root = argparse.ArgumentParser(
        prog="ony", description="Ask Ony before an agent does something risky."
    )
    root.add_argument("--version", action="version", version=f"ony {installed_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enroll = commands.add_parser("enroll", help="enroll this machine as a device")
    enroll.add_argument("--server", required=True, help="the Ony server's URL")
    enroll.add_argument("--token", required=True, help="an enrollment token from the dashboard")
    enroll.add_argument("--name", default=None, help="the device's name (default: host name)")
    enroll.add_argument("--fail-mode", choices=settings.FAIL_MODES, default="ask")
    enroll.add_argument(
        "--deadline", type=int, default=settings.DEFAULT_DEADLINE_SECONDS, metavar="SECONDS"
    )
    enroll.add_argument("--force", action="store_true", help="replace an existing enrollment")
    enroll.add_argument(
        "--allow-http", action="store_true", help="allow plain http to a non-local server"
    )

    hook = commands.add_parser("hook", help="answer an agent's PreToolUse hook (stdin JSON)")
    hook.add_argument("agent", choices=["claude-code", "codex"])

    install = commands.add_parser("install", help="add Ony's hook to an agent's settings")
    install.add_argument("agent", choices=["claude-code"])
    scope = install.add_mutually_exclusive_group()
    scope.add_argument("--user", dest="scope", action="store_const", const="user")
    scope.add_argument("--project", dest="scope", action="store_const", const="project")
    install.add_argument("--uninstall", action="store_true", help="remove Ony's hook only")

    request = commands.add_parser("request", help="ask for approval; exit 0 only if approved")
    request.add_argument("--action", required=True)
    request.add_argument("--target", required=True)
    request.add_argument("--title", required=True)
    request.add_argument("--summary", default="")
    request.add_argument("--payload-file", default=None, metavar="FILE")
    request.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    request.add_argument("--json", action="store_true", help="print the outcome as JSON")

    commands.add_parser("status", help="server reachable, device valid, last witnessed audit head")
    return root


def installed_version() -> str:
    """The installed distribution's version (``pip install``), else that it is not installed."""
    from importlib import metadata

    try:
        return metadata.version("ony")
    except metadata.PackageNotFoundError:
        return "(not installed: run from a checkout)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "hook" and argv[1] in ("claude-code", "codex"):
        from ony.connector import hooks  # the hot path: skip argparse's imports

        return hooks.main(argv[1])
    args = parser().parse_args(argv)  # a valid `hook` call took the hot path above
    try:
        return {"enroll": enroll, "install": install, "request": request, "status": status}[
            args.command
        ](args)
    except settings.ConfigError as exc:
        print(f"ony: {exc}", file=sys.stderr)
        return EXIT_ERROR


def enroll(args: argparse.Namespace) -> int:
    from ony.connector.client import Server, ServerError, refusal

    directory = settings.config_dir()
    existing = os.path.join(directory, settings.DEVICE_FILE)
    if os.path.exists(existing) and not args.force:
        print(
            f"ony: already enrolled ({existing}); use --force",
            file=sys.stderr,
        )
        return EXIT_ERROR
    server_url = args.server.rstrip("/")
    import socket

    name = args.name or socket.gethostname()[:100] or "device"
    try:
        server = Server(server_url)
        if server.scheme == "http" and server.host not in LOOPBACK and not args.allow_http:
            print(
                "ony: refusing plain http to a remote server (use https, or --allow-http)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        status_code, data = server.call(
            "POST", "/api/v1/enroll", {"token": args.token, "name": name}, timeout=30
        )
        if status_code != 201:
            raise refusal(status_code, data)
    except ServerError as exc:
        print(f"ony: enrollment failed: {exc.reason}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    config = settings.Config(
        server=server_url,
        device_id=str(data.get("device_id")),
        device_token=str(data.get("device_token")),
        decision_key=str(data.get("decision_key")),
        org=str(data.get("org_slug") or data.get("org") or ""),
        fail_mode=args.fail_mode,
        deadline_seconds=args.deadline,
        directory=directory,
    )
    settings.save(config)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory, settings.WITNESS_FILE))
    print(f"Enrolled {name!r} as {config.device_id} in {config.org}; wrote {directory}/.")
    print("Next: `ony install claude-code` adds the hook to Claude Code.")
    return EXIT_APPROVED


def install(args: argparse.Namespace) -> int:
    from ony.connector import install as installer

    path = installer.settings_path(args.scope or "user")
    try:
        if args.uninstall:
            removed = installer.uninstall(path)
            print(f"Removed {removed} Ony hook(s) from {path}.")
            return EXIT_APPROVED
        config = settings.load()
        installer.check_runnable()
        installer.install(path, installer.hook_command(), config.hook_timeout_seconds)
    except installer.InstallError as exc:
        print(f"ony: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"Added Ony's PreToolUse hook to {path} (timeout {config.hook_timeout_seconds} s).")
    return EXIT_APPROVED


def request(args: argparse.Namespace) -> int:
    from ony.connector.handoff import MAX_PAYLOAD_CHARS
    from ony.connector.narrate import Narrator
    from ony.connector.sdk import Ony

    payload = None
    if args.payload_file is not None:
        try:
            with open(args.payload_file, encoding="utf-8", errors="replace") as handle:
                payload = handle.read()
        except OSError as exc:
            print(f"ony: cannot read {args.payload_file}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
        if len(payload) > MAX_PAYLOAD_CHARS:
            print("ony: the payload is larger than 64 KiB", file=sys.stderr)
            return EXIT_ERROR
    ony = Ony.from_config(session="ony-cli")
    narrator = Narrator(sys.stderr)
    outcome = ony.request(
        args.action,
        args.target,
        title=args.title,
        summary=args.summary,
        payload=payload,
        wait=args.wait,
        on_created=narrator.created,
        on_progress=narrator.progress,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "decision": outcome.decision,
                    "reason": outcome.reason,
                    "detail": outcome.detail,
                    "request_id": outcome.request_id,
                }
            )
        )
    else:
        print(f"ony: {outcome.decision}: {outcome.detail}", file=sys.stderr)
    return EXIT_BY_DECISION[outcome.decision]


def status(args: argparse.Namespace) -> int:
    from ony.connector.client import Server, ServerError, refusal

    config = settings.load()
    print(f"server:  {config.server}")
    print(f"device:  {config.device_id} ({config.org})")
    server = Server(config.server, config.device_token)
    started = time.monotonic()
    try:
        code, data = server.call("GET", "/api/v1/device", timeout=10)
        if code != 200:
            raise refusal(code, data)
        elapsed = (time.monotonic() - started) * 1000
        print(f"reach:   ok ({elapsed:.0f} ms)")
        print(f"status:  {data.get('status')}")
        healthy = data.get("status") == "active"
    except ServerError as exc:
        print(f"reach:   {exc.reason}: {exc}")
        healthy = False
    witness = settings.read_witness(config.directory)
    if witness:
        seq, digest = witness
        print(f"witness: audit entry {seq} = {digest}")
        print("         an auditor checks it with:")
        print(f"         manage.py verify_chain --org {config.org} --witness {seq}:{digest}")
    else:
        print("witness: none yet (no verified verdict so far)")
    try:
        code, data = server.call("GET", "/api/v1/audit/checkpoint", timeout=10)
        if code == 200:
            print(f"checkpoint: seq {data.get('seq')} at {data.get('at')} (Ed25519-signed)")
    except ServerError:
        pass
    print(f"fail mode: {config.fail_mode}; deadline {config.deadline_seconds} s")
    return EXIT_APPROVED if healthy else EXIT_ERROR
