"""REST endpoints for quick replies and materials (thin: parse, call a selector or service,
shape the output). Mounted under ``/api/v1/templates/``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.selectors.for_apps import ActingMember, acting_member
from scrm.api import CursorPagination, IdField, KeysetPagination, NotFound, ServiceError
from scrm.parsers import JSONParser
from templates_app import exchange, rendering, selectors, services
from templates_app.models import Material, MaterialKind, QuickReply

# --- serializers -----------------------------------------------------------------------------


def _iso(value: datetime, tz: tzinfo) -> str:
    """DRF's default rendering of a datetime (ISO 8601 in the viewer's time zone, ``Z`` for
    UTC), without its per-value look-ups of the settings and the current zone."""
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def quick_reply_payload(
    reply: QuickReply,
    *,
    shop_ids: Sequence[int],
    material_ids: Sequence[int],
    usage_count: int,
    variables: Sequence[str],
    member: ActingMember | None,
    tz: tzinfo | None = None,
) -> dict[str, Any]:
    """A quick reply as the API shows it (the fields ``QuickReplySerializer`` documents).

    A plain function: the picker returns 50 of these per keystroke, and DRF's per-field
    machinery cost more than everything else of the request. ``tz``: the viewer's time zone
    (the current one when not given)."""
    tz = tz or timezone.get_current_timezone()
    return {
        "id": reply.id,
        "scope": reply.scope,
        "owner_id": reply.owner_id,
        "shop_account_ids": list(shop_ids),
        "title": reply.title,
        "shortcut": reply.shortcut,
        "category": reply.category,
        "default_language": reply.default_language,
        "languages": list(reply.bodies),
        "body": reply.body,
        "translations": dict(reply.translations or {}),
        "custom_fields": list(reply.custom_fields or []),
        "variables": list(variables),
        "material_ids": list(material_ids),
        "usage_count": usage_count,
        "is_archived": reply.is_archived,
        "can_manage": bool(member and selectors.can_manage(member, reply)),
        "created_at": _iso(reply.created_at, tz),
        "updated_at": _iso(reply.updated_at, tz),
    }


class QuickReplySerializer(serializers.ModelSerializer):
    """Documents the fields; ``to_representation`` is ``quick_reply_payload``."""

    shop_account_ids = serializers.SerializerMethodField()
    material_ids = serializers.SerializerMethodField()
    languages = serializers.SerializerMethodField()
    variables = serializers.SerializerMethodField()
    can_manage = serializers.SerializerMethodField()

    class Meta:
        model = QuickReply
        fields = [
            "id",
            "scope",
            "owner_id",
            "shop_account_ids",
            "title",
            "shortcut",
            "category",
            "default_language",
            "languages",
            "body",
            "translations",
            "custom_fields",
            "variables",
            "material_ids",
            "usage_count",
            "is_archived",
            "can_manage",
            "created_at",
            "updated_at",
        ]

    def _relations(self, obj: QuickReply) -> tuple[list[int], list[int]]:
        relations = self.context.get("relations") or {}
        if obj.id not in relations:
            relations.update(selectors.quick_reply_relations([obj.id]))
            self._context["relations"] = relations  # type: ignore[index]
        return relations[obj.id]

    def to_representation(self, instance: QuickReply) -> dict[str, Any]:
        shops, materials = self._relations(instance)
        return quick_reply_payload(
            instance,
            shop_ids=shops,
            material_ids=materials,
            usage_count=instance.usage_count,
            variables=rendering.names_in(instance.bodies.values()),
            member=self.context.get("member"),
        )

    # The method fields' types, for the schema.
    def get_shop_account_ids(self, obj: QuickReply) -> list[int]:
        return self._relations(obj)[0]

    def get_material_ids(self, obj: QuickReply) -> list[int]:
        return self._relations(obj)[1]

    def get_languages(self, obj: QuickReply) -> list[str]:
        return list(obj.bodies)

    def get_variables(self, obj: QuickReply) -> list[str]:
        return rendering.names_in(obj.bodies.values())

    def get_can_manage(self, obj: QuickReply) -> bool:
        member = self.context.get("member")
        return bool(member and selectors.can_manage(member, obj))


class QuickReplyInput(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    shortcut = serializers.CharField(required=False, allow_blank=True, max_length=60)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    scope = serializers.CharField(required=False)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    default_language = serializers.CharField(required=False, max_length=16)
    translations = serializers.DictField(
        child=serializers.CharField(trim_whitespace=False), required=False
    )
    custom_fields = serializers.ListField(child=serializers.CharField(), required=False)
    shop_account_ids = serializers.ListField(child=IdField(), required=False)
    material_ids = serializers.ListField(child=IdField(), required=False)


class RenderInput(serializers.Serializer):
    conversation_id = IdField()
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000),
        required=False,
    )
    use = serializers.BooleanField(required=False, default=False)


class RenderOutput(serializers.Serializer):
    text = serializers.CharField()
    language = serializers.CharField()
    prompts = serializers.ListField(child=serializers.DictField())
    missing = serializers.ListField(child=serializers.CharField())
    attachments = serializers.ListField(child=serializers.DictField())


class UseInput(serializers.Serializer):
    conversation_id = IdField()
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)


class MaterialSerializer(serializers.ModelSerializer):
    shop_account_ids = serializers.SerializerMethodField()
    message_type = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Material
        fields = [
            "id",
            "kind",
            "name",
            "content_type",
            "size",
            "sha256",
            "url",
            "message_type",
            "scope",
            "owner_id",
            "shop_account_ids",
            "is_archived",
            "created_at",
        ]

    def get_shop_account_ids(self, obj: Material) -> list[int]:
        shops = self.context.get("material_shops") or {}
        if obj.id not in shops:
            shops.update(selectors.material_shop_ids([obj.id]))
            self._context["material_shops"] = shops  # type: ignore[index]
        return shops[obj.id]

    def get_url(self, obj: Material) -> str:
        if obj.kind == MaterialKind.LINK:
            return obj.url
        path = reverse("templates_api:material-download", args=[obj.id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class MaterialInput(serializers.Serializer):
    file = serializers.FileField(required=False, allow_empty_file=True)
    url = serializers.CharField(required=False, max_length=2000)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    scope = serializers.CharField(required=False, default="personal")
    shop_account_ids = serializers.ListField(child=IdField(), required=False)

    def to_internal_value(self, data: Any) -> Any:
        # Multipart forms send "1,2" or repeated keys; JSON sends a list.
        if hasattr(data, "getlist"):
            raw = [v for item in data.getlist("shop_account_ids") for v in str(item).split(",")]
            plain = {k: data.get(k) for k in data if k != "shop_account_ids"}
            plain["shop_account_ids"] = [v.strip() for v in raw if v.strip()]
            data = plain
        return super().to_internal_value(data)


# --- quick replies ---------------------------------------------------------------------------


class QuickReplyPage(serializers.Serializer):
    """A page of the picker: ``next`` is the URL of the following page (null on the last)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = QuickReplySerializer(many=True)


