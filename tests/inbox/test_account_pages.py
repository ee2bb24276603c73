"""The API tokens page: list, create (key shown once), rotate, revoke, log out everywhere; in
both languages; only one's own tokens; bad input is a 4xx."""

from __future__ import annotations

import pytest
from django.test import Client

from inbox.models import ApiToken
from inbox.services.tokens import token_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def browser(world) -> Client:
    client = Client()
    client.force_login(world.agent_a1)
    return client


def test_the_page_lists_own_tokens_only(world, browser):
    mine, _ = token_create(user=world.agent_a1, name="my script")
    token_create(user=world.agent_a2, name="colleague script")
    token_create(user=world.agent_b, name="other org script")
    html = browser.get("/account/tokens/").content.decode()
    assert "my script" in html and mine.prefix in html
    assert "colleague script" not in html and "other org script" not in html
    assert 'href="/account/tokens/" aria-current="page"' in html


def test_create_shows_the_key_once(world, browser):
    response = browser.post("/account/tokens/", {"action": "create", "name": "nightly", "days": 30})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    token = ApiToken.objects.get(user=world.agent_a1)
    start = html.index('id="new-token"')
    key = html[start:].split('value="', 1)[1].split('"', 1)[0]
    assert key.startswith(token.prefix)
    # It works, and the page never shows it again
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert key not in browser.get("/account/tokens/").content.decode()


def test_rotate_and_revoke_from_the_page(world, browser):
    token, key = token_create(user=world.agent_a1, name="sync")
    response = browser.post("/account/tokens/", {"action": "rotate", "token": token.pk})
    assert response.status_code == 200 and 'id="new-token"' in response.content.decode()
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    new = ApiToken.objects.get(user=world.agent_a1, revoked_at__isnull=True)
    response = browser.post("/account/tokens/", {"action": "revoke", "token": new.pk})
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.revoked_at is not None


def test_log_out_everywhere_from_the_page(world, browser):
    _, key = token_create(user=world.agent_a1, name="x")
    other = Client()
    other.force_login(world.agent_a1)
    response = browser.post("/account/tokens/", {"action": "logout_everywhere"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert browser.get("/inbox/").status_code == 302
    assert other.get("/inbox/").status_code == 302
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert "Logged out everywhere" in browser.get("/login/").content.decode()


def test_someone_elses_token_is_404_on_the_page(world, browser):
    theirs, _ = token_create(user=world.agent_b, name="theirs")
    for action in ("rotate", "revoke"):
        response = browser.post("/account/tokens/", {"action": action, "token": theirs.pk})
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"action": "create", "name": "x" * 101},
        {"action": "create", "name": "a\x00b"},
        {"action": "create", "name": ""},
        {"action": "create", "name": "ok", "days": "soon"},
        {"action": "create", "name": "ok", "days": "99999999999999999999"},
        {"action": "create", "name": "ok", "days": "0"},
        {"action": "nonsense"},
        {},
    ],
)
def test_bad_input_on_the_page_is_a_400(world, browser, data):
    response = browser.post("/account/tokens/", data)
    assert response.status_code == 400
    assert 'id="token-error"' in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("token", ["abc", "99999999999999999999999", "-1", "", "1\x00"])
def test_garbage_token_ids_on_the_page_are_404(world, browser, token):
    response = browser.post("/account/tokens/", {"action": "revoke", "token": token})
    assert response.status_code == 404


def test_the_page_needs_an_active_sign_in(world):
    assert Client().get("/account/tokens/").status_code == 302
    browser = Client()
    browser.force_login(world.agent_a1)
    world.agent_a1.is_active = False
    world.agent_a1.save()
    assert browser.get("/account/tokens/").status_code == 302


def test_the_page_in_chinese(world):
    world.agent_a1.member.language = "zh-hans"  # the person's own language
    world.agent_a1.member.save(update_fields=["language"])
    browser = Client()
    browser.force_login(world.agent_a1)
    token_create(user=world.agent_a1, name="报表")
    html = browser.get("/account/tokens/").content.decode()
    assert "API 令牌" in html and "创建令牌" in html and "在所有设备上退出" in html
    assert "报表" in html


def test_the_nav_links_to_the_account_pages(world, browser):
    html = browser.get("/inbox/").content.decode()
    assert 'href="/account/tokens/"' in html and 'href="/account/two-factor/"' in html


def test_the_account_pages_have_no_inline_script(world, browser):
    for path in ("/account/tokens/", "/account/two-factor/", "/login/verify/"):
        html = browser.get(path).content.decode()
        assert "<script>" not in html and " onclick=" not in html and " style=" not in html
