"""The queue API: conversations, messages, replies, notes, bulk actions and the change feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox import selectors
from inbox.models import ConversationStatus
from inbox.payloads import conversation_payload, message_payload, note_payload
from inbox.selectors import QueueFilters
from inbox.selectors.conversations import SORTS, message_as_stored
from inbox.selectors.deadlines import end_of_viewer_day, row_deadlines
from inbox.services import conversations as work
from inbox.services import replies
from monitoring.models.problems import IssueType
from monitoring.violation_selectors import conversation_risk_tags
from scrm.api import CursorPagination, IdField, KeysetPagination, ServiceError
from scrm.params import MAX_ID, int_param

# --- serializers (input) ---------------------------------------------------------------------
# The longest wait worth asking about; beyond it ``timedelta`` overflows long before.
MAX_WAITING_MINUTES = 10 * 366 * 24 * 60


class QueueQuery(serializers.Serializer):
    shop = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )
    platform = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=[*ConversationStatus.values, "all"]), required=False
    )
    assignee = serializers.RegexField(r"^(me|unassigned|anyone|[0-9]{1,18})$", required=False)
    tag = serializers.CharField(required=False, allow_blank=True)
    waiting_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_WAITING_MINUTES
    )
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    sort = serializers.ChoiceField(choices=["waiting", "newest", "priority", "due"], required=False)
    due = serializers.ChoiceField(choices=["today"], required=False)


class DeadlineOut(serializers.Serializer):
    """Documentation of a row's open SLA deadline (inbox/payloads_deadline.py)."""

    kind = serializers.ChoiceField(choices=["first_reply", "next_reply", "after_sales", "same_day"])
    due_at = serializers.DateTimeField(help_text="UTC")
    due_local = serializers.DateTimeField(help_text="the same instant in the shop's time zone")
    time_zone = serializers.CharField(help_text="the shop's")
    warn_at = serializers.DateTimeField(allow_null=True, help_text="the warning window begins")
    state = serializers.ChoiceField(choices=["ok", "warning", "breached"])


class ConversationOut(serializers.Serializer):
    """Documentation of the queue row (see inbox/payloads.py)."""

    id = serializers.IntegerField()
    platform_conversation_id = serializers.CharField()
    shop_account = serializers.DictField()
    customer = serializers.DictField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    assignee = serializers.DictField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    unread_count = serializers.IntegerField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message_preview = serializers.CharField()
    waiting_since = serializers.DateTimeField(allow_null=True)
    deadline = DeadlineOut(allow_null=True)


class MessageOut(serializers.Serializer):
    """Documentation of a message (see inbox/payloads.py)."""

    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    platform_message_id = serializers.CharField(allow_null=True)
    direction = serializers.ChoiceField(choices=["in", "out"])
    sender_role = serializers.CharField()
    type = serializers.CharField()
    text = serializers.CharField()
    content = serializers.DictField()
    sent_at = serializers.DateTimeField()
    delivery_state = serializers.ChoiceField(
        choices=["received", "pending", "sending", "sent", "failed"]
    )
    failure_reason = serializers.CharField()
    author = serializers.DictField(allow_null=True)
    idempotency_key = serializers.CharField(allow_null=True)


class NoteOut(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    text = serializers.CharField()
    author = serializers.DictField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReplyIn(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    type = serializers.ChoiceField(
        choices=["TEXT", "IMAGE", "PRODUCT_CARD", "ORDER_CARD"], default="TEXT"
    )
    content = serializers.DictField(required=False)
    idempotency_key = serializers.CharField(required=False, max_length=100, allow_blank=True)
    # The quick reply inserted into this reply, so its use is counted when the reply is sent.
    quick_reply_id = IdField(required=False, allow_null=True)
    quick_reply_language = serializers.CharField(required=False, allow_blank=True, max_length=16)


class ConversationPatch(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversationStatus.values, required=False)
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=3)
    assignee_id = IdField(required=False, allow_null=True)
    add_tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    remove_tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    # With status "resolved": the problem log's issue type and SKU (else the suggestion).
    issue_type = serializers.ChoiceField(choices=IssueType.values, required=False)
    sku = serializers.CharField(required=False, max_length=128, allow_blank=True)


class BulkIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["assign", "resolve"])
    conversation_ids = serializers.ListField(child=IdField(), min_length=1, max_length=200)
    assignee_id = IdField(required=False, allow_null=True)


