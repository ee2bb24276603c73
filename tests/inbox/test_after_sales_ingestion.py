"""After-sales cases (returns and cancellations) are stored exactly once, in their latest
state, from webhooks and from the backfill; through the simulator over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest
from django.db import connection

from inbox.models import AfterSalesCase, Customer, SyncCursor, SyncStream, WebhookEvent
from inbox.platforms.base import Credentials
from inbox.platforms.tiktok_shop.adapter import TikTokShopApi
from inbox.platforms.tiktok_shop.client import TikTokShopClient
from inbox.services.aftersales import after_sales_case_sync, after_sales_case_upsert
from inbox.services.ingestion import shop_api, shop_backfill, stream_backfill

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000000001"  # the buyer's platform user_id (orders and returns)


@pytest.fixture
def later(platform):
    """Moves the simulator's clock on, so each change has a later update_time."""
    offset = [0.0]
    platform.sim.clock = lambda: time.time() + offset[0]

    def step(seconds: float = 30) -> None:
        offset[0] += seconds

    return step


@pytest.fixture
def cancellations_subscribed(platform, world, asgi_server):
    for shop in (world.shop_a1,):
        platform.sim.subscribe(
            shop.platform_shop_id, "CANCELLATION_STATUS_CHANGE", asgi_server + "/webhooks/tiktok/"
        )


def _case(shop, family: str, case_id: str) -> AfterSalesCase:
    return AfterSalesCase.objects.get(shop_account=shop, family=family, platform_case_id=case_id)


def test_a_return_request_by_webhook_becomes_one_case_with_items_deadline_and_stage(
    world, platform
):
    shop = world.shop_a1
    # Given a buyer who never chatted orders two products
    order_id = platform.sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000000101",
        products=[("Linen shirt", "M", "25.00"), ("Socks", "L", "4.50")],
        status="DELIVERED",
    )
    # When they ask for a refund and the platform notifies us
    return_id = platform.sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        reason_text="The shirt arrived torn at the seam.",
        return_type="RETURN_AND_REFUND",
    )
    platform.sim.deliver_webhooks()
    # Then one case holds the request as the platform shows it
    case = _case(shop, "return", return_id)
    assert WebhookEvent.objects.get(return_platform_id=return_id).status == "processed"
    assert (case.kind, case.platform_status, case.stage) == (
        "return_and_refund",
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "needs_decision",
    )
    assert case.order_platform_id == order_id
    assert case.organisation_id == shop.organisation_id
    assert case.buyer_reason == "The shirt arrived torn at the seam."
    assert case.reason_code
    assert [(line["product_name"], line["refund_total"]) for line in case.lines] == [
        ("Linen shirt", "25.00"),
        ("Socks", "4.50"),
    ]
    assert {line["currency"] for line in case.lines} == {"USD"}
    assert (case.amounts["refund_total"], case.amounts["currency"]) == ("29.50", "USD")
    # with the platform's seller deadline (two days after the request) and its action
    assert case.seller_action == "SELLER_RESPOND_RETURN"
    assert case.seller_deadline is not None
    assert (case.seller_deadline - case.platform_updated_at).total_seconds() >= 47 * 3600
    assert case.history == [
        ["RETURN_OR_REFUND_REQUEST_PENDING", int(case.platform_updated_at.timestamp())]
    ]
    # And the buyer, known only by the order's user_id, is a customer of the organisation
    customer = Customer.objects.get(pk=case.customer_id)
    assert (customer.platform_user_id, customer.organisation_id) == (BUYER, shop.organisation_id)
    # And the buyer's words are not stored in clear
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT buyer_reason FROM {AfterSalesCase._meta.db_table} WHERE id = %s",  # noqa: S608
            [case.pk],
        )
        (stored,) = cursor.fetchone()
    assert "torn" not in stored


def test_duplicated_and_reordered_webhooks_end_in_one_case_in_its_latest_state(
    world, platform, later
):
    shop = world.shop_a1
    # Given a return that moves through three states, each notified
    return_id = platform.sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000000102",
        return_type="RETURN_AND_REFUND",
    )
    later()
    platform.sim.return_update(return_id, "AWAITING_BUYER_SHIP", role="SELLER")
    later()
    platform.sim.return_update(return_id, "BUYER_SHIPPED_ITEM")
    # When every notification arrives ten times, shuffled
    result = platform.sim.deliver_webhooks(duplicate=10, shuffle=True, seed=13)
    assert result["sent"] == 30
    # Then there is one case, in its latest state
    case = AfterSalesCase.objects.get(shop_account=shop)
    assert (case.platform_case_id, case.platform_status, case.stage) == (
        return_id,
        "BUYER_SHIPPED_ITEM",
        "needs_decision",
    )
    assert case.seller_action == "SELLER_RESPOND_RECEIVE_PACKAGE"
    # And one customer for the buyer, whatever the number of reads
    assert Customer.objects.filter(platform_user_id=BUYER).count() == 1
    assert WebhookEvent.objects.filter(return_platform_id=return_id).count() == 3


