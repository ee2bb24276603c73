"""The one queue over REST: conversations and after-sales cases needing a decision, in the
order of when the answer is due (inbox/selectors/queue.py), keyset paged."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from inbox.api.conversations import ConversationOut, _filters
from inbox.payloads import conversation_payload
from inbox.payloads_aftersales import case_payload
from inbox.selectors.deadlines import row_deadlines
from inbox.selectors.queue import queue_page
from inbox.selectors.queue_keys import KINDS, parse_cursor
from scrm.api import ServiceError

PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


class QueueRowOut(serializers.Serializer):
    """Documentation of a queue row: a conversation or a case, and when its answer is due."""

    type = serializers.ChoiceField(choices=["conversation", "case"])
    due_at = serializers.DateTimeField(
        help_text="when the answer is due: the open SLA deadline, else the waiting sort's due "
        "time; an answered conversation without one: 9999-01-01"
    )
    conversation = ConversationOut(required=False)
    case = serializers.DictField(
        required=False, help_text="as GET /api/v1/after-sales/ lists a case"
    )


class QueuePageOut(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = QueueRowOut(many=True)


def _page_size(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params["page_size"]), MAX_PAGE_SIZE))
    except (KeyError, ValueError):
        return PAGE_SIZE


class QueueList(APIView):
    """The one queue of every shop you work on: conversations and after-sales cases that need
    a decision, ordered by when the answer is due."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="all (default) | conversations | cases"),
            OpenApiParameter("shop", int, many=True),
            OpenApiParameter("platform", str),
            OpenApiParameter(
                "status",
                str,
                many=True,
                description="open,pending (default), snoozed, resolved, all; cases show with open",
            ),
            OpenApiParameter(
                "assignee",
                str,
                description="me | unassigned | anyone | <user id>; a case by its conversation's",
            ),
            OpenApiParameter("tag", str, description="a case by its conversation's tags"),
            OpenApiParameter("waiting_minutes", int),
            OpenApiParameter(
                "q",
                str,
                description="words of the messages, the buyer's name as typed, phone or e-mail, "
                "a conversation, case or order id",
            ),
            OpenApiParameter(
                "sort", str, description="waiting (default) | newest | priority | due"
            ),
            OpenApiParameter(
                "due", str, description="today: open SLA deadline before the end of your day"
            ),
            OpenApiParameter("cursor", str, description="the ``next`` link's cursor"),
            OpenApiParameter("page_size", int, description="1-200, 50 by default"),
        ],
        responses=QueuePageOut,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = _filters(request)
        kind = request.query_params.get("kind", "all")
        if kind not in KINDS:
            raise ServiceError(
                _("Choose all, conversations or cases."),
                code="invalid",
                details={"kind": [_("Choose all, conversations or cases.")]},
            )
        cursor = request.query_params.get("cursor") or None
        if cursor is not None and parse_cursor(filters.sort, cursor) is None:
            raise ServiceError("Invalid cursor.", code="invalid_cursor")
        page = queue_page(
            request.user, filters, kind=kind, cursor=cursor, limit=_page_size(request)
        )
        deadlines = row_deadlines(
            conversations=[r.item for r in page.rows if r.kind == "conversation"],
            cases=[r.item for r in page.rows if r.kind == "case"],
        )
        results = []
        for row in page.rows:
            body: dict[str, Any] = {"type": row.kind, "due_at": row.due.isoformat()}
            deadline = deadlines[(row.kind, row.item.id)]
            if row.kind == "case":  # the decision from its annotations
                body["case"] = case_payload(row.item, deadline=deadline)
            else:
                body["conversation"] = conversation_payload(row.item, deadline=deadline)
            results.append(body)
        next_url = None
        if page.next_cursor is not None:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response({"next": next_url, "previous": None, "results": results})