# --- pagination ------------------------------------------------------------------------------
class MessageCursor(CursorPagination):
    ordering: str | tuple[str, ...] = (
        "-sent_at",
        "-id",
    )  # newest page first; each page shown oldest → newest
    page_size = 30


# --- views -----------------------------------------------------------------------------------
def _filters(request: Request) -> QueueFilters:
    raw = {
        "shop": request.query_params.getlist("shop"),
        "status": request.query_params.getlist("status"),
        **{
            k: request.query_params[k]
            for k in ("platform", "assignee", "tag", "waiting_minutes", "q", "sort", "due")
            if k in request.query_params
        },
    }
    query = QueueQuery(data={k: v for k, v in raw.items() if v not in ([], "")})
    query.is_valid(raise_exception=True)
    data = query.validated_data
    statuses = tuple(data.get("status") or ("open", "pending"))
    return QueueFilters(
        shop_account_ids=tuple(data.get("shop") or ()),
        platform=data.get("platform", ""),
        statuses=() if "all" in statuses else statuses,
        assignee=data.get("assignee", "anyone"),
        tag=data.get("tag", ""),
        waiting_longer_than=(
            timedelta(minutes=data["waiting_minutes"]) if "waiting_minutes" in data else None
        ),
        search=data.get("q", "").strip(),
        sort=data.get("sort", "waiting"),
        due_before=end_of_viewer_day(request.user) if data.get("due") == "today" else None,
    )


def _with_deadlines(conversations: list[Any]) -> list[dict[str, Any]]:
    """Conversation payloads with their open SLA deadlines (one query for the lot)."""
    deadlines = row_deadlines(conversations=conversations)
    return [
        conversation_payload(c, deadline=deadlines[("conversation", c.id)]) for c in conversations
    ]


