"""API tokens: stored hashed, expiring, rotated, revoked, ended by a password change and by
"log out everywhere"; the REST API for a person's own tokens and its access rules."""

from __future__ import annotations

import hashlib
import importlib
import types
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from inbox.models import ApiToken, Role, SignInSession
from inbox.services.tokens import token_create, token_revoke, tokens_revoke_all
from monitoring.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _all_text_in_database() -> str:
    """Every column of every ApiToken row, as text."""
    rows = ApiToken.objects.values_list(
        "name", "prefix", "key_digest", "password_fingerprint", "user_id"
    )
    return " ".join(str(v) for row in rows for v in row)


def test_the_database_never_holds_the_key(world):
    # Given a token made through the token API
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "agent_a1", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    # Then no column holds the key, only its SHA-256 digest and a short display prefix
    text = _all_text_in_database()
    assert key not in text
    token = ApiToken.objects.get()
    assert token.key_digest == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix) and len(token.prefix) < len(key) // 3
    # And the key works
    assert _with_token(key).get("/api/v1/me/").json()["username"] == "agent_a1"


def test_an_expired_token_is_refused(world):
    # Given a token past its expiry
    token, key = token_create(user=world.agent_a1, name="cron")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # When it is used, then 401 with a code saying why
    response = _with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_new_tokens_expire_after_the_configured_lifetime(world, settings):
    settings.SCRM_API_TOKEN_DAYS = 7
    token, _ = token_create(user=world.agent_a1, name="short")
    assert abs((token.expires_at - timezone.now()) - timedelta(days=7)) < timedelta(minutes=1)


def test_a_revoked_token_is_refused_at_once(world):
    token, key = token_create(user=world.agent_a1, name="ci")
    assert _with_token(key).get("/api/v1/me/").status_code == 200
    token_revoke(user=world.agent_a1, token_id=token.pk)
    response = _with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"
    assert AuditEvent.objects.filter(action="token.revoked", target_id=str(token.pk)).exists()


def test_rotation_gives_a_new_key_and_revokes_the_old(world):
    # Given a token in use
    token, old_key = token_create(user=world.agent_a1, name="sync")
    client = APIClient()
    client.force_login(world.agent_a1)
    # When its owner rotates it through the API (signed in: a token cannot rotate itself)
    response = client.post(f"/api/v1/tokens/{token.pk}/rotate/")
    assert response.status_code == 201
    body = response.json()
    new_key = body["token"]
    # Then the new key works under the same name, and the old one is refused
    assert new_key != old_key and body["name"] == "sync" and body["state"] == "active"
    assert _with_token(new_key).get("/api/v1/me/").status_code == 200
    assert _with_token(old_key).get("/api/v1/me/").status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.rotated").exists()


def test_a_password_change_ends_every_token(world):
    # Given two tokens
    _, key1 = token_create(user=world.agent_a1, name="one")
    _, key2 = token_create(user=world.agent_a1, name="two")
    # When the password is changed (anywhere: here on the model, as the admin and shell do)
    world.agent_a1.set_password("another-long-passphrase")
    world.agent_a1.save()
    # Then both are refused, and the list shows why
    for key in (key1, key2):
        response = _with_token(key).get("/api/v1/me/")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "token_revoked"
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    states = {t["state"] for t in client.get("/api/v1/tokens/").json()["results"]}
    assert states == {"password_changed"}


def test_drf_refuses_a_deactivated_users_token(world):
    # Given a working token
    _, key = token_create(user=world.agent_a1, name="bot")
    assert _with_token(key).get("/api/v1/me/").status_code == 200
    # When the user is deactivated, then the token is refused
    world.agent_a1.is_active = False
    world.agent_a1.save()
    response = _with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "user_inactive"


