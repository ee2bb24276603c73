"""Writes of the problem log: a record at each resolve and each case's close, a person's edit,
the organisation's setting, and the trend rules. Each is keyword-only, transactional, audited
(``monitoring.audit.audit_record``: ids, enumerated values and SKUs; never the buyer's words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox.selectors.accounts import AnyUser, member_for, shop_account_list
from inbox.selectors.for_problems import (
    ProblemFacts,
    case_problem_facts,
    conversation_problem_facts,
)
from monitoring.audit import audit_record
from monitoring.audit_log.address import request_address
from monitoring.models.problems import (
    IssueType,
    ProblemRecord,
    ProblemSettings,
    ProblemSource,
    TrendKind,
    TrendRule,
)
from monitoring.problems.suggest import KEYWORDS, fold, issue_type_suggest
from monitoring.sla.calendar import time_zone_or_utc
from scrm.api import Forbidden, NotFound, ServiceError

QUOTE_MAX = 300  # characters of the buyer's words kept
SKU_MAX = 128
ISSUE_TYPES = frozenset(IssueType.values)


def issue_choice_check(issue_type: str | None, sku: str | None) -> None:
    """An agent's issue type and SKU, checked before anything is read (400 ``invalid``)."""
    if issue_type is not None and issue_type not in ISSUE_TYPES:
        raise ServiceError(
            _("Unknown issue type."), code="invalid", details={"issue_type": issue_type[:40]}
        )
    if sku is not None and (len(sku) > SKU_MAX or "\x00" in sku):
        raise ServiceError(_("An SKU is at most 128 characters."), code="invalid")


def require_issue_type(organisation_id: int) -> bool:
    """Whether the organisation's supervisors made the issue type required at resolve."""
    return ProblemSettings.objects.filter(
        organisation_id=organisation_id, require_issue_type=True
    ).exists()


def _local_date(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(time_zone_or_utc(time_zone))).date()


def _quote(texts: tuple[str, ...], issue_type: str) -> str:
    """The buyer's words kept: the newest text with one of the type's keywords, else the
    newest text; at most ``QUOTE_MAX`` characters."""
    words = [fold(w) for w in KEYWORDS.get(issue_type, ())]
    for text in texts:
        folded = fold(text)
        if any(w in folded for w in words):
            return text.strip()[:QUOTE_MAX]
    return texts[0].strip()[:QUOTE_MAX] if texts else ""


def _upsert(
    *,
    facts: ProblemFacts,
    source: str,
    subject: dict[str, int],
    issue_type: str | None,
    sku: str | None,
    actor: AnyUser | None,
) -> tuple[ProblemRecord, bool]:
    suggested = issue_type_suggest(facts.buyer_texts, facts.reason_code)
    suggested_sku = facts.skus[0] if facts.skus else ""
    chosen = issue_type or suggested
    now = timezone.now()
    record = ProblemRecord.objects.select_for_update().filter(**subject).first()
    created = record is None
    if record is None:
        record = ProblemRecord(
            organisation_id=facts.organisation_id,
            shop_account_id=facts.shop_account_id,
            source=source,
            **subject,
        )
    elif record.set_by_id is not None and issue_type is None and sku is None:
        # Resolved again without a choice: a person's earlier choice stands.
        chosen, sku = record.issue_type, record.sku
    record.issue_type = chosen
    record.sku = (sku if sku is not None else suggested_sku).strip()[:SKU_MAX]
    record.suggested_type, record.suggested_sku = suggested, suggested_sku
    record.quote = _quote(facts.buyer_texts, chosen)
    if issue_type is not None or sku is not None:
        record.set_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    record.recorded_at = now
    record.local_date = _local_date(now, facts.shop_time_zone)
    record.save()
    return record, created