class ConversationList(ListAPIView):
    """The unified queue of every shop you work on."""

    pagination_class = None  # KeysetPagination per request, by sort
    serializer_class = ConversationOut

    @extend_schema(
        parameters=[
            OpenApiParameter("shop", int, many=True),
            OpenApiParameter("platform", str),
            OpenApiParameter(
                "status",
                str,
                many=True,
                description="open,pending (default), snoozed, resolved, all",
            ),
            OpenApiParameter("assignee", str, description="me | unassigned | anyone | <user id>"),
            OpenApiParameter("tag", str),
            OpenApiParameter("waiting_minutes", int),
            OpenApiParameter(
                "q",
                str,
                description="words of the messages, the buyer's name as typed, phone or e-mail, "
                "or a conversation id",
            ),
            OpenApiParameter(
                "sort", str, description="waiting (default) | newest | priority | due"
            ),
            OpenApiParameter(
                "due", str, description="today: open SLA deadline before the end of your day"
            ),
            OpenApiParameter("cursor", str, description="the ``next`` link's cursor"),
            OpenApiParameter("page_size", int, description="1-200, 50 by default"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = _filters(request)
        paginator = KeysetPagination(SORTS[filters.sort])
        qs = selectors.conversation_list(request.user, filters)
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(_with_deadlines(list(page or [])))


class ConversationDetail(APIView):
    @extend_schema(responses=ConversationOut)
    def get(self, request: Request, pk: int) -> Response:
        conversation = selectors.conversation_get(request.user, pk)
        [body] = _with_deadlines([conversation])
        body["notes"] = [note_payload(n) for n in conversation.notes.all()]
        # The buyer's risk tags (the sensitive-word monitor's scan of their messages).
        body["risk_tags"] = [tag for tag, _label in conversation_risk_tags(conversation.id)]
        return Response(body)

    @extend_schema(request=ConversationPatch, responses=ConversationOut)
    def patch(self, request: Request, pk: int) -> Response:
        patch = ConversationPatch(data=request.data)
        patch.is_valid(raise_exception=True)
        data = patch.validated_data
        if not data:
            raise ServiceError("Nothing to change.", code="invalid")
        work.conversation_update(actor=request.user, conversation_id=pk, changes=data)
        return Response(_with_deadlines([selectors.conversation_get(request.user, pk)])[0])


class MessageList(ListAPIView):
    """Messages of a conversation, newest page first (``next`` pages back in time)."""

    pagination_class = MessageCursor
    serializer_class = MessageOut

    def get_queryset(self) -> Any:
        return selectors.conversation_messages(self.request.user, self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = [message_payload(m) for m in reversed(page or [])]
        return self.get_paginated_response(rows)

    @extend_schema(request=ReplyIn, responses={201: MessageOut, 200: MessageOut})
    def post(self, request: Request, pk: int) -> Response:
        body = ReplyIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        message, created = replies.message_send(
            actor=request.user,
            conversation_id=pk,
            text=data.get("text", ""),
            type=data["type"],
            content=data.get("content"),
            idempotency_key=data.get("idempotency_key", "")
            or request.headers.get("Idempotency-Key", ""),
            quick_reply_id=data.get("quick_reply_id"),
            quick_reply_language=data.get("quick_reply_language", ""),
        )
        message = message_as_stored(message.id)
        return Response(
            message_payload(message), status=status.HTTP_201_CREATED if created else 200
        )


class MessageRetry(APIView):
    @extend_schema(request=None, responses={202: MessageOut})
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        selectors.conversation_get(request.user, pk)
        message = replies.message_retry(actor=request.user, message_id=message_id)
        message = message_as_stored(message.id)
        return Response(message_payload(message), status=status.HTTP_202_ACCEPTED)


class NoteIn(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class NoteCreate(APIView):
    @extend_schema(request=NoteIn, responses={201: NoteOut})
    def post(self, request: Request, pk: int) -> Response:
        body = NoteIn(data=request.data)
        body.is_valid(raise_exception=True)
        note = work.note_add(
            actor=request.user, conversation_id=pk, text=body.validated_data["text"]
        )
        return Response(note_payload(note), status=status.HTTP_201_CREATED)


class MarkRead(APIView):
    @extend_schema(request=None, responses=ConversationOut)
    def post(self, request: Request, pk: int) -> Response:
        conversation = work.conversation_mark_read(actor=request.user, conversation_id=pk)
        return Response(_with_deadlines([conversation])[0])


class Bulk(APIView):
    @extend_schema(
        request=BulkIn,
        responses=inline_serializer(
            "BulkOut",
            {"updated": serializers.IntegerField(), "message": serializers.CharField()},
        ),
    )
    def post(self, request: Request) -> Response:
        body = BulkIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["action"] == "assign":
            if "assignee_id" not in data:
                raise ServiceError(
                    "Bulk assign needs assignee_id (null to unassign).",
                    code="invalid",
                    details={"assignee_id": "required"},
                )
            n = work.conversations_bulk_assign(
                actor=request.user,
                conversation_ids=data["conversation_ids"],
                assignee_id=data["assignee_id"],
            )
        else:
            n = work.conversations_bulk_resolve(
                actor=request.user, conversation_ids=data["conversation_ids"]
            )
        # The sentence for people, in the request's language: only the server knows each
        # language's plural rules ("1 conversations updated" was the page guessing).
        message = ngettext("%(n)s conversation updated.", "%(n)s conversations updated.", n)
        return Response({"updated": n, "message": message % {"n": n}})


class EventList(APIView):
    """What changed after an event id: a reconnecting client catches up from here."""

    @extend_schema(
        parameters=[OpenApiParameter("after", int, required=True)],
        responses=inline_serializer(
            "Events",
            {
                "events": serializers.ListField(child=serializers.DictField()),
                "last_id": serializers.IntegerField(),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        after = int_param(request.query_params.get("after"))
        if after is None:
            raise ServiceError(
                "'after' must be an event id (0 for the start).",
                code="invalid",
                details={"after": "integer required"},
            )
        limit = 500
        events = selectors.event_list_after(request.user, after, limit=limit)
        return Response(
            {
                "events": [{"id": e.id, "type": e.type, "data": e.data} for e in events],
                "last_id": events[-1].id if events else after,
                "has_more": len(events) == limit,
            }
        )
