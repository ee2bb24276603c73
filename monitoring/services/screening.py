"""Where every outgoing reply is screened before it is stored (the sensitive-word monitor).

``screen_outgoing`` is the single call site the reply service uses. Word lists, block/mask/flag
decisions and violations are the sensitive-word issue's work; until then no rule exists, so the
text passes unchanged. Keep the signature: callers rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScreeningResult:
    text: str  # possibly masked
    blocked: bool = False
    reason: str = ""


def screen_outgoing(
    *,
    organisation_id: int,
    shop_account_id: int | None,
    text: str,
    source: str = "reply",
    actor: object = None,
    conversation_id: int | None = None,
    record: bool = True,
) -> ScreeningResult:
    """Screen a reply; the caller refuses it when ``blocked`` and sends ``text`` otherwise."""
    return ScreeningResult(text=text)
