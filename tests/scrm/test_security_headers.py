"""Content-Security-Policy and Permissions-Policy on every page, no inline script or handler in
our templates, and /api/docs/ served from our own static files (scrm/middleware.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PROJECT_TEMPLATES = [
    p
    for package in ("scrm", "inbox", "templates_app", "monitoring")
    for p in (ROOT / package).rglob("templates/**/*.html")
]


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def _assert_policy(response, host="testserver"):
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", f"ws://{host}"]
    assert "https://*.ibyteimg.com" in csp["img-src"] and "data:" in csp["img-src"]
    text = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in text and "unsafe-eval" not in text and "*;" not in text
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def test_every_kind_of_page_carries_the_policies(client, world):
    # Given an agent, a supervisor and a superuser
    conversation = conversation_with_messages(world.shop_a1)
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    pages = [
        (None, "/login/", 200),
        (None, "/api/docs/", 200),
        (None, "/api/docs/?script=", 200),
        (None, "/api/schema/", 200),
        (None, "/no-such-page/", 404),
        (world.agent_a1, "/inbox/", 200),
        (world.agent_a1, f"/inbox/c/{conversation.id}/timeline/", 200),
        (world.agent_a1, "/api/v1/conversations/", 200),
        (world.agent_a1, "/inbox/team/", 403),
        (world.supervisor_a, "/inbox/team/", 200),
        (admin, "/admin/", 200),
        (admin, "/admin/inbox/shopaccount/", 200),
        (admin, f"/admin/inbox/shopaccount/{world.shop_a1.id}/change/", 200),
    ]
    for user, url, expected in pages:
        # When each page is fetched
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        # Then it answers as usual, with both policies
        assert response.status_code == expected, url
        _assert_policy(response)


def test_the_websocket_source_follows_the_scheme(client):
    response = client.get("/login/", secure=True)
    assert "connect-src 'self' wss://testserver;" in response.headers["Content-Security-Policy"]


def test_a_configured_report_uri_is_named(client, settings):
    settings.SCRM_CSP_REPORT_URI = "https://reports.example.com/csp"
    response = client.get("/login/")
    assert response.headers["Content-Security-Policy"].endswith(
        "; report-uri https://reports.example.com/csp"
    )


def test_api_docs_name_no_outside_host(client):
    # When the docs page and its init script are fetched
    page = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=").content.decode()
    # Then every file they load is ours, and the page has no inline script or style
    assert re.findall(r'(?:src|href)="([^"]+)"', page)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/"), url
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "<style" not in page
    assert re.search(r"<script>", page) is None
    assert "SwaggerUIBundle(" in script
    for text in (page, script):
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), text


@pytest.mark.parametrize("path", PROJECT_TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_handler(path):
    # Given one of our templates: scripts come from files, data from json_script blocks
    text = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", text, re.I):
        assert "src=" in tag, f"inline <script> in {path.name}: {tag}"
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text, re.I), path.name
    assert not re.search(r"\shx-on[:-]", text), path.name
    assert not re.search(r"<style\b|\sstyle\s*=", text, re.I), path.name
    assert "javascript:" not in text.lower(), path.name


def test_the_template_scan_sees_our_templates():
    names = {p.name for p in PROJECT_TEMPLATES}
    assert {"base.html", "workspace.html", "login.html", "_message_body.html"} <= names
