"""Reads of the after-sales rules and compensation suggestions, scoped to the acting user.

Rules and suggestions belong to an organisation and are managed by its supervisors and admins:
another organisation's rule is a 404, an agent is refused the rule pages (403: their role may
not use them). Agents read the suggestions for the cases they may see.
"""

from __future__ import annotations

from django.db.models import QuerySet

from inbox.models import (
    AfterSalesCase,
    AfterSalesRule,
    CompensationSuggestion,
    IssueType,
    Member,
    RuleApplication,
    RuleDryRun,
)
from inbox.selectors.accounts import AnyUser, member_for
from scrm.api import Forbidden, NotFound

# The platform's reason codes (and the buyer's words, both languages) -> issue type: the first
# keyword found in the code, else in the words, wins.
ISSUE_KEYWORDS: list[tuple[tuple[str, ...], str]] = [
    (("damag", "broken", "crack", "损坏", "破"), IssueType.DAMAGED),
    (("size", "fit", "尺码", "尺寸"), IssueType.SIZE),
    (("colour", "color", "颜色"), IssueType.COLOUR),
    (("missing", "incomplete", "part", "缺", "少件"), IssueType.MISSING_PART),
    (
        ("not_received", "not received", "late", "delay", "never arrived", "没收到", "迟"),
        IssueType.LATE,
    ),
    (("not_as_described", "wrong", "described", "不符", "错"), IssueType.NOT_AS_DESCRIBED),
]


def supervisor_for(user: AnyUser) -> Member:
    """The acting member, if they manage the organisation's rules (supervisor or admin)."""
    member = member_for(user)
    if not member.sees_all_shops:
        raise Forbidden("Only supervisors and admins manage after-sales rules.")
    return member


def rule_list_for(user: AnyUser) -> QuerySet[AfterSalesRule]:
    """The organisation's rules in the order they are tried."""
    member = supervisor_for(user)
    return AfterSalesRule.objects.filter(organisation_id=member.organisation_id).order_by(
        "position", "id"
    )


def rule_get_for_supervisor(user: AnyUser, rule_id: int) -> AfterSalesRule:
    """One rule of the acting supervisor's organisation, or NotFound."""
    member = supervisor_for(user)
    rule = AfterSalesRule.objects.filter(id=rule_id, organisation_id=member.organisation_id).first()
    if rule is None:
        raise NotFound("Rule not found.")
    return rule


def rule_dry_run_latest(rule: AfterSalesRule) -> RuleDryRun | None:
    return rule.dry_runs.order_by("-created_at", "-id").first()


def rule_applications(rule: AfterSalesRule, *, limit: int = 200) -> list[RuleApplication]:
    """The rule's latest applications, newest first, with their cases (no buyer data)."""
    return list(
        RuleApplication.objects.filter(rule=rule)
        .select_related("case")
        .defer("case__buyer_reason")
        .order_by("-created_at", "-id")[:limit]
    )


def issue_type_of(reason_code: str, words: str = "") -> str:
    """The issue type a case's reason code (else the buyer's words) names."""
    for text in (reason_code.casefold(), words.casefold()):
        for keywords, issue in ISSUE_KEYWORDS:
            if text and any(k in text for k in keywords):
                return str(issue)
    return str(IssueType.OTHER)


def compensation_list_for(user: AnyUser) -> QuerySet[CompensationSuggestion]:
    member = supervisor_for(user)
    return CompensationSuggestion.objects.filter(organisation_id=member.organisation_id).order_by(
        "issue_type", "position", "id"
    )


def compensation_active(organisation_id: int) -> list[CompensationSuggestion]:
    """The organisation's active suggestions, by issue type and order."""
    return list(
        CompensationSuggestion.objects.filter(
            organisation_id=organisation_id, is_active=True
        ).order_by("issue_type", "position", "id")
    )


def compensation_for_case(case: AfterSalesCase) -> list[CompensationSuggestion]:
    """The active suggestions for a case's issue type (the case was read through the acting
    user's selectors: this adds no access of its own)."""
    issue = issue_type_of(case.reason_code, case.buyer_reason or "")
    return list(
        CompensationSuggestion.objects.filter(
            organisation_id=case.organisation_id, issue_type=issue, is_active=True
        ).order_by("position", "id")
    )
