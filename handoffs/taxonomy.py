"""The server-owned action taxonomy: what each kind of action risks.

The agent's own risk claim is never used. An action the taxonomy does not
know is ``critical``. An organization may raise an action's risk, never lower
it. Bump ``VERSION`` whenever an action is added or a risk changes, and keep
docs/taxonomy.md in step (a test compares them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.core.exceptions import ValidationError

VERSION = 2
ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Risk(IntEnum):
    """Ordered, so that raising a risk is ``max``."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Risk:
        try:
            return cls[value.upper()]
        except (KeyError, AttributeError):
            raise ValueError(f"{value!r} is not a risk (low, medium, high, critical)") from None


UNKNOWN_ACTION_RISK = Risk.CRITICAL


@dataclass(frozen=True)
class Action:
    name: str
    risk: Risk
    description: str

    @property
    def category(self) -> str:
        return self.name.split(".", 1)[0]


def _actions(*rows: tuple[str, Risk, str]) -> dict[str, Action]:
    return {name: Action(name, risk, description) for name, risk, description in rows}


L, M, H, C = Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL
ACTIONS: dict[str, Action] = _actions(
    # files
    ("file.read", L, "Read a file in the project."),
    ("file.search", L, "List, glob or grep files in the project."),
    ("file.write", M, "Create or change files in the project."),
    ("file.write_outside", H, "Create or change files outside the project."),
    ("file.delete", H, "Delete files."),
    ("file.delete_recursive", H, "Delete a directory tree (rm -r)."),
    # shell
    ("shell.readonly", L, "A read-only command (ls, cat, git status, ...)."),
    ("shell.exec", M, "A command Ony does not recognise."),
    ("shell.privileged", C, "A command run as another user or root (sudo, su, doas)."),
    ("shell.obfuscated", C, "A command that hides what it runs (eval, base64 | sh, curl | sh)."),
    # builds and tests
    ("build.run", L, "Build the project."),
    ("test.run", L, "Run the project's tests."),
    # git
    ("git.read", L, "Inspect the repository (status, log, diff, show)."),
    ("git.commit", L, "Commit to the local repository."),
    ("git.push", M, "Push to a remote branch."),
    ("git.push_protected", H, "Push to a protected branch (main, master, release)."),
    ("git.push_force", H, "Force-push, rewriting a remote branch's history."),
    ("git.branch_delete", M, "Delete a remote branch or tag."),
    # packages
    ("package.install", M, "Install or upgrade dependencies."),
    ("package.publish", C, "Publish a package to a registry."),
    # network
    ("web.fetch", L, "Fetch a web page to read it."),
    ("web.search", L, "Search the web."),
    ("network.request", M, "Send an HTTP request from the shell (curl, wget)."),
    ("network.upload", H, "Send data or files out of the machine."),
    # databases
    ("db.query", M, "Read from a database."),
    ("db.write", H, "Write to a database."),
    ("db.migrate", H, "Run schema migrations."),
    ("db.drop", C, "Drop or truncate tables or databases."),
    # infrastructure
    ("infra.plan", L, "Plan infrastructure changes (terraform plan, kubectl diff)."),
    ("infra.apply", H, "Apply infrastructure changes (terraform apply, kubectl apply, helm)."),
    ("infra.scale", H, "Scale services up or down."),
    ("infra.destroy", C, "Destroy infrastructure (terraform destroy, kubectl delete)."),
    # deploys
    ("deploy.preview", L, "Deploy a preview environment."),
    ("deploy.staging", M, "Deploy to staging."),
    ("deploy.production", C, "Deploy to production."),
    ("deploy.rollback", H, "Roll production back."),
    # secrets
    ("secret.read", H, "Read secrets (.env, ~/.ssh, cloud credentials, Ony's own config)."),
    ("secret.write", H, "Create or change a secret."),
    ("secret.rotate", C, "Rotate a secret or key in use."),
    # identity
    ("identity.user_create", H, "Create a user or service account."),
    ("identity.key_create", H, "Create an API key, token or SSH key."),
    ("identity.permission_grant", C, "Grant roles or permissions."),
    # agents and tools
    ("agent.spawn", L, "Start a sub-agent."),
    (
        "agent.internal",
        L,
        "The agent's own bookkeeping: its plan, to-do list or a question to you.",
    ),
    ("mcp.call", M, "Call a tool of an MCP server."),
)
del L, M, H, C


def describe_action(action: str) -> str:
    """What the taxonomy says the action does (an unknown action: that it is unknown)."""
    known = ACTIONS.get(action)
    return known.description if known else "An action Ony does not know: critical by rule."


def base_risk(action: str) -> Risk:
    """The taxonomy's risk for ``action``; ``critical`` for an action it does not know."""
    known = ACTIONS.get(action)
    return known.risk if known else UNKNOWN_ACTION_RISK


def effective_risk(action: str, overrides: dict[str, str] | None = None) -> Risk:
    """The risk the server uses: the base risk, raised (never lowered) by an org override."""
    risk = base_risk(action)
    override = (overrides or {}).get(action)
    if override is None:
        return risk
    try:
        return max(risk, Risk.parse(override))
    except ValueError:  # a malformed stored override never lowers anything
        return risk


def validate_overrides(value: Any) -> None:
    """An org's overrides: ``{known action: risk}``, each at least the base risk."""
    if not isinstance(value, dict):
        raise ValidationError("Risk overrides are an object of action: risk.", code="invalid")
    for action, risk in value.items():
        if action not in ACTIONS:
            raise ValidationError(
                f"{action!r} is not an action of the taxonomy.", code="unknown_action"
            )
        try:
            parsed = Risk.parse(risk)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_risk") from None
        if parsed < ACTIONS[action].risk:
            raise ValidationError(
                f"{action} is {ACTIONS[action].risk.label}: an organization may raise a risk, "
                "never lower it.",
                code="risk_lowered",
            )
