"""Creating, editing, enabling and disabling after-sales rules (supervisors and admins).

Invariants kept here:
- bad input is a 400 naming the field, nothing stored; a rule needs an action, and a rule that
  decides needs a condition on the case itself (kind, reason, amount, SKU or buyer history):
  a rule approving every request of a shop is refused;
- every edit makes a new version; an enabled rule that is edited is disabled (its dry run no
  longer describes it) and must be dry-run and confirmed again;
- enabling needs a dry run of the current version (409 ``dry_run_required``) and the
  supervisor's confirmation that an automatic decision cannot be taken back on the platform
  (400 ``confirm_required``);
- every change is audited (ids and enumerated values: a rule holds no buyer data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.models import AfterSalesRule, Member, RuleDecision, ShopAccount
from inbox.selectors.accounts import AnyUser
from inbox.selectors.rules import rule_dry_run_latest, rule_get_for_supervisor, supervisor_for
from inbox.services.rules.parsing import RuleInput, rule_input_parse
from monitoring.audit import audit_record
from scrm.api import Conflict, ServiceError

CONDITION_FIELDS = (
    "shop_account_ids",
    "kinds",
    "reason_codes",
    "reason_words",
    "amount_min",
    "amount_max",
    "currency",
    "skus",
    "refunds_month_min",
    "refunds_ever_min",
)
ACTION_FIELDS = ("decision", "reject_reason", "assign_to_id", "tag", "quick_reply_id", "note")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", details={"field": field, field: [message]})


def _check_references(member: Member, actor: AnyUser, data: RuleInput) -> None:
    """Shops of the organisation, an active assignee of it, a shared quick reply it may use."""
    if data.shop_account_ids:
        known = set(
            ShopAccount.objects.filter(
                organisation_id=member.organisation_id, id__in=data.shop_account_ids
            ).values_list("id", flat=True)
        )
        if known != set(data.shop_account_ids):
            raise _invalid("shop_account_ids", gettext_noop("Unknown shop account."))
    if (
        data.assign_to_id is not None
        and not Member.objects.filter(
            organisation_id=member.organisation_id,
            user_id=data.assign_to_id,
            user__is_active=True,
        ).exists()
    ):
        raise _invalid("assign_to", gettext_noop("That person is not an active member."))
    if data.quick_reply_id is not None:
        from templates_app.selectors import quick_reply_get

        try:
            reply = quick_reply_get(actor, data.quick_reply_id)
        except ServiceError:
            reply = None
        if reply is None or reply.is_archived or reply.scope == "personal":
            raise _invalid(
                "quick_reply",
                gettext_noop("Choose a shared (team or organisation) quick reply."),
            )


def _check_shape(data: RuleInput) -> None:
    if not (data.decision or data.assign_to_id or data.tag or data.quick_reply_id or data.note):
        raise _invalid("decision", gettext_noop("A rule needs at least one action."))
    case_conditions = (
        data.kinds
        or data.reason_codes
        or data.reason_words
        or data.amount_min is not None
        or data.amount_max is not None
        or data.skus
        or data.refunds_month_min is not None
        or data.refunds_ever_min is not None
    )
    if data.decision and not case_conditions:
        raise _invalid(
            "kinds",
            gettext_noop(
                "A rule that decides needs a condition on the case (type, reason, amount, SKU "
                "or the buyer's history)."
            ),
        )
    if data.decision == RuleDecision.REJECT and not data.reject_reason:
        raise _invalid("reject_reason", gettext_noop("Choose the reason for the reject."))


def _values(data: RuleInput) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in (*CONDITION_FIELDS, *ACTION_FIELDS)}
    values["name"] = data.name
    if data.decision != RuleDecision.REJECT:
        values["reject_reason"] = ""
    return values


@transaction.atomic
def rule_create(*, actor: AnyUser, data: Mapping[str, Any]) -> AfterSalesRule:
    """A new rule, disabled, tried after the organisation's existing ones unless a position
    is given."""
    member = supervisor_for(actor)
    parsed = rule_input_parse(data)
    _check_shape(parsed)
    _check_references(member, actor, parsed)
    position = parsed.position
    if position is None:
        last = AfterSalesRule.objects.filter(organisation_id=member.organisation_id).aggregate(
            m=Max("position")
        )["m"]
        position = 0 if last is None else last + 1
    rule = AfterSalesRule.objects.create(
        organisation_id=member.organisation_id,
        position=position,
        created_by_id=actor.pk,
        **_values(parsed),
    )
    _audit(actor, rule, "after_sales_rule.created", {})
    return rule


@transaction.atomic
def rule_update(*, actor: AnyUser, rule_id: int, data: Mapping[str, Any]) -> AfterSalesRule:
    """Replace the rule's conditions and actions: a new version, disabled if it was enabled."""
    member = supervisor_for(actor)
    rule = rule_get_for_supervisor(actor, rule_id)
    rule = AfterSalesRule.objects.select_for_update().get(id=rule.id)
    parsed = rule_input_parse(data)
    _check_shape(parsed)
    _check_references(member, actor, parsed)
    was_enabled = rule.is_enabled
    for name, value in _values(parsed).items():
        setattr(rule, name, value)
    if parsed.position is not None:
        rule.position = parsed.position
    rule.version += 1
    rule.is_enabled = False
    rule.enabled_at = None
    rule.save()
    _audit(actor, rule, "after_sales_rule.updated", {"disabled": was_enabled})
    return rule


@transaction.atomic
def rule_enable(*, actor: AnyUser, rule_id: int, confirm: bool) -> AfterSalesRule:
    """Enable the rule: needs a dry run of this version and the supervisor's confirmation
    that automatic decisions cannot be taken back on the platform."""
    rule = rule_get_for_supervisor(actor, rule_id)
    rule = AfterSalesRule.objects.select_for_update().get(id=rule.id)
    if rule.is_enabled:
        return rule
    latest = rule_dry_run_latest(rule)
    if latest is None or latest.rule_version != rule.version:
        raise Conflict(
            gettext_noop("Run a dry run of this version of the rule before enabling it."),
            code="dry_run_required",
        )
    if not confirm:
        raise ServiceError(
            gettext_noop(
                "Confirm that a decision this rule takes cannot be taken back on the platform."
            ),
            code="confirm_required",
            details={"field": "confirm"},
        )
    rule.is_enabled = True
    rule.enabled_at = timezone.now()
    rule.save(update_fields=["is_enabled", "enabled_at", "updated_at"])
    _audit(actor, rule, "after_sales_rule.enabled", {"dry_run_id": latest.id})
    return rule


@transaction.atomic
def rule_disable(*, actor: AnyUser, rule_id: int) -> AfterSalesRule:
    """Disable the rule (what it already did stays done)."""
    rule = rule_get_for_supervisor(actor, rule_id)
    rule = AfterSalesRule.objects.select_for_update().get(id=rule.id)
    if not rule.is_enabled:
        return rule
    rule.is_enabled = False
    rule.enabled_at = None
    rule.save(update_fields=["is_enabled", "enabled_at", "updated_at"])
    _audit(actor, rule, "after_sales_rule.disabled", {})
    return rule


def _audit(actor: AnyUser, rule: AfterSalesRule, action: str, extra: dict[str, Any]) -> None:
    audit_record(
        organisation_id=rule.organisation_id,
        actor=actor,
        action=action,
        target=rule,
        data={"rule_id": rule.id, "version": rule.version, "decision": rule.decision, **extra},
    )
