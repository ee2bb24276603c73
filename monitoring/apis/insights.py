"""The shop-score figures' REST endpoints, under /api/v1/sla/insights/ (docs/api.md):
``GET insights/`` (the 60-day figures of every shop you work on) and ``GET insights/<id>/``
(one shop's readiness panel: figures against the levels, trend, days at risk, advice, each
agent's figures and the daily series). Another shop's id is a 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.metrics.payloads import overview_payload, readiness_payload
from monitoring.metrics.readiness import readiness
from monitoring.metrics.selectors import shop_metrics, shops_overview

FIGURES_EXAMPLE = {
    "first_response": {
        "requests": 7,
        "within_24h": 4,
        "rate_within_24h": 0.5714,
        "answered": 6,
        "automated": 2,
        "average_seconds": 35510.0,
        "waiting_under_24h": 1,
    },
    "after_sales": {
        "requests": 5,
        "answered": 4,
        "within_24h": 3,
        "share_within_24h": 0.6,
        "average_seconds": 50850.0,
        "p90_seconds": 108000,
        "waiting_under_24h": 1,
    },
    "dissatisfaction": {"ratings": 2, "low_ratings": 1, "rate": 0.5},
}


class InsightsList(APIView):
    """The 60-day figures of every shop you work on."""

    @extend_schema(
        operation_id="insights_list",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="{results: [...]}")},
        examples=[
            OpenApiExample(
                "One shop",
                value={
                    "results": [
                        {
                            "id": 3,
                            "name": "A2 UK",
                            "time_zone": "Europe/London",
                            "window": {"start": "2026-10-01", "end": "2026-11-29"},
                            "figures": FIGURES_EXAMPLE,
                            "status": {"first_response_rate": "at_risk"},
                            "negative_review_rate": None,
                        }
                    ]
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response({"results": [overview_payload(m) for m in shops_overview(request.user)]})


class InsightsShop(APIView):
    """One shop's readiness panel over the 60 days ending yesterday (shop-local)."""

    @extend_schema(
        operation_id="insights_shop",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="the readiness panel"),
            404: OpenApiResponse(description="not a shop you work on"),
        },
    )
    def get(self, request: Request, shop_account_id: int) -> Response:
        return Response(readiness_payload(readiness(shop_metrics(request.user, shop_account_id))))
