"""Property: no input is a 5xx. Every GET route of the URLconf (tests/routes.py) is driven with
arbitrary query parameters — the OpenAPI schema's for the API, a probe set for pages — and the
webhook endpoint with arbitrary bodies, signed and unsigned.

Bounded for CI: a fixed number of examples per route, derandomized (the same examples on every
run; ``HYPOTHESIS_PROFILE=explore`` draws new ones). Run in services mode especially:
PostgreSQL refuses NUL and lone surrogates in text and integers beyond 64 bits.
"""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inbox.platforms.base import Credentials
from inbox.platforms.tiktok_shop.signing import webhook_signature
from tests.routes import (
    API_EXTRA_PARAMS,
    PAGE_PARAMS,
    Route,
    query_names_read,
    routes,
    uncovered,
)

pytestmark = pytest.mark.django_db

hypothesis_settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
hypothesis_settings.register_profile(
    "explore",
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --- values -----------------------------------------------------------------------------------
ODD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "²",
        "٣",
        "𝟘",
        "-1",
        "0",
        "1e308",
        "-1e308",
        "NaN",
        "inf",
        "9999999999",
        "99999999999999999999",
        "9" * 40,
        "true",
        "null",
        "[]",
        "{}",
        "%00",
        "../../x",
        "\ufffd",
        "'\"<>&;--",
        "\u202e",
        "all",
        "me",
        "csv",
        "x" * 300,
    ]
)
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
NUMBERS = st.integers(min_value=-(2**80), max_value=2**80).map(str)
JSON_JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSORS = st.one_of(
    JSON_JUNK.map(lambda v: _b64(json.dumps(v).encode())),
    st.binary(max_size=30).map(_b64),
    st.builds(
        lambda o, r, p: _b64(urlencode({"o": o, "r": r, "p": p}).encode()),
        ODD | NUMBERS,
        ODD,
        ODD | TEXT | NUMBERS,
    ),
)
VALUES = st.one_of(ODD, TEXT, NUMBERS, CURSORS)
SCALARS = ODD | TEXT | st.integers(min_value=-(2**70), max_value=2**70) | st.none()
# Tried on every parameter of every route, one at a time, before the drawn examples: the
# inputs that once made a 5xx, so a regression is found whatever the draws.
KNOWN_BAD = (
    "\x00",
    "²",
    "99999999999999999999",
    "1e308",
    _b64(b"[null, null]"),
    _b64(b"[1e308, 1]"),
    _b64(b"o=0&r=0&p=1e308"),
)


def queries(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Query strings over ``names`` (each absent, once or repeated) and an unknown name."""
    pairs = st.lists(
        st.tuples(st.sampled_from(names) | TEXT.filter(bool), VALUES), min_size=1, max_size=6
    )
    return pairs.map(lambda p: urlencode(p, encoding="utf-8"))


# --- routes -----------------------------------------------------------------------------------
def test_every_route_is_covered():
    assert uncovered() == []


def _get_routes() -> list[Route]:
    return [r for r in routes() if "get" in r.methods and r.name != "webhook"]


def _params(route: Route) -> tuple[str, ...]:
    if route.is_api:
        return tuple(dict.fromkeys(route.query_params["get"] + API_EXTRA_PARAMS))
    return PAGE_PARAMS


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planted(world):
    from tests.test_routes_access import plant

    return plant(world)


@pytest.mark.parametrize("route", _get_routes(), ids=lambda r: r.id)
def test_no_query_parameter_makes_a_5xx(route, planted, world, client):
    if route.missing_path_params():
        pytest.fail(f"{route.id}: path parameters not in tests/routes.py PATH_PARAMS")
    client.force_login(world.supervisor_a)
    url = route.url(planted)
    names = _params(route)
    # The schema pages build the whole schema per call: their own parameters only, and fewer
    # drawn examples, keep the run bounded.
    budget = hypothesis_settings().max_examples
    if route.name in ("schema", "api-docs"):
        names, budget = ("format", "lang", "version"), min(budget, 5)

    @given(query=queries(names))
    @hypothesis_settings(max_examples=budget)
    def check(query: str) -> None:
        response = client.get(f"{url}?{query}")
        assert response.status_code < 500, (url, query)
        if route.is_api and response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}

    for name in _names_read(client, url, names):
        for value in KNOWN_BAD:
            check = example(query=urlencode({name: value}))(check)
    check()


def _names_read(client, url: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Of ``names``, those the route reads: called bare, with each name alone and with all of
    them (a view may read one only beside another; one may stop a request before the view
    reads anything, as DRF does with an unknown ``format``). The known-bad values are tried on
    these one by one, the drawn examples use them all: a page probed with every name of
    ``PAGE_PARAMS`` reads a few, and trying seven values on each of the ~25 others cost a
    minute and a half of the suite and could find nothing."""
    with query_names_read() as read:
        client.get(url)
        for name in names:
            client.get(f"{url}?{urlencode({name: '1'})}")
        client.get(f"{url}?{urlencode(dict.fromkeys(names, '1'))}")
    return tuple(name for name in names if name in read)


def test_the_known_bad_values_go_to_the_names_each_route_reads(world, client):
    # The queue page reads its filters and nothing of the monitor's; the search API reads what
    # its schema declares even though an unknown ``format`` stops DRF before the view.
    client.force_login(world.supervisor_a)
    page = _names_read(client, "/inbox/", PAGE_PARAMS)
    assert {"view", "q", "shop", "sort", "cursor"} <= set(page)
    assert not {"proposed", "actor", "week"} & set(page)
    search = _names_read(client, "/api/v1/messages/search/", ("q", "shop_account", "format"))
    assert search == ("q", "shop_account", "format")


# --- request bodies ---------------------------------------------------------------------------
KNOWN_BAD_BODIES = (
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"text": "a\\u0000b", "title": "\\ud800", "name": "\\udfff"}',
    b'{"conversation_ids": [99999999999999999999999], "action": "resolve"}',
    b'{"conversation_ids": [1], "action": "assign", "assignee_id": 99999999999999999999999}',
    b'{"conversation_id": 99999999999999999999999, "user_id": 99999999999999999999999,'
    b' "shop_account_id": 99999999999999999999999, "shop_account_ids": [-99999999999999999999],'
    b' "material_ids": [99999999999999999999999], "assignee_id": 99999999999999999999999,'
    b' "title": "t", "body": "b", "scope": "team", "name": "n", "url": "https://example.com"}',
    b'{"conversation_id": 1e308, "user_id": -99999999999999999999, "shop_account_id": "\\u00b2"}',
    b'{"templates": [{"title": "\\u0000"}], "format": "csv", "data": "\\u0000,\\u0000"}',
    b"\xff\xfe not utf-8",
    b"",
)
# JSON near what the write routes take: their field names with arbitrary values.
FIELD_NAMES = st.sampled_from(
    [
        "text",
        "title",
        "body",
        "name",
        "url",
        "scope",
        "status",
        "action",
        "conversation_ids",
        "conversation_id",
        "assignee_id",
        "user_id",
        "shop_account_id",
        "shop_account_ids",
        "add_tags",
        "snoozed_until",
        "priority",
        "values",
        "language",
        "templates",
        "expires_in_days",
        "idempotency_key",
        "type",
        "content",
    ]
)


