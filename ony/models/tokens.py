"""Personal API tokens: a member's credential for the API (``Authorization: Token ...``)."""

from __future__ import annotations

from django.db import models


class ApiToken(models.Model):
    """Belongs to a person, not an org: it acts with their roles in each of their orgs.

    Only its SHA-256 is stored; the token is shown once, when it is made.
    Deciding a critical handoff still needs a TOTP code in the request.
    """

    user = models.ForeignKey("ony.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
