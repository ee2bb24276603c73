"""REST endpoints for accounts and access (thin: parse, call a selector or service, shape)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView, ListCreateAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from inbox import selectors, services
from inbox.api.tokens import NewTokenSerializer, new_token_body
from inbox.models import ShopAccount, ShopMembership
from inbox.selectors.two_factor import two_factor_device, two_factor_setup_required
from inbox.services.signin import two_factor_verify
from inbox.services.tokens import NAME_MAX_LENGTH, token_create
from scrm.api import CursorPagination, IdField, ServiceError


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=16,
        required=False,
        help_text="The current code of the user's authenticator app, when two-factor sign-in "
        "is on for the user.",
    )
    name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, required=False, help_text='The token\'s name (default "API").'
    )


class AuthTokenView(APIView):
    """Exchange username and password (and the two-factor code, when on) for a new API token
    (``Authorization: Token <key>``). Failures count towards the sign-in lockout."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenRequestSerializer, responses={200: NewTokenSerializer})
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        # A locked-out account or address: authenticate() refuses, and django-axes's
        # middleware answers 429 "signin_locked" instead of this view's 400.
        user = authenticate(
            request._request, username=username, password=body.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise ServiceError(
                "Unable to log in with the credentials given.",
                code="invalid_credentials",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        if two_factor_setup_required(user):
            raise ServiceError(
                "Your organisation requires two-factor sign-in: set it up on the two-factor "
                "page first.",
                code="two_factor_setup_required",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        if two_factor_device(user) is not None:
            otp = body.validated_data.get("otp")
            if not otp:
                raise ServiceError(
                    "Two-factor sign-in is on for this account: send the current code as otp.",
                    code="otp_required",
                )
            if two_factor_verify(user=user, code=otp) is None:
                # Counted like a wrong password (lockout, audit log).
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": username, "scrm_reason": "otp"},
                    request=request._request,
                )
                raise ServiceError("The two-factor code is not right.", code="otp_invalid")
        token, key = token_create(
            user=user, name=body.validated_data.get("name") or "API", via="api"
        )
        return Response(new_token_body(token, key))


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
    user_id = IdField()
    shop_account_id = IdField()
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
