"""REST endpoints for a person's own API tokens and "log out everywhere" (thin: parse, call a
selector or service, shape). Token keys appear in a response only when made."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbox.auth import ApiTokenAuthentication, token_state
from inbox.models import ApiToken
from inbox.selectors.tokens import token_get, token_list
from inbox.services.tokens import (
    NAME_MAX_LENGTH,
    token_create,
    token_revoke,
    token_rotate,
    tokens_revoke_all,
)
from scrm.api import CursorPagination, Forbidden


def _refuse_token_callers(request: Request) -> None:
    """Making or rotating a key needs the person (a signed-in session, or the password at
    ``POST /api/v1/auth/token/``): a leaked token must not mint successors that outlive its
    expiry or its revocation."""
    if isinstance(request.successful_authenticator, ApiTokenAuthentication):
        raise Forbidden(
            "A token cannot make or rotate tokens: sign in, or exchange the password at "
            "/api/v1/auth/token/.",
            code="session_required",
        )


class ApiTokenSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(
        help_text="active, revoked, expired or password_changed"
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "state",
        ]
        read_only_fields = fields

    def get_state(self, token: ApiToken) -> str:
        return token_state(token)


class NewTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key: shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=settings.SCRM_API_TOKEN_MAX_DAYS
    )


def new_token_body(token: ApiToken, key: str) -> dict[str, Any]:
    body = dict(ApiTokenSerializer(token).data)
    return {"token": key, **body}


class ByNewest(CursorPagination):
    ordering = "-id"


class TokenList(ListAPIView):
    """The caller's own API tokens (never their keys)."""

    serializer_class = ApiTokenSerializer
    pagination_class = ByNewest

    def get_queryset(self) -> Any:
        return token_list(self.request.user)

    @extend_schema(request=TokenCreateSerializer, responses={201: NewTokenSerializer})
    def post(self, request: Request) -> Response:
        """Make a token; the response carries its key, once. Needs a signed-in session."""
        _refuse_token_callers(request)
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = token_create(
            user=request.user,
            name=body.validated_data["name"],
            expires_in_days=body.validated_data.get("expires_in_days"),
            via="api",
        )
        return Response(new_token_body(token, key), status=status.HTTP_201_CREATED)


class TokenDetail(APIView):
    @extend_schema(responses=ApiTokenSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ApiTokenSerializer(token_get(request.user, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke the token at once (a revoked token stays listed)."""
        token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRotate(APIView):
    @extend_schema(request=None, responses={201: NewTokenSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """A new key for the token's name and lifetime; the old token is revoked. Needs a
        signed-in session."""
        _refuse_token_callers(request)
        token, key = token_rotate(user=request.user, token_id=pk)
        return Response(new_token_body(token, key), status=status.HTTP_201_CREATED)


class LogoutEverywhere(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "LoggedOutEverywhere",
            {"tokens": serializers.IntegerField(), "sessions": serializers.IntegerField()},
        ),
    )
    def post(self, request: Request) -> Response:
        """Revoke every token of the caller and end every signed-in session (this one too)."""
        return Response(tokens_revoke_all(user=request.user))
