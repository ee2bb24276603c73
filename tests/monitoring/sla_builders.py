"""Builders for the SLA deadline tests: platform messages and cases stored through ingestion
(``messages_store``, ``after_sales_case_upsert``), with the platform's times given."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from itertools import count

from inbox.models import AfterSalesCase, Conversation, InboxEvent, ShopAccount
from inbox.platforms.base import Participant, PlatformAfterSales, PlatformMessage
from inbox.services.aftersales import after_sales_case_upsert
from inbox.services.ingestion import messages_store
from monitoring.models.sla import Deadline
from scrm.events import payload_check

_seq = count(1)
BUYER = Participant(role="BUYER", im_user_id="im-sla-buyer", user_id="u-sla", nickname="Emily R.")


def store(shop: ShopAccount, chat: str, *messages: tuple[str, datetime]) -> Conversation:
    """Store ``(role, platform time)`` messages of conversation ``chat`` as ingestion does."""
    batch = []
    for role, at in messages:
        n = next(_seq)
        sender = BUYER if role == "BUYER" else Participant(role=role, im_user_id=f"im-{role}")
        batch.append(
            PlatformMessage(
                message_id=f"sla-m-{n}",
                conversation_id=chat,
                type="TEXT",
                content={"content": f"message {n}"},
                create_time=at,
                sender=sender,
                index=str(n),
            )
        )
    messages_store(shop=shop, conversation_id=chat, messages=batch)
    return Conversation.objects.get(shop_account=shop, platform_conversation_id=chat)


def buyer(shop: ShopAccount, chat: str, at: datetime) -> Conversation:
    return store(shop, chat, ("BUYER", at))


def opened(subject) -> dict[str, Deadline]:
    """The subject's open deadlines by kind (asserting one per kind)."""
    field = "conversation" if isinstance(subject, Conversation) else "case"
    rows = list(Deadline.objects.filter(**{field: subject}, state="open"))
    kinds = [r.kind for r in rows]
    assert len(kinds) == len(set(kinds)), kinds
    return {r.kind: r for r in rows}


def all_deadlines(subject) -> list[Deadline]:
    field = "conversation" if isinstance(subject, Conversation) else "case"
    return list(Deadline.objects.filter(**{field: subject}).order_by("id"))


def platform_case(at: datetime, **changes) -> PlatformAfterSales:
    """A refund request the platform shows pending since ``at``."""
    case = PlatformAfterSales(
        family="return",
        case_id="4036000000000001",
        order_id="576000000000009101",
        type="REFUND",
        status="RETURN_OR_REFUND_REQUEST_PENDING",
        role="BUYER",
        reason="ecom_order_delivered_refund_and_return_reason_damaged",
        reason_text="Arrived broken",
        refund_total="19.99",
        currency="USD",
        lines=(),
        seller_deadline=None,
        seller_action="SELLER_RESPOND_REFUND",
        arbitration_status="",
        create_time=at,
        update_time=at,
    )
    return dataclasses.replace(case, **changes)


def case_store(shop: ShopAccount, case: PlatformAfterSales) -> AfterSalesCase:
    row, _ = after_sales_case_upsert(shop=shop, case=case)
    return row


def last_event_id() -> int:
    return InboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def deadline_events(since: int) -> list[dict]:
    """The ``sla.deadline`` payloads published after event ``since``, each checked against the
    kind's schema."""
    rows = InboxEvent.objects.filter(id__gt=since, type="sla.deadline").order_by("id")
    for row in rows:
        payload_check("sla.deadline", row.data)
    return [row.data for row in rows]
