"""The audit chain in the dashboard: read-only for everyone, verified entry by entry."""

from __future__ import annotations

from django.urls import reverse

from audit import services as audit
from audit.models import AuditEntry
from handoffs import services as handoffs
from ony.models import User
from tests.base import OnyTestCase, enroll_device, make_handoff, make_person
from tests.tamper import entry_row, sql


class AuditAdminTests(OnyTestCase):
    def superuser(self) -> User:
        root = make_person(self.acme, "root@ony.test", "viewer").person
        root.is_superuser = True
        root.save()
        return root

    def test_it_lists_only_the_callers_org_entries(self):
        r = self.client_for(self.carol).get(reverse("admin:audit_auditentry_changelist"))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, self.alice_m.public_id)
        self.assertNotContains(r, self.gina_m.public_id)
        self.assertNotContains(r, "Globex")

    def test_it_lets_nobody_add_change_or_delete_entries(self):
        root = self.superuser()
        entry = AuditEntry.objects.for_org(self.acme).first()
        count = AuditEntry.objects.count()
        for user in (self.alice, root):
            client = self.client_for(user)
            with self.subTest(user=user.email):
                self.assertEqual(client.get(reverse("admin:audit_auditentry_add")).status_code, 403)
                delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
                self.assertEqual(client.post(delete, {"post": "yes"}).status_code, 403)
                change = reverse("admin:audit_auditentry_change", args=[entry.pk])
                r = client.post(change, {"event": "org.updated"})
                self.assertEqual(r.status_code, 403)
                self.assertNotIn('name="_save"', client.get(change).content.decode())
        entry.refresh_from_db()
        self.assertEqual(entry.event, "org.created")
        self.assertEqual(AuditEntry.objects.count(), count)

    def test_it_does_not_show_another_orgs_entry(self):
        entry = AuditEntry.objects.for_org(self.globex).first()
        r = self.client_for(self.alice).get(
            reverse("admin:audit_auditentry_change", args=[entry.pk]), follow=True
        )
        self.assertNotContains(r, self.globex.public_id)

    def test_it_shows_a_verified_chain(self):
        r = self.client_for(self.carol).get(reverse("admin:audit_verify"))
        self.assertContains(r, "The chain verifies: 4 entries, head #4")
        self.assertContains(r, "genesis")
        self.assertEqual(r.content.decode().count('class="verified"'), 4)
        self.assertNotContains(r, "Globex")

    def test_it_never_claims_checkpoints_it_did_not_check(self):
        url = reverse("admin:audit_verify")
        r = self.client_for(self.carol).get(url)
        self.assertContains(r, "no signed checkpoint yet")
        self.assertNotContains(r, "all match")
        audit.checkpoint(self.acme)
        r = self.client_for(self.carol).get(url)
        self.assertContains(r, "1 signed checkpoint checked, all match.")

    def test_it_marks_where_the_chain_stops_matching(self):
        row_id, text = entry_row(self.acme.pk, 2)[:2]
        sql(
            "UPDATE audit_auditentry SET canonical = %s WHERE id = %s",
            [text.replace("admin", "owner"), row_id],
        )
        r = self.client_for(self.alice).get(reverse("admin:audit_verify"))
        self.assertContains(r, "The chain stops matching at #2 (mac")
        self.assertContains(r, "No signed checkpoint before the break was matched.")
        self.assertNotContains(r, "all match")
        html = r.content.decode()
        self.assertIn('<tr class="verified" data-seq="1">', html)
        self.assertIn('<tr class="failed" data-seq="2">', html)
        self.assertIn('<tr class="unverified" data-seq="3">', html)
        self.assertIn('<tr class="unverified" data-seq="4">', html)

    def test_it_verifies_only_the_callers_orgs(self):
        r = self.client_for(self.alice).get(reverse("admin:audit_verify") + "?org=globex")
        self.assertEqual(r.status_code, 404)
        r = self.client_for(self.gina).get(reverse("admin:audit_verify") + "?org=globex")
        self.assertContains(r, "The chain verifies")

    def test_it_links_to_the_verify_page_from_the_list(self):
        r = self.client_for(self.bob).get(reverse("admin:audit_auditentry_changelist"))
        self.assertContains(r, reverse("admin:audit_verify"))

    def test_the_list_names_people_shows_decisions_and_links_to_the_handoff(self):
        handoff = make_handoff(enroll_device(self.acme).device, "db.migrate")
        handoffs.decide_as_member(self.bob, handoff, "deny")
        page = self.client_for(self.carol).get(reverse("admin:audit_auditentry_changelist"))
        self.assertContains(
            page, f'bob@acme.test <span class="ony-meta">{self.bob_m.public_id}</span>'
        )
        self.assertContains(page, "deny via api")
        link = reverse("admin:handoffs_handoff_by_request", args=[handoff.public_id])
        self.assertContains(page, f'<a href="{link}">{handoff.public_id}</a>')
        entry = AuditEntry.objects.for_org(self.acme).order_by("-seq").first()
        self.assertContains(page, f'title="{entry.hash_hex}"')  # the full hash, on hover

        response = self.client_for(self.carol).get(link)
        self.assertRedirects(response, reverse("admin:handoffs_handoff_change", args=[handoff.pk]))
        self.assertEqual(self.client_for(self.gina).get(link).status_code, 404)
        self.assertNotContains(
            self.client_for(self.gina).get(reverse("admin:audit_auditentry_changelist")),
            "bob@acme.test",
        )
