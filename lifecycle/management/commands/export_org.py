import os

from django.core.management.base import BaseCommand, CommandError

from audit.events import SYSTEM
from lifecycle import export
from ony import commands


class Command(BaseCommand):
    help = (
        "Write an organization's data as one JSON document (docs/data.md), audited as "
        "export.created. Exit status: 0 written, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", required=True, help="The organization.")
        parser.add_argument(
            "--payloads", action="store_true", help="Include payloads still retained."
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write here (created, never overwritten); default stdout.",
        )

    def handle(self, *args, **options):
        org = commands.organization(options["org"])
        path = options["output"]
        if not path:
            for chunk in export.audited_document(org, actor=SYSTEM, payloads=options["payloads"]):
                self.stdout.write(chunk, ending="")
            return
        try:  # opened first: a file that cannot be written is no export to audit
            # New, and readable by its owner only: it holds emails (and payloads).
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}.", returncode=2) from None
        with open(descriptor, "w", encoding="utf-8") as out:
            out.writelines(export.audited_document(org, actor=SYSTEM, payloads=options["payloads"]))
        self.stderr.write(f"Wrote the export of {org.slug} to {path}.")
