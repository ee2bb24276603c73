"""Browser tests: the real ASGI app (HTTP, websockets, the simulator mount) served by Uvicorn in
a thread of the test process, against the test database, driven by Playwright + Chromium.

Chromium: ``SCRM_CHROMIUM`` or ``/usr/bin/chromium`` (Debian), else Playwright's own build
(tests/e2e/browser.py; ``make test`` installs one first when there is none, see
``.ci/ensure-browser``). A missing browser fails the run; it never skips.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client

from inbox.models import Member, Role
from tests.e2e.browser import system_chromium
from tests.factories import make_person
from tests.inbox.platform_world import PlatformWorld, start_platform

# The browser tests take the docs' screenshots as they go; they land in docs/screenshots only
# when asked (`make screenshots`), so that a test run leaves the checkout as it found it.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("SCRM_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="scrm-screenshots-"))
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The test people's passwords are hashed with a fast hasher (seconds per test otherwise)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def server(asgi_server, monkeypatch) -> str:
    """``scrm.asgi.application`` on a free port (tests/conftest.py); yields its base URL."""
    # Playwright's sync API keeps an event loop in this thread: the ORM calls the test makes
    # between browser steps are still plain sync calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return asgi_server


NO_BROWSER = (
    "Chromium is needed for the browser tests and could not start: {error}\n"
    "Run .ci/ensure-browser (make test does), or install one yourself: "
    "`sudo apt-get install chromium fonts-wqy-microhei` (Debian/Ubuntu), or "
    "`.venv/bin/python -m playwright install chromium` (Playwright's own build), or set "
    "SCRM_CHROMIUM to a Chromium executable."
)


@pytest.fixture
def browser():
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as p:
        # A system Chromium first; None lets Playwright launch its own build.
        path = system_chromium()
        try:
            b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(NO_BROWSER.format(error=str(exc).splitlines()[0]))
        yield b
        b.close()


@dataclass
class Session:
    base: str
    browser: object

    def page_for(self, user=None, *, width: int = 1440, height: int = 900, lang: str = "en"):
        """A page logged in as ``user`` (session cookie made by Django's test client; None: a
        browser signed out), in ``lang``: the person's own language (Member.language, which a
        signed-in page follows) and the language cookie (which the pages before sign-in
        follow). Its uncaught script errors collect in ``page.js_errors``; a page of its own
        browser context (``page.context``)."""
        cookies = [{"name": "django_language", "value": lang, "url": self.base}]
        if user is not None:
            Member.objects.filter(user=user).update(language=lang)
            client = Client()
            client.force_login(user)
            session = client.cookies["sessionid"].value
            cookies.insert(0, {"name": "sessionid", "value": session, "url": self.base})
        context = self.browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height}, locale=lang
        )
        context.add_cookies(cookies)
        page = context.new_page()
        page.set_default_timeout(8000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page


@pytest.fixture
def session(server, browser) -> Session:
    return Session(base=server, browser=browser)


@pytest.fixture
def platform(settings, world, server) -> Iterator[PlatformWorld]:
    """The TikTok Shop simulator over HTTP, wired to shops a1 and a2; webhooks to our server."""
    p = start_platform(settings)
    for shop in (world.shop_a1, world.shop_a2):
        p.connect_shop(shop)
        p.subscribe(shop, server + "/webhooks/tiktok/")
    yield p
    p.server.stop()
    p.sim.close()


@pytest.fixture
def two_shop_agent(world):
    user = make_person(world.org_a, Role.AGENT, [world.shop_a1, world.shop_a2], username="li.na")
    user.member.display_name = "Li Na"
    user.member.save()
    return user


def wait_for_js(page, expression: str, timeout: float = 8000) -> None:
    page.wait_for_function(expression, timeout=timeout)
