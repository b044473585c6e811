"""An operator's first steps without a shell: create an organization, invite its first admin."""

from __future__ import annotations

from io import StringIO

from django.core import mail
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from audit.models import AuditEntry
from ony import services
from ony.models import ApiToken, Invitation, Organization


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class CreateOrgTests(TestCase):
    def test_it_creates_an_organization_with_the_default_policy_and_audits_it(self):
        out = run(
            "create_org", "--slug", "acme", "--name", "Acme Inc", "--timezone", "Europe/Berlin"
        )
        org = Organization.objects.get(slug="acme")
        self.assertIn(f"Created acme ({org.public_id}).", out)
        self.assertEqual(
            (org.name, org.timezone, org.route("high")), ("Acme Inc", "Europe/Berlin", "phone")
        )
        [entry] = AuditEntry.objects.for_org(org)
        self.assertEqual((entry.event, entry.actor), ("org.created", "system"))

    def test_bad_input_is_bad_usage_and_creates_nothing(self):
        run("create_org", "--slug", "acme", "--name", "Acme")
        for args in (
            ["--slug", "acme", "--name", "Again"],  # taken
            ["--slug", "not a slug", "--name", "X"],
            ["--slug", "x", "--name", "X", "--timezone", "Mars/Olympus"],
        ):
            with self.subTest(args), self.assertRaises(CommandError) as ctx:
                run("create_org", *args)
            self.assertEqual(ctx.exception.returncode, 2)
        self.assertEqual(list(Organization.objects.values_list("slug", flat=True)), ["acme"])


class InviteTests(TestCase):
    def setUp(self) -> None:
        run("create_org", "--slug", "acme", "--name", "Acme")

    def test_it_prints_a_one_time_link_that_opens_the_invitation(self):
        out = run("invite", "--org", "acme", "--email", "Alice@Acme.test", "--role", "admin")
        link = out.strip().splitlines()[-1]
        self.assertIn("Invited alice@acme.test to acme as admin", out)
        self.assertTrue(link.startswith("http://testserver/invite/"))
        page = self.client.get(link.removeprefix("http://testserver"))
        self.assertContains(page, "Acme")
        invitation = Invitation.objects.get()
        self.assertNotIn(link.rsplit("/", 2)[-2], invitation.token_hash)  # only its hash is kept
        entry = AuditEntry.objects.filter(event="member.invited").get()
        self.assertEqual(entry.data, {"role": "admin"})
        self.assertNotIn("alice", entry.canonical)

    @override_settings(
        EMAIL_HOST="smtp.example.test",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    def test_it_emails_the_link_when_email_is_set_up(self):
        out = run("invite", "--org", "acme", "--email", "bob@acme.test")
        self.assertIn("(emailed)", out)
        [message] = mail.outbox
        self.assertIn(out.strip().splitlines()[-1], message.body)

    def test_bad_input_is_bad_usage_and_invites_nobody(self):
        for args, says in (
            (["--org", "nope", "--email", "x@acme.test"], "No organization"),
            (["--org", "acme", "--email", "not an email"], "email"),
        ):
            with self.subTest(args), self.assertRaises(CommandError) as ctx:
                run("invite", *args)
            self.assertEqual(ctx.exception.returncode, 2)
            self.assertIn(says, str(ctx.exception))
        with self.assertRaises(CommandError):
            run("invite", "--org", "acme", "--email", "x@acme.test", "--role", "owner")
        self.assertFalse(Invitation.objects.exists())


class ApiTokenTests(TestCase):
    def setUp(self) -> None:
        run("create_org", "--slug", "acme", "--name", "Acme")
        services.add_member(
            Organization.objects.get(), "alice@acme.test", actor="system", role="admin"
        )

    def test_it_prints_a_token_once_that_the_api_takes(self):
        err = StringIO()
        out = StringIO()
        call_command(
            "api_token", "--email", "Alice@acme.test", "--name", "exports", stdout=out, stderr=err
        )
        token = out.getvalue().strip()
        self.assertIn("shown this once", err.getvalue())
        self.assertEqual(ApiToken.objects.get().name, "exports")
        self.assertNotEqual(ApiToken.objects.get().token_hash, token)
        response = self.client.get(
            "/api/v1/taxonomy", {"org": "acme"}, HTTP_AUTHORIZATION=f"Token {token}"
        )
        self.assertEqual(response.status_code, 200)  # 404 for anyone outside acme

    def test_bad_input_is_bad_usage_and_makes_no_token(self):
        for args in (
            ["--email", "nobody@acme.test", "--name", "x"],
            ["--email", "alice@acme.test", "--name", " "],
        ):
            with self.subTest(args), self.assertRaises(CommandError) as ctx:
                run("api_token", *args)
            self.assertEqual(ctx.exception.returncode, 2)
        self.assertFalse(ApiToken.objects.exists())
