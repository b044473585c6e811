from django.core.management.base import BaseCommand, CommandError

from audit.dbrole import grant_statements


class Command(BaseCommand):
    help = (
        "Print the SQL that lets PostgreSQL role ROLE run Ony while only reading and "
        "appending audit rows. Run it as the tables' owner after each migrate: "
        "python manage.py audit_db_grants ony_app | psql ..."
    )

    def add_arguments(self, parser):
        parser.add_argument("role")

    def handle(self, *args, role: str, **options):
        try:
            statements = grant_statements(role)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write("\n".join(f"{statement};" for statement in statements))