def test_a_dropped_return_webhook_is_filled_by_the_backfill(world, platform, later):
    shop = world.shop_a1
    # Given a return whose notification was lost
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000103"
    )
    platform.sim.deliver_webhooks(drop=1.0)
    assert not AfterSalesCase.objects.exists()
    # When the periodic backfill runs every stream of the shop
    shop_backfill(shop=shop)
    # Then the case is stored, and the returns cursor stands at its update time
    case = _case(shop, "return", return_id)
    assert (case.kind, case.stage) == ("refund", "needs_decision")
    assert case.customer.platform_user_id == BUYER
    cursor = SyncCursor.objects.get(shop_account=shop, stream=SyncStream.RETURNS)
    assert cursor.high_water == case.platform_updated_at
    assert cursor.last_error == ""
    # And when the seller decides elsewhere and that notification is lost too
    later()
    platform.sim.return_update(return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", role="SELLER")
    platform.sim.deliver_webhooks(drop=1.0)
    assert stream_backfill(shop=shop, stream=SyncStream.RETURNS) == 1
    # Then the next run brings the case to its latest state, still one row
    case = _case(shop, "return", return_id)
    assert (case.platform_status, case.stage) == ("RETURN_OR_REFUND_REQUEST_SUCCESS", "decided")
    assert [status for status, _ in case.history] == [
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
    ]
    # And a run with nothing new stores nothing
    assert stream_backfill(shop=shop, stream=SyncStream.RETURNS) == 0
    assert AfterSalesCase.objects.count() == 1


def test_a_cancellation_by_webhook_and_by_backfill(
    world, platform, later, cancellations_subscribed
):
    shop = world.shop_a1
    # Given a buyer's order, and their cancellation request, notified
    order_id = platform.sim.order_create(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000104"
    )
    cancel_id = platform.sim.cancellation_request(
        shop.platform_shop_id, order_id=order_id, reason_text="Ordered the wrong colour."
    )
    platform.sim.deliver_webhooks(duplicate=3)
    # Then one cancellation case needs the seller's answer, by the platform's deadline
    case = _case(shop, "cancellation", cancel_id)
    assert (case.kind, case.platform_type, case.stage) == (
        "cancellation",
        "BUYER_CANCEL",
        "needs_decision",
    )
    assert case.seller_action == "SELLER_RESPOND_BUYER_CANCEL"
    assert case.seller_deadline is not None
    assert case.buyer_reason == "Ordered the wrong colour."
    assert case.customer.platform_user_id == BUYER
    assert len(case.lines) == 1 and case.amounts["currency"] == "USD"
    # When the buyer withdraws it and that notification is lost
    later()
    platform.sim.cancellation_update(cancel_id, "CANCELLATION_REQUEST_CANCEL")
    platform.sim.deliver_webhooks(drop=1.0)
    # Then the backfill closes the case
    assert stream_backfill(shop=shop, stream=SyncStream.CANCELLATIONS) == 1
    case = _case(shop, "cancellation", cancel_id)
    assert (case.platform_status, case.stage) == ("CANCELLATION_REQUEST_CANCEL", "closed")
    assert AfterSalesCase.objects.count() == 1


def test_a_return_and_a_cancellation_with_the_same_platform_id_are_two_cases(world, platform):
    # Returns and cancellations are numbered apart: a platform id is unique within its family.
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000105"
    )
    api = shop_api(shop)
    (read,) = api.search_returns(return_ids=[return_id]).items
    after_sales_case_upsert(shop=shop, case=read)
    from dataclasses import replace

    after_sales_case_upsert(shop=shop, case=replace(read, family="cancellation"))
    assert sorted(AfterSalesCase.objects.values_list("family", flat=True)) == [
        "cancellation",
        "return",
    ]


