"""The connector's configuration: ``$XDG_CONFIG_HOME/ony/device.json`` (default ``~/.config/ony``).

``device.json`` holds the server URL, the device's credentials and its
settings; ``witness.json`` the highest audit entry ``(seq, hash)`` seen in a
verified verdict. Both are written with mode 0600, and a file that anyone but
its owner may read or write is refused: the device token authenticates the
device and the decision key verifies the server's verdicts.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
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


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/ony``, else ``~/.config/ony``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "ony"


@dataclass
class Config:
    """What ``ony enroll`` wrote, plus the user's settings."""

    server: str
    device_id: str
    device_token: str
    decision_key: str
    org: str = ""
    fail_mode: str = "ask"
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS
    attach_payload: bool = False
    protected_branches: list[str] = field(
        default_factory=lambda: ["main", "master", "trunk", "production", "prod", "release*"]
    )
    directory: Path = field(default_factory=config_dir, compare=False, repr=False)

    @property
    def key(self) -> bytes:
        return decode_key(self.decision_key)

    @property
    def hook_timeout_seconds(self) -> int:
        return self.deadline_seconds + HOOK_TIMEOUT_MARGIN_SECONDS

    def validate(self) -> None:
        problems = []
        if not re.match(r"^https?://[^/\s]+", self.server or ""):
            problems.append("server must be an http(s) URL")
        if not DEVICE_ID.match(self.device_id or ""):
            problems.append("device_id is not a device id")
        if not isinstance(self.device_token, str) or not self.device_token:
            problems.append("device_token is missing")
        try:
            decode_key(self.decision_key)
        except ConfigError as exc:
            problems.append(str(exc))
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
        if problems:
            raise ConfigError("invalid_config", "; ".join(problems))

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("directory")
        return data


def decode_key(value: Any) -> bytes:
    """The 32-byte decision key from its base64url form (padding optional)."""
    if not isinstance(value, str):
        raise ConfigError("invalid_config", "decision_key is missing")
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError("invalid_config", "decision_key is not base64url") from None
    if len(key) != 32:
        raise ConfigError("invalid_config", "decision_key is not 32 bytes")
    return key


def read_private(path: Path) -> bytes:
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


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically, mode 0600 (directory 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(directory: Path | None = None) -> Config:
    """The configuration, or ``ConfigError`` (missing, unsafe or malformed)."""
    directory = directory or config_dir()
    raw = read_private(directory / DEVICE_FILE)
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError("invalid_config", f"{directory / DEVICE_FILE} is not JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("invalid_config", "the configuration is a JSON object")
    known = {name for name in Config.__dataclass_fields__ if name != "directory"}
    if unknown := sorted(set(data) - known):
        raise ConfigError("invalid_config", f"unknown settings: {', '.join(unknown)}")
    try:
        config = Config(**data, directory=directory)
    except TypeError:
        raise ConfigError(
            "invalid_config", "server, device_id, device_token and decision_key are required"
        ) from None
    config.validate()
    return config


def save(config: Config) -> None:
    config.validate()
    write_private(config.directory / DEVICE_FILE, config.as_json())


# The witness: the highest audit entry this device has seen in a verified verdict.


def read_witness(directory: Path | None = None) -> tuple[int, str] | None:
    path = (directory or config_dir()) / WITNESS_FILE
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


def record_witness(directory: Path, seq: int, digest: str) -> None:
    """Keep ``(seq, digest)`` if it is higher than the one kept (safe against parallel hooks)."""
    lock_path = directory / ".witness.lock"
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: last writer wins
            pass
        current = read_witness(directory)
        if current is None or seq > current[0]:
            write_private(directory / WITNESS_FILE, {"seq": seq, "hash": digest})
    finally:
        os.close(fd)
