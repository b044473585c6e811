"""Make fresh keys for a local installation (standard library only).

``python -m ony.devenv`` prints a ``.env`` for the embedded demo (DEBUG on,
fresh random keys); ``make run`` writes it once and reuses it afterwards, so
what the demo encrypts stays readable across restarts. Flags print one value:
``--fernet-key`` (for ONY_ENCRYPTION_KEYS), ``--audit-key ID`` (an
``id:base64`` pair for ONY_AUDIT_KEYS), ``--checkpoint-key`` (for
ONY_CHECKPOINT_KEY), ``--secret-key``.
"""

from __future__ import annotations

import argparse
import base64
import secrets


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def audit_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def checkpoint_key() -> str:
    """A fresh Ed25519 private key: 32 random bytes, base64 (any 32 bytes are a valid seed)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key() -> str:
    return secrets.token_urlsafe(50)


def demo_env() -> str:
    return "\n".join(
        [
            "# Written once by `make run` for the local demo. Keep it private.",
            "DEBUG=1",
            f"SECRET_KEY={secret_key()}",
            f"ONY_ENCRYPTION_KEYS={fernet_key()}",
            f"ONY_AUDIT_KEYS={audit_key('k1')}",
            f"ONY_CHECKPOINT_KEY={checkpoint_key()}",
            f"ONY_DEMO_PASSWORD={secrets.token_urlsafe(12)}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ony.devenv", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fernet-key", action="store_true")
    group.add_argument("--audit-key", metavar="ID")
    group.add_argument("--checkpoint-key", action="store_true")
    group.add_argument("--secret-key", action="store_true")
    args = parser.parse_args(argv)
    if args.fernet_key:
        print(fernet_key())
    elif args.audit_key:
        print(audit_key(args.audit_key))
    elif args.checkpoint_key:
        print(checkpoint_key())
    elif args.secret_key:
        print(secret_key())
    else:
        print(demo_env(), end="")


if __name__ == "__main__":
    main()
