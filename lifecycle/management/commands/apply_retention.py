from django.core.management.base import BaseCommand

from lifecycle import retention
from ony import commands


def describe(slug: str, counts: retention.Counts, dry_run: bool) -> str:
    verb = "would scrub" if dry_run else "scrubbed"
    return (
        f"{slug}: {verb} {counts.payloads} payload(s); "
        f"{'would prune' if dry_run else 'pruned'} {counts.call_attempts} call attempt(s) "
        f"and {counts.chat_messages} chat message(s)"
    )


class Command(BaseCommand):
    help = (
        "Scrub payloads and prune call and chat details past each organization's "
        "retention (beat runs this daily). Exit status: 0 done, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="This organization only.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; change nothing."
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        if options["org"] is None:
            results = retention.apply_all(dry_run=dry_run)
        else:
            org = commands.organization(options["org"])
            results = {org.slug: retention.apply(org, dry_run=dry_run)}
        for slug, counts in results.items():
            self.stdout.write(describe(slug, counts, dry_run))