def test_last_used_is_written_at_most_once_a_period(world, settings, django_assert_num_queries):
    settings.SCRM_API_TOKEN_TOUCH_SECONDS = 3600
    token, key = token_create(user=world.agent_a1, name="poll")
    client = _with_token(key)
    client.get("/api/v1/me/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    client.get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


@pytest.mark.parametrize(
    "engine",
    ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"],
)
def test_log_out_everywhere_ends_tokens_and_sessions(world, settings, engine):
    settings.SESSION_ENGINE = engine
    # Given two browser sessions (signed in through the login page) and two tokens
    browsers = [Client(), Client()]
    for browser in browsers:
        response = browser.post("/login/", {"username": "agent_a1", "password": PASSWORD})
        assert response.status_code == 302
        assert browser.get("/inbox/").status_code == 200
    _, key1 = token_create(user=world.agent_a1, name="one")
    _, key2 = token_create(user=world.agent_a1, name="two")
    assert SignInSession.objects.filter(user=world.agent_a1).count() == 2
    # And another person's session, which must survive
    other = Client()
    other.force_login(world.agent_a2)
    # When the person logs out everywhere through the API (with one of the tokens)
    response = _with_token(key1).post("/api/v1/auth/logout-everywhere/")
    assert response.status_code == 200
    assert response.json() == {"tokens": 2, "sessions": 2}
    # Then every token is refused and every session is signed out
    for key in (key1, key2):
        assert _with_token(key).get("/api/v1/me/").status_code == 401
    for browser in browsers:
        assert browser.get("/inbox/").status_code == 302
    assert not SignInSession.objects.filter(user=world.agent_a1).exists()
    assert other.get("/inbox/").status_code == 200
    event = AuditEvent.objects.get(action="sessions.ended_everywhere")
    assert event.data == {"tokens": 2, "sessions": 2}


def test_log_out_everywhere_tells_open_sockets(world, monkeypatch):
    # access_changed_notify (helper A's) sends the control message on commit: count the sends.
    from inbox.services import access

    sent = []
    monkeypatch.setattr(access, "control_publish", lambda *, user_id, message: sent.append(user_id))
    tokens_revoke_all(user=world.agent_a1)
    assert sent == [world.agent_a1.pk]


def test_token_api_lists_only_your_own_tokens(world):
    mine, _ = token_create(user=world.agent_a1, name="mine")
    theirs, _ = token_create(user=world.agent_a2, name="theirs")
    other_org, _ = token_create(user=world.agent_b, name="other-org")
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    ids = [t["id"] for t in client.get("/api/v1/tokens/").json()["results"]]
    assert ids == [mine.pk]
    # Someone else's token, of the same or another organisation: 404, and untouched
    for token in (theirs, other_org):
        assert client.get(f"/api/v1/tokens/{token.pk}/").status_code == 404
        assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
        assert client.post(f"/api/v1/tokens/{token.pk}/rotate/").status_code == 404
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_token_api_create_returns_the_key_once(world):
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    response = client.post("/api/v1/tokens/", {"name": "report", "expires_in_days": 30})
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith(body["prefix"])
    detail = client.get(f"/api/v1/tokens/{body['id']}/").json()
    assert "token" not in detail and detail["name"] == "report"
    assert AuditEvent.objects.filter(action="token.created", actor=world.agent_a1).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x" * 101},
        {"name": ""},
        {"name": "bad\x00name"},
        {"name": "ok", "expires_in_days": 0},
        {"name": "ok", "expires_in_days": 10**12},
        {"name": "ok", "expires_in_days": "soon"},
        {},
    ],
)
def test_token_api_bad_input_is_a_400(world, payload):
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    response = client.post("/api/v1/tokens/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid", "invalid_name"}
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/tokens/99999999999999999999/", "/api/v1/tokens/abc/", "/api/v1/tokens/-1/"]
)
def test_token_api_garbage_ids_are_404(world, path):
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


@pytest.mark.parametrize(
    "header",
    ["Token " + "a" * 5000, "Token abc\x00def", "Token", "Token a b", "Token \u00b2\ud800"],
)
def test_malformed_token_headers_are_401(db, header):
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_token_endpoints_refuse_anonymous_and_deactivated(world):
    token, key = token_create(user=world.agent_a1, name="x")
    for method, path in (
        ("get", "/api/v1/tokens/"),
        ("post", "/api/v1/tokens/"),
        ("get", f"/api/v1/tokens/{token.pk}/"),
        ("delete", f"/api/v1/tokens/{token.pk}/"),
        ("post", f"/api/v1/tokens/{token.pk}/rotate/"),
        ("post", "/api/v1/auth/logout-everywhere/"),
    ):
        assert getattr(APIClient(), method)(path).status_code in (401, 403)
    world.agent_a1.is_active = False
    world.agent_a1.save()
    assert _with_token(key).get("/api/v1/tokens/").status_code == 401
    browser = APIClient()
    browser.force_login(world.agent_a1)  # a session of a deactivated user is no session
    assert browser.get("/api/v1/tokens/").status_code in (401, 403)


