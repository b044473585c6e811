from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.events import SYSTEM
from ony import commands, services
from ony.invitations import invitation_link
from ony.roles import Role


class Command(BaseCommand):
    help = (
        "Invite a person to an organization: prints the one-time link (and emails it when "
        "EMAIL_HOST is set); they set a password and enroll TOTP there. Audited as "
        "member.invited. Exit status: 0 invited, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True, help="The organization.")
        parser.add_argument("--email", required=True, help="The person's email address.")
        parser.add_argument(
            "--role", choices=list(Role.values), default=Role.MEMBER, help="Default: member."
        )

    def handle(self, *args, **options):
        org = commands.organization(options["org"])
        try:
            invitation, token = services.invite(
                org, options["email"], role=options["role"], actor=SYSTEM
            )
        except ValidationError as refusal:
            raise CommandError(" ".join(refusal.messages), returncode=2) from None
        link = invitation_link(token)
        emailed = services.send_invitation(invitation, link)
        self.stdout.write(
            f"Invited {invitation.email} to {org.slug} as {invitation.role}, until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC{' (emailed)' if emailed else ''}. "
            "The link works once; pass it on privately:"
        )
        self.stdout.write(link)
