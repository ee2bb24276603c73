"""Buyers rating a chat (1–5 stars) after the shop answered: the platform posts a card in the
conversation (sender SYSTEM, type ``SATISFACTION_RATING``, content ``{"rating": n}``) and a
NEW_MESSAGE notification, as it does for its other notices.

TikTok's public API reference lists no rating message type; this card is the simulator's
stand-in for the ratings its Seller Center shows, so the inbox can count inquiry
dissatisfaction (1–3 stars) per chat and per agent (docs/insights.md). The stars follow the
wait: most buyers answered within minutes give 4 or 5, fewer after hours, and a buyer who
waited a day is as likely as not to give 1–3, about what sellers report.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from inbox.platforms.tiktok_shop.simulator.state import Conversation, Message

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

RATING_TYPE = "SATISFACTION_RATING"
ANSWER_ROLES = ("SHOP", "CUSTOMER_SERVICE")
# P(1–3 stars) by the wait before the shop's answer (seconds, upper bound).
LOW_SHARE = ((600, 0.05), (3600, 0.1), (4 * 3600, 0.2), (86400, 0.35), (None, 0.55))


def chat_rating(
    sim: Simulator, shop_id: str, conversation_id: str, *, stars: int, at: float | None = None
) -> str:
    """The buyer rates the conversation: the card is appended and notified; returns its id.
    KeyError for a conversation the shop does not have; ValueError for stars outside 1–5."""
    if not 1 <= stars <= 5:
        raise ValueError("stars must be 1 to 5")
    with sim.lock:
        shop = sim.shops[shop_id]
        conversation = sim.conversations.get(conversation_id)
        if conversation is None or conversation.shop_id != shop_id:
            raise KeyError(f"shop {shop_id!r} has no conversation {conversation_id!r}")
        message = sim._append(
            conversation, "SYSTEM", "0", "TikTok Shop", RATING_TYPE, {"rating": stars}, at
        )
        sim._queue_event(shop, "NEW_MESSAGE", message.to_webhook())
        return message.id


def last_wait(conversation: Conversation) -> int | None:
    """Seconds from the buyer's last question to the shop's answer to it; None when the last
    question is unanswered or the chat was rated since its answer."""
    asked: int | None = None
    wait: int | None = None
    for m in conversation.messages:
        if m.type == RATING_TYPE:
            asked, wait = None, None
        elif m.role == "BUYER":
            asked = m.create_time if asked is None else asked
            wait = None
        elif m.role in ANSWER_ROLES and asked is not None:
            wait, asked = m.create_time - asked, None
    return wait


def stars_for(rng: random.Random, wait: int) -> int:
    """Stars a buyer gives after waiting ``wait`` seconds (see the module's docstring)."""
    low = next(share for limit, share in LOW_SHARE if limit is None or wait <= limit)
    if rng.random() < low:
        return rng.choice((1, 2, 3, 3))
    return rng.choice((4, 5, 5, 5))


def maybe_rate(sim: Simulator, rng: random.Random, shop_id: str, buyer_user_id: str) -> bool:
    """A buyer whose last question was answered rates the chat (True when they did)."""
    with sim.lock:
        conversation_id = sim.conversation_by_buyer.get((shop_id, buyer_user_id))
        conversation = sim.conversations.get(conversation_id or "")
        wait = last_wait(conversation) if conversation is not None else None
    if conversation_id is None or wait is None:
        return False
    chat_rating(sim, shop_id, conversation_id, stars=stars_for(rng, wait))
    return True


def ratings_between(conversation: Conversation, start: int, end: int) -> list[Message]:
    """The conversation's rating cards given in [start, end) (Unix seconds)."""
    return [
        m for m in conversation.messages if m.type == RATING_TYPE and start <= m.create_time < end
    ]
