"""Template helpers of the after-sales rules: the compensation suggestions on a case card."""

from __future__ import annotations

from typing import Any

from django import template

from inbox.models import AfterSalesCase, CompensationSuggestion
from inbox.selectors.rules import compensation_active, issue_type_of

register = template.Library()


@register.simple_tag(takes_context=True)
def case_compensations(context: Any, case: AfterSalesCase) -> list[CompensationSuggestion]:
    """The suggestions of the case's issue type. The organisation's active suggestions are read
    once per request (a fragment of many cards costs one query), filtered per card. The card's
    case was read through the viewer's selectors: this adds no access of its own."""
    request = context.get("request")
    cache: dict[int, list[CompensationSuggestion]] = (
        getattr(request, "_rules_compensations", None) or {}
    )
    if request is not None:
        request._rules_compensations = cache
    if case.organisation_id not in cache:
        cache[case.organisation_id] = compensation_active(case.organisation_id)
    issue = issue_type_of(case.reason_code, case.buyer_reason or "")
    return [s for s in cache[case.organisation_id] if s.issue_type == issue]
