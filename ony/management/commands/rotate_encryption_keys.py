from django.core.management.base import BaseCommand

from ony.encryption import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the newest key (the first in "
        "ONY_ENCRYPTION_KEYS). Afterwards the older keys can be removed."
    )

    def handle(self, *args, **options):
        for label, count in reencrypt_all().items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
        self.stdout.write("Done: every encrypted value now uses the newest key.")
