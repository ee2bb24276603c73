"""``POST /api/v1/reveal/``: one masked personal value in clear, with a reason, audited (thin:
parse, call ``inbox.services.reveal.customer_data_reveal``, shape)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.masking import REVEALABLE
from inbox.services.reveal import REASON_MAX, customer_data_reveal
from scrm.api import IdField

FIELDS = sorted({f for fields in REVEALABLE.values() for f in fields})


class RevealIn(serializers.Serializer):
    subject = serializers.ChoiceField(choices=sorted(REVEALABLE))
    id = IdField(help_text="the customer's or the order's id")
    field = serializers.ChoiceField(
        choices=FIELDS,
        help_text="customer: real_name, phone, email, addresses; order: recipient_name, "
        "recipient_phone, recipient_email, recipient_address",
    )
    reason = serializers.CharField(
        max_length=REASON_MAX, help_text="why you reveal it (3 characters at least): audited"
    )


class RevealOut(serializers.Serializer):
    subject = serializers.CharField()
    id = serializers.IntegerField()
    field = serializers.CharField()
    value = serializers.CharField(
        help_text="the value in clear (a customer's addresses joined by '; '); for this view "
        "only: do not store it"
    )


class RevealCreate(APIView):
    """Reveal one masked value of a customer or an order you may see, giving a reason.

    Needs the reveal permission in a shop the subject concerns (an admin gives it per shop on
    the person's page): 403 ``reveal_forbidden`` without it, 404 for a subject outside your
    shops, 400 ``reason_required`` without a reason. Every reveal writes ``customer.revealed``
    to the audit log. Not cached.
    """

    @extend_schema(
        request=RevealIn,
        responses=RevealOut,
        examples=[
            OpenApiExample(
                "Reveal an order's phone",
                request_only=True,
                value={
                    "subject": "order",
                    "id": 311,
                    "field": "recipient_phone",
                    "reason": "Courier needs to call the buyer",
                },
            ),
            OpenApiExample(
                "The value",
                response_only=True,
                value={
                    "subject": "order",
                    "id": 311,
                    "field": "recipient_phone",
                    "value": "(+1)5550104821",
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = RevealIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        value = customer_data_reveal(
            actor=request.user,
            subject=data["subject"],
            subject_id=data["id"],
            field=data["field"],
            reason=data["reason"],
        )
        response = Response(
            {"subject": data["subject"], "id": data["id"], "field": data["field"], "value": value}
        )
        response["Cache-Control"] = "no-store"
        return response
