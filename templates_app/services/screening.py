"""Quick replies through the sensitive-word monitor when saved: a body the policy blocks cannot be
saved, a masked one is saved masked, a flagged one is saved as written and raises a violation.

Invariants kept here:
- every body (the default language's and each translation) is screened against the
  organisation's list and, for a quick reply limited to shops, against each shop's override
  (a word one shop blocks blocks the quick reply that shop uses);
- a body unchanged since it was last saved, its shops too, is not screened again (editing a
  title records no second violation for the same words); a new or changed one, or one given
  other shops, always is;
- a refusal names the matches per language (``details.by_language``), so the form shows the
  words beside the body that holds them; its violations are kept although nothing is saved.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.utils.translation import gettext, gettext_noop

from inbox.selectors import AnyUser
from monitoring.models.words import SendSource
from monitoring.services.send_screening import BLOCKED_CODE, SendBlocked, screen_send
from templates_app.validation import QuickReplyData

BLOCKED_MESSAGE = gettext_noop(
    "This quick reply contains words the sensitive-word policy blocks: %(words)s."
)


def bodies_of(data: QuickReplyData | dict[str, Any]) -> dict[str, str]:
    """Language -> body, the default language's first."""
    if isinstance(data, dict):
        return {data["default_language"]: data["body"], **(data.get("translations") or {})}
    return {data.default_language: data.body, **data.translations}


def unchanged_bodies(before: dict[str, Any] | None, data: QuickReplyData) -> dict[str, str] | None:
    """The stored bodies (``before``: the quick reply's data as stored, None: a new one) that
    need no screening again: none when its shops changed, since each body is screened against
    each shop's list and a shop added may block what the others let through."""
    if before is None:
        return None
    if sorted(before.get("shop_account_ids") or []) != sorted(data.shop_account_ids):
        return None
    return bodies_of(before)


def _screen_body(
    *, organisation_id: int, actor: AnyUser, shops: list[int | None], text: str
) -> str:
    for shop_id in shops:
        text = screen_send(
            organisation_id=organisation_id,
            shop_account_id=shop_id,
            text=text,
            source=SendSource.QUICK_REPLY,
            actor=actor,
            blocked_message=BLOCKED_MESSAGE,
        ).text
    return text


def quick_reply_screen(
    *,
    organisation_id: int,
    actor: AnyUser,
    data: QuickReplyData,
    before: dict[str, str] | None = None,
) -> QuickReplyData:
    """The quick reply's data with its bodies as they may be saved (masked where the policy
    masks); raises :class:`SendBlocked` naming each blocked body's matches. ``before``: the
    bodies as stored (language -> text), not screened again when unchanged."""
    shops: list[int | None] = list(data.shop_account_ids) or [None]
    screened: dict[str, str] = {}
    refused: list[tuple[str, SendBlocked]] = []
    for language, text in bodies_of(data).items():
        if before is not None and before.get(language) == text:
            screened[language] = text
            continue
        try:
            screened[language] = _screen_body(
                organisation_id=organisation_id, actor=actor, shops=shops, text=text
            )
        except SendBlocked as exc:
            refused.append((language, exc))
    if refused:
        raise blocked_error(refused)
    return replace(
        data,
        body=screened[data.default_language],
        translations={code: screened[code] for code in data.translations},
    )


def blocked_error(refused: list[tuple[str, SendBlocked]]) -> SendBlocked:
    """One refusal for the blocked bodies (language, refusal) of a quick reply."""
    matches = [
        {**m, "language": language} for language, exc in refused for m in exc.details["matches"]
    ]
    names = list(dict.fromkeys(name for _, exc in refused for name in exc.names))
    return SendBlocked(
        gettext(BLOCKED_MESSAGE) % {"words": ", ".join(names)},
        names=names,
        code=BLOCKED_CODE,
        details={
            "matches": matches,
            "by_language": {language: exc.details["matches"] for language, exc in refused},
            "source": SendSource.QUICK_REPLY,
        },
    )
