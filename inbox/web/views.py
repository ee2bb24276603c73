"""Page views of the web inbox. Each parses input, calls selectors, and renders; every write
goes through the REST API (and so through the services) from the page's JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from inbox import selectors
from inbox.models import Conversation
from inbox.web.shaping import (
    PAGE_SIZE,
    TIMELINE_LIMIT,
    VIEWS,
    QueueParams,
    js_strings,
    text_limit,
    timeline,
)
from scrm.api import Forbidden, NotFound

View = Callable[..., HttpResponse]

# Where the pages open their socket (inbox/routing.py).
WS_PATH = "/ws/inbox/"


def page(view: View) -> View:
    """Logged in, GET only; the selectors' NotFound/Forbidden become the 404/403 pages."""

    @login_required
    @require_GET
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc)) from None
        except Forbidden as exc:
            raise PermissionDenied(str(exc)) from None

    return wrapped


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _queue_context(request: HttpRequest, params: QueueParams) -> dict[str, Any]:
    qs = selectors.conversation_list(request.user, params.filters())
    start = (params.page - 1) * PAGE_SIZE
    rows = list(qs[start : start + PAGE_SIZE + 1])
    return {
        "params": params,
        "rows": rows[:PAGE_SIZE],
        "has_more": len(rows) > PAGE_SIZE,
        "next_query": params.query(page=params.page + 1),
        "now": timezone.now(),
    }


def _conversation_context(request: HttpRequest, conversation_id: int) -> dict[str, Any]:
    conversation = selectors.conversation_get(request.user, conversation_id)
    messages_qs = selectors.conversation_messages(request.user, conversation_id)
    newest = list(messages_qs.reverse()[: TIMELINE_LIMIT + 1])
    truncated = len(newest) > TIMELINE_LIMIT
    messages = newest[:TIMELINE_LIMIT][::-1]
    return {
        "conversation": conversation,
        "timeline": timeline(messages, list(conversation.notes.all())),
        "truncated": truncated,
        "others": selectors.customer_conversations(request.user, conversation),
        "text_limit": text_limit(conversation),
        "now": timezone.now(),
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
    return render(
        request, "inbox/_conv_header.html", {"conversation": conversation, "now": timezone.now()}
    )


@page
def queue(request: HttpRequest) -> HttpResponse:
    params = QueueParams.from_request(request)
    template = "inbox/_queue_rows.html" if params.page > 1 else "inbox/_queue.html"
    return render(request, template, _queue_context(request, params))


@page
def queue_row(request: HttpRequest, conversation_id: int) -> HttpResponse:
    row: Conversation = selectors.conversation_get(request.user, conversation_id)
    return render(
        request,
        "inbox/_queue_row.html",
        {"c": row, "now": timezone.now(), "open_id": request.GET.get("open")},
    )


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
            # The page's socket makes its reader present (static/inbox/team.js).
            "js_config": {"wsPath": WS_PATH},
        },
    )
