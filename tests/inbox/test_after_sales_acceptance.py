"""Issue 13's ingestion acceptance: ten-fold duplicated, reordered and partly dropped case
webhooks (returns and cancellations, many status changes each) end with every case stored
once in its latest state, the periodic backfill filling the gaps from its update_time cursor.

Real HTTP to the simulator, real webhooks into the ASGI server, the real database (and Redis
in services mode); the backfill is the task the product schedules (``backfill_all_shops``).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from inbox.models import AfterSalesCase, SyncCursor, SyncStream, WebhookEvent
from inbox.services.aftersales import CASE_SLACK
from inbox.tasks import backfill_all_shops

pytestmark = pytest.mark.django_db(transaction=True)

RETURN_SEARCH = "/return_refund/202602/returns/search"
# Each round: every queued notification ten times, shuffled, three in ten copies lost and a
# quarter of the notifications lost with all their copies.
STORM = {"duplicate": 10, "shuffle": True, "drop": 0.3, "lose": 0.25}


@pytest.fixture
def clock(platform):
    """The simulator's clock, moved on by hand so every change has a later update_time."""
    offset = [0.0]
    platform.sim.clock = lambda: time.time() + offset[0]

    def step(seconds: float = 20) -> None:
        offset[0] += seconds

    return step


def _truth(sim, shop_id: str) -> dict[tuple[str, str], tuple[str, int, str]]:
    """What the platform holds: (family, id) -> (status, update_time, arbitration_status)."""
    with sim.lock:
        returns = {
            ("return", r.return_id): (r.return_status, r.update_time, r.arbitration_status)
            for r in sim.returns.values()
            if r.shop_id == shop_id
        }
        cancellations = {
            ("cancellation", c.cancel_id): (c.status, c.update_time, "")
            for c in sim.cancellations.values()
            if c.shop_id == shop_id
        }
    return returns | cancellations


def _stored(shop) -> dict[tuple[str, str], tuple[str, int, str]]:
    return {
        (c.family, c.platform_case_id): (
            c.platform_status,
            int(c.platform_updated_at.timestamp()),
            c.arbitration_status,
        )
        for c in AfterSalesCase.objects.filter(shop_account=shop)
    }


def _searches(sim, shop, template: str) -> list[dict]:
    """The bodies of the shop's calls to ``template`` the simulator answered, oldest first."""
    cipher = shop.credentials["shop_cipher"]
    with sim.lock:
        return [
            body
            for _, path, query, body in sim.requests
            if path == template and query.get("shop_cipher") == cipher
        ]


def test_a_storm_of_case_webhooks_ends_with_every_case_once_in_its_latest_state(
    world, platform, asgi_server, clock
):
    sim, shop = platform.sim, world.shop_a1
    shop_id = shop.platform_shop_id
    sim.subscribe(shop_id, "CANCELLATION_STATUS_CHANGE", asgi_server + "/webhooks/tiktok/")
    rng = random.Random(13)  # a reproducible storm
    rounds = []

    def storm(seed: int) -> None:
        rounds.append(sim.deliver_webhooks(**STORM, seed=seed))

    # Given 30 returns of every type and 16 cancellations, each notified as it is requested
    returns = {}
    for n in range(30):
        return_type = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT")[n % 3]
        return_id = sim.return_request(
            shop_id,
            buyer_user_id=f"7496000000{n:04d}",
            order_id=f"5769000000000{n:05d}",
            return_type=return_type,
        )
        returns[return_id] = (return_type, n % 4)
    cancellations = []
    for n in range(16):
        order_id = sim.order_create(
            shop_id, buyer_user_id=f"7497000000{n:04d}", order_id=f"5768000000000{n:05d}"
        )
        role = "SELLER" if n % 4 == 3 else "BUYER"  # a seller's is complete at once
        cancellations.append(sim.cancellation_request(shop_id, order_id=order_id, role=role))
    storm(1)
    # And each case then moves through its statuses, with a storm of notifications between
    # the moves (the buyer ships, the platform decides, buyers withdraw, disputes)
    for move in range(4):
        clock()
        for return_id, (return_type, path) in returns.items():
            _move_return(sim, return_id, return_type, path, move, rng)
        for cancel_id in cancellations:
            _move_cancellation(sim, cancel_id, move, rng)
        storm(2 + move)
    truth = _truth(sim, shop_id)
    assert len(truth) == 46
    # The storm really was one: copies lost, every survivor received ten times over
    assert sum(r["dropped"] for r in rounds) > 0 and sum(r["lost"] for r in rounds) > 0
    assert all(set(r["statuses"]) <= {200} for r in rounds)
    receipts = WebhookEvent.objects.filter(shop_account=shop).exclude(
        return_platform_id="", cancellation_platform_id=""
    )
    assert receipts.count() < sum(r["sent"] for r in rounds) / 5  # duplicates stored once
    # After the webhooks alone, what arrived is stored once; the lost ones left gaps
    stored = _stored(shop)
    assert AfterSalesCase.objects.filter(shop_account=shop).count() == len(stored)
    behind = {key for key, value in truth.items() if stored.get(key) != value}
    assert behind, "the drops should have left some case missing or stale"
    # When the periodic backfill the product schedules runs
    backfill_all_shops.delay()
    # Then every case is stored once, in the platform's latest state (status, update time,
    # arbitration), and nothing else is
    assert _stored(shop) == truth
    assert AfterSalesCase.objects.filter(shop_account=shop).count() == 46
    cases = AfterSalesCase.objects.filter(shop_account=shop)
    assert all(c.history[-1][0] == c.platform_status for c in cases)
    arbitrated = cases.exclude(arbitration_status="")
    assert {c.arbitration_status for c in arbitrated} >= {"SUPPORT_BUYER", "SUPPORT_SELLER"}
    # And each stream's cursor stands at the newest update it stored
    for stream, family in (
        (SyncStream.RETURNS, "return"),
        (SyncStream.CANCELLATIONS, "cancellation"),
    ):
        cursor = SyncCursor.objects.get(shop_account=shop, stream=stream)
        newest = max(t for (f, _), (_, t, _) in truth.items() if f == family)
        assert cursor.high_water == datetime.fromtimestamp(newest, UTC)
        assert cursor.last_error == ""


