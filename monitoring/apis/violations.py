"""The violation review queue's REST endpoints under /api/v1/monitoring/violations/ (thin:
parse, call a selector or service, shape): the list (cursor paged, newest first, filtered by
status, agent, category and shop), one violation, and the three reviews. Supervisors and
admins of the violation's organisation only; for anyone else none exists (404)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.apis.words import ACTIONS, MatchOut
from monitoring.models import Violation, ViolationStatus, WordCategory
from monitoring.models.words import SendSource
from monitoring.services.violation_review import (
    violation_acknowledge,
    violation_dismiss,
    violation_escalate,
)
from monitoring.violation_selectors import (
    ViolationFilters,
    allow_phrase_proposal,
    violation_get,
    violation_list,
)
from scrm.api import CursorPagination, ServiceError


class ViolationPersonOut(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class ViolationOut(serializers.Serializer):
    """One violation: who, where, what the monitor did, the text (decrypted: reviewers only)
    and its matches, and the review."""

    id = serializers.IntegerField()
    shop_account_id = serializers.IntegerField(allow_null=True)
    shop_account_name = serializers.CharField(allow_null=True)
    conversation_id = serializers.IntegerField(allow_null=True)
    actor = ViolationPersonOut()
    source = serializers.ChoiceField(choices=SendSource.values)  # type: ignore[assignment]
    action = serializers.ChoiceField(choices=ACTIONS, help_text="what the monitor did to the send")
    category = serializers.ChoiceField(choices=WordCategory.values)
    text = serializers.CharField()
    matches = MatchOut(many=True)
    status = serializers.ChoiceField(choices=ViolationStatus.values)
    reviewed_by = ViolationPersonOut(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    allow_proposal = serializers.CharField(
        help_text="the phrase a dismissal proposes for the allow-list (empty: none)"
    )


def violation_body(v: Violation) -> dict[str, Any]:
    reviewer = v.reviewed_by
    return {
        "id": v.id,
        "shop_account_id": v.shop_account_id,
        "shop_account_name": v.shop_account.name if v.shop_account else None,
        "conversation_id": v.conversation_id,
        "actor": {"id": v.actor_id, "name": v.actor_name},
        "source": v.source,
        "action": v.action,
        "category": v.category,
        "text": v.text,
        "matches": v.matches or [],
        "status": v.status,
        "reviewed_by": (
            {"id": reviewer.pk, "name": reviewer.get_full_name() or reviewer.get_username()}
            if reviewer
            else None
        ),
        "reviewed_at": v.reviewed_at.isoformat() if v.reviewed_at else None,
        "created_at": v.created_at.isoformat(),
        "allow_proposal": allow_phrase_proposal(v),
    }


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")


FILTERS = [
    OpenApiParameter(
        "status",
        str,
        enum=[*ViolationStatus.values, "all"],
        description="default `open`; `all` for every status",
    ),
    OpenApiParameter("agent", int, description="the user id of who sent it"),
    OpenApiParameter("category", str, enum=WordCategory.values),
    OpenApiParameter("shop", int, description="a shop account id"),
]


def _strict(params: Any) -> ViolationFilters:
    """The page forgives a bad filter; the API says so (400)."""
    status = params.get("status")
    if status and status not in (*ViolationStatus.values, "all"):
        raise ServiceError("Unknown status.", code="invalid_status")
    category = params.get("category")
    if category and category not in WordCategory.values:
        raise ServiceError("Unknown category.", code="invalid_category")
    filters = ViolationFilters.parse(params)
    for name, value in (("agent", filters.actor_id), ("shop", filters.shop_account_id)):
        if params.get(name) and value is None:
            raise ServiceError(f"{name} must be an id.", code=f"invalid_{name}")
    return filters


class ViolationList(ListAPIView):
    """The organisation's violations, newest first (cursor paged)."""

    pagination_class = NewestFirst
    serializer_class = ViolationOut

    def get_queryset(self) -> Any:
        return violation_list(self.request.user, _strict(self.request.query_params))

    @extend_schema(parameters=FILTERS, responses=ViolationOut(many=True))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([violation_body(v) for v in page or []])


class ViolationDetail(APIView):
    @extend_schema(responses=ViolationOut)
    def get(self, request: Request, pk: int) -> Response:
        """One violation of your organisation (supervisors and admins)."""
        return Response(violation_body(violation_get(request.user, pk)))


class _Review(APIView):
    service: Any = None

    def _act(self, request: Request, pk: int) -> Response:
        type(self).service(actor=request.user, violation_id=pk)
        return Response(violation_body(violation_get(request.user, pk)))


class ViolationAcknowledge(_Review):
    service = staticmethod(violation_acknowledge)

    @extend_schema(request=None, responses=ViolationOut)
    def post(self, request: Request, pk: int) -> Response:
        """Acknowledge (open or escalated); already acknowledged or dismissed: 409."""
        return self._act(request, pk)


class ViolationDismiss(_Review):
    service = staticmethod(violation_dismiss)

    @extend_schema(request=None, responses=ViolationOut)
    def post(self, request: Request, pk: int) -> Response:
        """Dismiss as a false positive (open or escalated); the answer's `allow_proposal` is
        the phrase to add to the allow-list (the word lists' endpoints) if you agree."""
        return self._act(request, pk)


class ViolationEscalate(_Review):
    service = staticmethod(violation_escalate)

    @extend_schema(request=None, responses=ViolationOut)
    def post(self, request: Request, pk: int) -> Response:
        """Escalate (open only); otherwise 409."""
        return self._act(request, pk)
