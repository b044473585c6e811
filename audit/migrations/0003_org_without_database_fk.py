"""Audit entries keep their organization without a database foreign key.

PostgreSQL checks a deferred foreign key when the transaction commits, which
for an audit entry is inside the organization's chain lock, where it bounded
every organization's append rate. What the key guaranteed in the database, that
an organization with a chain is never deleted (or renumbered) from under it,
a trigger on the organization table keeps: it costs appends nothing. A no-op on
other databases, where the ORM's PROTECT is the guard.
"""

import django.db.models.deletion
from django.db import migrations, models

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION ony_org_keeps_audit_chain() RETURNS trigger AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id)
       AND EXISTS (SELECT 1 FROM audit_auditentry WHERE org_id = OLD.id) THEN
        RAISE EXCEPTION 'ony: % of organization % is refused: it has an audit chain',
            TG_OP, OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # its % are PL/pgSQL placeholders
    schema_editor.execute(
        "CREATE TRIGGER ony_organization_keeps_audit_chain "
        "BEFORE DELETE OR UPDATE OF id ON ony_organization "
        "FOR EACH ROW EXECUTE FUNCTION ony_org_keeps_audit_chain()"
    )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS ony_organization_keeps_audit_chain ON ony_organization"
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS ony_org_keeps_audit_chain()")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
        ("ony", "0004_member_phone_invalid"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="org",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="audit_entries",
                to="ony.organization",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
