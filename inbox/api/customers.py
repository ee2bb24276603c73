"""The customer profiles API under /api/v1/customers/ (docs/customers.md): list and search,
the profile, its changes, notes, follow-ups, merges and the organisation's custom fields.

Phone, e-mail, real name and addresses are always masked here (``inbox.masking.mask``);
revealing one is ``POST /api/v1/reveal/``, audited. The nickname is shown as it is.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.masking import mask
from inbox.models import Customer, CustomerField, CustomerFieldKind, CustomerNote, FollowUp
from inbox.selectors import profiles as read
from inbox.services import profiles as work
from scrm.api import CursorPagination, IdField, ServiceError
from scrm.params import int_param


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def customer_payload(c: Customer) -> dict[str, Any]:
    """A customer as a list row: personal fields masked, the nickname as it is."""
    return {
        "id": c.pk,
        "platform": c.platform,
        "display_name": c.display_name or "",
        "real_name": mask("name", c.real_name),
        "phone": mask("phone", c.phone),
        "email": mask("email", c.email),
        "language": c.language,
        "country": c.country,
        "tags": sorted(t.name for t in c.tags.all()),
        "merged_into": c.merged_into_id,
        "erased": c.erased_at is not None,
        "updated_at": _iso(c.updated_at),
    }


def note_payload(n: CustomerNote) -> dict[str, Any]:
    author = n.author
    return {
        "id": n.pk,
        "text": n.text,
        "author": {"id": author.pk, "username": author.get_username()} if author else None,
        "created_at": _iso(n.created_at),
    }


def follow_up_payload(f: FollowUp) -> dict[str, Any]:
    return {
        "id": f.pk,
        "promise": f.promise,
        "owner_id": f.owner_id,
        "shop_account_id": f.shop_account_id,
        "conversation_id": f.conversation_id,
        "due_at": _iso(f.due_at),
        "done_at": _iso(f.done_at),
        "reminded_at": _iso(f.reminded_at),
    }


def field_payload(f: CustomerField) -> dict[str, Any]:
    return {
        "id": f.pk,
        "key": f.key,
        "label": f.label,
        "kind": f.kind,
        "choices": f.choices,
        "position": f.position,
        "is_active": f.is_active,
    }


def profile_payload(p: read.Profile) -> dict[str, Any]:
    body = customer_payload(p.customer)
    body.update(
        real_name=p.real_name,
        tags=p.tags,
        addresses=p.addresses,
        figures={
            "orders": p.figures.orders,
            "refunds": p.figures.refunds,
            "refund_rate": p.figures.refund_rate,
            "last_contact": _iso(p.figures.last_contact),
        },
        risk_tags=[tag for tag, _label in p.risk_tags],
        custom_fields={f.key: v for f, v in p.custom_fields if f.is_active},
        notes=[note_payload(n) for n in p.notes],
        follow_ups=[follow_up_payload(f) for f in p.follow_ups],
        merges=[{"id": m.pk, "merged_id": m.merged_id, "at": _iso(m.merged_at)} for m in p.merges],
    )
    return body


PROFILE_EXAMPLE = {
    "id": 17,
    "platform": "tiktok_shop",
    "display_name": "Emily R.",
    "real_name": "Em**",
    "phone": "+1 ***-***-4821",
    "email": "e***@gmail.com",
    "language": "en",
    "country": "US",
    "tags": ["vip"],
    "merged_into": None,
    "erased": False,
    "updated_at": "2026-11-27T00:02:11+00:00",
    "addresses": ["San Francisco, California, US"],
    "figures": {"orders": 4, "refunds": 1, "refund_rate": 0.25, "last_contact": None},
    "risk_tags": ["off_platform"],
    "custom_fields": {"vip_level": "gold"},
    "notes": [],
    "follow_ups": [],
    "merges": [],
}


# --- output (documentation) -----------------------------------------------------------------
class CustomerOut(serializers.Serializer):
    """A customer as the list shows it (``customer_payload``): personal fields masked."""

    id = serializers.IntegerField()
    platform = serializers.CharField()
    display_name = serializers.CharField(help_text="the platform nickname, as it is")
    real_name = serializers.CharField(help_text="masked")
    phone = serializers.CharField(help_text="masked")
    email = serializers.CharField(help_text="masked")
    language = serializers.CharField()
    country = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    merged_into = serializers.IntegerField(allow_null=True)
    erased = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class CustomerFieldOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=CustomerFieldKind.values)
    choices = serializers.ListField(child=serializers.CharField())
    position = serializers.IntegerField()
    is_active = serializers.BooleanField()


# --- input -----------------------------------------------------------------------------------
class CustomerPatch(serializers.Serializer):
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    custom_fields = serializers.DictField(required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )


class CustomerNoteIn(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class FollowUpIn(serializers.Serializer):
    promise = serializers.CharField(max_length=1000)
    due_at = serializers.DateTimeField()
    owner_id = IdField(required=False, allow_null=True)
    conversation_id = IdField(required=False, allow_null=True)


class FollowUpPatch(serializers.Serializer):
    done = serializers.BooleanField()
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class MergeIn(serializers.Serializer):
    merged_id = IdField(help_text="the profile merged into this one (it then points here)")


class FieldIn(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,39}$")
    label = serializers.CharField(max_length=80)  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=CustomerFieldKind.values)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, max_length=50
    )


class FieldPatch(serializers.Serializer):
    label = serializers.CharField(max_length=80, required=False)  # type: ignore[assignment]
    choices = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, max_length=50
    )
    position = serializers.IntegerField(min_value=0, max_value=999, required=False)
    is_active = serializers.BooleanField(required=False)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


# --- views -----------------------------------------------------------------------------------
class CustomerCursor(CursorPagination):
    ordering = "-id"


class CustomerList(ListAPIView):
    """Customers you may see (a conversation, order or case in a shop you work on), newest
    first; ``q`` searches them without decrypting anything."""

    pagination_class = CustomerCursor
    serializer_class = CustomerOut

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="a name as typed (2+ characters), a phone (with or without its "
                "country code), an e-mail or its part before the @, or an order id",
            )
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        q = str(request.query_params.get("q", ""))[:100]
        page = self.paginate_queryset(read.profile_search(request.user, q))
        return self.get_paginated_response([customer_payload(c) for c in page or []])


class CustomerDetail(APIView):
    @extend_schema(
        responses={200: dict},
        examples=[OpenApiExample("a profile", value=PROFILE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(profile_payload(read.profile_get(request.user, pk)))

    @extend_schema(
        request=CustomerPatch,
        responses={200: dict},
        examples=[
            OpenApiExample(
                "change",
                value={"phone": "+1 415 555 4821", "custom_fields": {"vip_level": "gold"}},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, pk: int) -> Response:
        changes = _valid(CustomerPatch, request.data)
        if not changes:
            raise ServiceError("Nothing to change.", code="invalid")
        work.customer_update(actor=request.user, customer_id=pk, changes=changes)
        return Response(profile_payload(read.profile_get(request.user, pk)))


class CustomerTimeline(APIView):
    """The buyer's conversations, orders and cases in your shops, newest first."""

    @extend_schema(parameters=[OpenApiParameter("page", int)], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        page = int_param(request.query_params.get("page"), minimum=1, maximum=1000) or 1
        entries, more = read.profile_timeline(request.user, pk, page=page)
        return Response(
            {
                "results": [
                    {
                        "kind": e.kind,
                        "id": e.id,
                        "at": _iso(e.at),
                        "shop_account_id": e.shop_account_id,
                        "shop_name": e.shop_name,
                        "status": e.status,
                        "detail": e.detail,
                    }
                    for e in entries
                ],
                "next_page": page + 1 if more else None,
            }
        )


class CustomerNoteCreate(APIView):
    @extend_schema(request=CustomerNoteIn, responses={201: dict})
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(CustomerNoteIn, request.data)
        note = work.customer_note_add(actor=request.user, customer_id=pk, text=data["text"])
        return Response(note_payload(note), status=status.HTTP_201_CREATED)


class CustomerNoteDetail(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int, note_id: int) -> Response:
        work.customer_note_delete(actor=request.user, customer_id=pk, note_id=note_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowUpCreate(APIView):
    @extend_schema(
        request=FollowUpIn,
        responses={201: dict},
        examples=[
            OpenApiExample(
                "promise",
                value={"promise": "Send the tracking number", "due_at": "2026-11-28T09:00:00Z"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(FollowUpIn, request.data)
        follow_up = work.follow_up_create(
            actor=request.user,
            customer_id=pk,
            promise=data["promise"],
            due_at=data["due_at"],
            owner_id=data.get("owner_id"),
            conversation_id=data.get("conversation_id"),
        )
        return Response(follow_up_payload(follow_up), status=status.HTTP_201_CREATED)


class FollowUpDetail(APIView):
    @extend_schema(request=FollowUpPatch, responses={200: dict})
    def patch(self, request: Request, pk: int, follow_up_id: int) -> Response:
        data = _valid(FollowUpPatch, request.data)
        if data["done"]:
            follow_up = work.follow_up_complete(
                actor=request.user, customer_id=pk, follow_up_id=follow_up_id
            )
        else:
            follow_up = work.follow_up_reopen(
                actor=request.user,
                customer_id=pk,
                follow_up_id=follow_up_id,
                due_at=data.get("due_at"),
            )
        return Response(follow_up_payload(follow_up))


def merge_payload(m: Any) -> dict[str, Any]:
    return {
        "id": m.pk,
        "survivor_id": m.survivor_id,
        "merged_id": m.merged_id,
        "moved": {k: len(v) for k, v in m.moved.items()},
        "merged_at": _iso(m.merged_at),
        "undone_at": _iso(m.undone_at),
    }


class CustomerMergeCreate(APIView):
    """Merge another profile into this one (supervisors and admins)."""

    @extend_schema(request=MergeIn, responses={201: dict})
    def post(self, request: Request, pk: int) -> Response:
        data = _valid(MergeIn, request.data)
        merge = work.customer_merge(actor=request.user, survivor_id=pk, merged_id=data["merged_id"])
        return Response(merge_payload(merge), status=status.HTTP_201_CREATED)


class CustomerMergeUndo(APIView):
    """Undo a merge exactly (409 with the reason when no longer safe)."""

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        return Response(merge_payload(work.customer_merge_undo(actor=request.user, merge_id=pk)))


class FieldCursor(CursorPagination):
    ordering = ("position", "id")


class CustomerFieldList(ListAPIView):
    """The organisation's custom fields; supervisors and admins add them."""

    pagination_class = FieldCursor
    serializer_class = CustomerFieldOut

    @extend_schema(responses=CustomerFieldOut(many=True))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(read.customer_field_list(request.user))
        return self.get_paginated_response([field_payload(f) for f in page or []])

    @extend_schema(
        request=FieldIn,
        responses={201: CustomerFieldOut},
        examples=[
            OpenApiExample(
                "choice",
                value={
                    "key": "vip_level",
                    "label": "VIP level",
                    "kind": "choice",
                    "choices": ["silver", "gold"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(FieldIn, request.data)
        definition = work.customer_field_create(
            actor=request.user,
            key=data["key"],
            label=data["label"],
            kind=data["kind"],
            choices=data.get("choices"),
        )
        return Response(field_payload(definition), status=status.HTTP_201_CREATED)


class CustomerFieldDetail(APIView):
    @extend_schema(request=FieldPatch, responses={200: dict})
    def patch(self, request: Request, pk: int) -> Response:
        changes = _valid(FieldPatch, request.data)
        if not changes:
            raise ServiceError("Nothing to change.", code="invalid")
        definition = work.customer_field_update(actor=request.user, field_id=pk, changes=changes)
        return Response(field_payload(definition))

    @extend_schema(request=None, responses={200: dict})
    def delete(self, request: Request, pk: int) -> Response:
        """Archive the field (its values stay, hidden)."""
        return Response(field_payload(work.customer_field_archive(actor=request.user, field_id=pk)))
