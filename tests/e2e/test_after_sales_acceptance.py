"""Issue 13's first acceptance point, as one browser test end to end with the simulator over
HTTP: a return request arrives by webhook and shows in the queue with its deadline; an agent
clicks the case's row, sees the buyer's photo and the order, and approves with a message; the
simulator records exactly one decision (``GET /_sim/return_decisions``) and the buyer gets the
message once (``GET /_sim/sent_messages``); a second agent of the same shop, in a browser of
their own with the queue and the conversation open, sees the row leave the queue and the case's
card turn decided without reloading.

The buyer and the platform are driven only through the simulator's control API over HTTP (the
test's own simulator server, which the product calls and which posts its webhooks to the live
app); the agents only through Chromium. Background work runs as the mode deploys it, not
eagerly as in the rest of the suite: in services mode (PostgreSQL + Redis, as CI runs) a Celery
worker consuming from Redis; in embedded mode (SQLite) the in-process worker of
``manage.py serve``.
"""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.utils import dateformat, formats, translation
from playwright.sync_api import expect

from inbox.models import AfterSalesCase, Conversation, Member, Role
from tests.factories import make_person

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mode_worker(settings) -> Iterator[None]:
    """The mode's own worker takes the tasks (webhook processing, the outbox's deliveries)."""
    from scrm.celery import app

    app.conf.task_always_eager = False
    try:
        if settings.SERVICES_MODE:
            from celery.contrib.testing.worker import start_worker

            app.control.purge()
            with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False):
                yield
        else:
            from scrm.worker import worker_start, worker_stop

            settings.SCRM_IN_PROCESS_WORKER = True
            worker_start(app, threads=2)
            try:
                yield
            finally:
                worker_stop(timeout=10)
    finally:
        app.conf.task_always_eager = True


