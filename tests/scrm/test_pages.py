from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_renders_in_english_and_chinese(client):
    en = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 200
    assert 'name="username"' in en.content.decode()
    assert "Log in" in en.content.decode()
    zh = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "登录" in zh.content.decode()
    assert "用户名" in zh.content.decode()  # our own catalogue, not only the admin's


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_then_home(client, world):
    from tests.factories import PASSWORD

    response = client.post("/login/", {"username": "agent_a1", "password": PASSWORD})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_api_schema_and_docs(client, world):
    client.force_login(world.agent_a1)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/shop-accounts/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_oversized_body_is_refused(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        "/api/v1/auth/token/",
        data="x" * 5000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (400, 413)