def test_a_case_never_moves_backwards(world, platform, later):
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000106"
    )
    api = shop_api(shop)
    # Given a worker that read the case while it was pending
    (stale,) = api.search_returns(return_ids=[return_id]).items
    # And the seller approved it since, which another worker stored
    later()
    platform.sim.return_update(return_id, "RETURN_OR_REFUND_REQUEST_SUCCESS", role="SELLER")
    after_sales_case_sync(shop=shop, family="return", case_id=return_id)
    # When the slow worker stores what it read
    _, changed = after_sales_case_upsert(shop=shop, case=stale)
    # Then nothing changed: the case stays decided
    assert not changed
    case = _case(shop, "return", return_id)
    assert (case.platform_status, case.stage) == ("RETURN_OR_REFUND_REQUEST_SUCCESS", "decided")
    assert case.platform_updated_at > stale.update_time


def test_a_notification_about_a_case_the_platform_does_not_know_is_ignored(
    world, platform, asgi_server
):
    from tests.inbox.test_webhook_handlers import _post

    event = _post(
        asgi_server,
        world.shop_a1,
        12,
        "n-unknown-return",
        {"order_id": "576000000000000107", "return_id": "4035000000000999"},
    )
    assert (event.status, event.error) == ("ignored", "return not found on the platform")
    assert not AfterSalesCase.objects.exists()


class _CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append((request.url.path, request.url.params.get("ids", "")))
        return super().handle_request(request)


def test_order_detail_is_read_fifty_orders_a_call(world, platform):
    shop = world.shop_a1
    # Given 51 orders of the shop
    order_ids = [f"5760000000002{n:05d}" for n in range(51)]
    for order_id in order_ids:
        platform.sim.order_create(shop.platform_shop_id, buyer_user_id=BUYER, order_id=order_id)
    transport = _CountingTransport()
    api = TikTokShopApi(
        TikTokShopClient(Credentials.from_dict(shop.credentials), transport=transport)
    )
    # When the connector reads them all (and an id twice)
    orders = api.get_orders([*order_ids, order_ids[0]])
    # Then it took two calls, of 50 ids and of 1, and every order came back with its buyer
    calls = [ids.split(",") for path, ids in transport.paths if path.endswith("/orders")]
    assert [len(ids) for ids in calls] == [50, 1]
    assert sorted(o.order_id for o in orders) == order_ids
    assert {o.buyer_user_id for o in orders} == {BUYER}
    assert all(o.currency == "USD" and o.lines for o in orders)
    # And the buyer's e-mail the platform sends with each order is not kept
    assert "@" not in repr(orders)
    api.close()


def test_a_case_is_stored_when_its_order_cannot_be_read_and_linked_on_the_next_read(
    world, platform
):
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000108"
    )
    # Given Get Order Detail keeps failing
    platform.sim.set_fault("/order/202507/orders", "5xx", count=20)
    # When the return's notification is processed
    platform.sim.deliver_webhooks()
    # Then the case is stored all the same, without its buyer for now
    case = _case(shop, "return", return_id)
    assert (case.stage, case.customer_id) == ("needs_decision", None)
    # And once the platform answers again, the next read links the buyer
    platform.sim.clear_faults()
    after_sales_case_sync(shop=shop, family="return", case_id=return_id)
    assert _case(shop, "return", return_id).customer.platform_user_id == BUYER


def test_the_backfill_pages_through_more_cases_than_a_page_holds(world, platform):
    shop = world.shop_a1
    # Given 60 returns of 60 buyers whose notifications were all lost
    made = {
        platform.sim.return_request(
            shop.platform_shop_id,
            buyer_user_id=f"74950000000{n:05d}",
            order_id=f"5760000000003{n:05d}",
        )
        for n in range(60)
    }
    platform.sim.deliver_webhooks(drop=1.0)
    # When the returns stream runs (pages of 50, orders read 50 ids a call)
    assert stream_backfill(shop=shop, stream=SyncStream.RETURNS) == 60
    # Then every return is one case, linked to its own buyer
    cases = AfterSalesCase.objects.filter(shop_account=shop)
    assert set(cases.values_list("platform_case_id", flat=True)) == made
    assert cases.filter(customer__isnull=True).count() == 0
    assert cases.values("customer").distinct().count() == 60


def test_concurrent_reads_of_a_new_case_store_it_once(world, platform):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need the services mode's database")
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000109"
    )
    barrier = Barrier(4)

    def read() -> int:
        try:
            barrier.wait(timeout=10)
            return after_sales_case_sync(shop=shop, family="return", case_id=return_id).pk
        finally:
            connections.close_all()

    # When four workers read the same new return at once
    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(lambda _: read(), range(4)))
    # Then it is stored once, with one customer for its buyer
    assert len(ids) == 1
    assert AfterSalesCase.objects.filter(platform_case_id=return_id).count() == 1
    assert Customer.objects.filter(platform_user_id=BUYER).count() == 1


