from django.core.management.base import BaseCommand, CommandError

from ony.models import TOTPDevice, User
from ony.services import ensure_totp_device
from ony.totp_display import describe


class Command(BaseCommand):
    help = (
        "Give a user a TOTP device for dashboard login and print its secret. "
        "--reset replaces an existing device with a new secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--reset", action="store_true", help="Replace the existing secret.")
        parser.add_argument("--no-qr", action="store_true", help="Do not draw the QR code.")

    def handle(self, *args, email: str, reset: bool, no_qr: bool, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        if reset:
            TOTPDevice.objects.filter(user=user).delete()
        self.stdout.write(describe(ensure_totp_device(user), qr=not no_qr))
