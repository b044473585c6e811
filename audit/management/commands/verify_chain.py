import json

from django.core.management.base import BaseCommand, CommandError

from audit.chain import Expectation
from audit.verification import ChainReport, parse_witness, verify_chains


def _witness(text: str) -> Expectation:
    try:
        return parse_witness(text)
    except ValueError as exc:
        raise CommandError(str(exc), returncode=2) from None


def describe(report: ChainReport) -> str:
    """One line per chain: OK with its head, or where it broke."""
    result, slug = report.result, report.org.slug
    failure = result.failure
    if failure is None:  # result.ok
        if not result.head_seq:
            return f"{slug}: OK, empty chain"
        head = f"#{result.head_seq} {result.head_hash.hex()}"
        checked = _count(result.checkpoints, "signed checkpoint")
        if result.witnesses:
            checked += f" and {_count(result.witnesses, 'witness', 'witnesses')}"
        return f"{slug}: OK, {result.entries} entries, head {head}; {checked} matched"
    return (
        f"{slug}: BROKEN at #{failure.seq} ({failure.kind.value}: {failure.detail}); "
        f"verified through #{result.head_seq}, entries from #{failure.seq} on are unverified"
    )


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


class Command(BaseCommand):
    help = (
        "Verify audit chains, their signed checkpoints and any witnesses. "
        "Exit status: 0 all verify, 1 a chain is broken, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Verify this organization only.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")
        parser.add_argument(
            "--witness",
            action="append",
            default=[],
            dest="witnesses",
            metavar="SEQ:HASH",
            help="Entry SEQ must still have HASH (repeatable; needs --org).",
        )

    def handle(self, *args, **options):
        witnesses = [_witness(text) for text in options["witnesses"]]
        try:
            reports = verify_chains(options["org"], witnesses)
        except (LookupError, ValueError) as exc:
            raise CommandError(exc.args[0], returncode=2) from None
        ok = all(report.ok for report in reports)
        if options["as_json"]:
            summary = {"ok": ok, "chains": [r.as_dict() for r in reports]}
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            for report in reports:
                self.stdout.write(describe(report))
        if not ok:
            raise CommandError("audit chain verification failed", returncode=1)
