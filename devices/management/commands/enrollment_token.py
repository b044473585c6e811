from django.core.management.base import BaseCommand, CommandError

from devices.services import ENROLLMENT_MINUTES, create_enrollment_token
from ony.models import Organization


class Command(BaseCommand):
    help = (
        "Create a single-use enrollment token for an organization. The token is "
        "printed alone on the last line, for scripts: ony enroll --server URL --token TOKEN"
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument(
            "--minutes", type=int, default=ENROLLMENT_MINUTES, help="Lifetime, 1 to 15 minutes."
        )

    def handle(self, *args, org: str, minutes: int, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization {org!r}.", returncode=2)
        try:
            record, token = create_enrollment_token(organization, minutes=minutes)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(
            f"Enrollment token for {organization.slug}, single use, "
            f"valid until {record.expires_at:%Y-%m-%d %H:%M:%S} UTC:"
        )
        self.stdout.write(token)
