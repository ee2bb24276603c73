"""TOTP two-factor sign-in: set-up, sign-in with the code, wrong codes, turning it off, the
organisation's requirement for supervisors and admins, and the token API's ``otp`` field."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from inbox.models import SignInSession
from inbox.services.tokens import token_create
from monitoring.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows (``steps_ahead`` periods later: a code is accepted
    once, so a second sign-in in the same 30 s uses the next one, within the tolerance)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {code_for(device, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def enrol(browser: Client) -> TOTPDevice:
    """Set two-factor sign-in up through the page, as a person does."""
    page = browser.get("/account/two-factor/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    html = page.content.decode()
    assert "otpauth://totp/" in html and "<svg" in html and 'id="totp-secret"' in html
    response = browser.post("/account/two-factor/", {"action": "confirm", "code": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_enrolment_then_sign_in_asks_for_the_code(world):
    # Given a supervisor who turns two-factor sign-in on
    browser = Client()
    browser.force_login(world.supervisor_a)
    device = enrol(browser)
    assert AuditEvent.objects.filter(action="two_factor.enabled").exists()
    # When they sign in again: the password alone does not sign them in
    fresh = Client()
    response = fresh.post("/login/", {"username": "supervisor_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert fresh.get("/inbox/").status_code == 302
    # A wrong code is refused, recorded, and counted
    response = fresh.post("/login/verify/", {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert fresh.get("/inbox/").status_code == 302
    failed = AuditEvent.objects.get(action="signin.failed")
    assert failed.data == {"reason": "otp", "via": "page"}
    # The right code signs them in
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp's back-off after the wrong code
    device.throttling_failure_timestamp = None
    device.save()
    response = fresh.post("/login/verify/", {"code": code_for(device, 1)})
    assert response.status_code == 302
    assert fresh.get("/inbox/").status_code == 200
    assert AuditEvent.objects.filter(action="signin.succeeded", data__second_factor=True).exists()


def test_the_code_step_cannot_be_skipped_or_replayed(world):
    browser = Client()
    browser.force_login(world.supervisor_a)
    device = enrol(browser)
    # Without the password step first, the code page sends to the login page
    assert Client().post("/login/verify/", {"code": code_for(device, 1)}).status_code == 302
    # A code already used is not accepted again
    fresh = Client()
    fresh.post("/login/", {"username": "supervisor_a", "password": PASSWORD})
    assert fresh.post("/login/verify/", {"code": code_for(device)}).status_code == 400
    assert fresh.get("/inbox/").status_code == 302


def test_the_pending_sign_in_expires(world, settings):
    browser = Client()
    browser.force_login(world.supervisor_a)
    device = enrol(browser)
    fresh = Client()
    fresh.post("/login/", {"username": "supervisor_a", "password": PASSWORD})
    settings.SCRM_TWO_FACTOR_PENDING_SECONDS = -1
    assert fresh.post("/login/verify/", {"code": code_for(device, 1)}).status_code == 302
    assert fresh.get("/inbox/").status_code == 302


def test_turning_it_on_ends_the_other_sessions(world):
    other_device = Client()
    other_device.force_login(world.supervisor_a)
    browser = Client()
    browser.force_login(world.supervisor_a)
    enrol(browser)
    assert other_device.get("/inbox/").status_code == 302
    assert browser.get("/inbox/").status_code == 200
    assert SignInSession.objects.filter(user=world.supervisor_a).count() == 1


def test_wrong_code_at_set_up_is_refused(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    browser.get("/account/two-factor/")
    device = TOTPDevice.objects.get()
    response = browser.post(
        "/account/two-factor/", {"action": "confirm", "code": wrong_code(device)}
    )
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_disable_needs_a_code(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    device = enrol(browser)
    response = browser.post("/account/two-factor/", {"action": "disable", "code": "12"})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(confirmed=True).exists()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = browser.post(
        "/account/two-factor/", {"action": "disable", "code": code_for(device, 1)}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.exists()
    assert AuditEvent.objects.filter(action="two_factor.disabled").exists()


def test_an_organisation_requirement_sends_supervisors_to_the_set_up_first(world):
    # Given organisation A requires two-factor sign-in
    world.org_a.require_two_factor = True
    world.org_a.save()
    supervisor, agent = Client(), Client()
    supervisor.force_login(world.supervisor_a)
    agent.force_login(world.agent_a1)
    # Then the supervisor without a device goes to the set-up page, from any page
    for path in ("/inbox/", "/inbox/team/", "/account/tokens/", "/"):
        response = supervisor.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    response = supervisor.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_setup_required"
    assert supervisor.get("/account/two-factor/").status_code == 200
    # Agents and other organisations are not affected
    assert agent.get("/inbox/").status_code == 200
    other = Client()
    other.force_login(world.supervisor_b)
    assert other.get("/inbox/").status_code == 200
    # Once set up, the supervisor works, and cannot turn it off
    device = enrol(supervisor)
    assert supervisor.get("/inbox/").status_code == 200
    response = supervisor.post(
        "/account/two-factor/", {"action": "disable", "code": code_for(device, 1)}
    )
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(confirmed=True).exists()


def test_required_supervisors_tokens_and_token_exchange_are_refused_until_set_up(world):
    _, key = token_create(user=world.supervisor_a, name="old")
    world.org_a.require_two_factor = True
    world.org_a.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "two_factor_setup_required"
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "supervisor_a", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_setup_required"


def test_the_token_api_needs_the_code_when_two_factor_is_on(world):
    browser = Client()
    browser.force_login(world.agent_a1)
    device = enrol(browser)
    api = APIClient()
    body = {"username": "agent_a1", "password": PASSWORD}
    # Without the code: a clear 400 saying a code is needed
    response = api.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_required"
    # With a wrong one: refused and recorded as a failed sign-in
    response = api.post("/api/v1/auth/token/", {**body, "otp": wrong_code(device)}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "otp_invalid"
    assert AuditEvent.objects.filter(action="signin.failed", data__reason="otp").exists()
    # With the right one: a token
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = api.post("/api/v1/auth/token/", {**body, "otp": code_for(device, 1)}, format="json")
    assert response.status_code == 200 and response.json()["token"]


def test_wrong_codes_count_towards_the_lockout(world, settings):
    settings.SCRM_SIGNIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 2
    browser = Client()
    browser.force_login(world.agent_a1)
    device = enrol(browser)
    fresh = Client()
    fresh.post("/login/", {"username": "agent_a1", "password": PASSWORD})
    fresh.post("/login/verify/", {"code": wrong_code(device)})
    response = fresh.post("/login/verify/", {"code": wrong_code(device)})
    assert response.status_code == 429
    assert (
        Client().post("/login/", {"username": "agent_a1", "password": PASSWORD}).status_code == 429
    )


@pytest.mark.parametrize("code", ["", "12345678901234567890", "abc\x00", "١٢٣٤٥٦", "²²²²²²"])
def test_odd_codes_are_refused_not_500(world, code):
    browser = Client()
    browser.force_login(world.agent_a1)
    browser.get("/account/two-factor/")
    response = browser.post("/account/two-factor/", {"action": "confirm", "code": code})
    assert response.status_code == 400


def test_the_admin_signs_in_through_the_same_code_step(world, django_user_model):
    staff = django_user_model.objects.create_superuser("ops", password=PASSWORD)
    browser = Client()
    browser.force_login(staff)
    device = enrol(browser)
    fresh = Client()
    response = fresh.post(
        "/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert fresh.get("/admin/").status_code == 302
    response = fresh.post("/login/verify/", {"code": code_for(device, 1)})
    assert response["Location"] == "/admin/"
    assert fresh.get("/admin/").status_code == 200


def test_two_factor_page_in_chinese(world):
    world.agent_a1.member.language = "zh-hans"  # the person's own language
    world.agent_a1.member.save(update_fields=["language"])
    browser = Client()
    browser.force_login(world.agent_a1)
    html = browser.get("/account/two-factor/").content.decode()
    assert "双重验证登录" in html and "开启" in html


def test_two_factor_page_needs_sign_in(db):
    response = Client().get("/account/two-factor/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_turning_it_on_revokes_the_tokens_had_with_a_password_alone(world):
    # Given a token made with the password only (say, by someone who stole it)
    _, key = token_create(user=world.supervisor_a, name="before 2FA")
    thief = APIClient()
    thief.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert thief.get("/api/v1/me/").status_code == 200
    # When its owner turns two-factor sign-in on
    browser = Client()
    browser.force_login(world.supervisor_a)
    enrol(browser)
    # Then that token no longer works, and the audit event says how many were revoked
    response = thief.get("/api/v1/me/")
    assert response.status_code == 401
    event = AuditEvent.objects.get(action="two_factor.enabled")
    assert event.data["tokens_revoked"] == 1
