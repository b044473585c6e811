from django.core.management.base import BaseCommand, CommandError

from ony import api_tokens
from ony.models import User
from ony.models.user import normalize_email


class Command(BaseCommand):
    help = (
        "Make a personal API token for a person (for `Authorization: Token ...`: the "
        "member API and exports); printed once, only its hash is kept. Revoke it in the "
        "dashboard (API tokens). Exit status: 0 made, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The person's account.")
        parser.add_argument("--name", required=True, help='What it is for, e.g. "exports".')

    def handle(self, *args, **options):
        user = User.objects.filter(email=normalize_email(options["email"]), is_active=True).first()
        if user is None:
            raise CommandError(f"No active account {options['email']!r}.", returncode=2)
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("Give the token a name of 1 to 100 characters.", returncode=2)
        _, token = api_tokens.create(user, name)
        self.stderr.write(f"A token {name!r} for {user.email}; it is shown this once:")
        self.stdout.write(token)
