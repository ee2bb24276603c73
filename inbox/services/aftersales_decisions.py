"""Deciding after-sales cases: an agent approves or rejects a return or cancellation through
the platform, by the outbox (kind ``after_sales_decision``).

Invariants kept here:
- access as for conversations: a case of a shop the user does not work on is a 404;
- a case our stored state shows moved on (not needing a decision, cancelled by the buyer, in
  arbitration, decided, or with a decision still in flight) is refused at once: 409
  ``case_moved_on`` naming the state; a decision the case's kind and status do not allow, a
  reject without a reason, a partial refund above the paid amount or not above 0: 400 naming
  the field;
- the same client idempotency key on the same case is the first decision (no second action);
- each decision is one row and one outbox action (params: ids and choices, never the
  comment), audited, in one transaction with the optional message to the buyer (the reply
  outbox, to the case's conversation); the platform's idempotency key is derived from the
  decision's id, so every attempt of it is the same decision on the platform;
- before a retry the handler reads the case from the platform and adopts a decision that
  already took; a platform refusal fails the action with the platform's reason and refreshes
  the case; every state of the action is published as ``case.updated``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from inbox.models import (
    OPEN_STATES,
    AfterSalesCase,
    AfterSalesDecision,
    OutboxAction,
    OutboxState,
    ShopAccount,
)
from inbox.payloads_aftersales import DECISION_KIND
from inbox.platforms.base import DecisionRequest, PlatformError, ShopApi
from inbox.selectors.accounts import AnyUser, shop_connected
from inbox.selectors.aftersales import case_get
from inbox.services.aftersales_links import case_conversation_ensure, case_event_publish
from inbox.services.aftersales_options import (
    MOVED_ON_MESSAGES,
    NOT_OURS_ALONE,
    RESULTS,
    DecisionOption,
    case_decision_options,
    decision_allowed,
    moved_on_state,
)
from inbox.services.outbox import outbox_enqueue, required_id
from inbox.services.outbox_kinds import ShopHandler
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from monitoring.models.words import SendSource
from monitoring.services.send_screening import blocked_send_recorded, screen_send
from scrm.api import Conflict, ServiceError

logger = logging.getLogger(__name__)

__all__ = [
    "DECISION_KIND",
    "DecisionDelivery",
    "DecisionOption",
    "after_sales_decide",
    "case_conversation_ensure",
    "case_decision_options",
    "case_reject_reasons",
    "platform_idempotency_key",
]

MAX_COMMENT = 500  # the platform's limits on a reject (docs/platforms/tiktok-shop.md §4)
MAX_IMAGES = 6
REASONS_CACHE_SECONDS = 300
# Our interface languages -> the platform's locales.
LOCALES = {"zh-hans": "zh-CN", "zh": "zh-CN", "en": "en-US"}


def platform_idempotency_key(decision_id: int) -> str:
    """The key every attempt of a decision sends: the platform takes it once."""
    return f"scrm-decision-{decision_id}"


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={"field": field, field: [message]})


def _amount(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise _invalid("partial_refund_amount", _("Enter an amount.")) from None


def _check_state(case: AfterSalesCase) -> None:
    """409 when our stored state shows the case moved on, or a decision is still in flight."""
    state = moved_on_state(case)
    latest = AfterSalesDecision.objects.filter(case=case).order_by("-id").first()
    if not state and latest is not None:
        action_state = (
            OutboxAction.objects.filter(kind=DECISION_KIND, subject_id=latest.id)
            .values_list("state", flat=True)
            .first()
        )
        if action_state in OPEN_STATES:
            state = "decision_in_flight"
        elif (
            action_state == OutboxState.SENT
            and latest.status_seen == case.platform_status
            and case.platform_updated_at <= latest.created_at
        ):
            state = "decided"  # sent, and nothing read from the platform since
    if state:
        raise Conflict(
            str(MOVED_ON_MESSAGES[state]),
            code="case_moved_on",
            details={"state": state, "platform_status": case.platform_status},
        )


def _check_request(
    case: AfterSalesCase,
    *,
    verb: str,
    decision: str,
    reject_reason: str,
    comment: str,
    amount: Decimal | None,
    images: Sequence[dict],
) -> None:
    """400 naming the field for what the case's kind and status, or the platform, refuse."""
    if verb not in ("approve", "reject"):
        raise _invalid("verb", _("Approve or reject."))
    options = {o.name: o for o in case_decision_options(case)}
    if not decision_allowed(case, verb=verb, decision=decision):
        raise ServiceError(
            _("This decision is not possible for this case now."),
            code="invalid",
            details={
                "field": "decision",
                "decision": [_("Not possible for this case now.")],
                "allowed": [n for n, o in options.items() if o.verb == verb],
            },
        )
    option = options[decision]
    if option.takes_reason and not reject_reason.strip():
        raise _invalid("reject_reason", _("Choose a reason for the reject."))
    if option.takes_amount:
        paid = _amount(Decimal(str((case.amounts or {}).get("refund_total") or "0")))
        if amount is None:
            raise _invalid("partial_refund_amount", _("Enter the amount to refund."))
        if amount <= 0 or (paid is not None and amount > paid):
            raise _invalid(
                "partial_refund_amount",
                _("The amount must be above 0 and at most %(paid)s.") % {"paid": paid},
            )
    elif amount is not None:
        raise _invalid("partial_refund_amount", _("This decision takes no amount."))
    if len(comment) > MAX_COMMENT:
        raise _invalid("comment", _("At most %(n)d characters.") % {"n": MAX_COMMENT})
    if len(images) > MAX_IMAGES or not all(
        isinstance(i, dict) and isinstance(i.get("image_id"), str) and i["image_id"] for i in images
    ):
        raise _invalid("images", _("At most 6 images, each with its image_id."))


