"""Commands that reach other machines: HTTP clients, file transfers, raw sockets, ssh."""

from __future__ import annotations

import re

from ony.connector.actions import URL, Classification, Context, url_target
from ony.connector.commands.arguments import positional
from ony.connector.commands.files import copy

NETWORK_UPLOAD_FLAGS = re.compile(
    r"^(-d|--data.*|-F|--form.*|-T|--upload-file|--post-data.*|--post-file.*|--json|--body-file.*)"
    r"(=.*)?$"
)


def http_client(name: str, args: list[str], context: Context) -> Classification:
    urls = [a for a in args if URL.match(a) or re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", a)]
    target = url_target(urls[0]) if urls else name
    methods = " ".join(args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-X", "--request"))
    upload = any(NETWORK_UPLOAD_FLAGS.match(a) for a in args) or re.search(
        r"POST|PUT|PATCH|DELETE", methods, re.I
    )
    if name in ("http", "https", "xh") and any("=" in a for a in args if not URL.match(a)):
        upload = True
    return Classification("network.upload" if upload else "network.request", target)


def transfer(name: str, args: list[str], context: Context) -> Classification:
    paths = positional(args, ("-e", "-i", "-P", "-p", "-o", "-F"))
    remote = [p for p in paths if re.match(r"^[\w.@-]+:", p) and not URL.match(p)]
    if remote and paths and paths[-1] in remote:
        return Classification("network.upload", remote[-1].split(":", 1)[0])
    if remote:
        return context.file_change(paths[-1]) if paths else Classification("file.write", name)
    return copy(name, args, context)


def raw_socket(name: str, args: list[str], context: Context) -> Classification:
    """``nc``, ``socat``, ``telnet``, ``ftp``: a raw connection may send anything."""
    return Classification("network.upload", name)


def ssh(name: str, args: list[str], context: Context) -> Classification:
    hosts = positional(args, ("-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W"))
    return Classification("shell.exec", f"ssh {hosts[0].rsplit('@', 1)[-1]}" if hosts else "ssh")
