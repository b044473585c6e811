"""The connector's configuration: ``$XDG_CONFIG_HOME/ony/device.json`` (default ``~/.config/ony``).

``device.json`` holds the server URL, the device's credentials and its
settings; ``witness.json`` the highest audit entry ``(seq, hash)`` seen in a
verified verdict. Both are written with mode 0600, and a file that anyone but
its owner may read or write is refused: the device token authenticates the
device and the decision key verifies the server's verdicts.
"""

from __future__ import annotations

import binascii
import json
import os
import re
import stat

from ony.connector.actions import DEFAULT_PROTECTED_BRANCHES

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from typing import Any

DEVICE_FILE = "device.json"
WITNESS_FILE = "witness.json"
FAIL_MODES = ("ask", "deny")
DEFAULT_DEADLINE_SECONDS = 120
MIN_DEADLINE_SECONDS, MAX_DEADLINE_SECONDS = 5, 900
#: The hook's timeout in the agent's settings is this much above the deadline,
#: so that the connector always answers before the agent gives up on it.
HOOK_TIMEOUT_MARGIN_SECONDS = 15
DEVICE_ID = re.compile(r"^dev_[a-z0-9]{12}$")


class ConfigError(Exception):
    """The configuration is missing, unsafe or malformed; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def config_dir() -> str:
    """``$XDG_CONFIG_HOME/ony``, else ``~/.config/ony``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "ony")


#: The settings in device.json and their defaults (``None``: required).
FIELDS: dict[str, Any] = {
    "server": None,
    "device_id": None,
    "device_token": None,
    "decision_key": None,
    "org": "",
    "fail_mode": "ask",
    "deadline_seconds": DEFAULT_DEADLINE_SECONDS,
    "attach_payload": False,
    "protected_branches": list(DEFAULT_PROTECTED_BRANCHES),
}


class Config:
    """What ``ony enroll`` wrote, plus the user's settings; ``directory`` is where it lives."""

    server: str
    device_id: str
    device_token: str
    decision_key: str
    org: str
    fail_mode: str
    deadline_seconds: int
    attach_payload: bool
    protected_branches: list[str]

    def __init__(self, directory: str | os.PathLike[str] | None = None, **values: Any) -> None:
        if unknown := sorted(set(values) - set(FIELDS)):
            raise ConfigError("invalid_config", f"unknown settings: {', '.join(unknown)}")
        required = [name for name, default in FIELDS.items() if default is None]
        if missing := [name for name in required if name not in values]:
            raise ConfigError("invalid_config", f"missing settings: {', '.join(missing)}")
        for name, default in FIELDS.items():
            value = values.get(name, default)
            setattr(self, name, list(value) if isinstance(value, list) else value)
        self.directory = os.fspath(directory) if directory is not None else config_dir()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.as_json() == other.as_json()

    def __repr__(self) -> str:
        return f"Config(server={self.server!r}, device_id={self.device_id!r})"

    @property
    def key(self) -> bytes:
        return decode_key(self.decision_key)

    @property
    def hook_timeout_seconds(self) -> int:
        return self.deadline_seconds + HOOK_TIMEOUT_MARGIN_SECONDS

    def validate(self) -> None:
        problems = [*self._credential_problems(), *self._setting_problems()]
        if problems:
            raise ConfigError("invalid_config", "; ".join(problems))

    def _credential_problems(self) -> list[str]:
        """What is wrong with the server and the device's credentials."""
        problems = []
        server = self.server if isinstance(self.server, str) else ""
        if not re.match(r"^https?://[^/\s]+", server):
            problems.append("server must be an http(s) URL")
        if not isinstance(self.device_id, str) or not DEVICE_ID.match(self.device_id):
            problems.append("device_id is not a device id")
        if not isinstance(self.device_token, str) or not self.device_token:
            problems.append("device_token is missing")
        try:
            decode_key(self.decision_key)
        except ConfigError as exc:
            problems.append(str(exc))
        return problems

    def _setting_problems(self) -> list[str]:
        """What is wrong with the user's settings."""
        problems = []
        if self.fail_mode not in FAIL_MODES:
            problems.append("fail_mode is ask or deny")
        if (
            type(self.deadline_seconds) is not int
            or not MIN_DEADLINE_SECONDS <= self.deadline_seconds <= MAX_DEADLINE_SECONDS
        ):
            problems.append(
                f"deadline_seconds is a whole number from {MIN_DEADLINE_SECONDS} "
                f"to {MAX_DEADLINE_SECONDS}"
            )
        if type(self.attach_payload) is not bool:
            problems.append("attach_payload is true or false")
        if not isinstance(self.protected_branches, list) or not all(
            isinstance(b, str) for b in self.protected_branches
        ):
            problems.append("protected_branches is a list of branch names")
        return problems

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


