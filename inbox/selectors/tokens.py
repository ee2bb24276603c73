"""Reads of a person's own API tokens (nobody sees another person's tokens)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from inbox.models import ApiToken
from inbox.selectors.accounts import AnyUser
from scrm.api import Forbidden, NotFound


def token_list(user: AnyUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones included, to be seen)."""
    if not user.is_authenticated:
        raise Forbidden("Authentication required.")
    return ApiToken.objects.filter(user_id=user.pk).select_related("user").order_by("-id")


def token_get(user: AnyUser, token_id: Any) -> ApiToken:
    """One of the user's own tokens; anyone else's, or a malformed id, is NotFound."""
    try:
        return token_list(user).get(pk=int(token_id))
    except (ApiToken.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound("Token not found.") from None
