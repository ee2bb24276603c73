"""monitoring's REST endpoints (thin: parse, call a selector or service, shape): the SLA bell
under /api/v1/sla/alerts/ — your alerts newest first, the unread count, marking read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.models.sla import AlertKind, AlertReceipt
from monitoring.sla.alerts import alert_payload
from monitoring.sla.bell import (
    bell_mark_all_read,
    bell_mark_read,
    bell_receipts,
    bell_unread_count,
)
from scrm.api import CursorPagination


class AlertOut(serializers.Serializer):
    """One alert in your bell: the ``sla.alert`` event's fields, and when you read it."""

    id = serializers.IntegerField(help_text="the alert's id (the one to mark read)")
    kind = serializers.ChoiceField(choices=AlertKind.values)
    shop_account_id = serializers.IntegerField(
        allow_null=True, help_text="null: a follow-up made outside any shop"
    )
    subject = serializers.ChoiceField(
        choices=["conversation", "case", "customer"],
        allow_null=True,
        help_text="customer: a follow-up reminder (subject_id is the customer's id)",
    )
    subject_id = serializers.IntegerField(allow_null=True)
    follow_up_id = serializers.IntegerField(allow_null=True)
    deadline_kind = serializers.CharField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    threshold_minutes = serializers.IntegerField(help_text="minutes before due; 0: the breach")
    escalated = serializers.BooleanField()
    assignee_id = serializers.IntegerField(allow_null=True)
    digest_date = serializers.DateField(allow_null=True)
    open_count = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


def receipt_body(receipt: AlertReceipt) -> dict[str, Any]:
    body = alert_payload(receipt.alert, receipt.alert.deadline)
    body["read_at"] = receipt.read_at.isoformat() if receipt.read_at else None
    return body


class NewestFirst(CursorPagination):
    ordering = "-id"


class AlertList(ListAPIView):
    """Your SLA alerts, newest first (cursor paged); ``unread=1`` only the unread ones."""

    pagination_class = NewestFirst
    serializer_class = AlertOut

    def get_queryset(self) -> Any:
        unread = self.request.query_params.get("unread") in ("1", "true")
        return bell_receipts(self.request.user, unread=unread)

    @extend_schema(parameters=[OpenApiParameter("unread", bool)], responses=AlertOut(many=True))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([receipt_body(r) for r in page or []])


class AlertUnreadCount(APIView):
    @extend_schema(
        responses=inline_serializer("AlertUnread", {"unread": serializers.IntegerField()})
    )
    def get(self, request: Request) -> Response:
        """How many of your alerts are unread (the bell's badge)."""
        return Response({"unread": bell_unread_count(request.user)})


class AlertRead(APIView):
    @extend_schema(request=None, responses=AlertOut)
    def post(self, request: Request, pk: int) -> Response:
        """Mark one of your alerts read (again: unchanged). Not yours: 404."""
        return Response(receipt_body(bell_mark_read(user=request.user, alert_id=pk)))


class AlertReadAll(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("AlertsMarked", {"marked": serializers.IntegerField()}),
    )
    def post(self, request: Request) -> Response:
        """Mark all your unread alerts read; how many were."""
        return Response({"marked": bell_mark_all_read(user=request.user)})