def test_a_user_of_no_organisation_has_tokens_too(db):
    from django.contrib.auth import get_user_model

    from monitoring.models import SecurityEvent

    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    _, key = token_create(user=admin, name="ops")
    assert _with_token(key).get("/api/v1/tokens/").status_code == 200
    assert SecurityEvent.objects.filter(kind="token.created", user=admin).exists()


def test_old_authtoken_keys_become_hashed_tokens(world):
    # Given a database from before: DRF's authtoken table with a plaintext key
    migration = importlib.import_module("inbox.migrations.0008_legacy_tokens_and_sessions")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone, user_id integer)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime, user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [key, timezone.now() - timedelta(days=3), world.agent_a1.pk],
        )
    from django.apps import apps

    # When the migration step runs
    migration.move_tokens(apps, types.SimpleNamespace(connection=connection))
    # Then the old key still works, only its digest is stored, and the plaintext row is gone
    assert _with_token(key).get("/api/v1/me/").json()["username"] == "agent_a1"
    assert key not in _all_text_in_database()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    token = ApiToken.objects.get()
    assert token.created_at < timezone.now() - timedelta(days=2)


def test_sessions_from_before_are_recorded_by_the_migration(world):
    migration = importlib.import_module("inbox.migrations.0008_legacy_tokens_and_sessions")
    browser = Client()
    browser.force_login(world.agent_a1)
    SignInSession.objects.all().delete()  # as if signed in before the table existed
    from django.apps import apps

    migration.record_sessions(apps, types.SimpleNamespace(connection=connection))
    key = SignInSession.objects.get(user=world.agent_a1).session_key
    assert Session.objects.filter(session_key=key).exists()
    tokens_revoke_all(user=world.agent_a1)
    assert browser.get("/inbox/").status_code == 302


def test_make_person_helper_roles_are_unaffected(world):
    # The token API still answers a supervisor (role is shown in /me/)
    _, key = token_create(user=world.supervisor_a, name="sup")
    assert _with_token(key).get("/api/v1/me/").json()["role"] == Role.SUPERVISOR


def test_a_session_whose_key_changed_after_sign_in_is_still_ended(db, django_user_model):
    # Given a staff member who changes their own password in the admin: Django keeps them
    # signed in under a new session key (update_session_auth_hash)
    staff = django_user_model.objects.create_superuser("ops", password=PASSWORD)
    browser = Client()
    browser.force_login(staff)
    old_key = browser.cookies["sessionid"].value
    response = browser.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert browser.cookies["sessionid"].value != old_key
    assert browser.get("/account/tokens/").status_code == 200
    # When they log out everywhere, then that session ends too
    tokens_revoke_all(user=staff)
    assert browser.get("/account/tokens/").status_code == 302


def test_security_events_are_pruned_after_the_retention(db, settings):
    from monitoring.models import SecurityEvent
    from monitoring.tasks import prune_security_events

    settings.SCRM_SECURITY_LOG_DAYS = 30
    old = SecurityEvent.objects.create(kind="signin.unknown_name")
    SecurityEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = SecurityEvent.objects.create(kind="signin.unknown_name")
    assert prune_security_events() == 1
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_token_list_query_count(world, django_assert_max_num_queries):
    for i in range(12):
        token_create(user=world.agent_a1, name=f"t{i}")
    client = APIClient()
    client.force_authenticate(world.agent_a1)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/tokens/")
    assert len(response.json()["results"]) == 12


def test_a_token_cannot_mint_or_rotate_tokens(world):
    # Given a token (leaked, say) with a week left
    token, key = token_create(user=world.agent_a1, name="leaked", expires_in_days=7)
    client = _with_token(key)
    # When it asks for a new token, or a new key for itself
    made = client.post("/api/v1/tokens/", {"name": "forever"}, format="json")
    rotated = client.post(f"/api/v1/tokens/{token.id}/rotate/")
    # Then both are refused with a clear code, and no token was added
    assert made.status_code == 403 and made.json()["error"]["code"] == "session_required"
    assert rotated.status_code == 403 and rotated.json()["error"]["code"] == "session_required"
    assert ApiToken.objects.filter(user=world.agent_a1).count() == 1
    # While the person, signed in, still can
    browser = APIClient()
    browser.force_login(world.agent_a1)
    assert browser.post("/api/v1/tokens/", {"name": "mine"}, format="json").status_code == 201
