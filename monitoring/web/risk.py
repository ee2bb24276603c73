"""The supervisors' SLA view, ``/sla/risk/``: per shop and per agent, what is at risk now and
what breached today (``monitoring.sla.risk``). Agents get the 404 page, as for anything outside
their reach; the countdowns tick in the browser (``static/monitoring/countdown.js``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inbox.selectors.accounts import member_for
from monitoring.sla.risk import sla_risk_overview
from scrm.pages import signed_in_page

page = signed_in_page("GET", never_cached=True)


@page
def risk_page(request: HttpRequest) -> HttpResponse:
    """At risk now and breached today, per shop and per agent."""
    overview = sla_risk_overview(request.user)
    return render(
        request,
        "monitoring/risk.html",
        {
            "overview": overview,
            "member": member_for(request.user),
            "nav": "sla-risk",
            "now": overview.now,
        },
    )