class _QuickReplyView(GenericAPIView):
    serializer_class = QuickReplySerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.request.user.is_authenticated:
            context["member"] = acting_member(self.request.user)
        return context


class QuickReplyList(_QuickReplyView):
    """The picker and the management list: visible quick replies, most used first."""

    @extend_schema(
        operation_id="templates_list",
        responses=QuickReplyPage,
        parameters=[
            OpenApiParameter("search", str, description="in shortcut, title and bodies"),
            OpenApiParameter("category", str),
            OpenApiParameter("scope", str, enum=["personal", "team", "organisation"]),
            OpenApiParameter("archived", bool),
            OpenApiParameter("cursor", str, description="the ``next`` link's cursor"),
            OpenApiParameter("page_size", int, description="1-200, 50 by default"),
        ],
    )
    def get(self, request: Request) -> Response:
        paginator = KeysetPagination(("-usage_count", "-id"))
        after, size = paginator.start(request)
        if after is not None and not all(isinstance(v, int) for v in after):
            raise ServiceError("Invalid cursor.", code="invalid_cursor")
        page = selectors.quick_reply_page_for(
            request.user,
            search=request.query_params.get("search", ""),
            category=request.query_params.get("category", ""),
            scope=request.query_params.get("scope", ""),
            include_archived=request.query_params.get("archived") in ("1", "true"),
            after=(after[0], after[1]) if after is not None else None,
            limit=size,
        )
        paginator.next_values = list(page.next_after) if page.next_after else None
        member, tz = acting_member(request.user), timezone.get_current_timezone()
        data = [
            quick_reply_payload(
                e.reply,
                shop_ids=e.shop_ids,
                material_ids=e.material_ids,
                usage_count=page.view.usage_of(e),
                variables=e.variables,
                member=member,
                tz=tz,
            )
            for e in page.entries
        ]
        return paginator.get_paginated_response(data)

    @extend_schema(request=QuickReplyInput, responses={201: QuickReplySerializer})
    def post(self, request: Request) -> Response:
        body = QuickReplyInput(data=request.data)
        body.is_valid(raise_exception=True)
        quick_reply = services.quick_reply_create(actor=request.user, **body.validated_data)
        quick_reply = selectors.quick_reply_get(request.user, quick_reply.id)
        return Response(self.get_serializer(quick_reply).data, status=status.HTTP_201_CREATED)