def test_a_case_of_a_buyer_whose_user_id_the_chat_taught_us_joins_their_customer(world, platform):
    # The conversation list names the buyer's user_id beside their chat id; a message
    # notification does not (learning it from orders and order cards is still to come).
    from inbox.models import Conversation

    shop = world.shop_a1
    # Given a buyer's chat found through the conversation list (its notification lost)
    conversation_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id=BUYER, nickname="Emily", text="my shirt is torn"
    )
    platform.sim.deliver_webhooks(drop=1.0)
    stream_backfill(shop=shop, stream=SyncStream.MESSAGES)
    conversation = Conversation.objects.get(platform_conversation_id=conversation_id)
    assert conversation.customer.platform_user_id == BUYER
    # When the buyer then asks for a refund and the notification arrives
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000110"
    )
    platform.sim.deliver_webhooks()
    # Then the case belongs to the customer of that conversation, not to a new one
    assert _case(shop, "return", return_id).customer_id == conversation.customer_id
    assert Customer.objects.filter(organisation_id=shop.organisation_id).count() == 1


@pytest.mark.parametrize(
    ("return_type", "kind", "status"),
    [
        ("REFUND", "refund", "RETURN_OR_REFUND_REQUEST_PENDING"),
        ("REPLACEMENT", "replacement", "REPLACEMENT_REQUEST_PENDING"),
        ("EXCHANGE", "exchange", "EXCHANGE_REQUEST_PENDING"),
    ],
)
def test_each_return_type_is_its_kind_of_case_needing_a_decision(
    world, platform, return_type, kind, status
):
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000000111",
        return_type=return_type,
    )
    platform.sim.deliver_webhooks()
    case = _case(shop, "return", return_id)
    assert (case.kind, case.platform_status, case.stage) == (kind, status, "needs_decision")


def test_arbitration_is_stored_when_the_platform_arbitrates(world, platform, later):
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id="576000000000000112"
    )
    platform.sim.deliver_webhooks()
    assert _case(shop, "return", return_id).arbitration_status == ""
    # When the platform takes the case into arbitration (and the buyer's change notifies us)
    with platform.sim.lock:
        platform.sim.returns[return_id].arbitration_status = "IN_PROGRESS"
    later()
    platform.sim.return_update(return_id, "REFUND_OR_RETURN_REQUEST_REJECT", role="SELLER")
    platform.sim.deliver_webhooks()
    # Then the case shows it
    case = _case(shop, "return", return_id)
    assert (case.arbitration_status, case.stage) == ("IN_PROGRESS", "decided")


def test_operators_find_a_case_in_the_admin_without_the_buyers_words(world, platform, admin_client):
    shop = world.shop_a1
    return_id = platform.sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id="576000000000000113",
        reason_text="Torn seam, see my photos.",
    )
    platform.sim.deliver_webhooks()
    case = _case(shop, "return", return_id)
    listing = admin_client.get("/admin/inbox/aftersalescase/", {"q": return_id})
    assert listing.status_code == 200 and return_id in listing.content.decode()
    page = admin_client.get(f"/admin/inbox/aftersalescase/{case.pk}/change/")
    assert page.status_code == 200
    assert "Torn seam" not in page.content.decode()
    assert admin_client.post(f"/admin/inbox/aftersalescase/{case.pk}/delete/").status_code == 403


def test_a_second_return_of_an_order_is_linked_to_its_buyer_by_the_backfill(world, platform):
    shop = world.shop_a1
    order_id = "576000000000000114"
    # Given a return of an order, stored and linked to its buyer
    first = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id=order_id
    )
    platform.sim.deliver_webhooks()
    # And a second return of the same order whose notification was lost
    second = platform.sim.return_request(
        shop.platform_shop_id, buyer_user_id=BUYER, order_id=order_id
    )
    platform.sim.deliver_webhooks(drop=1.0)
    # When the backfill reads both
    stream_backfill(shop=shop, stream=SyncStream.RETURNS)
    # Then the second is linked to the same buyer as the first
    assert _case(shop, "return", second).customer_id == _case(shop, "return", first).customer_id
    assert _case(shop, "return", second).customer_id is not None
