"""What management commands share: looking up the organization a command names."""

from __future__ import annotations

from django.core.management.base import CommandError

from ony.models import Organization


def organization(slug: str) -> Organization:
    """The organization ``slug`` for a command; bad usage (exit status 2) if there is none."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"No organization with the slug {slug!r}.", returncode=2)
    return org
