"""A buyer's data on request, over the API (docs/customer-data.md): the export as a JSON
attachment, and erasure. Thin: parse, call the service, shape. Included under
``/api/v1/customers/`` (``urlpatterns`` below)."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.services.buyer_data import customer_erase, customer_export
from inbox.services.buyer_data.erase import REASON_MAX
from scrm.api import ServiceError

app_name = "buyer_data_api"

EXPORT_EXAMPLE = {
    "format": "scrm.buyer-data/1",
    "exported_at": "2026-12-03T09:15:00+00:00",
    "organisation_id": 1,
    "profile": {
        "id": 17,
        "platform": "tiktok_shop",
        "name": "Emily R.",
        "phone": "+1 415 555 0199",
        "email": "emily@example.com",
        "custom_fields": [{"key": "tier", "label": "VIP level", "value": "gold"}],
        "tags": ["VIP"],
        "notes": [],
        "follow_ups": [],
    },
    "merged_profiles": [],
    "conversations": [
        {
            "id": 42,
            "shop": {"id": 2, "name": "Acme US"},
            "messages": [
                {"id": 981, "direction": "in", "text": "Is size M true to size?"},
            ],
            "notes": [],
        }
    ],
    "orders": [],
    "after_sales_cases": [],
    "violations": [],
    "risk_flags": [],
    "audit_events": [{"id": 5012, "action": "customer.exported", "target_id": "17"}],
}


class EraseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)
    confirm = serializers.CharField(max_length=40, allow_blank=True)


class CustomerExport(APIView):
    """Everything held about one buyer across the organisation, unmasked, as a JSON file
    (admins; supervisors who may reveal customer data in one of the buyer's shops). Audited
    as ``customer.exported``."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("A buyer's file", value=EXPORT_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document = customer_export(actor=request.user, customer_id=pk)
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{pk}-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class CustomerErase(APIView):
    """Erase one buyer's personal data everywhere it lives (admins; not undoable). The body
    names the customer's id again in ``confirm``, and why in ``reason``; answers what was
    wiped, counted."""

    @extend_schema(
        request=EraseIn,
        responses={
            200: inline_serializer(
                "ErasureOut",
                {"customer_id": serializers.IntegerField(), "counts": serializers.DictField()},
            )
        },
        examples=[
            OpenApiExample(
                "Erase",
                value={"reason": "Buyer's request by e-mail, ticket 88", "confirm": "17"},
                request_only=True,
            ),
            OpenApiExample(
                "Erased",
                value={"customer_id": 17, "counts": {"messages": 12, "conversations": 2}},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        body = EraseIn(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["confirm"].strip() != str(pk):
            raise ServiceError(
                gettext_noop("Type the customer's id to confirm the erasure."),
                code="confirmation_mismatch",
                details={"confirm": [f"expected {pk}"]},
            )
        counts = customer_erase(
            actor=request.user, customer_id=pk, reason=body.validated_data["reason"]
        )
        return Response({"customer_id": pk, "counts": counts})


urlpatterns = [
    path("<int:pk>/export/", CustomerExport.as_view(), name="customer-export"),
    path("<int:pk>/erase/", CustomerErase.as_view(), name="customer-erase"),
]
