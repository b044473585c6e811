"""The data lifecycle in a real browser: retention on the index, an export, an erasure."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from audit.events import SYSTEM
from handoffs.models import Handoff, Status
from lifecycle import retention
from ony import services
from ony.models import Membership, TOTPDevice, User
from ony.roles import Role
from tests.base import current_code, enroll_device, make_handoff, make_person
from tests.browser import page, screenshots, scrolls_sideways  # noqa: F401  (fixture)
from tests.test_browser_dashboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sees_retention_exports_and_erases(live_server, page, tmp_path):  # noqa: F811
    acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    alice = make_person(acme, "alice@acme.test", Role.ADMIN, "+14155550101").person
    bob = make_person(acme, "bob@acme.test", Role.MEMBER, "+14155550102")
    old = make_handoff(enroll_device(acme).device, "db.migrate", payload="diff --git")
    created = old.created_at - timedelta(days=40)
    Handoff.objects.filter(pk=old.pk).update(
        status=Status.APPROVED, created_at=created, deadline=created + timedelta(minutes=10)
    )
    retention.apply(acme)

    log_in(page, live_server, "alice@acme.test", current_code(TOTPDevice.objects.get(user=alice)))
    panel = page.locator("#panel-retention")
    assert "payloads kept 30 days" in panel.inner_text()
    assert "1 payload scrubbed" in panel.inner_text()
    screenshots(page, tmp_path, "index-retention")

    page.goto(f"{live_server.url}/admin/handoffs/handoff/{old.pk}/change/")
    assert "Scrubbed by retention on" in page.locator("#payload-scrubbed").inner_text()

    page.goto(f"{live_server.url}/admin/ony/organization/{acme.pk}/change/")
    page.click("#export-link")
    screenshots(page, tmp_path, "export")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert not scrolls_sideways(page), width
    page.check("#id_payloads")
    with page.expect_download() as download:
        page.click("#export-button")
    document = json.loads(download.value.path().read_text())
    assert document["organization"]["slug"] == "acme"
    assert document["audit"]["entries"][-1]["event"] == "export.created"

    page.goto(f"{live_server.url}/admin/ony/membership/{bob.pk}/change/")
    page.click("#erase-link")
    assert "their account (name, email" in page.locator("#erase").inner_text()
    screenshots(page, tmp_path, "erase")
    page.click("#erase-button")
    assert f"Erased {bob.public_id}" in page.locator(".messagelist").inner_text()
    assert "bob@acme.test" not in page.content()
    assert Membership.all_objects.get(pk=bob.pk).user is None
    assert not User.objects.filter(email="bob@acme.test").exists()
