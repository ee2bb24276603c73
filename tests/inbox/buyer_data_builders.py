"""One buyer's traffic through the real paths (simulator webhooks, a reply through the API,
an order read through the connector, a return, a decision, notes, a follow-up, a violation),
for the export and erasure tests: every personal value it leaves is listed in ``values``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from inbox.models import AfterSalesCase, Conversation, Customer, CustomerNote, FollowUp, Order
from inbox.services.conversations import note_add
from inbox.services.orders import orders_for
from inbox.services.search_tokens import customer_tokens_write
from monitoring.services.violations import violation_record
from scrm.blind import org_index_for

BUYER_USER_ID = "7494000000012345"
NICKNAME = "Zephyrine Quillfeather"
TEXTS = (
    "Hello, parcel QXVELVETHIPPO arrived crushed",
    "我的包裹紫罗兰河马被压坏了",
    "add me on WeChat zephyq77",
)
REPLY = "Sorry about QXAMBERWALRUS, a replacement ships today"
NOTE = "Buyer mentioned QXCOBALTHERON on the phone"
PROFILE_NOTE = "Prefers calls about QXLILACFINCH"
PROMISE = "Send the QXSCARLETLYNX voucher"
RETURN_REASON = "The box QXMAUVEOTTER was crushed"
COMMENT = "Approved QXTEALBISON refund"
VIOLATION_TEXT = "Zephyrine add wechat QXCORALMOTH"
PHONE = "+1 415 555 0199"
EMAIL = "zephyrine.qf@example.org"
REAL_NAME = "Zephyrine Quill"
CUSTOM = "QXGOLDTIER"


@dataclass
class SeededBuyer:
    customer: Customer
    conversation: Conversation
    order: Order
    case: AfterSalesCase
    values: list[str] = field(default_factory=list)


def seed_buyer(world, platform, api) -> SeededBuyer:
    """A buyer of shop a1 writes (three messages, one a risk), is answered, has a note, an
    order, a return with a decision, profile details, a note, a follow-up and a violation."""
    shop, sim = world.shop_a1, platform.sim
    now = int(time.time())
    for i, text in enumerate(TEXTS):
        conversation_id, _ = sim.buyer_message(
            shop.platform_shop_id,
            buyer_user_id=BUYER_USER_ID,
            nickname=NICKNAME,
            text=text,
            at=now - 600 + i,
        )
    sim.deliver_webhooks()
    conversation = Conversation.objects.get(
        shop_account=shop, platform_conversation_id=conversation_id
    )
    customer = conversation.customer
    agent = world.agent_a1
    response = api.as_user(agent).post(
        f"/api/v1/conversations/{conversation.id}/messages/",
        {"text": REPLY, "idempotency_key": "bd-1"},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    note_add(actor=agent, conversation_id=conversation.id, text=NOTE)
    order_id = sim.order_create(
        shop.platform_shop_id, buyer_user_id=BUYER_USER_ID, status="DELIVERED"
    )
    order = orders_for(shop=shop, order_ids=[order_id], chat_customer=customer)[order_id]
    return_id = sim.return_request(
        shop.platform_shop_id,
        buyer_user_id=BUYER_USER_ID,
        order_id=order_id,
        reason_text=RETURN_REASON,
    )
    sim.deliver_webhooks()
    case = AfterSalesCase.objects.get(shop_account=shop, platform_case_id=return_id)
    response = api.as_user(agent).post(
        f"/api/v1/after-sales/{case.id}/approve/",
        {"decision": "APPROVE_REFUND", "comment": COMMENT, "idempotency_key": "bd-2"},
        format="json",
    )
    assert response.status_code in (200, 201, 202), response.content
    customer.refresh_from_db()
    customer.phone, customer.email, customer.real_name = PHONE, EMAIL, REAL_NAME
    customer.custom_fields = {"tier": CUSTOM}
    customer.save()
    customer_tokens_write(customer, org_index_for(customer.organisation_id))
    CustomerNote.objects.create(customer=customer, author=agent, text=PROFILE_NOTE)
    FollowUp.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        shop_account=shop,
        conversation=conversation,
        promise=PROMISE,
        owner=agent,
        created_by=agent,
        due_at=timezone.now() + timedelta(days=1),
    )
    violation_record(
        organisation_id=customer.organisation_id,
        shop_account_id=shop.id,
        conversation_id=conversation.id,
        actor=agent,
        source="reply",
        action="flag",
        text=VIOLATION_TEXT,
        matches=[],
    )
    order.refresh_from_db()
    address = json.loads(order.recipient_address)["full_address"]
    recipient = [order.recipient_name, order.recipient_phone, address]
    assert all(recipient), recipient
    values = [
        NICKNAME,
        "QXVELVETHIPPO",
        "紫罗兰河马",
        "zephyq77",
        "QXAMBERWALRUS",
        "QXCOBALTHERON",
        "QXLILACFINCH",
        "QXSCARLETLYNX",
        "QXMAUVEOTTER",
        "QXTEALBISON",
        "QXCORALMOTH",
        "415 555 0199",
        EMAIL,
        REAL_NAME,
        CUSTOM,
        *recipient,
        *([order.recipient_email] if order.recipient_email else []),
    ]
    return SeededBuyer(
        customer=customer, conversation=conversation, order=order, case=case, values=values
    )
