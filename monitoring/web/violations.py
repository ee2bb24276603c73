"""The supervisors' violation review queue, ``/monitoring/violations/``: the sends the
sensitive-word monitor matched — who, when, which shop and conversation, what the monitor did,
the text with the matched words highlighted — filtered by status, agent, category and shop,
with counts per agent and per category atop; acknowledge, dismiss (then one click adds the
proposed phrase to the allow-list) or escalate each.

Supervisors and admins only (the text is decrypted for them alone): anyone else gets the 404
page. Forms post and come back (no script needed); ``static/monitoring/violations.js`` keeps a
socket and re-reads the list on each live ``violation.flagged`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from inbox.selectors import event_last_id
from inbox.selectors.for_apps import shops_for
from monitoring.models import ViolationStatus, WordCategory
from monitoring.services.violation_review import (
    violation_acknowledge,
    violation_allow,
    violation_dismiss,
    violation_escalate,
)
from monitoring.violation_selectors import (
    ViolationFilters,
    agent_choices,
    allow_phrase_proposal,
    violation_counts,
    violation_get,
    violation_list,
    violation_reviewer,
    violation_segments,
)
from scrm.api import NotFound, ServiceError
from scrm.pages import signed_in_page
from scrm.params import int_param

page = signed_in_page("GET", never_cached=True)
# The review actions post; a GET (a link followed, a reload) is checked like the POST would be
# (404 outside the reviewer's reach) and goes back to the queue, as the channels page does.
action = signed_in_page("GET", "POST", never_cached=True)

PAGE_SIZE = 50


def _rows(request: HttpRequest, filters: ViolationFilters) -> dict[str, Any]:
    queryset = violation_list(request.user, filters)
    per_agent, per_category = violation_counts(queryset)
    number = int_param(request.GET.get("page"), minimum=1) or 1
    paged = Paginator(queryset, PAGE_SIZE).get_page(min(number, 10**6))
    for v in paged.object_list:
        v.segments = violation_segments(v)  # type: ignore[attr-defined]
    return {"page_obj": paged, "per_agent": per_agent, "per_category": per_category}


def _proposal(request: HttpRequest) -> dict[str, Any] | None:
    """The allow-list proposal after a dismissal (``?proposed=<id>``), when it has a phrase."""
    proposed = int_param(request.GET.get("proposed"), minimum=1)
    if not proposed:
        return None
    try:
        violation = violation_get(request.user, proposed)
    except NotFound:
        return None
    phrase = allow_phrase_proposal(violation)
    if violation.status != ViolationStatus.DISMISSED or not phrase:
        return None
    return {"violation": violation, "phrase": phrase}


def _here(request: HttpRequest) -> str:
    """The queue as filtered, where a review comes back to (without the last proposal)."""
    query = request.GET.copy()
    query.pop("proposed", None)
    encoded = query.urlencode()
    return request.path + (f"?{encoded}" if encoded else "")


@page
def violations_page(request: HttpRequest) -> HttpResponse:
    """The queue (the open violations unless ``status`` says otherwise), newest first."""
    member = violation_reviewer(request.user)
    filters = ViolationFilters.parse(request.GET)
    context: dict[str, Any] = {
        "member": member,
        "nav": "violations",
        "filters": filters,
        "statuses": ViolationStatus.choices,
        "categories": WordCategory.choices,
        "agents": agent_choices(request.user),
        "shops": list(shops_for(request.user)),
        "proposal": _proposal(request),
        "here": _here(request),
        "live_config": {"wsPath": "/ws/inbox/", "lastEventId": event_last_id(request.user)},
        **_rows(request, filters),
    }
    if request.headers.get("X-SCRM-Fragment") == "1":
        return render(request, "monitoring/violations/_body.html", context)
    return render(request, "monitoring/violations/list.html", context)


def _back(request: HttpRequest, **extra: str) -> HttpResponse:
    """Back to the queue as it was filtered (``next``: a path of this site only)."""
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = reverse("monitor:violations")
    if extra:
        sep = "&" if "?" in target else "?"
        target += sep + "&".join(f"{k}={v}" for k, v in extra.items())
    return redirect(target)


def _review(
    request: HttpRequest, violation_id: int, act: Callable[..., Any], done: str, **back: str
) -> HttpResponse:
    """Call one review service; its refusal (already reviewed) is said on the queue."""
    if request.method != "POST":
        violation_get(request.user, violation_id)
        return redirect("monitor:violations")
    try:
        act(actor=request.user, violation_id=violation_id)
    except NotFound:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(request)
    messages.success(request, done)
    return _back(request, **back)


@action
def violation_acknowledge_view(request: HttpRequest, violation_id: int) -> HttpResponse:
    return _review(request, violation_id, violation_acknowledge, _("Acknowledged."))


@action
def violation_escalate_view(request: HttpRequest, violation_id: int) -> HttpResponse:
    return _review(request, violation_id, violation_escalate, _("Escalated."))


@action
def violation_dismiss_view(request: HttpRequest, violation_id: int) -> HttpResponse:
    """Dismissed; the queue then proposes the allow-list entry (``?proposed=``)."""
    done = _("Dismissed as a false positive.")
    return _review(request, violation_id, violation_dismiss, done, proposed=str(violation_id))


@action
def violation_allow_view(request: HttpRequest, violation_id: int) -> HttpResponse:
    """One click after a dismissal: the proposed phrase (as edited) into the allow-list of
    the violation's shop, or of the organisation."""
    if request.method != "POST":
        violation_get(request.user, violation_id)
        return redirect("monitor:violations")
    try:
        violation_allow(
            actor=request.user,
            violation_id=violation_id,
            phrase=request.POST.get("phrase", ""),
            whole_organisation=request.POST.get("scope") == "organisation",
        )
    except NotFound:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(request)
    messages.success(request, _("Added to the allow-list: it will not match again."))
    return _back(request)
