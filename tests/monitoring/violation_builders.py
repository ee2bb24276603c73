"""Violations for the review queue's tests, recorded through ``violation_record`` (the one
INSERT, with its audit and live event) as a matched send would."""

from __future__ import annotations

from typing import Any

from monitoring.models import Violation
from monitoring.services.violations import violation_record
from monitoring.words.screener import Match


def violation_of(
    shop: Any,
    actor: Any,
    *,
    text: str = "Add me on WeChat for a discount",
    word: str = "wechat",
    category: str = "off_platform",
    action: str = "block",
    conversation_id: int | None = None,
    source: str = "reply",
) -> Violation:
    """A violation of ``actor`` in ``shop``: ``word`` matched where it first appears in
    ``text`` (case-insensitively)."""
    start = text.lower().index(word.lower())
    match = Match(start=start, end=start + len(word), category=category, action=action, word=word)
    return violation_record(
        organisation_id=shop.organisation_id,
        shop_account_id=shop.id,
        conversation_id=conversation_id,
        actor=actor,
        source=source,
        action=action,
        text=text,
        matches=[match],
    )
