"""Builders for the metric tests: chats and cases stored through ingestion with the platform's
times, and ids that follow from them (storing the same history twice is a replay)."""

from __future__ import annotations

from datetime import UTC, datetime

from inbox.models import AfterSalesCase, Conversation, ShopAccount
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services.ingestion import messages_store
from tests.monitoring.sla_builders import case_store, platform_case

BUYER = Participant(role="BUYER", im_user_id="im-metrics-buyer", user_id="u-m", nickname="Mia")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def store(shop: ShopAccount, chat: str, *messages: tuple[str, datetime]) -> Conversation:
    """Store ``(role, platform time)`` messages of conversation ``chat`` as ingestion does; a
    message's id is its chat, role and time."""
    batch = [
        PlatformMessage(
            message_id=f"{chat}-{role}-{int(at.timestamp())}",
            conversation_id=chat,
            type="TEXT",
            content={"content": "hello"},
            create_time=at,
            sender=BUYER if role == "BUYER" else Participant(role=role, im_user_id=f"im-{role}"),
            index=str(int(at.timestamp())),
        )
        for role, at in messages
    ]
    messages_store(shop=shop, conversation_id=chat, messages=batch)
    return Conversation.objects.get(shop_account=shop, platform_conversation_id=chat)


def case(
    shop: ShopAccount, case_id: str, created: datetime, *steps: tuple[str, datetime]
) -> AfterSalesCase:
    """A refund request pending since ``created``, then the platform's ``(status, time)``."""
    row = case_store(shop, platform_case(created, case_id=case_id))
    for status, at in steps:
        row = case_store(
            shop, platform_case(created, case_id=case_id, status=status, update_time=at)
        )
    return row


def seed_recent(shop: ShopAccount, now: datetime) -> None:
    """A small history relative to ``now`` whose 60-day figures do not depend on the hour:
    chats answered in 1 h, after 30 h and by a robot in 2 min (2 of 3 within 24 h, average
    37240 s); a return approved in 2 h, one waiting for 12 days (1 of 2 within 24 h), and one
    waiting for 20 h (due within the next 4 h, not counted yet)."""
    from datetime import timedelta

    h, d = timedelta(hours=1), timedelta(days=1)
    store(shop, "r-c1", ("BUYER", now - 3 * d))
    store(shop, "r-c1", ("CUSTOMER_SERVICE", now - 3 * d + h))
    store(shop, "r-c2", ("BUYER", now - 5 * d))
    store(shop, "r-c2", ("CUSTOMER_SERVICE", now - 5 * d + 30 * h))
    store(shop, "r-c3", ("BUYER", now - 7 * d), ("ROBOT", now - 7 * d + timedelta(minutes=2)))
    case(shop, f"{shop.pk}01", now - 10 * d, ("AWAITING_BUYER_SHIP", now - 10 * d + 2 * h))
    case(shop, f"{shop.pk}02", now - 12 * d)
    case(shop, f"{shop.pk}03", now - 20 * h)
