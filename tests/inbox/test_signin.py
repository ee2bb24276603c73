"""Sign-in: lockout per account and per address (django-axes), the clear message on the page and
the token API, failed sign-ins recorded, and proxy headers trusted only through configured
proxies."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from monitoring.models import AuditEvent, SecurityEvent
from scrm.signin import client_ip, name_digest
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SCRM_SIGNIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    settings.SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT = 6
    cache.clear()  # DRF's throttle counters (Redis in services mode)
    yield
    cache.clear()


def _page_login(client: Client, username: str, password: str, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _api_login(client: APIClient, username: str, password: str, **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", **extra
    )


def test_the_page_locks_an_account_after_n_failures_then_refuses_the_right_password(world):
    browser = Client()
    # Given two wrong passwords: the usual "didn't match" message
    for _ in range(2):
        response = _page_login(browser, "agent_a1", WRONG)
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    # When the third fails, the account is locked, and the page says so
    response = _page_login(browser, "agent_a1", WRONG)
    assert response.status_code == 429
    # Then even the right password is refused, with the clear message and no session
    response = _page_login(browser, "agent_a1", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html and 'data-error="signin_locked"' in html
    assert browser.get("/inbox/").status_code == 302
    # And from another address (another office) the account is locked too
    response = _page_login(Client(REMOTE_ADDR="10.9.9.9"), "agent_a1", PASSWORD)
    assert response.status_code == 429


def test_the_lockout_message_is_translated(world):
    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(3):
        _page_login(browser, "agent_a1", WRONG)
    response = _page_login(browser, "agent_a1", PASSWORD)
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_the_token_api_locks_too_with_its_error_shape(world):
    api = APIClient()
    for _ in range(2):
        assert _api_login(api, "agent_a1", WRONG).json()["error"]["code"] == "invalid_credentials"
    response = _api_login(api, "agent_a1", PASSWORD)  # 3rd failure? no: right password
    assert response.status_code == 200
    assert _api_login(api, "agent_a1", WRONG).status_code == 429
    response = _api_login(api, "agent_a1", PASSWORD)
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "signin_locked"
    assert "Too many failed sign-in attempts" in body["message"]
    assert body["details"]["retry_after_seconds"] > 0
    assert response["Retry-After"]


def test_page_and_api_failures_count_together(world):
    _page_login(Client(), "agent_a1", WRONG)
    _api_login(APIClient(), "agent_a1", WRONG)
    _page_login(Client(), "agent_a1", WRONG)
    assert _api_login(APIClient(), "agent_a1", PASSWORD).status_code == 429


def test_an_address_is_locked_after_its_own_higher_limit_over_many_names(world):
    # Given failures for many names (none reaching the account limit) from one address
    browser = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(6):
        _page_login(browser, f"nobody{i}", WRONG)
    # Then that address is locked, even for a right password of an untouched account...
    assert _page_login(browser, "agent_a2", PASSWORD).status_code == 429
    # ...while the same account signs in from another address
    assert _page_login(Client(REMOTE_ADDR="203.0.113.8"), "agent_a2", PASSWORD).status_code == 302


def test_rotating_x_forwarded_for_does_not_escape_the_lockout(world):
    # Given no trusted proxy (the default): every request from one socket address, each with
    # a different X-Forwarded-For
    for i in range(6):
        _page_login(
            Client(REMOTE_ADDR="198.51.100.1"),
            f"spray{i}",
            WRONG,
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}",
        )
    # Then the address is locked whatever the header says next
    response = _page_login(
        Client(REMOTE_ADDR="198.51.100.1"), "agent_a2", PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9"
    )
    assert response.status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_api_throttle(world, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    api = APIClient(REMOTE_ADDR="198.51.100.2")
    codes = [
        _api_login(api, "agent_a1", PASSWORD, HTTP_X_FORWARDED_FOR=f"5.6.7.{i}").status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_behind_one_proxy_only_the_address_the_proxy_saw_counts(world, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    settings.SCRM_TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    # A client behind the proxy writes its own X-Forwarded-For; the proxy appends the address it
    # saw (192.0.2.50): only that one counts
    api = APIClient(REMOTE_ADDR="127.0.0.1")
    codes = [
        _api_login(
            api, "agent_a1", PASSWORD, HTTP_X_FORWARDED_FOR=f"7.7.7.{i}, 192.0.2.50"
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    # Another client through the same proxy is its own address
    other = _api_login(api, "agent_a1", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.51")
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        (0, "10.0.0.1", "1.1.1.1", "10.0.0.1"),
        (1, "10.0.0.1", "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "10.0.0.1", "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "10.0.0.1", "2.2.2.2", "2.2.2.2"),
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (1, "10.0.0.1", "", "10.0.0.1"),
        (1, "10.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_follows_the_trusted_proxy_count(settings, count, remote, forwarded, expected):
    settings.SCRM_TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_serve_never_lets_uvicorn_rewrite_the_client_address(settings, monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    settings.SCRM_RUN_SCHEDULER = False
    call_command("serve")
    # Uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; the app applies the setting.
    assert seen["proxy_headers"] is False
    assert seen["forwarded_allow_ips"] == ""


def test_a_known_users_failure_is_in_its_organisations_audit_log(world):
    _page_login(Client(), "agent_a1", WRONG)
    _api_login(APIClient(), "agent_a1", WRONG)
    events = AuditEvent.objects.filter(action="signin.failed", organisation=world.org_a)
    assert [e.data["via"] for e in events.order_by("id")] == ["page", "api"]
    assert {e.target_id for e in events} == {str(world.agent_a1.pk)}
    assert all(WRONG not in str(e.data) for e in events)
    assert not AuditEvent.objects.filter(organisation=world.org_b).exists()
    assert not SecurityEvent.objects.exists()


def test_an_unknown_name_goes_to_the_operators_log_as_a_keyed_hash(world):
    _page_login(Client(REMOTE_ADDR="192.0.2.9"), "Someone@Example.com", WRONG)
    event = SecurityEvent.objects.get()
    assert event.kind == "signin.unknown_name"
    assert event.name_digest == name_digest("someone@example.com")
    assert str(event.ip_address) == "192.0.2.9"
    row = " ".join(str(v) for v in SecurityEvent.objects.values_list().get())
    assert "Someone" not in row and "example" not in row.lower() and WRONG not in row
    assert not AuditEvent.objects.exists()


def test_axes_keeps_no_typed_name_either(world):
    from axes.models import AccessAttempt

    _page_login(Client(), "typed-secret-name", WRONG)
    attempt = AccessAttempt.objects.get()
    assert attempt.username == name_digest("typed-secret-name")
    assert "typed-secret-name" not in attempt.post_data and WRONG not in attempt.post_data


def test_security_events_are_read_only_in_the_admin(world, django_user_model):
    admin = django_user_model.objects.create_superuser("ops", password=PASSWORD)
    _page_login(Client(), "nobody", WRONG)
    event = SecurityEvent.objects.get()
    browser = Client()
    browser.force_login(admin)
    assert browser.get("/admin/monitoring/securityevent/").status_code == 200
    assert browser.get(f"/admin/monitoring/securityevent/{event.pk}/change/").status_code == 200
    assert browser.get("/admin/monitoring/securityevent/add/").status_code == 403
    assert browser.post(f"/admin/monitoring/securityevent/{event.pk}/delete/").status_code == 403


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "a\x00b", "password": "x"},
        {"username": "x" * 151, "password": "x"},
        {"username": ["list"], "password": "x"},
        {"username": "agent_a1", "password": "p" * 129},
    ],
)
def test_bad_token_api_input_is_a_4xx(world, payload):
    response = APIClient().post("/api/v1/auth/token/", payload, format="json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "body",
    [
        b'{"username": "\\ud800", "password": "x"}',
        b'{"username": "agent_a1", "password": "\\udfff"}',
        b'{"username": "a\\u0000b", "password": "x", "otp": "\\ud800"}',
    ],
)
def test_lone_surrogates_in_the_token_api_are_a_4xx(world, body):
    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("name", ["a\x00b", "x" * 5000, "\u00b2"])
def test_bad_login_page_input_is_not_a_500(world, name):
    response = _page_login(Client(), name, WRONG)
    assert 200 <= response.status_code < 500


def test_attempts_against_a_locked_account_do_not_flood_its_audit_log(world):
    # Given an account locked by three wrong passwords (three audit events)
    browser = Client()
    for _ in range(3):
        _page_login(browser, "agent_a1", WRONG)
    failed = AuditEvent.objects.filter(action="signin.failed")
    assert failed.count() == 3
    # When someone keeps trying while it is locked
    for _ in range(20):
        assert _page_login(browser, "agent_a1", WRONG).status_code == 429
    # Then the organisation's audit log does not grow with every try
    assert failed.count() == 3