def problem_record_at_resolve(
    *, actor: AnyUser, conversation_id: int, issue_type: str | None, sku: str | None
) -> ProblemRecord:
    """The problem of a conversation the actor just resolved (inbox's
    ``conversation_set_status`` calls it, in its transaction, after the move).

    Keeps: ``issue_type``/``sku`` None take the suggestion (a person's earlier choice stands
    on a later resolve); where the organisation requires it, no issue type is a 400
    ``issue_type_required`` that rolls the resolve back; one record per conversation; audited
    as ``problem.recorded`` (the type, the SKU, whether suggested)."""
    issue_choice_check(issue_type, sku)
    facts = conversation_problem_facts(actor, conversation_id)
    if issue_type is None and require_issue_type(facts.organisation_id):
        raise ServiceError(
            _("Choose an issue type to resolve this conversation."),
            code="issue_type_required",
            details={"conversation_id": conversation_id},
        )
    record, _created = _upsert(
        facts=facts,
        source=ProblemSource.CONVERSATION,
        subject={"conversation_id": conversation_id},
        issue_type=issue_type,
        sku=sku,
        actor=actor,
    )
    audit_record(
        organisation_id=facts.organisation_id,
        actor=actor,
        action="problem.recorded",
        shop_account_id=facts.shop_account_id,
        ip=request_address(),
        target=record,
        data={
            "conversation_id": conversation_id,
            "issue_type": record.issue_type,
            "sku": record.sku,
            "suggested": issue_type is None,
        },
    )
    return record


def problem_record_for_case(*, case: object) -> ProblemRecord | None:
    """The problem of an after-sales case the platform just closed (``case_stage_changed``,
    in the case's transaction): the suggestion from the buyer's reason and the platform's
    reason code, once per case (a case closed again keeps its record). Audited without an
    actor."""
    from inbox.models import AfterSalesCase

    if not isinstance(case, AfterSalesCase):
        return None
    if ProblemRecord.objects.filter(case_id=case.pk).exists():
        return None
    facts = case_problem_facts(case)
    record, _created = _upsert(
        facts=facts,
        source=ProblemSource.CASE,
        subject={"case_id": case.pk},
        issue_type=None,
        sku=None,
        actor=None,
    )
    audit_record(
        organisation_id=facts.organisation_id,
        actor=None,
        action="problem.recorded",
        shop_account_id=facts.shop_account_id,
        target=record,
        data={"case_id": case.pk, "issue_type": record.issue_type, "sku": record.sku},
    )
    return record


def _record_for(actor: AnyUser, problem_id: int) -> ProblemRecord:
    record = (
        ProblemRecord.objects.select_for_update()
        .filter(id=problem_id, shop_account_id__in=shop_account_list(actor).values("id"))
        .first()
    )
    if record is None:
        raise NotFound("Problem not found.")
    return record


@transaction.atomic
def problem_update(
    *, actor: AnyUser, problem_id: int, issue_type: str | None, sku: str | None
) -> ProblemRecord:
    """A person corrects a record's issue type or SKU (anyone who works on its shop).
    Keeps: a record of a shop outside reach is NotFound; audited as ``problem.updated``."""
    issue_choice_check(issue_type, sku)
    record = _record_for(actor, problem_id)
    before = {"issue_type": record.issue_type, "sku": record.sku}
    if issue_type is not None:
        record.issue_type = issue_type
    if sku is not None:
        record.sku = sku.strip()
    record.set_by_id = actor.pk
    record.save(update_fields=["issue_type", "sku", "set_by"])
    audit_record(
        organisation_id=record.organisation_id,
        actor=actor,
        action="problem.updated",
        shop_account_id=record.shop_account_id,
        ip=request_address(),
        target=record,
        data={"from": before, "to": {"issue_type": record.issue_type, "sku": record.sku}},
    )
    return record


def problem_quotes_erase(*, conversation_ids: Iterable[int], case_ids: Iterable[int]) -> int:
    """Empty the buyer's words kept on the problem records of these conversations and cases (a
    buyer's erasure, inside its transaction); the records stay, with their issue type, SKU and
    day, for the weekly report's counts and the trends. Returns how many were emptied."""
    subject = Q(conversation_id__in=list(conversation_ids)) | Q(case_id__in=list(case_ids))
    return ProblemRecord.objects.filter(subject).exclude(quote="").update(quote="")


def _supervisor(actor: AnyUser) -> int:
    """The organisation of a supervisor or admin; anyone else: NotFound (the pages are theirs)."""
    member = member_for(actor)
    if not member.sees_all_shops:
        raise NotFound("Page not found.")
    return member.organisation_id


