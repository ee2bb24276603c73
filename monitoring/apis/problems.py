"""The problem log's REST endpoints (docs/api.md, "Problem log"):

- ``GET /api/v1/monitoring/problems/suggest/?conversation=<id>``: the issue type and SKUs the
  rules suggest for a conversation you work on, and whether a type is required at resolve;
- ``PATCH /api/v1/monitoring/problems/<id>/``: correct a record's issue type or SKU;
- ``GET /api/v1/monitoring/problems/weekly/<shop>/?week=YYYY-MM-DD``: one shop's weekly report
  (supervisors and admins; the buyers' words masked).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.selectors.for_problems import conversation_problem_facts
from monitoring.models.problems import IssueType, ProblemRecord
from monitoring.problems.report import WeeklyReport, weekly_report
from monitoring.problems.services import problem_update, require_issue_type
from monitoring.problems.suggest import issue_type_suggest
from scrm.api import IdField, ServiceError


def record_payload(record: ProblemRecord) -> dict[str, Any]:
    """A record as the API shows it (never the quote: the report shows it masked)."""
    return {
        "id": record.id,
        "shop_account_id": record.shop_account_id,
        "source": record.source,
        "conversation_id": record.conversation_id,
        "case_id": record.case_id,
        "issue_type": record.issue_type,
        "sku": record.sku,
        "suggested_type": record.suggested_type,
        "suggested_sku": record.suggested_sku,
        "set_by_id": record.set_by_id,
        "recorded_at": record.recorded_at.isoformat(),
        "local_date": record.local_date.isoformat(),
    }


def report_payload(report: WeeklyReport) -> dict[str, Any]:
    return {
        "shop_account_id": report.shop_account_id,
        "shop_name": report.shop_name,
        "time_zone": report.time_zone,
        "week_start": report.week_start.isoformat(),
        "week_end": report.week_end.isoformat(),
        "earlier_weeks": [d.isoformat() for d in report.earlier_weeks],
        "total": report.total,
        "earlier_totals": list(report.earlier_totals),
        "types": [
            {
                "issue_type": t.issue_type,
                "count": t.count,
                "earlier": list(t.earlier),
                "share_percent": t.share,
                "earlier_share_percent": t.earlier_share,
            }
            for t in report.types
        ],
        "rows": [
            {
                "sku": r.sku,
                "issue_type": r.issue_type,
                "count": r.count,
                "earlier": list(r.earlier),
                "change": r.change,
                "trend": r.trend,
                "quotes": list(r.quotes),
            }
            for r in report.rows
        ],
        "previous_week": report.previous_week.isoformat(),
        "next_week": report.next_week.isoformat() if report.next_week else None,
    }


class SuggestIn(serializers.Serializer):
    conversation = IdField()


class ProblemPatch(serializers.Serializer):
    issue_type = serializers.ChoiceField(choices=IssueType.values, required=False)
    sku = serializers.CharField(required=False, max_length=128, allow_blank=True)


class WeekIn(serializers.Serializer):
    week = serializers.DateField(required=False)


class ProblemSuggest(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("conversation", int, required=True)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        query = SuggestIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        facts = conversation_problem_facts(request.user, query.validated_data["conversation"])
        return Response(
            {
                "issue_type": issue_type_suggest(facts.buyer_texts),
                "skus": list(facts.skus),
                "required": require_issue_type(facts.organisation_id),
            }
        )


class ProblemDetail(APIView):
    @extend_schema(request=ProblemPatch, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, pk: int) -> Response:
        patch = ProblemPatch(data=request.data)
        patch.is_valid(raise_exception=True)
        data = patch.validated_data
        if not data:
            raise ServiceError("Nothing to change.", code="invalid")
        record = problem_update(
            actor=request.user,
            problem_id=pk,
            issue_type=data.get("issue_type"),
            sku=data.get("sku"),
        )
        return Response(record_payload(record))


class WeeklyReportView(APIView):
    @extend_schema(parameters=[OpenApiParameter("week", date)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, shop_account_id: int) -> Response:
        query = WeekIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = weekly_report(
            request.user, shop_account_id=shop_account_id, week=query.validated_data.get("week")
        )
        return Response(report_payload(report))