def _eventually(read: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``read()`` once it returns something truthy (the worker is asynchronous)."""
    deadline = time.monotonic() + timeout
    while not (value := read()):
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.05)
    return value


BUYER = "7494000000000131"
ORDER = "576000000000131001"
MESSAGE = "Approved: a return label is on its way, the refund follows the parcel."


class Control:
    """The simulator's ``/_sim/`` control API, over HTTP as a test harness would use it."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, self.base + path, json=body, timeout=30)
        response.raise_for_status()
        answer = response.json()
        assert answer["code"] == 0, answer
        return answer["data"]

    def post(self, path: str, **body: Any) -> Any:
        return self._call("POST", path, body)

    def get(self, path: str) -> Any:
        return self._call("GET", path)


def _shown(when, zone: str) -> str:
    """A time as the queue writes it for an English reader in ``zone``."""
    with translation.override("en"):
        fmt = formats.get_format("SHORT_DATETIME_FORMAT")
        return dateformat.format(when.astimezone(zoneinfo.ZoneInfo(zone)), fmt)


def test_a_return_arrives_is_opened_from_the_queue_approved_once_and_seen_live_by_a_colleague(
    session, world, platform, settings, mode_worker
):
    shop = world.shop_a1
    sim = Control(platform.server.base_url)
    # The evidence photos are drawn by the app's own simulator mount (allowed by the page's
    # policy, as in the demo); the test's simulator names them there.
    settings.SCRM_PUBLIC_URL = session.base
    platform.sim.public_url = session.base + "/simulator/tiktok"
    colleague = make_person(world.org_a, Role.AGENT, [shop], username="wang.fang")

    # Given a buyer who chatted with shop a1 and showed the order in the chat
    cid = sim.post(
        "/_sim/buyer_message",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Hannah P.",
        text="My kettle arrived with a cracked lid",
    )["conversation_id"]
    sim.post(
        "/_sim/order",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=ORDER,
        products=[{"name": "Glass kettle", "sku_name": "1.7 L", "price": "39.00"}],
        status="DELIVERED",
    )
    sim.post(
        "/_sim/buyer_message",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        nickname="Hannah P.",
        type="ORDER_CARD",
        content={"order_id": ORDER},
    )
    sim.post("/_sim/deliver_webhooks")
    conversation = _eventually(
        lambda: Conversation.objects.filter(platform_conversation_id=cid).first()
    )

    # and two agents of the shop at work: the first with the queue open, the second (a browser
    # of their own) with the buyer's conversation open, its queue beside it, no case yet
    page = session.page_for(world.agent_a1, height=1600)
    page.goto(f"{session.base}/inbox/")
    expect(page.locator(f"#qrow-{conversation.id}")).to_be_visible()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    other = session.page_for(colleague, height=1600)
    assert other.context is not page.context
    other.goto(f"{session.base}/inbox/c/{conversation.id}/")
    expect(other.locator(f"#qrow-{conversation.id}")).to_be_visible()
    expect(other.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(other.locator("#panel-cases")).to_contain_text("No open after-sales request")

    # When the buyer asks for a return with a photo (the platform's webhook to the app)
    return_id = sim.post(
        "/_sim/return_request",
        shop_id=shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=ORDER,
        return_type="RETURN_AND_REFUND",
        reason_text="The lid is cracked.",
        evidence=["damaged-item"],
    )["return_id"]
    delivered = sim.post("/_sim/deliver_webhooks")
    assert delivered, "the simulator delivered no webhook"
    case = _eventually(lambda: AfterSalesCase.objects.filter(platform_case_id=return_id).first())
    assert case.stage == "needs_decision" and case.seller_deadline is not None

    # Then it shows in both agents' queues, live, with its deadline
    zone = Member.objects.get(user=world.agent_a1).time_zone
    row = page.locator(f"#qcase-{case.id}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Return and refund")
    expect(row.locator(".qdue")).to_contain_text("Due in")
    # (its SLA deadline: the after-sales target, or the platform's seller deadline if earlier)
    due = type(case).objects.get(pk=case.pk).sla_due_at
    assert due <= case.seller_deadline
    expect(row.locator(".qdeadline time")).to_have_text(_shown(due, zone))
    expect(row.locator(".qshoptime")).to_contain_text(_shown(due, shop.time_zone))
    # and, for the colleague, as a card in the buyer panel of the conversation they have open
    other.evaluate("window.__notReloaded = true")  # from here on their page is never reloaded
    expect(other.locator(f"#qcase-{case.id}")).to_be_visible()
    watched = other.locator(f"#case-{case.id}")
    expect(watched.locator(".badge.stage")).to_have_text("Needs a decision")
    expect(watched).to_contain_text("Glass kettle")

    # When the first agent opens the case from the queue
    row.locator("a.qcase-link").click()
    page.wait_for_url(f"**/inbox/c/{conversation.id}/?case={case.id}")
    card = page.locator(f"#case-{case.id}")
    # Then they see the case, the buyer's photo (loaded) and the order
    expect(card).to_contain_text("Glass kettle")
    expect(card).to_contain_text("The lid is cracked.")
    expect(card.locator(".badge.stage")).to_have_text("Needs a decision")
    expect(card.locator(".case-deadline")).to_contain_text(shop.time_zone)
    photo = card.locator(".case-evidence img").first
    expect(photo).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    card.locator(".case-evidence a").first.click()
    expect(page.locator("dialog.evidence-viewer img")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#panel-orders")).to_contain_text(f"#{ORDER}")
    expect(page.locator("#panel-orders")).to_contain_text("Glass kettle")

    # When they approve the return with a message to the buyer
    card.locator("input[value=APPROVE_RETURN]").check()
    card.locator("textarea[name=message_text]").fill(MESSAGE)
    card.locator("button[type=submit]").click()
    # Then their card shows the decision accepted by the platform
    decision = page.locator(f"#case-{case.id} .decision").first
    expect(decision).to_contain_text("Approve the return")
    expect(decision).to_contain_text("Accepted by the platform")
    expect(decision).to_have_attribute("data-decision-state", "sent")

    # and the platform recorded exactly one decision, the approval, for this return
    decisions = sim.get(f"/_sim/return_decisions?shop_id={shop.platform_shop_id}")["decisions"]
    assert [(d["id"], d["decision"]) for d in decisions] == [(return_id, "APPROVE_RETURN")]
    assert decisions[0]["idempotency_key"], "the decision went without an idempotency key"
    # and the buyer got the message, once, in their conversation
    sent = sim.get(f"/_sim/sent_messages?shop_id={shop.platform_shop_id}")["sent_messages"]
    to_buyer = [s for s in sent if (s.get("content") or {}).get("content") == MESSAGE]
    assert [s["conversation_id"] for s in to_buyer] == [cid]

    # And the colleague saw it live, without reloading: the row left their queue, the card
    # on their screen shows the decision accepted and the case no longer needing one
    expect(other.locator(f"#qcase-{case.id}")).to_have_count(0)
    watched_decision = other.locator(f"#case-{case.id} .decision").first
    expect(watched_decision).to_contain_text("Accepted by the platform")
    expect(other.locator(f"#case-{case.id} .badge.stage")).not_to_have_text("Needs a decision")
    assert other.evaluate("window.__notReloaded === true"), "the colleague's page reloaded"
    # the first agent's queue beside the conversation no longer lists it either
    expect(page.locator(f"#qcase-{case.id}")).to_have_count(0)
    # nothing was decided twice by the end (a late retry would show here)
    again = sim.get(f"/_sim/return_decisions?shop_id={shop.platform_shop_id}")["decisions"]
    assert len(again) == 1
    assert page.js_errors == [] and other.js_errors == []
