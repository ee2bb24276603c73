"""The send paths' side of the sensitive-word monitor: screen a text about to be stored or sent
and refuse a blocked one with a clear error.

Every service that stores text meant for a buyer (a reply, a reply sent with an after-sales
decision, a decision's comment, a quick reply) calls :func:`screen_send` inside its transaction
and runs inside ``violations_kept()`` (monitoring/services/violations.py) outside it: the
decorator :func:`atomic_screened` does both. ``tests/monitoring/test_send_paths_scan.py`` finds
those services from the code and fails when one skips the monitor.

Invariants kept here:
- block: :class:`SendBlocked` (422 ``reply_blocked``, the matches in ``details``) is raised, so
  the caller's transaction rolls back and nothing is stored or sent; ``screen_outgoing`` hands
  the violation to the enclosing ``violations_kept()``, which writes it after that rollback;
- mask: the masked text is returned, to be stored and delivered; flag: the text unchanged; both
  record their violation in the caller's transaction, so it commits with the send (and a repeat
  of an idempotent request that stores nothing records nothing);
- no personal data in the exception's message: it names the list words and detectors; the
  typed characters are in ``details`` only, returned to the person who typed them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from monitoring.models.words import SendSource, WordAction, WordCategory
from monitoring.services.screening import ScreeningResult, screen_outgoing
from monitoring.services.violations import match_dicts as stored_matches
from monitoring.services.violations import violations_kept
from scrm.api import ServiceError

F = TypeVar("F", bound=Callable[..., Any])

BLOCKED_CODE = "reply_blocked"
blocked_send_recorded = violations_kept  # the scope a send path runs in, outside its transaction


class SendBlocked(ServiceError):
    """A send the word policy blocks: a 422 naming the matches (nothing was stored)."""

    status_code = 422
    code = BLOCKED_CODE

    def __init__(
        self,
        message: str,
        *,
        names: list[str] | None = None,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, details=details)
        self.names = names or []  # the blocking list words and detectors, for messages


def match_dicts(text: str, result: ScreeningResult) -> list[dict[str, Any]]:
    """The matches as the API shows them (violations.match_dicts, and the matched characters)."""
    return [{**m, "text": text[m["start"] : m["end"]]} for m in stored_matches(result.matches)]


def _name(match: Any) -> str:
    """The list word, or the detector's name (never the typed characters: they may be a phone
    number or an address, which exception messages never carry)."""
    if match.word:
        return str(match.word)
    try:
        return str(WordCategory(match.category).label)
    except ValueError:
        return str(match.category)


def is_blocked(result: ScreeningResult) -> bool:
    return result.blocked or result.action == WordAction.BLOCK


def screen_send(
    *,
    organisation_id: int,
    shop_account_id: int | None,
    text: str,
    source: str = SendSource.REPLY,
    actor: Any = None,
    conversation_id: int | None = None,
    blocked_message: str = gettext_noop(
        "This reply contains words the sensitive-word policy blocks: %(words)s."
    ),
) -> ScreeningResult:
    """Screen ``text`` for a send (inside the caller's transaction); the text to store is the
    result's ``text``.

    Keeps: a blocked text raises :class:`SendBlocked`, its violation handed to the enclosing
    ``violations_kept()`` (written after the rollback); a masked or flagged one records its
    violation now, in the caller's transaction.
    """
    result = screen_outgoing(
        organisation_id=organisation_id,
        shop_account_id=shop_account_id,
        text=text,
        source=source,
        actor=actor,
        conversation_id=conversation_id,
    )
    if is_blocked(result):
        names = list(dict.fromkeys(_name(m) for m in result.matches if m.action == "block"))
        raise SendBlocked(
            gettext(blocked_message) % {"words": ", ".join(names) or "-"},
            names=names,
            details={"matches": match_dicts(text, result), "source": source},
        )
    return result


def atomic_screened(func: F) -> F:
    """``transaction.atomic`` for a service that screens sends, with a blocked send's violation
    recorded after the rollback (see :func:`blocked_send_recorded`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blocked_send_recorded(), transaction.atomic():
            return func(*args, **kwargs)

    return cast(F, wrapper)