@transaction.atomic
def problem_settings_set(*, actor: AnyUser, require_issue_type: bool) -> ProblemSettings:
    """Turn "an issue type is required at resolve" on or off for the organisation
    (supervisors and admins); audited as ``problem.settings_changed``."""
    organisation_id = _supervisor(actor)
    found, _created = ProblemSettings.objects.select_for_update().get_or_create(
        organisation_id=organisation_id
    )
    before = found.require_issue_type
    found.require_issue_type = bool(require_issue_type)
    found.save()
    audit_record(
        organisation_id=organisation_id,
        actor=actor,
        action="problem.settings_changed",
        ip=request_address(),
        target=found,
        data={"require_issue_type": {"from": before, "to": found.require_issue_type}},
    )
    return found


_NUMBER = re.compile(r"^\d{1,2}(\.\d{1,2})?$")


def _rule_values(kind: str, days: object, factor: object, min_count: object) -> dict:
    if kind not in TrendKind.values:
        raise ServiceError(_("Unknown kind of trend."), code="invalid", details={"kind": "unknown"})
    try:
        days_n, count_n = int(str(days)), int(str(min_count))
        factor_d = Decimal(str(factor)) if _NUMBER.match(str(factor)) else Decimal("0")
    except (ValueError, InvalidOperation):
        raise ServiceError(_("Days, factor and count must be numbers."), code="invalid") from None
    if not 2 <= days_n <= 14:
        raise ServiceError(_("Days in a row: 2 to 14."), code="invalid", details={"days": days_n})
    if not Decimal("1.1") <= factor_d <= Decimal("20"):
        raise ServiceError(_("The factor is between 1.1 and 20."), code="invalid")
    if not 1 <= count_n <= 1000:
        raise ServiceError(_("The least count is between 1 and 1000."), code="invalid")
    return {"days": days_n, "factor": factor_d, "min_count": count_n}


@transaction.atomic
def trend_rule_add(
    *,
    actor: AnyUser,
    kind: str,
    shop_account_id: int | None,
    days: object = 3,
    factor: object = "2",
    min_count: object = 3,
) -> TrendRule:
    """A trend alert rule of the organisation (supervisors and admins), for one shop or all.
    Keeps: a shop outside the organisation is NotFound; bad figures are a 400."""
    organisation_id = _supervisor(actor)
    values = _rule_values(kind, days, factor, min_count)
    if shop_account_id is not None and not (
        shop_account_list(actor).filter(id=shop_account_id).exists()
    ):
        raise NotFound("Shop account not found.")
    rule = TrendRule.objects.create(
        organisation_id=organisation_id,
        shop_account_id=shop_account_id,
        kind=kind,
        created_by_id=actor.pk,
        **values,
    )
    _rule_audit(actor, rule, "trend_rule.added")
    return rule


def _rule_get(actor: AnyUser, rule_id: int) -> TrendRule:
    organisation_id = _supervisor(actor)
    rule = (
        TrendRule.objects.select_for_update()
        .filter(id=rule_id, organisation_id=organisation_id)
        .first()
    )
    if rule is None:
        raise NotFound("Rule not found.")
    return rule


@transaction.atomic
def trend_rule_set_active(*, actor: AnyUser, rule_id: int, is_active: bool) -> TrendRule:
    """Pause or resume a rule (supervisors and admins of its organisation)."""
    rule = _rule_get(actor, rule_id)
    rule.is_active = bool(is_active)
    rule.save(update_fields=["is_active"])
    _rule_audit(actor, rule, "trend_rule.resumed" if rule.is_active else "trend_rule.paused")
    return rule


@transaction.atomic
def trend_rule_delete(*, actor: AnyUser, rule_id: int) -> None:
    """Delete a rule and the trends it found (their alerts stay in the bells, without it)."""
    rule = _rule_get(actor, rule_id)
    _rule_audit(actor, rule, "trend_rule.deleted")
    rule.delete()


def _rule_audit(actor: AnyUser, rule: TrendRule, action: str) -> None:
    if not actor.is_authenticated:
        raise Forbidden("Authentication required.")
    audit_record(
        organisation_id=rule.organisation_id,
        actor=actor,
        action=action,
        shop_account_id=rule.shop_account_id,
        ip=request_address(),
        target=rule,
        data={
            "rule_id": rule.id,
            "kind": rule.kind,
            "days": rule.days,
            "factor": str(rule.factor),
            "min_count": rule.min_count,
        },
    )
