"""Query parameters found by the attack run to cause a 500: each is now a clear 400 in the error
envelope (the API), or ignored or a 400 page (pages). Run in services mode especially:
PostgreSQL refuses NUL in text and integers beyond 64 bits, where SQLite takes both."""

from __future__ import annotations

import base64
import json

import pytest

from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


def b64(value: object) -> str:
    raw = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CRAFTED_CURSORS = {
    "[null,null]": b64([None, None]),
    "a dict": b64({"queue_key": 1, "id": 2}),
    "lists": b64([[1], [2]]),
    "1e308": b64("[1e308, 1]"),
    "1e308 as the id": b64(["2026-01-01T00:00:00+00:00", 1e308]),
    "beyond 64 bits": b64([99999999999999999999999, 1]),
    "NUL": b64(["\u0000", 1]),
    "a long string": b64(["x" * 10_000, 1]),
    "not base64": "!!!~~~",
    "nested 10,000 deep": b64("[" * 10_000 + "]" * 10_000),
    "not a time": b64(["yesterday", 5]),
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def supervisor(world, client):
    conversation_with_messages(world.shop_a1, texts=("hello there",))
    client.force_login(world.supervisor_a)
    return client


def _assert_400(response, code: str = "invalid") -> None:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code


@pytest.mark.parametrize("sort", ["waiting", "newest", "priority"])
@pytest.mark.parametrize("case", list(CRAFTED_CURSORS))
def test_crafted_queue_cursors_are_400(supervisor, case, sort):
    response = supervisor.get(
        "/api/v1/conversations/", {"cursor": CRAFTED_CURSORS[case], "sort": sort}
    )
    _assert_400(response, "invalid_cursor")


@pytest.mark.parametrize("case", list(CRAFTED_CURSORS))
def test_crafted_quick_reply_cursors_are_400(supervisor, case):
    _assert_400(
        supervisor.get("/api/v1/templates/", {"cursor": CRAFTED_CURSORS[case]}), "invalid_cursor"
    )


@pytest.mark.parametrize(
    "position", ["1e308", "99999999999999999999999", "\u0000", "²", "x" * 300, "[]"]
)
@pytest.mark.parametrize(
    "url",
    ["/api/v1/shop-accounts/", "/api/v1/templates/materials/", "/api/v1/memberships/"],
)
def test_crafted_positions_in_drf_cursors_are_400(supervisor, url, position):
    # DRF's cursor is base64 of a query string whose p= is the first ordering field's value
    from urllib.parse import urlencode

    cursor = base64.b64encode(urlencode({"o": 0, "r": 0, "p": position}).encode()).decode()
    _assert_400(supervisor.get(url, {"cursor": cursor}), "invalid_cursor")


def test_drf_cursors_that_do_not_decode_are_400(supervisor, world):
    conversation = conversation_with_messages(world.shop_a1)
    url = f"/api/v1/conversations/{conversation.id}/messages/"
    for cursor in (b64("p=yesterday"), b64("o=99999999999999999999"), b64("p=1%00")):
        response = supervisor.get(url, {"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("waiting_minutes=9999999999", "waiting_minutes"),
        ("waiting_minutes=%C2%B2", "waiting_minutes"),
        ("shop=99999999999999999999", "shop"),
        ("shop=%C2%B2", "shop"),
        ("assignee=99999999999999999999", "assignee"),
        ("assignee=%C2%B2", "assignee"),
    ],
)
def test_queue_numbers_out_of_range_are_400(supervisor, query, field):
    response = supervisor.get(f"/api/v1/conversations/?{query}")
    _assert_400(response)
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("after", ["%C2%B2", "99999999999999999999", "1e308", "-1"])
def test_event_feed_after_must_be_an_event_id(supervisor, after):
    _assert_400(supervisor.get(f"/api/v1/events/?after={after}"))


@pytest.mark.parametrize("q", ["%C2%B2", "99999999999999999999999", "%D9%A3", "%EF%BF%BD"])
def test_odd_search_text_is_searched_not_a_500(supervisor, q):
    # "²" and "٣" are digits to str.isdigit(), not to int(); the rest is plain text to search
    response = supervisor.get(f"/api/v1/conversations/?q={q}")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/conversations/?q=a%00b",
        "/api/v1/conversations/?tag=%00",
        "/api/v1/conversations/?platform=tiktok%00",
        "/api/v1/templates/?search=a%00",
        "/api/v1/templates/?category=%00",
        "/api/v1/templates/materials/?search=%00",
        "/api/v1/templates/materials/?kind=image%00",
        "/api/v1/shop-accounts/?%00=1",
    ],
)
def test_nul_in_any_api_parameter_is_400(supervisor, url):
    _assert_400(supervisor.get(url), "bad_request")


@pytest.mark.parametrize(
    "url",
    [
        "/inbox/?page=%C2%B2",
        "/inbox/?page=99999999999999999999999",
        "/inbox/?shop=",
        "/inbox/?shop=%C2%B2",
        "/inbox/?shop=99999999999999999999999",
        "/inbox/?q=%C2%B2",
        "/inbox/?q=99999999999999999999999",
        "/inbox/queue/?page=%D9%A3",
        "/inbox/queue/?view=%C2%B2&shop=-1",
    ],
)
def test_pages_ignore_parameters_they_cannot_use(supervisor, url):
    assert supervisor.get(url).status_code == 200


@pytest.mark.parametrize(
    "url", ["/inbox/?q=a%00b", "/inbox/queue/?shop=%00", "/inbox/?page=1%00", "/inbox/team/?x=%00"]
)
def test_pages_answer_nul_with_the_400_page(supervisor, url):
    response = supervisor.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_marking_read_on_a_shop_never_connected_is_409(supervisor, world):
    conversation = conversation_with_messages(world.shop_a1)
    response = supervisor.post(f"/api/v1/conversations/{conversation.id}/read/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "shop_not_authorised"
