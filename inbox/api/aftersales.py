"""The after-sales API: cases (listed by due time, read one), reject reasons, and deciding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.api.conversations import DeadlineOut
from inbox.models import CaseKind, CaseStage
from inbox.payloads_aftersales import case_detail_payload, case_payload, decision_payload
from inbox.platforms.base import PlatformError
from inbox.selectors.aftersales import CaseFilters, case_decisions, case_get, case_list
from inbox.selectors.deadlines import row_deadlines
from inbox.services import aftersales_decisions as deciding
from scrm.api import Conflict, IdField, KeysetPagination, ServiceError
from scrm.params import MAX_ID


class CaseQuery(serializers.Serializer):
    shop = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False
    )
    stage = serializers.ListField(
        child=serializers.ChoiceField(choices=CaseStage.values), required=False
    )
    type = serializers.ListField(
        child=serializers.ChoiceField(choices=CaseKind.values), required=False
    )
    due_before = serializers.DateTimeField(required=False)


class CaseOut(serializers.Serializer):
    """Documentation of a case row (inbox/payloads_aftersales.py; the ``case.updated`` data)."""

    id = serializers.IntegerField()
    shop_account_id = serializers.IntegerField()
    family = serializers.ChoiceField(choices=["return", "cancellation"])
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    stage = serializers.ChoiceField(choices=CaseStage.values)
    platform_status = serializers.CharField()
    seller_deadline = serializers.DateTimeField(allow_null=True)
    arbitration_status = serializers.CharField()
    conversation_id = serializers.IntegerField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    decision_state = serializers.ChoiceField(choices=["", "pending", "sending", "sent", "failed"])
    decision_failure_reason = serializers.CharField()
    updated_at = serializers.DateTimeField()
    deadline = DeadlineOut(allow_null=True)


class CaseDetailOut(CaseOut):
    platform_case_id = serializers.CharField()
    shop_account = serializers.DictField()
    customer = serializers.DictField(allow_null=True)
    buyer_reason = serializers.CharField()
    lines = serializers.ListField(child=serializers.DictField())
    amounts = serializers.DictField()
    evidence = serializers.ListField(child=serializers.DictField())
    history = serializers.ListField(child=serializers.ListField())
    decisions = serializers.ListField(child=serializers.DictField())
    options = serializers.ListField(child=serializers.DictField())


class DecisionIn(serializers.Serializer):
    decision = serializers.CharField(max_length=64)
    reject_reason = serializers.CharField(required=False, allow_blank=True, max_length=128)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    partial_refund_amount = serializers.DecimalField(
        required=False, allow_null=True, max_digits=12, decimal_places=2
    )
    images = serializers.ListField(child=serializers.DictField(), required=False, max_length=20)
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, trim_whitespace=False
    )
    idempotency_key = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # the quick reply the message was made with: one use when the message is sent (as replies)
    quick_reply_id = IdField(required=False, allow_null=True)
    quick_reply_language = serializers.CharField(required=False, allow_blank=True, max_length=16)


class DecisionOut(serializers.Serializer):
    id = serializers.IntegerField()
    verb = serializers.ChoiceField(choices=["approve", "reject"])
    decision = serializers.CharField()
    reject_reason = serializers.CharField()
    partial_refund_amount = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    author = serializers.DictField(allow_null=True)
    reply_id = serializers.IntegerField(allow_null=True)
    idempotency_key = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class RejectReasonOut(serializers.Serializer):
    name = serializers.CharField()
    text = serializers.CharField()


class CasePagination(KeysetPagination):
    """Keyset paging on (due time, id): the cursor holds the last row's due time (ISO) and id;
    the model has no ``due_at`` column, so its values are checked here."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        after, size = self.start(request)
        if after is not None:
            due, last_id = after
            try:
                due_at = datetime.fromisoformat(str(due)).astimezone(UTC)
            except (ValueError, OverflowError):
                raise ServiceError("Invalid cursor.", code="invalid_cursor") from None
            if not isinstance(last_id, int) or not 0 < last_id <= MAX_ID:
                raise ServiceError("Invalid cursor.", code="invalid_cursor")
            queryset = queryset.filter(self._after([due_at, last_id]))
        rows = list(queryset[: size + 1])
        if len(rows) > size:
            rows = rows[:size]
            self.next_values = [rows[-1].due_at, rows[-1].id]
        return rows


