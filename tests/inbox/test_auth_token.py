from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inbox.models import Role
from tests.factories import PASSWORD, make_person

pytestmark = pytest.mark.django_db


def test_token_exchange_and_use(world):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "agent_a1", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/").json()
    assert me["username"] == "agent_a1"
    assert me["role"] == Role.AGENT


def test_wrong_password_is_a_clear_400(world):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "agent_a1", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "nope" not in response.content.decode()


def test_unauthenticated_api_gets_the_error_envelope(db):
    response = APIClient().get("/api/v1/shop-accounts/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_malformed_json_is_400(db):
    response = APIClient().post(
        "/api/v1/auth/token/", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_unknown_api_path_is_json_404(db):
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_token_login_for_inactive_user_fails(world):
    user = make_person(world.org_a, Role.AGENT, username="gone")
    user.is_active = False
    user.save()
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "gone", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
