"""The approver's inbox and a handoff's page in a real browser, at laptop and phone width."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.oath import TOTP
from playwright.sync_api import expect

from audit.events import SYSTEM
from handoffs import services as handoff_services
from handoffs.models import Handoff, Status
from ony import services
from ony.connector.sdk import Ony
from ony.models import Membership, TOTPDevice
from ony.roles import Role
from tests.base import current_code, enroll_device, make_handoff, make_person
from tests.browser import page, screenshots, scrolls_sideways  # noqa: F401  (fixture)
from tests.connector import ConnectorHome
from tests.telephony import Asking
from tests.test_browser_dashboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def team():
    acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
    alice = make_person(acme, "alice@acme.test", Role.ADMIN).user
    carol = make_person(acme, "carol@acme.test", Role.VIEWER).user
    return acme, alice, carol


def code_of(user, steps_ahead: int = 0) -> str:
    return current_code(TOTPDevice.objects.get(user=user), steps_ahead)


def test_a_request_shows_up_in_the_inbox_and_is_approved_from_its_page(
    live_server,
    page,  # noqa: F811
    tmp_path: Path,
):
    acme, alice, _ = team()
    laptop = enroll_device(acme, "build-laptop")
    home = ConnectorHome()
    try:
        agent = Ony(home.write(live_server.url, laptop))
        log_in(page, live_server, "alice@acme.test", code_of(alice))
        page.goto(f"{live_server.url}/admin/handoffs/handoff/")
        asking = Asking(agent, "db.migrate", "orders-db", "Add the invoices table")
        row = page.locator("#result_list tr", has_text="Add the invoices table")
        row.wait_for(timeout=15_000)  # no reload by hand: the inbox notices by itself
        assert "HIGH" in row.inner_text().upper()
        assert "(1)" in page.title()
        screenshots(page, tmp_path, "inbox")
        assert not scrolls_sideways_at(page, 390)

        row.locator("a", has_text="Add the invoices table").click()
        page.wait_for_selector("#decide")
        assert "db.migrate" in page.locator("#ask").inner_text()
        screenshots(page, tmp_path, "handoff-pending")
        assert not scrolls_sideways_at(page, 390)
        page.click("button.ony-approve")

        outcome = asking.outcome()
        assert outcome.approved, outcome
        assert outcome.verdict["decided_via"] == "dashboard"
        assert "Approved" in page.locator(".messagelist").inner_text()
        assert "Approved via dashboard by alice@acme.test" in page.locator("#decided").inner_text()
        screenshots(page, tmp_path, "handoff-approved")
    finally:
        home.close()


def scrolls_sideways_at(page, width: int) -> bool:  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    try:
        return scrolls_sideways(page)
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_a_critical_request_needs_the_right_code(live_server, page, tmp_path):  # noqa: F811
    acme, alice, _ = team()
    handoff = make_handoff(enroll_device(acme).device, "deploy.production")
    log_in(page, live_server, "alice@acme.test", code_of(alice))
    page.goto(f"{live_server.url}/admin/handoffs/handoff/{handoff.pk}/change/")
    assert page.locator("label[for=id_otp]").inner_text() == "Authenticator code"

    page.click("button.ony-approve")  # no code
    assert "needs your 6-digit TOTP code" in page.locator(".messagelist").inner_text()
    page.fill("#id_otp", str((int(code_of(alice)) + 1) % 1_000_000).zfill(6))
    page.click("button.ony-approve")
    assert "not valid" in page.locator(".messagelist").inner_text()
    assert Handoff.objects.get(pk=handoff.pk).status == Status.PENDING
    screenshots(page, tmp_path, "handoff-wrong-code")

    # As a person's typing would, past the throttle after a wrong code.
    TOTPDevice.objects.filter(user=alice).update(
        decision_failed_at=timezone.now() - timedelta(minutes=1)
    )
    page.fill("#id_otp", code_of(alice, steps_ahead=1))  # the login spent this step's code
    page.click("button.ony-approve")
    assert "Approved" in page.locator(".messagelist").inner_text()
    stored = Handoff.objects.get(pk=handoff.pk)
    assert (stored.status, stored.decided_via) == (Status.APPROVED, "dashboard")


def test_a_viewer_reads_but_has_no_buttons(live_server, page, tmp_path):  # noqa: F811
    acme, _, carol = team()
    handoff = make_handoff(enroll_device(acme).device, "db.migrate", payload="DROP TABLE x;")
    log_in(page, live_server, "carol@acme.test", code_of(carol))
    page.goto(f"{live_server.url}/admin/handoffs/handoff/{handoff.pk}/change/")
    assert page.locator("#decide").count() == 0
    assert "does not decide" in page.locator("#no-decide").inner_text()
    assert "DROP TABLE" not in page.content()
    assert page.locator("#payload-hidden").is_visible()
    screenshots(page, tmp_path, "handoff-viewer")


def test_a_decision_made_elsewhere_shows_without_a_reload(live_server, page):  # noqa: F811
    acme, alice, _ = team()
    bob = make_person(acme, "bob@acme.test", Role.MEMBER)
    handoff = make_handoff(enroll_device(acme).device, "db.migrate")
    log_in(page, live_server, "alice@acme.test", code_of(alice))
    page.goto(f"{live_server.url}/admin/handoffs/handoff/{handoff.pk}/change/")
    page.wait_for_selector("#decide")
    handoff_services.decide_as_member(bob.user, handoff, "deny")  # through the API, say
    page.wait_for_selector("#decided", timeout=15_000)
    assert "Denied via api by bob@acme.test" in page.locator("#decided").inner_text()


def test_the_index_counts_what_waits_without_a_reload(live_server, page, tmp_path):  # noqa: F811
    acme, alice, _ = team()
    services.update_member(alice.memberships.get(), actor=SYSTEM, oncall_order=1)
    log_in(page, live_server, "alice@acme.test", code_of(alice))
    assert page.locator("#panel-pending .ony-big").inner_text() == "0"
    make_handoff(enroll_device(acme, "build-laptop").device, "deploy.production")
    expect(page.locator("#panel-pending .ony-big")).to_have_text("1", timeout=15_000)
    assert page.title().startswith("(1) ")
    assert "deploy.production" in page.locator("#panel-pending").inner_text()
    assert "alice@acme.test" in page.locator("#panel-oncall").inner_text()
    screenshots(page, tmp_path, "index")
    assert not scrolls_sideways_at(page, 390)

    Session.objects.all().delete()  # the session ends (expired, logged out elsewhere)
    page.wait_for_url("**/admin/login/**", timeout=15_000)  # said so, not silently stale


def test_an_invitation_from_the_link_to_the_first_login(
    live_server,
    page,  # noqa: F811
    tmp_path: Path,
    settings,
):
    settings.ONY_PUBLIC_URL = live_server.url  # the link is absolute
    acme, alice, _ = team()
    log_in(page, live_server, "alice@acme.test", code_of(alice))
    page.goto(f"{live_server.url}/admin/ony/invitation/add/")
    page.select_option("#id_org", label="Acme")
    page.fill("#id_email", "dave@acme.test")
    page.select_option("#id_role", "member")
    page.click("input[name=_save]")
    link = page.locator("#secret").inner_text().strip()
    page.click("#logout-form button, #logout-form input[type=submit]")

    page.goto(link)
    assert "dave@acme.test" in page.locator("#content-main").inner_text()
    screenshots(page, tmp_path, "invitation")
    assert not scrolls_sideways_at(page, 390)
    secret = page.locator("#totp-secret").inner_text()
    key = base64.b32decode(secret).hex()
    page.fill("#id_password1", "a long and new passphrase 42")
    page.fill("#id_password2", "a long and new passphrase 42")
    page.fill("#id_code", totp_code(key))
    page.click("#accept input[type=submit]")
    page.wait_for_selector("#result_list, .paginator")  # the inbox
    assert "Welcome to Acme" in page.locator(".messagelist").inner_text()
    dave = Membership.objects.get(user__email="dave@acme.test")
    assert (dave.org, dave.role) == (acme, Role.MEMBER)

    page.click("#logout-form button, #logout-form input[type=submit]")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "dave@acme.test")
    page.fill("#id_password", "a long and new passphrase 42")
    page.fill("#id_otp_token", totp_code(key, steps_ahead=1))  # joining spent this step's code
    page.click("input[type=submit]")
    assert page.locator("#panel-pending").is_visible()


def totp_code(key_hex: str, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time += 30 * steps_ahead
    return str(totp.token()).zfill(6)
