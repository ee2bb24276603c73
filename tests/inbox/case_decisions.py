"""Helpers of the after-sales deciding tests: a case from the simulator, deciding through the
REST API, and what the simulator and the change feed recorded."""

from __future__ import annotations

import time

import httpx
import pytest

from inbox.events import CASE_UPDATED
from inbox.models import AfterSalesCase, InboxEvent, SyncStream
from inbox.services.ingestion import stream_backfill
from scrm.events import payload_check

BUYER = "7494000000000777"
CDN = "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us"


def sim_decisions(platform, shop) -> list[dict]:
    """The decisions the simulator recorded for the shop, through its control API."""
    response = httpx.get(
        f"{platform.server.base_url}/_sim/return_decisions",
        params={"shop_id": shop.platform_shop_id},
    )
    response.raise_for_status()
    return response.json()["data"]["decisions"]


def case_events(since: int) -> list[dict]:
    rows = InboxEvent.objects.filter(id__gt=since, type=CASE_UPDATED.name).order_by("id")
    for row in rows:
        payload_check(CASE_UPDATED, row.data)
    return [row.data for row in rows]


def last_event_id() -> int:
    return InboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def later(platform):
    offset = [0.0]
    platform.sim.clock = lambda: time.time() + offset[0]

    def step(seconds: float = 30) -> None:
        offset[0] += seconds

    return step


def refund_case(
    platform,
    shop,
    *,
    chatted: bool = True,
    listed: bool = True,
    evidence=(),
    videos=(),
    return_type="REFUND",
):
    """A buyer (who chatted first, unless not) asks for a refund; the webhook stores the case.
    ``listed``: the chat was first read from the conversation list (which names the buyer's
    user_id), else only from its webhook (whose sender has the chat id alone)."""
    sim = platform.sim
    if chatted:
        sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=BUYER, nickname="Mia", text="My mug is broken"
        )
        if listed:  # found through the conversation list, which names the buyer's user_id
            stream_backfill(shop=shop, stream=SyncStream.MESSAGES)
        sim.deliver_webhooks()
    order_id = sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        products=[("Mug", "Blue", "12.50"), ("Saucer", "Blue", "7.50")],
        status="DELIVERED",
    )
    return_id = sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        reason_text="It arrived broken",
        return_type=return_type,
    )
    if evidence or videos:
        with sim.lock:
            record = sim.returns[return_id].records[0]
            record.update({"images": list(evidence), "videos": list(videos)})
    sim.deliver_webhooks()
    return AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)


def decide(api, user, case, verb="approve", key="", **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.as_user(user).post(
        f"/api/v1/after-sales/{case.id}/{verb}/", body, format="json", **headers
    )
