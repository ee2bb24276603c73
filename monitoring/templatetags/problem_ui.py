"""The problem log's bit of the conversation header: the issue type and SKU the agent may set
when resolving, with the suggestion from the buyer's words."""

from __future__ import annotations

from typing import Any

from django import template

from inbox.selectors.for_problems import conversation_problem_facts
from monitoring.models.problems import IssueType, ProblemRecord
from monitoring.problems.services import require_issue_type
from monitoring.problems.suggest import issue_type_suggest
from scrm.api import ServiceError

register = template.Library()


@register.inclusion_tag("monitoring/problems/_picker.html", takes_context=True)
def issue_type_picker(context: template.Context, conversation_id: int) -> dict[str, Any]:
    """The picker for a conversation the viewer works on (nothing otherwise): the suggested
    type and SKU, a person's earlier choice when resolved before, whether a type is required."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    try:
        facts = conversation_problem_facts(user, conversation_id)
    except ServiceError:
        return {"show": False}
    earlier = (
        ProblemRecord.objects.filter(conversation_id=conversation_id, set_by__isnull=False)
        .values_list("issue_type", "sku")
        .first()
    )
    suggested = issue_type_suggest(facts.buyer_texts)
    labels = dict(IssueType.choices)
    return {
        "show": True,
        "types": IssueType.choices,
        "suggested": suggested,
        "suggested_label": labels[suggested],
        "chosen": earlier[0] if earlier else "",
        "sku": earlier[1] if earlier else (facts.skus[0] if facts.skus else ""),
        "skus": facts.skus,
        "required": require_issue_type(facts.organisation_id),
    }
