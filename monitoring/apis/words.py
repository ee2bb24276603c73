"""The screen preview, ``POST /api/v1/monitoring/screen/``: what a send of a text from a shop
would do (the composer's live warning, the word-list page's "try a text" box). Records nothing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.models import WordAction, WordCategory
from monitoring.services.violations import match_dicts
from monitoring.words.selectors import MAX_SCREEN_TEXT, screen_preview
from scrm.api import IdField

ACTIONS = [WordAction.BLOCK.value, WordAction.MASK.value, WordAction.FLAG.value]


class ScreenIn(serializers.Serializer):
    text = serializers.CharField(max_length=MAX_SCREEN_TEXT, trim_whitespace=False)
    shop_account = IdField(help_text="the shop the text would be sent from")


class MatchOut(serializers.Serializer):
    start = serializers.IntegerField(help_text="offset in the text sent, in characters")
    end = serializers.IntegerField(help_text="end offset (exclusive)")
    category = serializers.ChoiceField(choices=WordCategory.values)
    action = serializers.ChoiceField(choices=ACTIONS)
    word = serializers.CharField(help_text="the list's word; empty for a detector's match")


class ScreenOut(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["", *ACTIONS], help_text="the most severe action matched; empty: none"
    )
    text = serializers.CharField(
        help_text="what would be sent: masked words replaced by '*'; unchanged when blocked"
    )
    matches = MatchOut(many=True)


class Screen(APIView):
    @extend_schema(
        request=ScreenIn,
        responses=ScreenOut,
        examples=[
            OpenApiExample(
                "A reply that would be blocked",
                request_only=True,
                value={"text": "add me on WeChat", "shop_account": 12},
            ),
            OpenApiExample(
                "The answer",
                response_only=True,
                value={
                    "action": "block",
                    "text": "add me on WeChat",
                    "matches": [
                        {
                            "start": 10,
                            "end": 16,
                            "category": "off_platform",
                            "action": "block",
                            "word": "wechat",
                        }
                    ],
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        """What sending ``text`` from the shop would do: blocked, masked (the resulting text),
        flagged, or nothing; each match with its offsets in ``text``. Nothing is recorded.
        A shop you do not reach: 404."""
        body = ScreenIn(data=request.data)
        body.is_valid(raise_exception=True)
        result = screen_preview(
            request.user,
            shop_account_id=body.validated_data["shop_account"],
            text=body.validated_data["text"],
        )
        return Response(
            {"action": result.action, "text": result.text, "matches": match_dicts(result.matches)}
        )