def _filters(request: Request) -> CaseFilters:
    raw = {
        "shop": request.query_params.getlist("shop"),
        "stage": request.query_params.getlist("stage"),
        "type": request.query_params.getlist("type"),
        "due_before": request.query_params.get("due_before", ""),
    }
    query = CaseQuery(data={k: v for k, v in raw.items() if v not in ([], "")})
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return CaseFilters(
        shop_account_ids=tuple(data.get("shop") or ()),
        stages=tuple(data.get("stage") or ()),
        kinds=tuple(data.get("type") or ()),
        due_before=data.get("due_before"),
    )


class CaseList(APIView):
    """After-sales cases of every shop you work on, the earliest seller deadline first."""

    @extend_schema(
        parameters=[
            OpenApiParameter("shop", int, many=True),
            OpenApiParameter("stage", str, many=True, enum=CaseStage.values),
            OpenApiParameter("type", str, many=True, enum=CaseKind.values),
            OpenApiParameter("due_before", datetime, description="seller deadline before this"),
            OpenApiParameter("cursor", str, description="the ``next`` link's cursor"),
            OpenApiParameter("page_size", int, description="1-200, 50 by default"),
        ],
        responses=CaseOut(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = CasePagination(("due_at", "id"))
        page = paginator.paginate_queryset(case_list(request.user, _filters(request)), request)
        deadlines = row_deadlines(cases=page)
        rows = [case_payload(c, deadline=deadlines[("case", c.id)]) for c in page]
        return paginator.get_paginated_response(rows)


class CaseDetail(APIView):
    @extend_schema(responses=CaseDetailOut)
    def get(self, request: Request, pk: int) -> Response:
        case = case_get(request.user, pk)
        decisions = [decision_payload(d, a) for d, a in case_decisions(case)]
        options = deciding.case_decision_options(case)
        body = case_detail_payload(case, options=options, decisions=decisions)
        body["deadline"] = row_deadlines(cases=[case])[("case", case.id)]
        return Response(body)


class CaseRejectReasons(APIView):
    """The platform's reject reasons for this case now, in your language where it has it."""

    @extend_schema(responses=RejectReasonOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        reasons = deciding.case_reject_reasons(
            user=request.user, case_id=pk, language=get_language() or "en"
        )
        return Response([{"name": name, "text": text} for name, text in reasons])


class _Decide(APIView):
    verb = ""

    def post(self, request: Request, pk: int) -> Response:
        body = DecisionIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        started = timezone.now()
        try:
            decision = self._decide(request, pk, data)
        except PlatformError as exc:  # opening the chat for the message; nothing decided
            raise Conflict(
                _("The platform did not answer; nothing was decided. Try again."),
                code="platform_unavailable",
                details={"platform_code": exc.code},
            ) from None
        [(row, action)] = [(d, a) for d, a in case_decisions(decision.case) if d.id == decision.id]
        created = row.created_at >= started
        return Response(
            decision_payload(row, action),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _decide(self, request: Request, pk: int, data: dict[str, Any]) -> Any:
        return deciding.after_sales_decide(
            user=request.user,
            case_id=pk,
            verb=self.verb,
            decision=data["decision"],
            reject_reason=data.get("reject_reason", ""),
            comment=data.get("comment", ""),
            partial_refund_amount=data.get("partial_refund_amount"),
            images=data.get("images") or (),
            message_text=data.get("message", ""),
            idempotency_key=data.get("idempotency_key", "")
            or request.headers.get("Idempotency-Key", ""),
            quick_reply=(data.get("quick_reply_id"), data.get("quick_reply_language", "")),
        )


class CaseApprove(_Decide):
    """Approve with the platform's decision name (``APPROVE_REFUND``, ``OFFER_PARTIAL_REFUND``
    with ``partial_refund_amount``, ...); the same ``Idempotency-Key`` twice is one decision."""

    verb = "approve"

    @extend_schema(request=DecisionIn, responses={201: DecisionOut, 200: DecisionOut})
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class CaseReject(_Decide):
    """Reject with the platform's decision name and a ``reject_reason`` from the case's
    reject reasons, an optional ``comment`` and ``images``."""

    verb = "reject"

    @extend_schema(request=DecisionIn, responses={201: DecisionOut, 200: DecisionOut})
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)
