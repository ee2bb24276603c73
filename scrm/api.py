"""The REST API's shared shape: one error envelope and cursor pagination.

Every error is ``{"error": {"code": "...", "message": "...", "details": {...}}}`` with a fitting
4xx/5xx status, whatever raised it (DRF, Django's Http404/PermissionDenied, or a service).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404, JsonResponse
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Model)


class ServiceError(Exception):
    """A domain rule refused an operation; services raise it, the API shows it as a 4xx."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.details = details or {}


class IdField(serializers.IntegerField):
    """An id in a request body: a positive integer that a bigint column holds. Beyond it SQLite
    raises OverflowError and PostgreSQL "out of range" — a 500, where this is a 400."""

    def __init__(self, **kwargs: Any) -> None:
        from scrm.params import MAX_ID

        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class NotFound(ServiceError):
    status_code: int = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Forbidden(ServiceError):
    status_code: int = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class Conflict(ServiceError):
    """The request is valid but the object's state refuses it (it moved on); ``code`` and
    ``details`` name the state."""

    status_code: int = status.HTTP_409_CONFLICT
    code = "conflict"


def locked_or_not_found(model: type[M], message: str, **lookup: Any) -> M:
    """The one row of ``model`` that ``lookup`` names, locked until the transaction ends
    (``select_for_update``), or :class:`NotFound` with ``message``. Services pass the
    organisation in ``lookup``, so a row of another organisation is not found either."""
    try:
        return model._default_manager.select_for_update().get(**lookup)
    except ObjectDoesNotExist:
        raise NotFound(message) from None


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(
    code: str, message: str, status_code: int, details: dict[str, Any] | None = None
) -> JsonResponse:
    """The error envelope for plain Django views (webhooks, pages' JSON endpoints)."""
    return JsonResponse(error_body(code, message, details), status=status_code)


def _flatten_detail(detail: Any) -> Any:
    if isinstance(detail, list):
        return [_flatten_detail(d) for d in detail]
    if isinstance(detail, dict):
        return {k: _flatten_detail(v) for k, v in detail.items()}
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, message = "invalid", "The request is not valid."
        details = _flatten_detail(exc.detail)
        if not isinstance(details, dict):
            details = {"non_field_errors": details}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
        details = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            details = {"retry_after_seconds": int(wait)}
    else:  # pragma: no cover - drf only returns responses for APIException
        code, message, details = "error", "Error.", {}
    response.data = error_body(str(code), message, details)
    return response


class CursorPagination(pagination.CursorPagination):
    """Stable paging under concurrent inserts; views override ``ordering``.

    A cursor is input like any other: one that does not decode, or whose position is not a
    value of the first ordering field (a NUL, ``1e308``, an id beyond 64 bits), is a 400
    ``invalid_cursor``, never a database error."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: str | tuple[str, ...] = "-id"

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            cursor = self.decode_cursor(request)
        except exceptions.NotFound:
            raise ServiceError("Invalid cursor.", code="invalid_cursor") from None
        if cursor is not None and cursor.position is not None:
            ordering = self.get_ordering(request, queryset, view)
            _check_cursor_value(queryset.model, ordering[0], cursor.position)
        return super().paginate_queryset(queryset, request, view)


class KeysetPagination(pagination.BasePagination):
    """Forward paging on every ordering field (value, …, id), not only the first.

    DRF's CursorPagination positions on the first field and skips ties with an offset capped
    at 1,000, so a queue where thousands of rows share a sort value (every answered
    conversation has the same ``queue_key``) could not be paged through. The cursor here is the
    last row's values for all ordering fields; the last field must be unique (``id``).
    """

    page_size = 50
    max_page_size = 200

    def __init__(self, ordering: tuple[str, ...]) -> None:
        self.ordering = ordering
        self.next_values: list[Any] | None = None
        self.request: Any = None

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        self.request = request
        size = self._size(request)
        raw = request.query_params.get("cursor")
        if raw:
            values = self._decode(raw)
            for field, value in zip(self.ordering, values, strict=True):
                _check_cursor_value(queryset.model, field, value)
            queryset = queryset.filter(self._after(values))
        rows = list(queryset.order_by(*self.ordering)[: size + 1])
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            self.next_values = [getattr(last, f.lstrip("-")) for f in self.ordering]
        return rows

    def start(self, request: Any) -> tuple[list[Any] | None, int]:
        """For a view whose selector pages itself: the cursor's values (None on the first page)
        and the page size asked for. Give ``next_values`` the last row's values when more
        follow, then call ``get_paginated_response``."""
        self.request = request
        raw = request.query_params.get("cursor")
        return (self._decode(raw) if raw else None), self._size(request)

    def get_paginated_response(self, data: Any) -> Response:
        next_url = None
        if self.next_values is not None:
            from rest_framework.utils.urls import replace_query_param

            next_url = replace_query_param(
                self.request.build_absolute_uri(), "cursor", self._encode(self.next_values)
            )
        return Response({"next": next_url, "previous": None, "results": data})

    def _size(self, request: Any) -> int:
        try:
            return max(1, min(int(request.query_params["page_size"]), self.max_page_size))
        except (KeyError, ValueError):
            return self.page_size

    def _after(self, values: list[Any]) -> Any:
        from django.db.models import Q

        condition = Q(pk__in=[])  # false
        equal = Q()
        for field, value in zip(self.ordering, values, strict=True):
            name = field.lstrip("-")
            op = "lt" if field.startswith("-") else "gt"
            condition |= equal & Q(**{f"{name}__{op}": value})
            equal &= Q(**{name: value})
        return condition

    @staticmethod
    def _encode(values: list[Any]) -> str:
        import base64
        import json

        plain = [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
        return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")

    def _decode(self, raw: str) -> list[Any]:
        import base64
        import binascii
        import json

        try:
            values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (binascii.Error, ValueError, RecursionError):
            values = None
        if (
            not isinstance(values, list)
            or len(values) != len(self.ordering)
            or not all(_is_cursor_scalar(v) for v in values)
        ):
            raise ServiceError("Invalid cursor.", code="invalid_cursor")
        return values


_MAX_INT = 2**63 - 1


def _is_cursor_scalar(value: Any) -> bool:
    """What our cursors hold: ids, counts, ISO times. Not null, no lists or objects, no floats
    (``1e308``), no integers beyond 64 bits, no long or NUL-carrying strings."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_MAX_INT <= value <= _MAX_INT
    return isinstance(value, str) and len(value) <= 64 and "\x00" not in value


def _check_cursor_value(model: Any, ordering_field: str, value: Any) -> None:
    """ServiceError (400) unless ``value`` is a value of the model field ``ordering_field``
    names (its type, and for integers the database's range)."""
    from django.core.exceptions import FieldDoesNotExist

    name = ordering_field.lstrip("-")
    try:
        field = model._meta.get_field("pk" if name == "pk" else name)
    except FieldDoesNotExist:
        field = model._meta.pk if name == "pk" else None
    if field is None or not _is_cursor_scalar(value):
        raise ServiceError("Invalid cursor.", code="invalid_cursor")
    try:
        field.run_validators(field.to_python(value))
    except (DjangoValidationError, TypeError, ValueError, OverflowError):
        raise ServiceError("Invalid cursor.", code="invalid_cursor") from None
