"""Which of the platform's decisions a rule's verb means for a case at its request status."""

from __future__ import annotations

from inbox.platforms.tiktok_shop.adapter_aftersales import PARTIAL_REFUND_FIELDS
from inbox.services.aftersales_options import OPTIONS, REJECT_CALL

# What a rule never sends alone: a partial refund needs an amount a person chooses.
NEVER_AUTOMATIC = frozenset(PARTIAL_REFUND_FIELDS)


def rule_decision_name(family: str, status: str, platform_type: str, verb: str) -> str:
    """The platform's decision a rule's ``approve`` or ``reject`` means for a case of this
    family and type in this status ("" when there is none): the first of the status's options
    of that verb, as the case card lists them (approving a return and refund approves the
    return; a partial refund is never chosen)."""
    names = OPTIONS.get((family, status, platform_type)) or OPTIONS.get((family, status, "*"), ())
    for name in names:
        if name in NEVER_AUTOMATIC:
            continue
        if (name in REJECT_CALL) == (verb == "reject"):
            return name
    return ""
