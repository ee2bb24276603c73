"""The SLA tracker's bits shown on other pages: the failing-channels banner for supervisors."""

from __future__ import annotations

from typing import Any

from django import template

from inbox.selectors.accounts import member_for
from monitoring.services.sla_channels import channels_failing
from scrm.api import Forbidden

register = template.Library()


@register.inclusion_tag("monitoring/_failing_banner.html", takes_context=True)
def sla_failing_banner(context: template.Context) -> dict[str, Any]:
    """A banner naming the organisation's alert channels that keep failing, for supervisors
    and admins (nothing for agents, nothing when every channel works). One query."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"failing": []}
    try:
        member = member_for(user)
    except Forbidden:
        return {"failing": []}
    if not member.sees_all_shops:
        return {"failing": []}
    return {"failing": channels_failing(member.organisation_id)}