def test_the_backfill_pages_on_from_its_stored_update_time_cursor(world, platform):
    sim, shop = platform.sim, world.shop_a1
    shop_id = shop.platform_shop_id
    offset = [0.0]
    sim.clock = lambda: time.time() + offset[0]

    def requested(n: int, hours_ago: float) -> str:
        offset[0] = -3600 * hours_ago  # requested then (the API is called in the present)
        return sim.return_request(
            shop_id, buyer_user_id=f"7498000000{n:04d}", order_id=f"5767000000000{n:05d}"
        )

    # Given 57 returns requested two hours ago and 3 an hour ago, all their notifications lost
    old = [requested(n, 2) for n in range(57)]
    newest = [requested(n, 1) for n in range(57, 60)]
    offset[0] = 0
    sim.deliver_webhooks(drop=1.0)
    # When the periodic backfill first runs, it reads them all from the beginning, page by page
    backfill_all_shops.delay()
    first = _searches(sim, shop, RETURN_SEARCH)
    assert len(first) == 2 and all("update_time_ge" not in body for body in first)
    assert AfterSalesCase.objects.filter(shop_account=shop).count() == 60
    cursor = SyncCursor.objects.get(shop_account=shop, stream=SyncStream.RETURNS)
    assert cursor.high_water == datetime.fromtimestamp(
        _truth(sim, shop_id)[("return", newest[0])][1], UTC
    )
    # And when three of the old ones are withdrawn now, those notifications lost too
    for return_id in old[:3]:
        sim.buyer_withdraw(return_id)
    sim.deliver_webhooks(drop=1.0)
    with sim.lock:
        sim.requests.clear()
    # a minute later (the first run found cases: its stream is due at the next tick)
    assert SyncCursor.objects.get(pk=cursor.pk).quiet_runs == 0
    SyncCursor.objects.filter(shop_account=shop).update(next_run_at=None)
    backfill_all_shops.delay()
    # Then the next run asks only for what changed since its cursor (less ten minutes of
    # slack): one page, the three withdrawn and the three newest
    (second,) = _searches(sim, shop, RETURN_SEARCH)
    assert second["update_time_ge"] == int((cursor.high_water - CASE_SLACK).timestamp())
    withdrawn = AfterSalesCase.objects.filter(
        shop_account=shop, platform_status="RETURN_OR_REFUND_REQUEST_CANCEL"
    )
    assert sorted(withdrawn.values_list("platform_case_id", flat=True)) == sorted(old[:3])
    assert AfterSalesCase.objects.filter(shop_account=shop).count() == 60
    # And its cursor moved on to the newest change
    cursor.refresh_from_db()
    assert int(cursor.high_water.timestamp()) == _truth(sim, shop_id)[("return", old[0])][1]


def _move_return(
    sim, return_id: str, return_type: str, path: int, move: int, rng: random.Random
) -> None:
    """One step of a return's life, as buyers and the platform would take it (path 0: the
    buyer withdraws at once; otherwise by type: shipped back and refunded, or rejected,
    escalated and ruled on)."""
    with sim.lock:
        item = sim.returns[return_id]
        status, arbitration = item.return_status, item.arbitration_status
    if status.endswith("_CANCEL") or status.endswith("_COMPLETE"):
        return
    if path == 0 and move == 0:
        sim.buyer_withdraw(return_id)
    elif status == "RETURN_OR_REFUND_REQUEST_PENDING" and return_type == "RETURN_AND_REFUND":
        sim.return_update(return_id, "AWAITING_BUYER_SHIP", role="SELLER")
    elif status == "AWAITING_BUYER_SHIP":
        sim.return_update(return_id, "BUYER_SHIPPED_ITEM")
    elif status == "BUYER_SHIPPED_ITEM":
        sim.return_update(return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", role="SELLER")
    elif status in ("RETURN_OR_REFUND_REQUEST_PENDING", "REPLACEMENT_REQUEST_PENDING"):
        rejected = (
            "REPLACEMENT_REQUEST_REJECT"
            if return_type == "REPLACEMENT"
            else "REFUND_OR_RETURN_REQUEST_REJECT"
        )
        sim.return_update(return_id, rejected, role="SELLER")
    elif status.endswith("REJECT") and not arbitration:
        sim.return_escalate(return_id)
    elif arbitration == "IN_PROGRESS":
        sim.arbitration_rule(return_id, rng.choice(["SUPPORT_BUYER", "SUPPORT_SELLER"]))
    elif status == "RETURN_OR_REFUND_REQUEST_SUCCESS":
        sim.return_update(return_id, "RETURN_OR_REFUND_REQUEST_COMPLETE", role="SYSTEM")


def _move_cancellation(sim, cancel_id: str, move: int, rng: random.Random) -> None:
    with sim.lock:
        status = sim.cancellations[cancel_id].status
    if status != "CANCELLATION_REQUEST_PENDING":
        return
    if move == 0 and rng.random() < 0.3:
        sim.buyer_withdraw(cancel_id)
    elif move == 1:
        sim.cancellation_update(cancel_id, "CANCELLATION_REQUEST_SUCCESS")
