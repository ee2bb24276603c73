"""Every page works under the Content-Security-Policy in a real Chromium: no console error, no
policy violation, the inbox still sends a reply, /api/docs/ renders its operations from our
own files, the admin works; a buyer's hostile image URL is never fetched."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from inbox.models import Conversation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Registered before any script of the page runs, in every document the page loads.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Watch:
    """Console errors, page errors, CSP violations and outside requests of one page."""

    def __init__(self, page, base: str) -> None:
        self.page = page
        self.console: list[str] = []
        self.outside: list[str] = []
        page.add_init_script(WATCH_CSP)
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.on(
            "request",
            lambda r: not r.url.startswith((base, "data:")) and self.outside.append(r.url),
        )

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__csp || []")

    def assert_clean(self, where: str, *, allow: str | None = None) -> None:
        console = [c for c in self.console if not (allow and re.search(allow, c))]
        assert console == [], f"{where}: console errors {console}"
        assert self.violations() == [], f"{where}: CSP violations {self.violations()}"
        assert self.outside == [], f"{where}: requests outside the site {self.outside}"
        self.console.clear()


def test_pages_work_under_the_policy(session, world, platform):
    base = session.base
    sim = platform.sim
    # Given a buyer wrote, and sent an image from a host that is not the platform's
    conv_id, _ = sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        text="Where is my parcel?",
        at=int(time.time()) - 600,
    )
    sim.buyer_message(
        world.shop_a1.platform_shop_id,
        buyer_user_id="emily",
        nickname="Emily R.",
        type="IMAGE",
        content={"url": "http://evil.example/pixel.png", "width": 1, "height": 1},
        at=int(time.time()) - 500,
    )
    assert set(sim.deliver_webhooks()["statuses"]) == {200}
    conversation = Conversation.objects.get(platform_conversation_id=conv_id)

    # The login page, signed out
    page = session.browser.new_context().new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(8000)
    watch = Watch(page, base)
    page.goto(base + "/login/")
    expect(page.locator("#id_username")).to_be_visible()
    watch.assert_clean("login")

    # The API docs: Swagger UI from our static files draws the operations
    page.goto(base + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 10
    watch.assert_clean("api docs")

    # An error page
    page.goto(base + "/no-such-page/")
    expect(page.locator("h1")).to_have_text("404")
    watch.assert_clean("404", allow=r"status of 404")

    # The workspace: open the conversation, the hostile image is text, a reply is sent
    agent = session.page_for(world.agent_a1)
    watch = Watch(agent, base)
    agent.goto(base + f"/inbox/c/{conversation.id}/")
    expect(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(agent.locator("#timeline")).to_contain_text("Where is my parcel?")
    expect(agent.locator(".card-image-blocked")).to_contain_text("evil.example/pixel.png")
    assert agent.locator("#timeline img").count() == 0
    agent.locator("#composer-text").fill("It ships today.")
    agent.keyboard.press("Enter")
    sent = agent.locator(".msg-out:not(.is-optimistic)", has_text="It ships today.")
    expect(sent).to_have_attribute("data-state", "sent")
    # the language menu (its handler moved out of the HTML) still switches at once
    agent.select_option("#lang-select", "zh-hans")
    agent.wait_for_load_state("load")
    expect(agent.locator("html")).to_have_attribute("lang", "zh-hans")
    agent.select_option("#lang-select", "en")
    agent.wait_for_load_state("load")
    expect(agent.locator("html")).to_have_attribute("lang", "en")
    watch.assert_clean("workspace")

    # And the policy holds even where a template would forget: an injected outside image
    # and an inline script are refused by the browser
    agent.evaluate(
        """() => {
          const img = new Image(); img.src = "http://evil.example/injected.png";
          document.body.appendChild(img);
          const s = document.createElement("script"); s.textContent = "window.__ran = 1";
          document.body.appendChild(s);
        }"""
    )
    agent.wait_for_function("window.__csp.length >= 2")
    assert agent.evaluate("window.__ran") is None
    assert {v.split()[0] for v in watch.violations()} >= {"img-src", "script-src-elem"}

    # The team page, as a supervisor
    supervisor = session.page_for(world.supervisor_a)
    watch = Watch(supervisor, base)
    supervisor.goto(base + "/inbox/team/")
    expect(supervisor.locator("#agents-table")).to_be_visible()
    watch.assert_clean("team")

    # The admin: index, a list and a change form with its inline rows and widgets
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    admin = session.page_for(root)
    watch = Watch(admin, base)
    for path in (
        "/admin/",
        "/admin/inbox/shopaccount/",
        f"/admin/inbox/shopaccount/{world.shop_a1.id}/change/",
        "/admin/templates_app/quickreply/add/",
    ):
        admin.goto(base + path)
        expect(admin.locator("#content")).to_be_visible()
        watch.assert_clean(path)
    # the admin's own JavaScript runs: the change list's "select all" checks every row
    admin.goto(base + "/admin/inbox/shopaccount/")
    admin.locator("#action-toggle").check()
    expect(admin.locator("input.action-select").first).to_be_checked()
    watch.assert_clean("admin actions")