class QuickReplyDetail(_QuickReplyView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(selectors.quick_reply_get(request.user, pk)).data)

    @extend_schema(request=QuickReplyInput)
    def patch(self, request: Request, pk: int) -> Response:
        body = QuickReplyInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.quick_reply_update(actor=request.user, quick_reply_id=pk, **body.validated_data)
        return Response(self.get_serializer(selectors.quick_reply_get(request.user, pk)).data)


class QuickReplyArchive(_QuickReplyView):
    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        services.quick_reply_archive(actor=request.user, quick_reply_id=pk)
        return Response(self.get_serializer(selectors.quick_reply_get(request.user, pk)).data)


class QuickReplyUnarchive(_QuickReplyView):
    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        services.quick_reply_unarchive(actor=request.user, quick_reply_id=pk)
        return Response(self.get_serializer(selectors.quick_reply_get(request.user, pk)).data)


class QuickReplyRender(GenericAPIView):
    """Fill the variables from a conversation; ``use: true`` also counts the use (send)."""

    serializer_class = RenderInput

    @extend_schema(request=RenderInput, responses=RenderOutput)
    def post(self, request: Request, pk: int) -> Response:
        body = RenderInput(data=request.data)
        body.is_valid(raise_exception=True)
        args = {
            "quick_reply_id": pk,
            "conversation_id": body.validated_data["conversation_id"],
            "language": body.validated_data.get("language") or None,
            "values": body.validated_data.get("values") or {},
        }
        if body.validated_data["use"]:
            result = services.quick_reply_render_for_send(actor=request.user, **args)
        else:
            _, _, result = selectors.quick_reply_render(request.user, **args)
        return Response(
            {
                "text": result.text,
                "language": result.language,
                "prompts": result.prompts,
                "missing": result.missing,
                "attachments": result.attachments,
            }
        )


class QuickReplyUse(GenericAPIView):
    serializer_class = UseInput

    @extend_schema(request=UseInput)
    def post(self, request: Request, pk: int) -> Response:
        body = UseInput(data=request.data)
        body.is_valid(raise_exception=True)
        usage = services.quick_reply_use(
            actor=request.user,
            quick_reply_id=pk,
            conversation_id=body.validated_data["conversation_id"],
            language=body.validated_data.get("language", ""),
        )
        return Response(
            {
                "id": usage.id,
                "quick_reply_id": usage.quick_reply_id,
                "conversation_id": usage.conversation_id,
                "language": usage.language,
                "used_at": usage.used_at,
            },
            status=status.HTTP_201_CREATED,
        )


