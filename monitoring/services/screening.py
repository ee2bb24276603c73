"""Where every outgoing text is screened before it is stored or sent (the sensitive-word monitor).

``screen_outgoing`` is the one call every send path makes: it scans the text with the shop's
compiled screener (monitoring/words/cache.py: the organisation's list merged with the shop's
override) and answers what the send must do: ``blocked`` (refuse it; ``matches`` say where),
or send ``text`` (masked words already replaced by "*"; a flag leaves it unchanged). With
``record`` (the default) a match raises a violation for review; a blocked send's violation is
kept although the send is refused (monitoring/services/violations.py: run the send path inside
``violations_kept()``). Keep the signature: callers rely on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from monitoring.models import SendSource, WordAction
from monitoring.services.violations import violation_defer, violation_record
from monitoring.words.cache import screener_for
from monitoring.words.screener import Match

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreeningResult:
    text: str  # what to send: masked where a mask matched; the original when blocked
    blocked: bool = False
    # The categories that blocked it, comma separated ("" when not blocked): for the refusal.
    reason: str = ""
    action: str = ""  # the most severe action matched: block, mask, flag; "" when nothing did
    matches: tuple[Match, ...] = ()


def _in_transaction() -> bool:
    """Whether a transaction of the code (not the test runner's) is open."""
    connection = transaction.get_connection()
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def screen_outgoing(
    *,
    organisation_id: int,
    shop_account_id: int | None,
    text: str,
    source: str = SendSource.REPLY,
    actor: Any = None,
    conversation_id: int | None = None,
    record: bool = True,
) -> ScreeningResult:
    """What a send of ``text`` from ``shop_account_id`` must do (None: a text of no one shop,
    an organisation-wide quick reply say, screened by the organisation's list alone).

    Keeps: block beats mask beats flag; a blocked result's ``text`` is the original (nothing is
    sent); with ``record`` every match writes one violation (a blocked send's after the send's
    transaction when inside ``violations_kept()``, else at once); ``record=False`` is a preview
    that writes nothing (the screen API, the composer's warning).
    """
    scan = screener_for(organisation_id=organisation_id, shop_account_id=shop_account_id).scan(text)
    if not scan.action:
        return ScreeningResult(text=text)
    blocked = scan.action == WordAction.BLOCK
    reason = ""
    if blocked:
        categories = dict.fromkeys(m.category for m in scan.matches if m.action == scan.action)
        reason = ",".join(categories)
    result = ScreeningResult(
        text=text if blocked else scan.masked_text,
        blocked=blocked,
        reason=reason,
        action=scan.action,
        matches=scan.matches,
    )
    if record:
        violation = {
            "organisation_id": organisation_id,
            "shop_account_id": shop_account_id,
            "conversation_id": conversation_id,
            "actor": actor,
            "source": source,
            "action": scan.action,
            "text": text,
            "matches": scan.matches,
        }
        if not (blocked and violation_defer(**violation)):
            if blocked and _in_transaction():
                logger.warning(
                    "blocked send screened inside a transaction without violations_kept(): "
                    "its violation is lost if the send rolls back",
                    extra={"organisation_id": organisation_id, "source": source},
                )
            violation_record(**violation)
    return result
