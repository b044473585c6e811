"""The vocabulary of classification: actions and their rank, targets, and where the agent runs.

``RANK`` is the taxonomy's base risk of every action the connector produces;
it only picks the riskiest part of a compound command (the server decides the
real risk), and a test keeps it equal to the server's taxonomy.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import namedtuple
from collections.abc import Sequence


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


LOW, MEDIUM, HIGH, CRITICAL = 1, 2, 3, 4
#: The taxonomy's base risk of every action this module produces.
RANK: dict[str, int] = {
    "file.read": LOW,
    "file.search": LOW,
    "file.write": MEDIUM,
    "file.write_outside": HIGH,
    "file.delete": HIGH,
    "file.delete_recursive": HIGH,
    "shell.readonly": LOW,
    "shell.exec": MEDIUM,
    "shell.privileged": CRITICAL,
    "shell.obfuscated": CRITICAL,
    "build.run": LOW,
    "test.run": LOW,
    "git.read": LOW,
    "git.commit": LOW,
    "git.push": MEDIUM,
    "git.push_protected": HIGH,
    "git.push_force": HIGH,
    "git.branch_delete": MEDIUM,
    "package.install": MEDIUM,
    "package.publish": CRITICAL,
    "web.fetch": LOW,
    "web.search": LOW,
    "network.request": MEDIUM,
    "network.upload": HIGH,
    "db.query": MEDIUM,
    "db.write": HIGH,
    "db.migrate": HIGH,
    "db.drop": CRITICAL,
    "infra.plan": LOW,
    "infra.apply": HIGH,
    "infra.scale": HIGH,
    "infra.destroy": CRITICAL,
    "deploy.preview": LOW,
    "deploy.staging": MEDIUM,
    "deploy.production": CRITICAL,
    "deploy.rollback": HIGH,
    "secret.read": HIGH,
    "secret.write": HIGH,
    "secret.rotate": CRITICAL,
    "identity.user_create": HIGH,
    "identity.key_create": HIGH,
    "identity.permission_grant": CRITICAL,
    "agent.spawn": LOW,
    "agent.internal": LOW,
    "mcp.call": MEDIUM,
}
MAX_TARGET = 200

DEFAULT_PROTECTED_BRANCHES = ("main", "master", "trunk", "production", "prod", "release*")

URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
PHONE_LIKE = re.compile(r"\+(?=\d(?:[\s().-]?\d){6,14})")


class Classification(namedtuple("Classification", "action target")):
    __slots__ = ()

    @property
    def rank(self) -> int:
        return RANK.get(self.action, CRITICAL)


def riskiest(parts: Sequence[Classification]) -> Classification | None:
    """The first of the riskiest parts (``None`` for none)."""
    best: Classification | None = None
    for part in parts:
        if best is None or part.rank > best.rank:
            best = part
    return best


def clean(text: str, limit: int = MAX_TARGET) -> str:
    """Text fit for the server: NFC, no control characters or lone surrogates, no
    credentials in URLs, bounded.

    The server refuses a target with a phone number in it (targets reach the
    audit chain), so a leading ``+`` before a run of digits is dropped.
    """
    text = unicodedata.normalize("NFC", text)
    # Control characters, and lone surrogates (a JSON "\ud800" escape), which are not text.
    text = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cs") else " " for ch in text)
    text = USERINFO.sub("", text)
    text = PHONE_LIKE.sub("", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return unicodedata.normalize("NFC", text)


def url_target(url: str) -> str:
    """``https://user:pw@host/path?q=1`` -> ``host/path`` (no credentials, no query)."""
    rest = URL.sub("", url, count=1)
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    return rest.rsplit("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest


def command_name(word: str) -> str:
    """``/usr/bin/python3.11`` -> ``python``; ``pip3`` -> ``pip``."""
    name = word.rsplit("/", 1)[-1]
    name = re.sub(r"(?<=[a-z])[0-9.]+$", "", name) if name.startswith(("python", "pip")) else name
    return name


class Context:
    """Where the agent runs: paths are judged against these.

    ``scratch_dirs`` (default: /tmp and $TMPDIR) count as the project: an agent
    writing there is routine.
    """

    def __init__(
        self,
        cwd: str | None = None,
        home: str | None = None,
        config_dir: str = "",
        protected_branches: Sequence[str] = DEFAULT_PROTECTED_BRANCHES,
        scratch_dirs: Sequence[str] | None = None,
    ) -> None:
        self.cwd = cwd or os.getcwd()
        self.home = home or os.path.expanduser("~")
        self.config_dir = config_dir
        self.protected_branches = protected_branches
        if scratch_dirs is None:
            scratch_dirs = tuple({"/tmp", os.environ.get("TMPDIR", "/tmp").rstrip("/")})  # noqa: S108
        self.scratch_dirs = scratch_dirs

    # paths

    def absolute(self, path: str) -> str:
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        return os.path.normpath(os.path.join(self.cwd, path))

    def inside(self, path: str, root: str) -> bool:
        root = root.rstrip("/") or "/"
        return path == root or path.startswith(root + "/") or root == "/"

    def in_project(self, path: str) -> bool:
        absolute = self.absolute(path)
        return any(self.inside(absolute, root) for root in (self.cwd, *self.scratch_dirs))

    def display(self, path: str) -> str:
        """A path as the approver should see it: relative inside the project, ``~`` for home."""
        absolute = self.absolute(path)
        if self.inside(absolute, self.cwd) and self.cwd != "/":
            return os.path.relpath(absolute, self.cwd)
        if self.inside(absolute, self.home):
            return "~/" + os.path.relpath(absolute, self.home)
        return absolute

    def is_secret(self, path: str) -> bool:
        """Whether ``path`` names a credential file or directory."""
        if not path or path.startswith("-") or URL.match(path):
            return False
        absolute = self.absolute(path)
        if self.config_dir and self.inside(absolute, self.absolute(self.config_dir)):
            return True
        parts = absolute.split("/")
        name = parts[-1]
        if name in SECRET_NAMES or any(p in SECRET_DIRS for p in parts):
            return True
        if (name.startswith(".env") and not name.endswith(SAFE_ENV_SUFFIXES)) or name == ".envrc":
            return True
        if name.endswith(SECRET_SUFFIXES) or name.startswith(("id_rsa", "id_ed25519", "id_ecdsa")):
            return True
        tail = "/".join(parts[-3:])
        return any(tail.endswith(suffix) for suffix in SECRET_PATH_SUFFIXES)

    def secret_in(self, words: Sequence[str]) -> str | None:
        """The first word (or ``--flag=value`` / ``@file`` value) that names a secret."""
        for word in words:
            for candidate in (word, word.split("=", 1)[-1], word.lstrip("@")):
                if self.is_secret(candidate):
                    return candidate
        return None

    def file_change(self, path: str) -> Classification:
        if self.is_secret(path):
            return Classification("secret.write", self.display(path))
        action = "file.write" if self.in_project(path) else "file.write_outside"
        return Classification(action, self.display(path))


SECRET_NAMES = words(
    ".netrc .pgpass .npmrc .pypirc .git-credentials .vault-token .my.cnf .boto .dockercfg "
    "credentials.json service-account.json shadow gshadow sudoers master.key"
)
SECRET_DIRS = words(".ssh .aws .gnupg .azure .password-store .kube")
SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".tfvars")
SAFE_ENV_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
SECRET_PATH_SUFFIXES = (
    ".config/gcloud",
    "gcloud/credentials.db",
    "gcloud/application_default_credentials.json",
    ".docker/config.json",
    ".terraform.d/credentials.tfrc.json",
    "gh/hosts.yml",
    ".config/op",
)