@blocked_send_recorded()
def after_sales_decide(
    *,
    user: AnyUser,
    case_id: int,
    verb: str,
    decision: str,
    reject_reason: str = "",
    comment: str = "",
    partial_refund_amount: Decimal | None = None,
    images: Sequence[dict] = (),
    message_text: str = "",
    idempotency_key: str = "",
    quick_reply: tuple[int | None, str] = (None, ""),
) -> AfterSalesDecision:
    """Store an agent's decision on a case and queue it to the platform (see the module's
    invariants); returns the decision (the first one for a repeated idempotency key).
    ``quick_reply``: (id, language) of one in the message, counted if sent, as in replies.
    The comment (the platform shows it to the buyer) and the message are screened by the
    sensitive-word monitor as a decision's: a blocked one refuses the whole decision (422
    ``reply_blocked``, nothing stored, the violation kept); a masked comment goes masked."""
    case = case_get(user, case_id)
    key = (idempotency_key or "").strip()[:100]
    if key:
        first = AfterSalesDecision.objects.filter(case=case, idempotency_key=key).first()
        if first is not None:
            return first
    amount = _amount(partial_refund_amount)
    images = list(images)

    def check(target: AfterSalesCase) -> None:
        _check_state(target)
        _check_request(
            target,
            verb=verb,
            decision=decision,
            reject_reason=reject_reason,
            comment=comment,
            amount=amount,
            images=images,
        )

    check(case)
    if not case.shop_account.is_active or not shop_connected(case.shop_account):
        raise Conflict(
            _("This shop account is not connected: connect it to decide."),
            code="shop_not_authorised",
        )
    message_text = message_text.strip()
    conversation = case_conversation_ensure(user=user, case_id=case.id) if message_text else None
    with transaction.atomic():
        locked = AfterSalesCase.objects.select_for_update().get(id=case.id)
        if key:
            first = AfterSalesDecision.objects.filter(case=locked, idempotency_key=key).first()
            if first is not None:
                return first
        check(locked)  # again, under the lock: one decision in flight at a time
        if comment.strip():
            comment = screen_send(
                organisation_id=locked.organisation_id,
                shop_account_id=locked.shop_account_id,
                text=comment,
                source=SendSource.CASE_DECISION,
                actor=user,
                conversation_id=conversation.id if conversation is not None else None,
            ).text
        row = AfterSalesDecision.objects.create(
            organisation_id=locked.organisation_id,
            case=locked,
            author_id=user.pk,
            verb=verb,
            decision=decision,
            reject_reason=reject_reason.strip() if verb == "reject" else "",
            comment=comment,
            partial_refund_amount=amount,
            currency=str((locked.amounts or {}).get("currency") or "")[:8],
            images=[dict(i) for i in images],
            idempotency_key=key,
            status_seen=locked.platform_status,
        )
        outbox_enqueue(
            kind=DECISION_KIND,
            organisation_id=locked.organisation_id,
            shop_account_id=locked.shop_account_id,
            subject_id=row.id,
            params={"case_id": locked.id, "verb": verb, "decision": decision},
        )
        audit_record(
            organisation_id=locked.organisation_id,
            actor=user,
            action="after_sales.decision_submitted",
            shop_account_id=locked.shop_account_id,
            ip=request_address(),
            target=row,
            data={
                "case_id": locked.id,
                "verb": verb,
                "decision": decision,
                "reject_reason": row.reject_reason,
                "with_message": bool(message_text),
            },
        )
        if conversation is not None:
            from inbox.services.replies import message_send

            reply, _created = message_send(
                actor=user,
                conversation_id=conversation.id,
                text=message_text,
                idempotency_key=f"decision-{row.id}",
                quick_reply_id=quick_reply[0],
                quick_reply_language=quick_reply[1][:16],
                source=SendSource.CASE_DECISION,
            )
            row.reply = reply
            row.save(update_fields=["reply"])
        case_event_publish(locked)
    return row


