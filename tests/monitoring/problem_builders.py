"""Builders for the problem-log tests: buyer messages stored through ingestion, cases through
the after-sales upsert, and seeded records for the report's literal figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

from inbox.models import Conversation, ShopAccount
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services.ingestion import messages_store
from monitoring.models.problems import ProblemRecord

_seq = count(1)
BUYER = Participant(role="BUYER", im_user_id="im-pl-buyer", user_id="u-pl", nickname="Mia K.")


def chat_with(
    shop: ShopAccount, chat: str, *texts: str, at: datetime, buyer: Participant = BUYER
) -> Conversation:
    """A conversation ``chat`` where the buyer (``BUYER`` unless given) wrote ``texts``
    (oldest first)."""
    batch = []
    for text in texts:
        n = next(_seq)
        batch.append(
            PlatformMessage(
                message_id=f"pl-m-{n}",
                conversation_id=chat,
                type="TEXT",
                content={"content": text},
                create_time=at,
                sender=buyer,
                index=str(n),
            )
        )
    messages_store(shop=shop, conversation_id=chat, messages=batch)
    return Conversation.objects.get(shop_account=shop, platform_conversation_id=chat)


def seed(
    shop: ShopAccount, day: date, issue_type: str, sku: str, n: int = 1, quote: str = ""
) -> None:
    """``n`` case records of ``issue_type`` and ``sku`` on the shop-local ``day`` (each needs a
    subject: a conversation of its own, stored through ingestion)."""
    for _ in range(n):
        k = next(_seq)
        chat = chat_with(
            shop, f"pl-seed-{k}", quote or "hello", at=datetime(2026, 11, 1, tzinfo=UTC)
        )
        ProblemRecord.objects.create(
            organisation_id=shop.organisation_id,
            shop_account=shop,
            source="conversation",
            conversation=chat,
            issue_type=issue_type,
            suggested_type=issue_type,
            sku=sku,
            quote=quote,
            local_date=day,
        )


SECRET = "ZQXQUOTE"  # planted in the buyers' words: must never leave in an e-mail or alert


def seed_fortnight(shop: ShopAccount) -> None:
    """Shop-local days around the week of Monday 23 November 2026 (Nov 23-29):

    this week: MUG-1 damaged 3 (Mon 1, Wed 2), MUG-1 late 1 (Sun), TEE-2 size 2 (Tue),
    no SKU other 1 (Fri); the week before (Nov 16-22): MUG-1 damaged 1 (Sun 22), TEE-2 size
    4 (Mon 16); the week of Nov 9: TEE-2 colour 1; the next Monday (Nov 30): TEE-2 size 5
    (outside the week)."""
    quote = f"{SECRET} it broke, call me on +1 555 010 4821"
    seed(shop, date(2026, 11, 23), "damaged", "MUG-1", quote=quote)
    seed(shop, date(2026, 11, 25), "damaged", "MUG-1", 2, quote=f"{SECRET} cracked, a@b.com")
    seed(shop, date(2026, 11, 29), "late", "MUG-1")
    seed(shop, date(2026, 11, 24), "size", "TEE-2", 2)
    seed(shop, date(2026, 11, 27), "other", "")
    seed(shop, date(2026, 11, 22), "damaged", "MUG-1")
    seed(shop, date(2026, 11, 16), "size", "TEE-2", 4)
    seed(shop, date(2026, 11, 10), "colour", "TEE-2")
    seed(shop, date(2026, 11, 30), "size", "TEE-2", 5)
