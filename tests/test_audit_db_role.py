"""The documented application role: it appends audit rows and can do nothing else to them."""

from __future__ import annotations

import secrets
import unittest
from io import StringIO

import psycopg
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import SimpleTestCase, TransactionTestCase

from audit.events import SYSTEM
from audit.models import AuditEntry
from ony import services


class GrantCommandTests(SimpleTestCase):
    def test_it_prints_the_grants(self):
        out = StringIO()
        call_command("audit_db_grants", "ony_app", stdout=out)
        sql = out.getvalue()
        self.assertIn(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ony_app;", sql
        )
        self.assertIn(
            "REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditentry, audit_checkpoint FROM ony_app;",
            sql,
        )

    def test_it_refuses_a_role_name_that_is_not_plain(self):
        with self.assertRaises(CommandError) as ctx:
            call_command("audit_db_grants", "ony; DROP TABLE x", stdout=StringIO())
        self.assertEqual(ctx.exception.returncode, 2)


@unittest.skipUnless(connection.vendor == "postgresql", "PostgreSQL only")
class ApplicationRoleTests(TransactionTestCase):
    def setUp(self):
        self.role = f"ony_app_{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(16)
        out = StringIO()
        call_command("audit_db_grants", self.role, stdout=out)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {self.role} LOGIN PASSWORD %s", [self.password])
            cursor.execute(out.getvalue())
        self.org = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)

    def tearDown(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {self.role}")
            cursor.execute(f"DROP ROLE {self.role}")

    def as_app(self) -> psycopg.Connection:
        settings = connection.settings_dict
        return psycopg.connect(
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            dbname=settings["NAME"],
            user=self.role,
            password=self.password,
            autocommit=True,
        )

    def test_it_may_read_and_append(self):
        entry = AuditEntry.objects.for_org(self.org).get()
        with self.as_app() as app:
            count = app.execute("SELECT count(*) FROM audit_auditentry").fetchone()[0]
            app.execute(
                "INSERT INTO audit_auditentry (org_id, seq, key_id, canonical, prev_hash, hash, "
                "event, actor, subject, created_at) VALUES (%s, 2, 't1', '{}', %s, %s, "
                "'org.updated', 'system', '', now())",
                [self.org.pk, bytes(entry.hash), b"\0" * 32],
            )
        self.assertEqual(count, 1)
        self.assertEqual(AuditEntry.objects.for_org(self.org).count(), 2)

    def test_it_may_not_change_audit_rows_or_switch_the_triggers_off(self):
        refused = [
            "UPDATE audit_auditentry SET event = 'org.updated'",
            "DELETE FROM audit_auditentry",
            "TRUNCATE audit_auditentry",
            "UPDATE audit_checkpoint SET seq = 0",
            "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
            "SET session_replication_role = replica",
        ]
        with self.as_app() as app:
            for statement in refused:
                with (
                    self.subTest(statement),
                    self.assertRaises(psycopg.errors.InsufficientPrivilege),
                ):
                    app.execute(statement)
        entry = AuditEntry.objects.for_org(self.org).get()
        self.assertEqual(entry.event, "org.created")

    def test_it_may_not_delete_an_organization_with_a_chain(self):
        # The role may delete organizations in general; audit migration 0003's
        # trigger keeps those with a chain, and the role cannot switch it off.
        with self.as_app() as app:
            with self.assertRaisesRegex(psycopg.errors.ForeignKeyViolation, "audit chain"):
                app.execute("DELETE FROM ony_organization WHERE id = %s", [self.org.pk])
            with self.assertRaises(psycopg.errors.InsufficientPrivilege):
                app.execute("ALTER TABLE ony_organization DISABLE TRIGGER ALL")
        self.assertEqual(AuditEntry.objects.for_org(self.org).count(), 1)