# base64url through binascii: the base64 module costs the hook's start-up more.
FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def urlsafe_b64(raw: bytes) -> str:
    """``raw`` as unpadded base64url text (``base64.urlsafe_b64encode``, ``=`` stripped)."""
    return binascii.b2a_base64(raw, newline=False).translate(TO_URLSAFE).decode().rstrip("=")


def decode_key(value: Any) -> bytes:
    """The 32-byte decision key from its base64url form (padding optional)."""
    if not isinstance(value, str):
        raise ConfigError("invalid_config", "decision_key is missing")
    try:
        padded = (value + "=" * (-len(value) % 4)).encode("ascii")
        key = binascii.a2b_base64(padded.translate(FROM_URLSAFE))  # base64.urlsafe_b64decode
    except (binascii.Error, ValueError):
        raise ConfigError("invalid_config", "decision_key is not base64url") from None
    if len(key) != 32:
        raise ConfigError("invalid_config", "decision_key is not 32 bytes")
    return key


def read_private(path: str) -> bytes:
    """The bytes of ``path``, refused unless only its owner (this user) can read or write it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ConfigError("not_enrolled", f"{path} does not exist: run `ony enroll`") from None
    except OSError as exc:
        raise ConfigError("unreadable_config", f"{path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise ConfigError("unsafe_config", f"{path} belongs to another user")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                "unsafe_config",
                f"{path} can be read or written by others (mode "
                f"{stat.S_IMODE(info.st_mode):o}): run `chmod 600 {path}`",
            )
        return handle.read(1 << 20)


def write_private(path: str, data: dict[str, Any], *, durable: bool = True) -> None:
    """Write ``data`` as JSON to ``path`` atomically, mode 0600 (directory 0700).

    ``durable`` syncs it to disk first; the witness skips that, being only a record.
    """
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(directory: str | os.PathLike[str] | None = None) -> Config:
    """The configuration, or ``ConfigError`` (missing, unsafe or malformed)."""
    directory = os.fspath(directory) if directory is not None else config_dir()
    path = os.path.join(directory, DEVICE_FILE)
    try:
        data = json.loads(read_private(path))
    except ValueError:
        raise ConfigError("invalid_config", f"{path} is not JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("invalid_config", "the configuration is a JSON object")
    config = Config(directory, **data)
    config.validate()
    return config


def save(config: Config) -> None:
    config.validate()
    write_private(os.path.join(config.directory, DEVICE_FILE), config.as_json())


# The witness: the highest audit entry this device has seen in a verified verdict.


def read_witness(directory: str | os.PathLike[str] | None = None) -> tuple[int, str] | None:
    path = os.path.join(directory if directory is not None else config_dir(), WITNESS_FILE)
    try:
        data = json.loads(read_private(path))
        seq, digest = data["seq"], data["hash"]
    except ConfigError as exc:
        if exc.reason == "not_enrolled":
            return None
        raise
    except (ValueError, KeyError, TypeError):
        return None
    if type(seq) is not int or not isinstance(digest, str):
        return None
    return seq, digest


def record_witness(directory: str, seq: int, digest: str) -> None:
    """Keep ``(seq, digest)`` if it is higher than the one kept (safe against parallel hooks)."""
    lock_path = os.path.join(directory, ".witness.lock")
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: last writer wins
            pass
        current = read_witness(directory)
        if current is None or seq > current[0]:
            witness = {"seq": seq, "hash": digest}
            write_private(os.path.join(directory, WITNESS_FILE), witness, durable=False)
    finally:
        os.close(fd)
