from django.conf import settings
from django.core.management.base import BaseCommand

from ony.demo import seed_demo
from ony.totp_display import describe


class Command(BaseCommand):
    help = "Create (or reuse) the demo organization and its admin, and print the login."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default="",
            help="Set this password (default: ONY_DEMO_PASSWORD or random).",
        )
        parser.add_argument("--no-qr", action="store_true", help="Do not draw the QR code.")

    def handle(self, *args, password: str, no_qr: bool, **options):
        login = seed_demo(password or settings.ONY_DEMO_PASSWORD)
        self.stdout.write(
            "\n".join(
                [
                    "Demo organization: demo",
                    f"Dashboard:      {settings.ONY_PUBLIC_URL.rstrip('/')}/admin/",
                    f"Login:          {login.email}",
                    f"Password:       {login.password}",
                    describe(login.device, qr=not no_qr),
                    "Type the 6-digit code from the app into 'OTP Token' on the login page.",
                ]
            )
        )
