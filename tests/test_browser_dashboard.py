"""The dashboard in a real browser: log in with a TOTP code, add a member."""

from __future__ import annotations

import pytest

from audit.events import SYSTEM
from handoffs.services import decide
from ony import services
from ony.models import Membership, TOTPDevice, User
from ony.roles import Role
from tests.base import PASSWORD, current_code, enroll_device, make_handoff, make_person
from tests.browser import page, screenshots  # noqa: F401  (fixture)
from tests.tamper import entry_row, sql

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, email: str, code: str) -> None:  # noqa: F811
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", code)
    page.click("input[type=submit]")


def test_it_logs_in_with_a_totp_code_and_adds_a_member(live_server, page):  # noqa: F811
    acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    alice = make_person(acme, "alice@acme.test", Role.ADMIN).user
    device = TOTPDevice.objects.get(user=alice)

    log_in(page, live_server, "alice@acme.test", current_code(device))
    assert page.locator("#site-name").inner_text() == "Ony"
    page.click("#content-main a[href='/admin/ony/membership/']")

    page.click(".object-tools a[href='/admin/ony/membership/add/']")
    page.select_option("#id_org", label="Acme")
    page.fill("#id_email", "dave@acme.test")
    page.select_option("#id_role", "member")
    page.fill("#id_phone", "+1 415 555 0104")
    page.click("input[name=_save]")

    assert page.locator(".messagelist").inner_text().startswith("The membership")
    row = page.locator("#result_list tr", has_text="dave@acme.test")
    assert "+1 *** *** 0104" in row.inner_text()
    assert "+14155550104" not in page.content()
    dave = Membership.objects.get(user__email="dave@acme.test")
    assert (dave.org, dave.role, dave.phone) == (acme, Role.MEMBER, "+14155550104")


def test_it_keeps_out_a_password_without_a_code(live_server, page):  # noqa: F811
    acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    make_person(acme, "alice@acme.test", Role.ADMIN)

    log_in(page, live_server, "alice@acme.test", "000000")
    assert page.locator(".errornote").is_visible()
    page.goto(f"{live_server.url}/admin/ony/membership/")
    assert "/admin/login/" in page.url


def test_it_shows_an_auditor_where_the_chain_stops_matching(page, live_server, tmp_path):  # noqa: F811
    acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    carol = make_person(acme, "carol@acme.test", Role.VIEWER).user
    # Rows as a team's chain has them: a person with a long name decided a request.
    bob = make_person(acme, "bob@acme.test", Role.MEMBER)
    User.objects.filter(pk=bob.user_id).update(full_name="Bartholomew Longname-Smythe")
    handoff = make_handoff(enroll_device(acme).device, "db.migrate")
    decide(handoff, "approve", via="dashboard", actor=bob.public_id, by=bob)
    row_id, text = entry_row(acme.pk, 1)[:2]
    sql(
        "UPDATE audit_auditentry SET canonical = %s WHERE id = %s",
        [text.replace("acme", "evil"), row_id],
    )

    log_in(page, live_server, "carol@acme.test", current_code(TOTPDevice.objects.get(user=carol)))
    page.click("text=Audit entries")
    screenshots(page, tmp_path, "audit-list")
    # At a laptop's width the hash column ends inside the list, not under the filters.
    hash_right = page.locator("td.field-short_hash").first.bounding_box()
    results = page.locator("#changelist .results").bounding_box()
    assert hash_right["x"] + hash_right["width"] <= results["x"] + results["width"]
    page.click("#verify-chain")
    screenshots(page, tmp_path, "verify-broken")

    assert "The chain stops matching at #1 (mac" in page.locator("#verdict").inner_text()
    assert page.locator('tr[data-seq="1"] td.status').inner_text() == "failed"
    assert page.locator('tr[data-seq="2"] td.status').inner_text() == "unverified"
    assert page.locator('tr[data-seq="1"] td.hash').first.inner_text() == "genesis"


def test_the_api_docs_render_under_the_content_security_policy(live_server, page):  # noqa: F811
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-summary", timeout=15_000)
    assert "Create a handoff (device)" in page.content()
