import json

from django.core.management.base import BaseCommand, CommandError

from audit.chain import Expectation, Result
from audit.exports import NotAnExport, verify_export_file
from audit.verification import parse_witness, result_dict, verify_chains


def _witness(text: str) -> Expectation:
    try:
        return parse_witness(text)
    except ValueError as exc:
        raise CommandError(str(exc), returncode=2) from None


def describe(slug: str, result: Result) -> str:
    """One line per chain: OK with its head, or where it broke."""
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
        parser.add_argument(
            "--from-export",
            metavar="FILE",
            help="Verify the chain in an organization export instead (no database needed).",
        )
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
        if options["from_export"]:
            return self.verify_export(options)
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
                self.stdout.write(describe(report.org.slug, report.result))
                if report.ok:  # each witness by name: it is what its holder asked about
                    for witness in witnesses:
                        self.stdout.write(f"{report.org.slug}: witness #{witness.seq} matches")
        if not ok:
            raise CommandError("audit chain verification failed", returncode=1)

    def verify_export(self, options: dict) -> None:
        if options["org"] or options["witnesses"]:
            raise CommandError("--from-export takes neither --org nor --witness", returncode=2)
        try:
            org_id, result = verify_export_file(options["from_export"])
        except NotAnExport as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["as_json"]:
            chain = {"org_id": org_id, **result_dict(result)}
            self.stdout.write(json.dumps({"ok": result.ok, "chains": [chain]}, indent=2))
        else:
            self.stdout.write(describe(f"export of {org_id}", result))
        if not result.ok:
            raise CommandError("audit chain verification failed", returncode=1)
