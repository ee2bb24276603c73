"""What the problem log (``monitoring.problems``) reads of the inbox: a resolved conversation's
or a closed case's shop, the buyer's words and the SKU it concerns, as plain frozen
dataclasses (apps meet through selectors, never another app's tables).

The buyer's words are decrypted here, in memory only, for the caller to suggest an issue type
and keep one quote (encrypted again on its own row); they are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbox.models import AfterSalesCase, Conversation, Order, ShopAccount
from inbox.selectors.accounts import AnyUser, shop_account_list
from inbox.selectors.for_apps import acting_member, conversation_facts, conversation_ref
from scrm.crypto import DecryptionError


@dataclass(frozen=True, slots=True)
class ProblemFacts:
    """One subject of the problem log: its shop, its buyer's words (newest first), a case's
    platform reason code, and the SKUs it concerns (the first is suggested)."""

    organisation_id: int
    shop_account_id: int
    shop_time_zone: str
    buyer_texts: tuple[str, ...]
    reason_code: str
    skus: tuple[str, ...]


def _case_skus(lines: object) -> list[str]:
    skus: list[str] = []
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict):
            sku = str(line.get("seller_sku") or line.get("sku_id") or "").strip()
            if sku and sku not in skus:
                skus.append(sku[:128])
    return skus


def _order_skus(shop_account_id: int, order_id: str | None) -> list[str]:
    if not order_id:
        return []
    lines = (
        Order.objects.filter(shop_account_id=shop_account_id, platform_order_id=order_id)
        .values_list("lines", flat=True)
        .first()
    )
    return _case_skus(lines)


def conversation_problem_facts(user: AnyUser, conversation_id: int) -> ProblemFacts:
    """A conversation the user may work on (NotFound otherwise): the buyer's latest texts and
    the SKUs of its newest after-sales case, else of the newest order it mentions."""
    actor = acting_member(user)
    try:
        facts = conversation_facts(actor, conversation_id)
        shop_id, time_zone, texts, order_id = (
            facts.shop_account_id,
            facts.shop_time_zone,
            facts.buyer_texts,
            facts.order_id,
        )
    except DecryptionError:
        # A value that cannot be decrypted (a copied ciphertext, a lost key): no words to
        # suggest from, never a failed resolve or header.
        ref = conversation_ref(user, conversation_id)
        shop_id, texts, order_id = ref.shop_account_id, (), None
        time_zone = (
            ShopAccount.objects.filter(id=shop_id).values_list("time_zone", flat=True).first()
            or "UTC"
        )
    skus: list[str] = []
    for lines in (
        AfterSalesCase.objects.filter(conversation_id=conversation_id)
        .order_by("-platform_created_at", "-id")
        .values_list("lines", flat=True)[:3]
    ):
        skus += [s for s in _case_skus(lines) if s not in skus]
    for sku in _order_skus(shop_id, order_id):
        if sku not in skus:
            skus.append(sku)
    return ProblemFacts(
        organisation_id=actor.organisation_id,
        shop_account_id=shop_id,
        shop_time_zone=time_zone,
        buyer_texts=texts,
        reason_code="",
        skus=tuple(skus),
    )


def case_problem_facts(case: AfterSalesCase) -> ProblemFacts:
    """A closed case as the platform stored it (no acting user: the case's own stage change
    asks): the buyer's reason, the platform's reason code, the SKUs of its lines (else of its
    order)."""
    time_zone = (
        ShopAccount.objects.filter(id=case.shop_account_id)
        .values_list("time_zone", flat=True)
        .first()
    )
    skus = _case_skus(case.lines) or _order_skus(case.shop_account_id, case.order_platform_id)
    try:
        reason = case.buyer_reason if isinstance(case.buyer_reason, str) else ""
    except DecryptionError:
        reason = ""
    return ProblemFacts(
        organisation_id=case.organisation_id,
        shop_account_id=case.shop_account_id,
        shop_time_zone=time_zone or "UTC",
        buyer_texts=(reason,) if reason else (),
        reason_code=case.reason_code,
        skus=tuple(skus),
    )


def problem_shop_ids(user: AnyUser) -> list[int]:
    """The shops whose problem log the user may read: supervisors and admins every shop of
    their organisation; agents none (the log and its report are the supervisors')."""
    from inbox.selectors.accounts import member_for

    if not member_for(user).sees_all_shops:
        return []
    return list(shop_account_list(user).values_list("id", flat=True))


def conversation_shop(user: AnyUser, conversation_id: int) -> int | None:
    """The shop of a conversation the user may work on, or None."""
    return (
        Conversation.objects.filter(
            id=conversation_id, shop_account_id__in=shop_account_list(user).values("id")
        )
        .values_list("shop_account_id", flat=True)
        .first()
    )