def case_reject_reasons(*, user: AnyUser, case_id: int, language: str) -> list[tuple[str, str]]:
    """The platform's reject reasons for the case now, as (name, text) in ``language`` where
    the platform has it; cached briefly per case, status and locale. 409 when the shop is not
    connected or the platform does not answer (never a 5xx: the form can still be retried)."""
    case = case_get(user, case_id)
    locale = LOCALES.get(language.lower(), LOCALES.get(language.lower()[:2], "en-US"))
    cache_key = f"scrm:reject-reasons:{case.id}:{case.platform_status}:{locale}"
    cached = cache.get(cache_key)
    if cached is not None:
        return [(str(name), str(text)) for name, text in cached]
    if not case.shop_account.is_active or not shop_connected(case.shop_account):
        raise Conflict(_("This shop account is not connected."), code="shop_not_authorised")
    from inbox.services.ingestion import shop_api

    try:
        reasons = shop_api(case.shop_account).reject_reasons(case.platform_case_id, locale=locale)
    except PlatformError as exc:
        raise Conflict(
            _("The platform did not give the reject reasons; try again."),
            code="platform_unavailable",
            details={"platform_code": exc.code},
        ) from None
    pairs = [(r.name, r.text) for r in reasons]
    cache.set(cache_key, pairs, REASONS_CACHE_SECONDS)
    return pairs


# --- delivery --------------------------------------------------------------------------------
class DecisionDelivery(ShopHandler):
    """Send one decision to the platform (its idempotency key makes a repeat harmless there,
    and ``find`` adopts one the platform shows taken before any repeat)."""

    kind = DECISION_KIND
    stale_reason = "Not sent to the platform within a day."

    def prepare(self, action: OutboxAction) -> tuple[AfterSalesDecision, ShopApi]:
        decision = AfterSalesDecision.objects.select_related("case").get(
            id=required_id(action.subject_id, "decision")
        )
        return decision, self.shop_api(action)

    def find(self, action: OutboxAction, prepared: Any, *, since: datetime) -> str | None:
        decision, api = prepared
        case = _refresh(decision, api)
        if case is None or case.platform_status in NOT_OURS_ALONE:
            return None  # sent again with its key: the platform tells whether it took
        if case.platform_status in RESULTS.get(decision.decision, ()):
            return case.platform_status
        return None

    def perform(self, action: OutboxAction, prepared: Any) -> str:
        decision, api = prepared
        case = decision.case
        request = DecisionRequest(
            family=case.family,
            case_id=case.platform_case_id,
            verb=decision.verb,
            decision=decision.decision,
            idempotency_key=platform_idempotency_key(decision.id),
            reject_reason=decision.reject_reason,
            comment=decision.comment,
            images=tuple(decision.images or ()),
            partial_refund_amount=(
                str(decision.partial_refund_amount)
                if decision.partial_refund_amount is not None
                else ""
            ),
            currency=decision.currency,
        )
        try:
            api.decide(request)
        except PlatformError as exc:
            if not exc.retryable:
                _refresh(decision, api)  # our state was stale: show the platform's
            raise
        refreshed = _refresh(decision, api)
        return refreshed.platform_status if refreshed is not None else ""

    def on_sending(self, action: OutboxAction) -> None:
        _publish(action, OutboxState.SENDING, "")

    def on_sent(self, action: OutboxAction, *, result: str, outcome: str) -> None:
        _publish(action, OutboxState.SENT, "")
        audit_record(
            organisation_id=action.organisation_id,
            actor=None,
            action="after_sales.decision_sent",
            shop_account_id=action.shop_account_id,
            target=action,
            data={"decision_id": action.subject_id, "outcome": outcome},
        )

    def on_failed(self, action: OutboxAction, *, reason: str) -> None:
        _publish(action, OutboxState.FAILED, reason)
        audit_record(
            organisation_id=action.organisation_id,
            actor=None,
            action="after_sales.decision_failed",
            shop_account_id=action.shop_account_id,
            target=action,
            data={"decision_id": action.subject_id},
        )

    def on_reopened(self, action: OutboxAction) -> None:
        _publish(action, OutboxState.PENDING, "")


def _refresh(decision: AfterSalesDecision, api: ShopApi) -> AfterSalesCase | None:
    """Read the case from the platform and store it (best effort: None if it did not answer)."""
    from inbox.services.aftersales import after_sales_case_sync

    case = decision.case
    shop = ShopAccount.objects.get(id=case.shop_account_id)
    try:
        return after_sales_case_sync(
            shop=shop, family=case.family, case_id=case.platform_case_id, api=api
        )
    except PlatformError as exc:
        logger.warning("case %s not refreshed: %s code %s", case.id, type(exc).__name__, exc.code)
        return None


def _publish(action: OutboxAction, state: str, reason: str) -> None:
    """``case.updated`` with the action's new state (called before the outbox saves it)."""
    case_id = (action.params or {}).get("case_id")
    case = AfterSalesCase.objects.filter(id=int(case_id or 0)).first()
    if case is not None:
        case_event_publish(case, decision_state=(state, reason))
