from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.events import SYSTEM
from ony import services


class Command(BaseCommand):
    help = (
        "Create an organization (audited as org.created), with the default policy. "
        "Then invite its first admin: manage.py invite --org SLUG --email ... --role admin. "
        "Exit status: 0 created, 2 bad usage (a slug taken or not valid)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Short name in URLs, e.g. acme.")
        parser.add_argument("--name", required=True, help='Display name, e.g. "Acme Inc".')
        parser.add_argument("--timezone", default="UTC", help="IANA name (default UTC).")

    def handle(self, *args, **options):
        try:
            org = services.create_organization(
                name=options["name"],
                slug=options["slug"],
                timezone=options["timezone"],
                actor=SYSTEM,
            )
        except ValidationError as refusal:
            raise CommandError(" ".join(refusal.messages), returncode=2) from None
        self.stdout.write(f"Created {org.slug} ({org.public_id}).")
