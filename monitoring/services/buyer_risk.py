"""Buyer messages scanned for risk tags (the buyer asks to move off-platform, threatens a bad
review or a complaint, is abusive), shown as chips on the conversation.

A subscriber of ``inbox.hooks.messages_stored``: ingestion announces the new visible buyer
messages of a conversation in its transaction, and the tags are written there, so they commit
or roll back with the messages (one writer: nothing else stores buyer messages). One
``Screener`` built from ``BUYER_RISK_ENTRIES`` (the same normalisation and automaton as the
word lists, so "加 微 信" and "ＷｈａｔｓＡｐｐ" are caught too) serves the whole process. A
message's text is never logged or copied: only (message, tag) rows are written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from monitoring.models import BuyerRisk, RiskTag

if TYPE_CHECKING:
    from inbox.hooks import MessagesStored
    from inbox.models import Message
    from monitoring.words.screener import Screener

# Longer texts are scanned on their first part only (a pasted essay is not a chat message).
MAX_SCANNED = 4000


@cache
def buyer_screener() -> Screener:
    """The risk phrases compiled once per process (the list ships with the code: it changes
    with a deploy, never at run time). Each phrase's "category" is its risk tag; detectors
    are off (a buyer giving their own phone number is no risk to the shop)."""
    from monitoring.words.defaults import BUYER_RISK_ENTRIES
    from monitoring.words.screener import EntrySpec, Screener

    entries = [
        EntrySpec(word=phrase, category=tag, action="flag") for phrase, tag in BUYER_RISK_ENTRIES
    ]
    return Screener.build(entries, detector_actions={})


def risk_tags_of(text: str) -> list[str]:
    """The risk tags a buyer's text carries, in RiskTag's order (none for an empty text)."""
    if not text or not text.strip():
        return []
    found = {m.category for m in buyer_screener().scan(text[:MAX_SCANNED]).matches}
    return [tag for tag in RiskTag.values if tag in found]


def buyer_risks_record(*, messages: Sequence[Message]) -> int:
    """Tag each inbound message by what its text carries; how many tags were new.

    Keeps: idempotent (unique per message and tag: storing or scanning a message again adds
    nothing); only inbound, visible messages with text are scanned.
    """
    rows = [
        BuyerRisk(
            organisation_id=m.shop_account.organisation_id,
            shop_account_id=m.shop_account_id,
            conversation_id=m.conversation_id,
            message_id=m.id,
            tag=tag,
        )
        for m in _scannable(messages)
        for tag in risk_tags_of(m.text)
    ]
    if not rows:
        return 0
    before = BuyerRisk.objects.filter(message_id__in={r.message_id for r in rows}).count()
    BuyerRisk.objects.bulk_create(rows, ignore_conflicts=True)
    return BuyerRisk.objects.filter(message_id__in={r.message_id for r in rows}).count() - before


def _scannable(messages: Iterable[Message]) -> Iterable[Message]:
    from inbox.models import Direction

    for m in messages:
        if m.direction == Direction.INBOUND and m.is_visible and m.text and m.id is not None:
            yield m


def messages_stored(event: MessagesStored) -> None:
    """Subscriber of ``inbox.hooks.messages_stored``: tag the new buyer messages."""
    if event.buyer_messages:
        buyer_risks_record(messages=event.buyer_messages)


def subscribe() -> None:
    """Register the subscriber (``MonitoringConfig.ready()``; subscribing twice is once)."""
    from inbox.hooks import messages_stored as messages_hook

    messages_hook.subscribe(messages_stored)
