"""Page views of the web inbox. Each parses input, calls selectors, and renders; every write
goes through the REST API (and so through the services) from the page's JavaScript."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from inbox import selectors
from inbox.models import Conversation, Priority
from inbox.selectors.deadlines import row_deadlines
from inbox.selectors.queue import decision_of, queue_page
from inbox.selectors.queue import queue_case_row as queue_case_row_get
from inbox.selectors.workspace import assignee_choices, tag_names
from inbox.services.accounts import member_language_set
from inbox.web.shaping import (
    KINDS,
    ORDERS,
    PAGE_SIZE,
    TIMELINE_LIMIT,
    VIEWS,
    QueueParams,
    js_strings,
    queue_sort_key,
    snooze_presets,
    sort_string,
    text_limit,
    timeline,
    viewer_zone,
)
from monitoring.violation_selectors import conversation_risk_tags
from scrm.api import Forbidden
from scrm.pages import signed_in_page
from scrm.params import int_param

View = Callable[..., HttpResponse]

# Where the pages open their socket (inbox/routing.py).
WS_PATH = "/ws/inbox/"
# How often the team page re-reads its figures besides on events: presence changes (people
# opening and closing the product, or timing out) publish no event.
TEAM_REFRESH_SECONDS = 20


# Logged in, GET only; the selectors' NotFound/Forbidden become the 404/403 pages.
page = signed_in_page("GET")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _queue_context(request: HttpRequest, params: QueueParams) -> dict[str, Any]:
    """One page of the one queue (conversations and cases needing a decision) after the
    params' cursor, each row with its place in the order (``sort_key``) for live moves."""
    sort = params.sort
    page = queue_page(
        request.user, params.filters(), kind=params.kind, cursor=params.cursor, limit=PAGE_SIZE
    )
    for row in page.rows:
        row.item.sort_key = sort_string(sort, row.position)
    for row in page.rows:
        if row.kind == "case":
            row.item.decision = decision_of(row.item)
    _attach_deadlines(
        [r.item for r in page.rows if r.kind == "conversation"],
        [r.item for r in page.rows if r.kind == "case"],
    )
    return {
        "params": params,
        "rows": page.rows,
        "has_more": page.next_cursor is not None,
        "next_query": params.query(cursor=page.next_cursor),
        "now": timezone.now(),
        "kinds": KINDS,
        "orders": ORDERS,
    }


def _attach_deadlines(conversations: list[Any], cases: list[Any]) -> None:
    """Each row's open SLA deadline as ``item.deadline`` (the badge), one query for a page."""
    deadlines = row_deadlines(conversations=conversations, cases=cases)
    for c in conversations:
        c.deadline = deadlines[("conversation", c.id)]
    for case in cases:
        case.deadline = deadlines[("case", case.id)]


def _header_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """What the conversation header offers: snooze times in the viewer's own time zone, the
    organisation's tags, the priorities and the people who may take the conversation over."""
    now = timezone.now()
    zone = viewer_zone(selectors.member_for(request.user).time_zone)
    return {
        "conversation": conversation,
        "now": now,
        "snooze_presets": snooze_presets(now, zone),
        # The custom snooze field's earliest value, as <input type="datetime-local"> reads it.
        "snooze_min": now.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "viewer_time_zone": str(zone),
        "priorities": Priority.choices,
        "tag_choices": tag_names(request.user),
        "assignees": assignee_choices(request.user, conversation),
        # The buyer's risk tags (monitoring's scan of their messages): chips in the header.
        "risk_tags": conversation_risk_tags(conversation.id),
    }


def _conversation_context(request: HttpRequest, conversation_id: int) -> dict[str, Any]:
    conversation = selectors.conversation_get(request.user, conversation_id)
    messages_qs = selectors.conversation_messages(request.user, conversation_id)
    newest = list(messages_qs.reverse()[: TIMELINE_LIMIT + 1])
    truncated = len(newest) > TIMELINE_LIMIT
    messages = newest[:TIMELINE_LIMIT][::-1]
    return {
        **_header_context(request, conversation),
        "timeline": timeline(messages, list(conversation.notes.all())),
        "truncated": truncated,
        "others": selectors.customer_conversations(request.user, conversation),
        "text_limit": text_limit(conversation),
    }


