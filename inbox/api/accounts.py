"""REST endpoints for accounts and access (thin: parse, call a selector or service, shape)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.generics import GenericAPIView, ListAPIView, ListCreateAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from inbox import selectors, services
from inbox.models import ShopAccount, ShopMembership
from scrm.api import CursorPagination, ServiceError


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class AuthTokenView(APIView):
    """Exchange username and password for an API token (``Authorization: Token <key>``)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ServiceError(
                "Unable to log in with the credentials given.",
                code="invalid_credentials",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "name": serializers.CharField(),
                "role": serializers.CharField(),
                "organisation": serializers.CharField(),
                "time_zone": serializers.CharField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        member = selectors.member_for(request.user)
        return Response(
            {
                "id": request.user.pk,
                "username": request.user.get_username(),
                "name": member.name,
                "role": member.role,
                "organisation": member.organisation.name,
                "time_zone": member.time_zone,
            }
        )


class ShopAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShopAccount
        fields = ["id", "platform", "platform_shop_id", "name", "region", "time_zone", "is_active"]


class ByIdCursor(CursorPagination):
    ordering = "id"


class ShopAccountList(ListAPIView):
    serializer_class = ShopAccountSerializer
    pagination_class = ByIdCursor

    def get_queryset(self) -> Any:
        return selectors.shop_account_list(self.request.user)


class ShopAccountDetail(GenericAPIView):
    serializer_class = ShopAccountSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(selectors.shop_account_get(request.user, pk)).data)


class MembershipSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField()
    shop_account_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ShopMembership
        fields = ["id", "user_id", "username", "shop_account_id", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipList(ListCreateAPIView):
    serializer_class = MembershipSerializer

    def get_queryset(self) -> Any:
        return selectors.membership_list(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_create(
            actor=request.user,
            user_id=body.validated_data["user_id"],
            shop_account_id=body.validated_data["shop_account_id"],
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.membership_delete(actor=request.user, membership_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
