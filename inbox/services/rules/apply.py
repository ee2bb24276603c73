"""Applying the enabled rules to a case that arrived or changed.

Invariants kept here:
- a rule acts on a request waiting for the seller's first answer (``REQUEST_STATUSES``, not in
  arbitration) that arrived or changed after the rule was enabled; the organisation's enabled
  rules are tried in order and the first that matches acts (first match);
- never twice: rules act on a case once, whichever rule — the case's one ``RuleApplication``
  row is written in the transaction of the actions, under the case's row lock, after checking
  the case has none (and its unique constraint on the case holds if that were ever bypassed).
  A rule enabled later, or one that matches once the case has changed, leaves a case another
  rule acted on (or left to a person) alone: the buyer never gets a second automatic answer.
  The decision also carries the idempotency key ``rule-<id>``, so even a replayed decision is
  the first one;
- every action goes through the service a person's would (checks, sensitive-word screening,
  audit, outbox), with the rule as the actor (``actor.RuleActor``), and the application is
  audited as ``after_sales_rule.applied``;
- a reply the monitor blocks, a quick reply that cannot be filled, a decision the case does
  not allow or a case a person is already deciding: nothing of the rule's actions is done (one
  transaction), the case is left to a person (``to_person`` with the reason's code, assigned to
  the rule's assignee when it has one, else in the shared queue where it already is), and the
  blocked reply's violation is kept for the supervisors;
- platform I/O (opening the buyer's conversation) happens before the transaction; a buyer not
  known yet is tried again later (``RulesRetry``), nothing written.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from inbox.models import (
    AfterSalesCase,
    AfterSalesDecision,
    AfterSalesRule,
    CaseStage,
    Conversation,
    RuleApplication,
    RuleOutcome,
    ShopAccount,
)
from inbox.platforms.base import PlatformError
from inbox.selectors.accounts import AnyUser
from inbox.services.aftersales_options import ARBITRATION_OPEN
from inbox.services.rules.actor import rule_actor
from inbox.services.rules.conditions import (
    REQUEST_STATUSES,
    BuyerHistory,
    facts_of,
    needs_history,
    rule_matches,
)
from inbox.services.rules.decisions import rule_decision_name
from monitoring.audit import audit_record
from monitoring.models.words import SendSource
from monitoring.services.send_screening import blocked_send_recorded
from scrm.api import ServiceError

logger = logging.getLogger(__name__)

CATCH_UP_WINDOW = timedelta(hours=1)  # cases changed this recently are looked at again
CATCH_UP_LIMIT = 500


class RulesRetry(Exception):
    """The rule cannot act yet (the buyer's conversation is not known): try again later."""


def case_awaits_rules(case: AfterSalesCase) -> bool:
    """Whether the case is a request waiting for the seller's first answer."""
    return (
        case.stage == CaseStage.NEEDS_DECISION
        and case.platform_status in REQUEST_STATUSES
        and case.arbitration_status not in ARBITRATION_OPEN
    )


def _enabled_rules(organisation_id: int) -> list[AfterSalesRule]:
    return list(
        AfterSalesRule.objects.filter(organisation_id=organisation_id, is_enabled=True).order_by(
            "position", "id"
        )
    )


def rule_first_match(case: AfterSalesCase, rules: list[AfterSalesRule]) -> AfterSalesRule | None:
    """The first enabled rule (of ``rules``, in order) that matches the case as it is now."""
    counts = (0, 0)
    if case.customer_id is not None and any(needs_history(r) for r in rules):
        zone = ShopAccount.objects.values_list("time_zone", flat=True).get(id=case.shop_account_id)
        history = BuyerHistory(case.organisation_id, [case.customer_id])
        counts = history.counts(case.customer_id, case.platform_created_at, zone)
    facts = facts_of(case, counts)
    for rule in rules:
        if rule.enabled_at is not None and case.updated_at < rule.enabled_at:
            continue  # came before the rule: the dry run showed it, the rule leaves it
        if rule_matches(rule, facts):
            return rule
    return None


def _conversation_id(rule: AfterSalesRule, actor: AnyUser, case: AfterSalesCase) -> int | None:
    """The buyer's conversation when an action needs one (opened through the platform if
    needed: before any transaction)."""
    if not (rule.quick_reply_id or rule.assign_to_id or rule.tag or rule.note):
        return None
    from inbox.services.aftersales_decisions import case_conversation_ensure

    try:
        return case_conversation_ensure(user=actor, case_id=case.id).id
    except ServiceError as exc:
        if exc.code == "buyer_unknown":
            raise RulesRetry(exc.code) from None
        raise


def rules_apply(*, case_id: int) -> RuleApplication | None:
    """Try the organisation's enabled rules on one case (see the module's invariants);
    returns the application written, or None when no rule acts (now or ever again)."""
    case = AfterSalesCase.objects.filter(id=case_id).first()
    if case is None or not case_awaits_rules(case):
        return None
    rule = rule_first_match(case, _enabled_rules(case.organisation_id))
    if rule is None or RuleApplication.objects.filter(case_id=case.id).exists():
        return None
    actor = rule_actor(rule)
    try:
        conversation_id = _conversation_id(rule, actor, case)
    except ServiceError as exc:
        return _left_to_person(rule, actor, case.id, None, exc.code)
    with blocked_send_recorded():
        try:
            return _apply(rule, actor, case.id, conversation_id)
        except ServiceError as exc:  # SendBlocked included: nothing of the rule's was done
            reason = exc.code
    return _left_to_person(rule, actor, case.id, conversation_id, reason)


def _reply_text(rule: AfterSalesRule, actor: AnyUser, conversation_id: int | None) -> str:
    if not rule.quick_reply_id or conversation_id is None:
        return ""
    from templates_app.selectors import quick_reply_render

    shop_name = (
        Conversation.objects.filter(id=conversation_id)
        .values_list("shop_account__name", flat=True)
        .first()
    )
    _reply, _facts, rendered = quick_reply_render(
        actor,
        quick_reply_id=rule.quick_reply_id,
        conversation_id=conversation_id,
        values={"agent_name": shop_name or ""},
    )
    return rendered.text


def _decide(
    rule: AfterSalesRule, actor: AnyUser, case: AfterSalesCase, text: str
) -> AfterSalesDecision:
    from inbox.services.aftersales_decisions import after_sales_decide

    name = rule_decision_name(case.family, case.platform_status, case.platform_type, rule.decision)
    if not name:
        raise ServiceError("No such decision for this case.", code="decision_not_possible")
    return after_sales_decide(
        user=actor,
        case_id=case.id,
        verb=rule.decision,
        decision=name,
        reject_reason=rule.reject_reason,
        message_text=text,
        idempotency_key=f"rule-{rule.id}",
    )


@transaction.atomic
def _apply(
    rule: AfterSalesRule, actor: AnyUser, case_id: int, conversation_id: int | None
) -> RuleApplication | None:
    from inbox.services.conversations import conversation_assign, conversation_tag, note_add
    from inbox.services.replies import message_send

    case = AfterSalesCase.objects.select_for_update().get(id=case_id)
    if not case_awaits_rules(case) or RuleApplication.objects.filter(case=case).exists():
        return None
    text = _reply_text(rule, actor, conversation_id)
    application = RuleApplication.objects.create(
        organisation_id=case.organisation_id,
        rule=rule,
        case=case,
        rule_version=rule.version,
        outcome=RuleOutcome.APPLIED,
    )
    actions: list[str] = []
    if rule.decision:
        application.decision = _decide(rule, actor, case, text)
        actions += ["decision", "reply"] if text else ["decision"]
    elif text and conversation_id is not None:
        message_send(
            actor=actor,
            conversation_id=conversation_id,
            text=text,
            idempotency_key=f"rule-{rule.id}-case-{case.id}",
            source=SendSource.AUTOMATIC,
        )
        actions.append("reply")
    if conversation_id is not None:
        if rule.assign_to_id:
            conversation_assign(
                actor=actor, conversation_id=conversation_id, assignee_id=rule.assign_to_id
            )
            actions.append("assign")
        if rule.tag:
            conversation_tag(
                actor=actor, conversation_id=conversation_id, add=[rule.tag], remove=[]
            )
            actions.append("tag")
        if rule.note:
            note_add(actor=actor, conversation_id=conversation_id, text=rule.note)
            actions.append("note")
    application.actions = actions
    application.save(update_fields=["actions", "decision"])
    _audit(actor, rule, case, application, "after_sales_rule.applied", {"actions": actions})
    return application


@transaction.atomic
def _left_to_person(
    rule: AfterSalesRule, actor: AnyUser, case_id: int, conversation_id: int | None, reason: str
) -> RuleApplication | None:
    from inbox.services.conversations import conversation_assign

    case = AfterSalesCase.objects.select_for_update().get(id=case_id)
    if RuleApplication.objects.filter(case=case).exists():
        return None
    application = RuleApplication.objects.create(
        organisation_id=case.organisation_id,
        rule=rule,
        case=case,
        rule_version=rule.version,
        outcome=RuleOutcome.TO_PERSON,
        reason=(reason or "refused")[:40],
    )
    if rule.assign_to_id and conversation_id is not None:
        try:
            with transaction.atomic():
                conversation_assign(
                    actor=actor, conversation_id=conversation_id, assignee_id=rule.assign_to_id
                )
            application.actions = ["assign"]
            application.save(update_fields=["actions"])
        except ServiceError as exc:
            logger.info("rule %s could not assign case %s: %s", rule.id, case.id, exc.code)
    _audit(actor, rule, case, application, "after_sales_rule.left_to_person", {"reason": reason})
    return application


def _audit(
    actor: AnyUser,
    rule: AfterSalesRule,
    case: AfterSalesCase,
    application: RuleApplication,
    action: str,
    extra: dict,
) -> None:
    audit_record(
        organisation_id=case.organisation_id,
        actor=actor,
        action=action,
        shop_account_id=case.shop_account_id,
        target=application,
        data={"rule_id": rule.id, "version": rule.version, "case_id": case.id, **extra},
    )


def rules_catch_up() -> int:
    """Apply the rules to the requests that changed in the last hour and no rule acted on yet
    (a lost task, a worker restart); returns how many applications were written."""
    since = timezone.now() - CATCH_UP_WINDOW
    organisations = set(
        AfterSalesRule.objects.filter(is_enabled=True).values_list("organisation_id", flat=True)
    )
    if not organisations:
        return 0
    ids = list(
        AfterSalesCase.objects.filter(
            organisation_id__in=organisations,
            stage=CaseStage.NEEDS_DECISION,
            platform_status__in=REQUEST_STATUSES,
            updated_at__gte=since,
            rule_applications__isnull=True,
        )
        .order_by("updated_at", "id")
        .values_list("id", flat=True)[:CATCH_UP_LIMIT]
    )
    written = 0
    for case_id in ids:
        try:
            written += rules_apply(case_id=case_id) is not None
        except (RulesRetry, PlatformError) as exc:  # the next sweep tries again
            logger.info("rules not applied to case %s yet: %s", case_id, type(exc).__name__)
    return written