class QuickReplyImport(GenericAPIView):
    """Import rows as exported: JSON body ``{"templates": [...]}``, or a multipart ``file``
    (``.csv`` or ``.json``), or JSON ``{"format": "csv", "data": "<csv text>"}``."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    serializer_class = QuickReplySerializer

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        rows = self._rows(request)
        result = services.quick_reply_import(actor=request.user, rows=rows)
        return Response(
            {
                "created": len(result["created"]),
                "updated": len(result["updated"]),
                "unchanged": len(result["unchanged"]),
                "ids": sorted(result["created"] + result["updated"] + result["unchanged"]),
            }
        )

    def _rows(self, request: Request) -> list[dict[str, Any]]:
        data = request.data
        if not isinstance(data, list) and not hasattr(data, "get"):  # JSON null, a number
            data = {}
        try:
            if isinstance(data, list):
                return exchange.from_json(json.dumps(data))
            upload = data.get("file")
            fmt = str(data.get("format") or "").lower()
            if upload is not None:
                return exchange.from_upload(upload, fmt)
            if fmt == "csv":
                return exchange.from_csv(str(data.get("data") or ""))
            if "templates" in data:
                return exchange.from_json(json.dumps({"templates": data["templates"]}))
        except exchange.ExchangeError as exc:
            raise ServiceError(str(exc), code="import_invalid") from None
        raise ServiceError(
            'Send {"templates": [...]}, a CSV or JSON "file", or {"format": "csv", "data": ...}.',
            code="import_invalid",
        )


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        return data if isinstance(data, str | bytes) else json.dumps(data)


class QuickReplyExport(GenericAPIView):
    """The quick replies you manage, as ``?format=json`` (default) or ``?format=csv``."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    serializer_class = QuickReplySerializer  # schema only: each method declares its own

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ServiceError("format must be csv or json.", details={"format": [fmt]})
        items, relations = selectors.quick_reply_export_for(request.user)
        rows = [exchange.row_for(q, *relations[q.id]) for q in items]
        if fmt == "csv":
            text, content_type = exchange.to_csv(rows), "text/csv; charset=utf-8"
        else:
            text, content_type = exchange.to_json(rows), "application/json"
        response = HttpResponse(text, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="quick-replies.{fmt}"'
        return response


class QuickReplyStats(GenericAPIView):
    """Uses per quick reply and per agent (supervisors and admins)."""

    serializer_class = QuickReplySerializer  # schema only: each method declares its own

    @extend_schema(parameters=[OpenApiParameter("days", int)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        try:
            days = min(max(int(request.query_params.get("days", 30)), 1), 366)
        except ValueError:
            raise ServiceError(
                "days must be a number.", details={"days": ["Not a number."]}
            ) from None
        return Response(selectors.quick_reply_stats(request.user, days=days))


# --- materials -------------------------------------------------------------------------------


class MaterialCursor(CursorPagination):
    ordering = "-id"


class MaterialList(GenericAPIView):
    """Visible materials; POST a multipart ``file`` (image or PDF) or JSON ``{"url", "name"}``."""

    serializer_class = MaterialSerializer
    pagination_class = MaterialCursor
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="templates_materials_list",
        responses=MaterialSerializer(many=True),
        parameters=[
            OpenApiParameter("search", str, description="in the name"),
            OpenApiParameter("kind", str, enum=[k.value for k in MaterialKind]),
        ],
    )
    def get(self, request: Request) -> Response:
        qs = selectors.material_list_for(
            request.user,
            search=request.query_params.get("search", ""),
            kind=request.query_params.get("kind", ""),
        )
        page = list(self.paginate_queryset(qs) or [])
        context = {
            **self.get_serializer_context(),
            "material_shops": selectors.material_shop_ids([m.id for m in page]),
        }
        return self.get_paginated_response(
            MaterialSerializer(page, many=True, context=context).data
        )

    @extend_schema(request=MaterialInput, responses={201: MaterialSerializer})
    def post(self, request: Request) -> Response:
        body = MaterialInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        common = {
            "actor": request.user,
            "name": data.get("name", ""),
            "scope": data.get("scope", "personal"),
            "shop_account_ids": data.get("shop_account_ids", []),
        }
        if data.get("file") is not None:
            material, created = services.material_upload(content=data["file"], **common)
        elif data.get("url"):
            material, created = services.material_link_create(url=data["url"], **common), True
        else:
            raise ServiceError("Send a file or a url.", details={"file": ["Required."]})
        material = selectors.material_get(request.user, material.id)
        return Response(
            {**self.get_serializer(material).data, "deduplicated": not created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MaterialDetail(GenericAPIView):
    serializer_class = MaterialSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(selectors.material_get(request.user, pk)).data)


class MaterialArchive(GenericAPIView):
    serializer_class = MaterialSerializer

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        material = services.material_archive(actor=request.user, material_id=pk)
        return Response(self.get_serializer(material).data)


class MaterialUnarchive(GenericAPIView):
    serializer_class = MaterialSerializer

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        material = services.material_unarchive(actor=request.user, material_id=pk)
        return Response(self.get_serializer(material).data)


class MaterialDownload(GenericAPIView):
    """The stored file of a visible image or PDF material."""

    serializer_class = MaterialSerializer

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: int) -> FileResponse:
        from django.core.files.storage import default_storage

        material = selectors.material_get(request.user, pk)
        if not material.blob:
            raise NotFound("This material has no file.")
        response = FileResponse(
            default_storage.open(material.blob, "rb"), content_type=material.content_type
        )
        response["Content-Disposition"] = f'inline; filename="{material.sha256[:12]}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
