"""The audit log's REST endpoints: ``GET /api/v1/monitoring/audit/`` (filtered, cursor paged,
newest first) and ``GET /api/v1/monitoring/audit/export/`` (the same filters, as CSV, audited
as ``audit.exported``). Supervisors and admins only; 404 for everyone else."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.audit_log.export import audit_csv_lines, audit_export_record
from monitoring.audit_log.selectors import audit_event_list, audit_filters_parse, audit_viewer
from monitoring.models import AuditEvent
from monitoring.web.audit import csv_response
from scrm.api import CursorPagination

FILTERS = [
    OpenApiParameter("actor", int, description="the acting person's user id"),
    OpenApiParameter("action", str, description="an action name, e.g. reply.submitted"),
    OpenApiParameter("shop_account", int, description="the shop account the action concerned"),
    OpenApiParameter(
        "since", str, description="from (ISO 8601 time, or a date: its start in your zone)"
    ),
    OpenApiParameter(
        "until", str, description="before (ISO 8601 time, or a date: its end in your zone)"
    ),
]


class AuditEventOut(serializers.ModelSerializer):
    """One audit event: who (id and name as kept on the row), what, which object, which shop,
    when, and the address as a keyed hash. ``data`` holds ids and enumerated values only."""

    address_hash = serializers.CharField(source="ip_digest")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_id",
            "actor_name",
            "action",
            "shop_account_id",
            "target_type",
            "target_id",
            "address_hash",
            "data",
        ]


class NewestFirst(CursorPagination):
    ordering = "-id"


class AuditEventList(ListAPIView):
    """The organisation's audit log, newest first, filtered (supervisors and admins)."""

    pagination_class = NewestFirst
    serializer_class = AuditEventOut

    def get_queryset(self) -> Any:
        return audit_event_list(self.request.user, audit_filters_parse(self.request.query_params))

    @extend_schema(parameters=FILTERS, responses=AuditEventOut(many=True))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditEventExport(APIView):
    """The filtered log as CSV (UTF-8 with a BOM; cells safe from spreadsheet formulas). The
    export is recorded (``audit.exported``) before any row is sent."""

    @extend_schema(
        parameters=FILTERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        audit_viewer(request.user)
        filters = audit_filters_parse(request.query_params)
        audit_export_record(actor=request.user, filters=filters, via="api")
        return csv_response(audit_csv_lines(request.user, filters))
