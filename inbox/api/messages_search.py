"""Message search over REST: the newest messages holding every word typed, in the shops you
work on, found through the organisation's blind token index without plaintext in the database
(inbox/selectors/search.py, docs/customer-data.md)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from inbox.masking import mask
from inbox.models import Message
from inbox.selectors.search import PAGE_SIZE, message_search_for
from scrm.api import ServiceError
from scrm.blind import fold, text_terms
from scrm.params import MAX_ID

SNIPPET_BEFORE, SNIPPET_AFTER = 40, 80
# What a phone number or an e-mail address needs somewhere in a text, whatever its writing
# (digits of any script, Chinese numerals, "@", a spelled-out or Chinese "at").
_MAYBE_CONTACT = re.compile(
    r"\d|[@＠〇零○◯一二三四五六七八九壹贰貳叁肆伍陆陸柒捌玖幺两兩]|at\b|艾特|圈a", re.I
)
Q_MAX = 100


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(max_length=Q_MAX, trim_whitespace=True)
    shop_account = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class MessageHitOut(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    shop_account = serializers.DictField(help_text="{id, name}")
    sent_at = serializers.DateTimeField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    snippet = serializers.CharField(
        help_text="the text around the first match; phone numbers and e-mail addresses in it "
        "masked as everywhere else"
    )


class MessageSearchOut(serializers.Serializer):
    results = MessageHitOut(many=True)
    next = serializers.URLField(allow_null=True, help_text="the next page (older messages)")
    before = serializers.IntegerField(allow_null=True, help_text="the next page's cursor")


EXAMPLE = {
    "results": [
        {
            "id": 90211,
            "conversation_id": 5120,
            "shop_account": {"id": 3, "name": "Acme US"},
            "sent_at": "2026-12-03T09:14:02Z",
            "direction": "in",
            "snippet": "…the parcel says delivered but no refund yet, call me at +1 ***-***-4821",
        }
    ],
    "next": "https://inbox.example.com/api/v1/messages/search/?q=refund&before=90211",
    "before": 90211,
}


class MessageSearch(APIView):
    """Messages holding every word typed (Chinese: characters and pairs), newest first, 50 a
    page, in the shops you work on; another organisation's shop is not found (404)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="words; 1-100 characters"),
            OpenApiParameter("shop_account", int, description="one of your shop accounts"),
            OpenApiParameter("before", int, description="the previous page's ``before``"),
        ],
        responses=MessageSearchOut,
        examples=[OpenApiExample("a page", value=EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        query = SearchQuery(data=request.query_params.dict())
        if not query.is_valid():
            raise ServiceError(
                _("Type what to search for (up to 100 characters)."),
                code="invalid",
                details=query.errors,
            )
        data = query.validated_data
        found = message_search_for(
            request.user,
            term=data["q"],
            shop_account_id=data.get("shop_account"),
            before_id=data.get("before", 0),
        )
        results = [_hit(m, data["q"]) for m in found]
        before = found[-1].pk if len(found) >= PAGE_SIZE else None
        next_url = None
        if before is not None:
            next_url = replace_query_param(request.build_absolute_uri(), "before", before)
        return Response({"results": results, "next": next_url, "before": before})


def _hit(message: Message, term: str) -> dict[str, Any]:
    shop = message.shop_account
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "shop_account": {"id": shop.pk, "name": shop.name},
        "sent_at": message.sent_at.isoformat(),
        "direction": message.direction,
        "snippet": snippet(message.text or "", term),
    }


def snippet(text: str, term: str) -> str:
    """The text around the first place a term of ``term`` occurs (folded as search folds it),
    phone numbers and e-mail addresses masked, cut at spaces, "…" where cut."""
    text = masked_contacts(text)
    start, end = _first_match(text, text_terms(term, max_terms=16))
    lo, hi = max(0, start - SNIPPET_BEFORE), min(len(text), end + SNIPPET_AFTER)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def _first_match(text: str, terms: list[str]) -> tuple[int, int]:
    """Where in ``text`` the earliest term occurs (original offsets); (0, 0) if none does
    (a term masked away)."""
    haystack = fold(text)
    origin: list[int] | range = range(len(text))  # per folded character: its character in text
    if len(haystack) != len(text):  # some character folded to none or several (rare)
        origin = [i for i, ch in enumerate(text) for _ in fold(ch)]
    best: tuple[int, int] | None = None
    for term in terms:
        at = haystack.find(term)
        if at != -1 and (best is None or at < best[0]):
            best = (at, at + len(term))
    if best is None:
        return 0, 0
    return origin[best[0]], origin[best[1] - 1] + 1


def masked_contacts(text: str) -> str:
    """``text`` with the phone numbers and e-mail addresses the words monitor's detectors find
    in it masked (``*** 4821``, ``l***@g***.com``), as personal values are everywhere."""
    from monitoring.words.detectors import EMAIL, find_emails, find_phones
    from monitoring.words.normalise import normalise_views

    if not _MAYBE_CONTACT.search(text):
        return text  # no digit, no "@", no "at": most texts, and no detector would fire
    detect = normalise_views(text).detect
    found = sorted(
        (detect.starts[s], detect.ends[e - 1], kind)
        for s, e, kind in find_phones(detect.text) + find_emails(detect.text)
    )
    spans: list[tuple[int, int, str]] = []
    for start, end, kind in found:  # a phone number inside an address is the address's
        if spans and start < spans[-1][1]:
            if end - start > spans[-1][1] - spans[-1][0]:
                spans[-1] = (start, end, kind)
            continue
        spans.append((start, end, kind))
    for start, end, kind in reversed(spans):
        value = text[start:end]
        text = text[:start] + mask("email" if kind == EMAIL else "phone", value) + text[end:]
    return text