def _json_bodies() -> st.SearchStrategy[bytes]:
    near = st.dictionaries(FIELD_NAMES, SCALARS | JSON_JUNK, max_size=4)
    return (near | JSON_JUNK).map(lambda v: json.dumps(v).encode())


def _write_calls() -> list[tuple[Route, str]]:
    return [
        (r, m)
        for r in routes()
        if r.is_api
        for m in r.methods
        if m in ("post", "put", "patch", "delete")
    ]


@pytest.mark.parametrize(
    ("route", "method"), _write_calls(), ids=lambda v: v.id if isinstance(v, Route) else v
)
def test_no_request_body_makes_a_5xx(route, method, planted, world, client):
    client.force_login(world.supervisor_a)
    url = route.url(planted)

    @given(body=_json_bodies())
    @hypothesis_settings(max_examples=min(hypothesis_settings().max_examples, 15))
    def check(body: bytes) -> None:
        client.force_login(world.supervisor_a)  # "log out everywhere" ends the session
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code < 500, (method, url, body[:200])
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}

    for bad in KNOWN_BAD_BODIES:
        check = example(body=bad)(check)
    check()


# --- the webhook endpoint ---------------------------------------------------------------------


def notifications(shop_id: str) -> st.SearchStrategy[bytes]:
    """Bodies near a TikTok notification: the right fields with arbitrary values, arbitrary
    JSON, and bytes that are not JSON at all."""
    data = st.dictionaries(
        st.sampled_from(["conversation_id", "message_id", "return_id", "order_id", "x"]),
        SCALARS | JSON_JUNK,
        max_size=3,
    )
    envelope = st.fixed_dictionaries(
        {"type": st.sampled_from([14, 13, 12, 6]) | SCALARS, "data": data | JSON_JUNK},
        optional={
            "shop_id": st.just(shop_id) | SCALARS,
            "tts_notification_id": SCALARS,
            "timestamp": SCALARS,
        },
    ).map(lambda d: json.dumps(d).encode())
    deep = st.integers(min_value=1, max_value=3000).map(
        lambda n: (
            b'{"type":14,"shop_id":"' + shop_id.encode() + b'","data":' + b"[" * n + b"]" * n + b"}"
        )
    )
    return st.one_of(envelope, JSON_JUNK.map(lambda v: json.dumps(v).encode()), st.binary(), deep)


def test_no_webhook_body_makes_a_5xx(world, client, settings, django_capture_on_commit_callbacks):
    # Given shop a1 with its app key (the platform unreachable: processing fails fast)
    settings.TIKTOK_API_BASE = "http://127.0.0.1:9"
    settings.TIKTOK_RETRY = {"max_retries": 0, "base": 0.0, "cap": 0.0, "jitter": 0.0}
    shop = world.shop_a1
    shop.credentials = Credentials(
        app_key="k-fuzz", app_secret="s-fuzz", shop_id=shop.platform_shop_id
    ).to_dict()
    shop.save()

    @given(body=notifications(shop.platform_shop_id), sign=st.booleans())
    @hypothesis_settings(max_examples=150)
    def check(body: bytes, sign: bool) -> None:
        headers = {"Authorization": webhook_signature("k-fuzz", "s-fuzz", body)} if sign else {}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/webhooks/tiktok/", body, content_type="application/json", headers=headers
            )
        assert response.status_code in (200, 400, 401), (body[:200], response.content[:200])
        if response.status_code != 200:
            assert set(response.json()["error"]) == {"code", "message", "details"}

    check()
