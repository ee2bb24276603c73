"""Orders read through Get Order Detail when the inbox needs them: batched, kept fresh for a
while, linked to their buyer, the recipient encrypted at rest and masked for everyone; through
the simulator over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inbox.masking import mask
from inbox.models import Customer, Order
from inbox.services.orders import order_get, orders_for

pytestmark = pytest.mark.django_db(transaction=True)

BUYER = "7494000000000007"
DETAIL = ("GET", "/order/202507/orders")


def _seed(platform, shop, order_id: str, *, status: str = "AWAITING_SHIPMENT") -> str:
    return platform.sim.order_create(
        shop.platform_shop_id,
        buyer_user_id=BUYER,
        order_id=order_id,
        products=[("Linen shirt", "M", "25.00"), ("Socks", "L", "4.50")],
        status=status,
    )


def _calls(platform) -> int:
    return platform.sim.api_calls[DETAIL]


def test_a_hundred_and_one_orders_are_read_in_three_calls_and_stored_once(world, platform):
    shop = world.shop_a1
    ids = [_seed(platform, shop, f"5770000000001{n:05d}") for n in range(101)]
    before = _calls(platform)
    # When the inbox needs them all (one id twice)
    orders = orders_for(shop=shop, order_ids=[*ids, ids[0]])
    # Then the simulator answered three calls (50 + 50 + 1) and each order is one row
    assert _calls(platform) - before == 3
    assert sorted(orders) == sorted(ids)
    assert Order.objects.filter(shop_account=shop).count() == 101
    order = orders[ids[0]]
    assert (order.status, order.currency, order.total_amount) == (
        "AWAITING_SHIPMENT",
        "USD",
        "29.50",
    )
    assert [line["product_name"] for line in order.lines] == ["Linen shirt", "Socks"]


def test_a_fresh_order_is_not_read_again_a_stale_one_is(world, platform, settings):
    shop = world.shop_a1
    open_id = _seed(platform, shop, "577000000000200001")
    done_id = _seed(platform, shop, "577000000000200002", status="COMPLETED")
    orders_for(shop=shop, order_ids=[open_id, done_id])
    before = _calls(platform)
    # Needed again at once: nothing is read
    assert order_get(shop=shop, order_id=open_id) is not None
    assert _calls(platform) == before
    # Ten minutes later the open order is read again; the completed one is still fresh
    later = timezone.now() + timedelta(seconds=settings.SCRM_ORDER_FRESH_SECONDS + 300)
    platform.sim.orders[open_id].status = "IN_TRANSIT"
    got = orders_for(shop=shop, order_ids=[open_id, done_id], now=later)
    assert _calls(platform) == before + 1
    assert got[open_id].status == "IN_TRANSIT"
    assert Order.objects.get(platform_order_id=open_id).status == "IN_TRANSIT"
    # A day later the completed one is read again too
    much_later = timezone.now() + timedelta(seconds=settings.SCRM_ORDER_SETTLED_FRESH_SECONDS + 1)
    orders_for(shop=shop, order_ids=[done_id], now=much_later)
    assert _calls(platform) == before + 2


def test_a_failing_platform_shows_the_stored_copy_and_logs_no_personal_data(
    world, platform, caplog
):
    shop = world.shop_a1
    order_id = _seed(platform, shop, "577000000000300001")
    stored = order_get(shop=shop, order_id=order_id)
    Order.objects.filter(pk=stored.pk).update(fetched_at=timezone.now() - timedelta(days=3))
    platform.sim.set_fault("/order/202507/orders", "5xx", count=20)
    with caplog.at_level(logging.DEBUG):
        again = order_get(shop=shop, order_id=order_id)
    assert again is not None and again.pk == stored.pk
    recipient = platform.sim.orders[order_id].recipient
    for secret in (recipient["name"], recipient["phone_number"], recipient["full_address"]):
        assert secret not in caplog.text


def test_the_order_teaches_the_buyer_mapping(world, platform):
    shop = world.shop_a1
    order_id = _seed(platform, shop, "577000000000400001")
    # Given a chat buyer whose order-side id we do not know yet
    chat_buyer = Customer.objects.create(
        organisation=shop.organisation,
        platform=shop.platform,
        im_user_id="im-7007",
        display_name="Buyer",
        avatar_url="",
    )
    # When an order card in their chat names an order
    order = order_get(shop=shop, order_id=order_id, chat_customer=chat_buyer)
    # Then they are known by the order's user_id, and the order is theirs
    chat_buyer.refresh_from_db()
    assert chat_buyer.platform_user_id == BUYER
    assert order.customer_id == chat_buyer.pk
    # And another order of the same buyer, read without a chat, finds the same customer
    other = order_get(shop=shop, order_id=_seed(platform, shop, "577000000000400002"))
    assert other.customer_id == chat_buyer.pk
    assert Customer.objects.filter(platform_user_id=BUYER).count() == 1


def test_a_buyer_who_never_chatted_gets_a_customer_by_user_id(world, platform):
    shop = world.shop_a1
    order = order_get(shop=shop, order_id=_seed(platform, shop, "577000000000500001"))
    assert order.customer.platform_user_id == BUYER
    assert order.customer.im_user_id == f"user:{BUYER}"


def test_the_recipient_is_encrypted_at_rest_and_masked(world, platform):
    shop = world.shop_a1
    order_id = _seed(platform, shop, "577000000000600001")
    order = order_get(shop=shop, order_id=order_id)
    recipient = platform.sim.orders[order_id].recipient
    # Stored: what the platform gave
    assert order.recipient_name == recipient["name"]
    assert order.recipient_phone == recipient["phone_number"]
    assert recipient["full_address"] in order.recipient_address
    assert order.recipient_email.endswith("@scs.tiktokw.us")
    # but never in clear in the database
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient_name, recipient_phone, recipient_address, recipient_email "  # noqa: S608
            f"FROM {Order._meta.db_table} WHERE id = %s",
            [order.pk],
        )
        row = " ".join(cursor.fetchone())
    for secret in (
        recipient["name"],
        recipient["phone_number"][-7:],
        recipient["address_line1"],
        "scs.tiktokw",
    ):
        assert secret not in row
    # Masked (inbox.masking): the first word's first letters, the country code and the
    # phone's last four digits, the city, region and country only, the e-mail's domain
    first = recipient["name"].split()[0]
    assert mask("name", order.recipient_name) == f"{first[:2]}**"
    assert mask("phone", order.recipient_phone) == "+1 ***-***-" + recipient["phone_number"][-4:]
    city = recipient["district_info"][2]["address_name"]
    state = recipient["district_info"][1]["address_name"]
    assert mask("address", order.recipient_address) == f"{city}, {state}, US"
    assert "@" in mask("email", order.recipient_email)
    assert mask("email", order.recipient_email).endswith("***@scs.tiktokw.us")


def test_an_order_card_teaches_the_chat_buyer_from_an_order_stored_for_a_case(world, platform):
    shop = world.shop_a1
    order_id = _seed(platform, shop, "577000000000700001")
    # Given the order was read for a case first (its buyer known by user_id alone)
    first = order_get(shop=shop, order_id=order_id)
    assert first.customer.im_user_id == f"user:{BUYER}"
    chat_buyer = Customer.objects.create(
        organisation=shop.organisation,
        platform=shop.platform,
        im_user_id="im-7008",
        display_name="Buyer",
        avatar_url="",
    )
    before = _calls(platform)
    # When the same order shows in the buyer's chat while it is still fresh
    order_get(shop=shop, order_id=order_id, chat_customer=chat_buyer)
    # Then the chat buyer is known by the order's user_id, without reading it again
    assert _calls(platform) == before
    chat_buyer.refresh_from_db()
    assert chat_buyer.platform_user_id == BUYER
