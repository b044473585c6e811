from django.core.management.base import BaseCommand

from audit.services import checkpoint_all


class Command(BaseCommand):
    help = "Sign a checkpoint of every organization's audit chain head that moved (as beat does)."

    def handle(self, *args, **options):
        self.stdout.write(f"{checkpoint_all()} checkpoint(s) signed")
