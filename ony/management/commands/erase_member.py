from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.events import SYSTEM
from ony import commands, services
from ony.models import Membership


class Command(BaseCommand):
    help = (
        "Erase a member's personal data in an organization (docs/data.md), audited as "
        "member.erased. Exit status: 0 erased, 1 refused (last admin, already erased), "
        "2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True, help="The organization.")
        parser.add_argument(
            "--member", metavar="MEM_ID", required=True, help="The member's id (mem_...)."
        )

    def handle(self, *args, **options):
        org = commands.organization(options["org"])
        membership = Membership.all_objects.for_org(org).filter(public_id=options["member"]).first()
        if membership is None:
            raise CommandError(f"No member {options['member']!r} in {org.slug}.", returncode=2)
        try:
            account_deleted = services.erase_member(membership, actor=SYSTEM)
        except ValidationError as refusal:
            raise CommandError(" ".join(refusal.messages), returncode=1) from None
        account = (
            "deleted"
            if account_deleted
            else "kept (another organization holds it, or it is an operator's)"
        )
        self.stdout.write(
            f"Erased {membership.public_id} from {org.slug}; the account was {account}."
        )