def _workspace(request: HttpRequest, conversation_id: int | None) -> HttpResponse:
    member = selectors.member_for(request.user)
    params = QueueParams.from_request(request)
    context: dict[str, Any] = {
        "member": member,
        "shops": list(selectors.shop_account_list(request.user)),
        "colleagues": selectors.colleague_list(request.user),
        "views": VIEWS,
        "open_id": conversation_id,
        "js_config": {
            "me": request.user.pk,
            "lastEventId": selectors.event_last_id(request.user),
            "openId": conversation_id,
            "wsPath": WS_PATH,
        },
        "js_strings": js_strings(),
        **_queue_context(request, params),
    }
    if conversation_id is not None:
        context.update(_conversation_context(request, conversation_id))
    return render(request, "inbox/workspace.html", context)


@page
def workspace(request: HttpRequest) -> HttpResponse:
    return _workspace(request, None)


@page
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The conversation pane (and the buyer panel, out of band) for htmx; else the full page."""
    if not _is_htmx(request):
        return _workspace(request, conversation_id)
    context = _conversation_context(request, conversation_id)
    return render(request, "inbox/_conversation_swap.html", context)


@page
def timeline_fragment(request: HttpRequest, conversation_id: int) -> HttpResponse:
    context = _conversation_context(request, conversation_id)
    return render(request, "inbox/_timeline.html", context)


@page
def conversation_header(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(request.user, conversation_id)
    return render(request, "inbox/_conv_header.html", _header_context(request, conversation))


@page
def queue(request: HttpRequest) -> HttpResponse:
    params = QueueParams.from_request(request)
    template = "inbox/_queue_rows.html" if params.cursor else "inbox/_queue.html"
    return render(request, template, _queue_context(request, params))


@page
def queue_row(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """One queue row, as the view in the query (view, shop, q) would list it: ``data-sort`` is
    its place in that view's order, ``data-in-view="0"`` says the view no longer lists it (the
    page drops it); the row itself is any conversation the user may see."""
    params = QueueParams.from_request(request)
    row: Conversation = selectors.conversation_get(request.user, conversation_id)
    in_view = selectors.conversation_list(request.user, params.filters()).filter(id=row.id)
    row.sort_key = queue_sort_key(row, params.sort)  # type: ignore[attr-defined]
    _attach_deadlines([row], [])
    return render(
        request,
        "inbox/_queue_row.html",
        {
            "c": row,
            "in_view": params.kind != "cases" and in_view.exists(),
            "now": timezone.now(),
            "open_id": int_param(request.GET.get("open"), minimum=1),
        },
    )


@page
def queue_case_row(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case's queue row, as the view in the query (view, shop, q, kind) would list it
    (``data-in-view="0"``: no longer listed, e.g. decided); the case is any the user may see."""
    params = QueueParams.from_request(request)
    row, in_view = queue_case_row_get(request.user, case_id, params.filters(), kind=params.kind)
    row.item.sort_key = sort_string(params.sort, row.position)
    row.item.decision = decision_of(row.item)
    _attach_deadlines([], [row.item])
    context = {"r": row, "in_view": in_view, "now": timezone.now()}
    return render(request, "inbox/_queue_case_row.html", context)


@page
def team(request: HttpRequest) -> HttpResponse:
    overview = selectors.team_overview(request.user)
    return render(
        request,
        "inbox/team.html",
        {
            "overview": overview,
            "member": selectors.member_for(request.user),
            "now": timezone.now(),
            # The page's socket makes its reader present, and its events (and a timer, for
            # presence, which has no events) refresh the figures (static/inbox/team.js).
            "js_config": {
                "wsPath": WS_PATH,
                "lastEventId": selectors.event_last_id(request.user),
                "figuresUrl": reverse("inbox:team-figures"),
                "refreshSeconds": TEAM_REFRESH_SECONDS,
            },
        },
    )


@page
def team_figures(request: HttpRequest) -> HttpResponse:
    """The team page's figures alone, for its live refresh."""
    overview = selectors.team_overview(request.user)
    return render(
        request, "inbox/_team_figures.html", {"overview": overview, "now": timezone.now()}
    )


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language menu of every page. Signed in, the choice is kept on the person's profile
    (``Member.language``), so it follows them to every device and session; then, as Django's
    ``set_language``, the language cookie and back to ``next``. An unknown language changes
    nothing (Django's view ignores it too)."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        # An operator of no organisation (Forbidden) keeps the cookie alone.
        with contextlib.suppress(Forbidden):
            member_language_set(actor=request.user, language=language)
    return set_language(request)
