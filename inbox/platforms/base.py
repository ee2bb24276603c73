"""The narrow interface every platform adapter implements.

Adapters exchange these small dataclasses, never Django models, so they can be tested (and the
simulator built) without the database. All of an adapter's HTTP goes through one client with
timeouts and bounded retries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar

# After-sales and order dataclasses live in base_commerce.py, the platform's customer-service
# figures in base_performance.py; they are part of this interface.
from inbox.platforms.base_commerce import (
    AfterSalesLine,
    DecisionRequest,
    EvidenceMedia,
    PlatformAfterSales,
    PlatformOrder,
    PlatformOrderLine,
    PlatformRecipient,
    RejectReason,
    ReturnRecord,
)
from inbox.platforms.base_performance import ServicePerformance

__all__ = [
    "AfterSalesLine",
    "DecisionRequest",
    "EvidenceMedia",
    "PlatformAfterSales",
    "PlatformOrder",
    "PlatformOrderLine",
    "PlatformRecipient",
    "RejectReason",
    "ReturnRecord",
    "ServicePerformance",
]

T = TypeVar("T")


# --- errors ----------------------------------------------------------------------------------
class PlatformError(Exception):
    """The platform refused or failed a call. ``code`` is the platform's own (0 if none).

    Messages never contain tokens, secrets or buyer data.
    """

    retryable = False

    def __init__(self, message: str, *, code: int = 0, http_status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class AuthExpired(PlatformError):
    """The access token expired and could not be refreshed (the seller must re-authorise)."""


class RateLimited(PlatformError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(PlatformError):
    """5xx, timeout, connection reset: worth trying again later."""

    retryable = True


class MalformedWebhook(Exception):
    """A webhook body that is not a notification of this platform (answered 400)."""


class InvalidPlatformId(PlatformError):
    """An id that is not a platform id (a NUL, a lone surrogate, ``../``, 200 characters):
    the call it was meant for can never succeed, so it is not retried. The message names
    the field, never the value (which may be anything a sender chose)."""


# Platform ids (shops, conversations, messages, returns, orders, notifications) are short
# strings of letters, digits and a few separators. Anything else is refused where it enters,
# before it reaches a URL, a signature, a log line or the database (PostgreSQL refuses NUL
# and lone surrogates in text). No leading dot: ``..`` must never become a path segment.
PLATFORM_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.:=-]{0,127}")


def is_platform_id(value: object) -> bool:
    return isinstance(value, str) and PLATFORM_ID.fullmatch(value) is not None


def platform_id(value: object, what: str) -> str:
    """``value`` as a platform id (an int is taken as its digits); InvalidPlatformId if it is
    not one. ``what`` names the field in the error."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not is_platform_id(value):
        raise InvalidPlatformId(f"{what} is not a valid platform id")
    return str(value)


# --- credentials -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    """What a connection to one shop needs. Stored encrypted in ``ShopAccount.credentials``."""

    app_key: str
    app_secret: str
    access_token: str = ""
    access_token_expires_at: int = 0  # Unix seconds (TikTok sends absolute timestamps)
    refresh_token: str = ""
    refresh_token_expires_at: int = 0
    shop_cipher: str = ""
    shop_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def with_tokens(self, tokens: TokenSet) -> Credentials:
        return replace(
            self,
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
        )

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(app_key={self.app_key!r}, shop_id={self.shop_id!r})"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    access_token_expires_at: int
    refresh_token: str
    refresh_token_expires_at: int
    seller_name: str = ""
    open_id: str = ""

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.access_token_expires_at})"


@dataclass(frozen=True)
class AuthorizedShop:
    shop_id: str
    cipher: str
    name: str
    region: str
    code: str = ""
    seller_type: str = ""


# --- conversations and messages --------------------------------------------------------------
@dataclass(frozen=True)
class Participant:
    role: str  # BUYER | SHOP | CUSTOMER_SERVICE | SYSTEM | ROBOT
    im_user_id: str
    user_id: str = ""  # the buyer's platform user id (conversations only)
    nickname: str = ""
    avatar: str = ""


@dataclass(frozen=True)
class PlatformMessage:
    message_id: str
    conversation_id: str
    type: str  # TEXT, IMAGE, ORDER_CARD, ...
    content: dict[str, Any]  # decoded from the platform's JSON string
    create_time: datetime  # aware, UTC
    sender: Participant
    index: str = ""
    is_visible: bool = True


@dataclass(frozen=True)
class PlatformConversation:
    conversation_id: str
    create_time: datetime
    buyer: Participant | None
    unread_count: int = 0
    latest_message: PlatformMessage | None = None
    can_send_message: bool = True


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str = ""  # "" means no more pages

    @property
    def has_more(self) -> bool:
        return bool(self.next_page_token)


@dataclass(frozen=True)
class OutgoingMessage:
    type: str  # TEXT | IMAGE | PRODUCT_CARD | ORDER_CARD
    content: dict[str, Any] = field(default_factory=dict)


# --- webhooks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookNotice:
    """A parsed webhook. ``kind`` is our name for it; ``type_code`` the platform's."""

    notification_id: str
    kind: str  # new_message | new_conversation | return_status | cancellation_status |
    #            deauthorization | authorization_expiring | unknown
    type_code: int
    shop_id: str
    timestamp: int
    data: dict[str, Any]
    # The platform objects the notification is about ("" where it names none), checked.
    conversation_id: str = ""
    message_id: str = ""
    return_id: str = ""
    cancellation_id: str = ""
    order_id: str = ""
    # Why this notification can never be acted on (an id in ``data`` that is not a platform
    # id), or "": it is stored failed with this reason and never processed or retried.
    problem: str = ""


# --- the interface ---------------------------------------------------------------------------
class ShopApi(Protocol):
    """Calls on one authorised shop. Implementations refresh an expired token once, through
    ``on_tokens_refreshed``, before giving up with AuthExpired."""

    credentials: Credentials

    def list_conversations(
        self, *, page_token: str = "", page_size: int = 20
    ) -> Page[PlatformConversation]: ...

    def list_messages(
        self,
        conversation_id: str,
        *,
        page_token: str = "",
        page_size: int = 10,
        newest_first: bool = True,
    ) -> Page[PlatformMessage]: ...

    def send_message(self, conversation_id: str, message: OutgoingMessage) -> str:
        """Send; returns the platform's message id."""
        ...

    def mark_read(self, conversation_id: str) -> None: ...

    def search_returns(
        self,
        *,
        return_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = 50,
    ) -> Page[PlatformAfterSales]:
        """Returns by id, or those updated at or after ``update_time_ge`` (Unix seconds),
        oldest update first."""
        ...

    def search_cancellations(
        self,
        *,
        cancel_ids: Sequence[str] = (),
        update_time_ge: int | None = None,
        page_token: str = "",
        page_size: int = 50,
    ) -> Page[PlatformAfterSales]:
        """Cancellations, as ``search_returns``."""
        ...

    def get_orders(self, order_ids: Sequence[str]) -> list[PlatformOrder]:
        """The orders of these ids the shop has (unknown ones left out), in as few calls as
        the platform's batch limit allows."""
        ...

    def decide(self, request: DecisionRequest) -> None:
        """Send the seller's decision on a return or cancellation with its idempotency key (a
        repeat of the key is a no-op on the platform, so this may be retried); PlatformError
        with the platform's reason when it refuses (the case moved on, a bad reason)."""
        ...

    def reject_reasons(self, case_id: str, *, locale: str = "") -> list[RejectReason]:
        """The reasons a reject of this return or cancellation may give now, worded in
        ``locale`` (e.g. ``zh-CN``) where the platform has it."""
        ...

    def return_records(self, return_id: str) -> list[ReturnRecord]:
        """A return's history, oldest first, with the buyer's images and videos."""
        ...

    def create_conversation(self, buyer_user_id: str) -> str:
        """Open (or find) the chat with a buyer known by ``user_id``; its conversation id."""
        ...

    def service_performance(self, start: date, end: date) -> ServicePerformance:
        """The platform's customer-service figures for the shop over ``[start, end)``."""
        ...


class TokenKeeper(Protocol):
    """Where a shop's tokens live between processes. Several workers may find the same token
    expired at once, and a refresh invalidates the old pair: a worker reloads what another
    stored before refreshing, and refreshes only under the keeper's lock."""

    def load(self) -> Credentials: ...

    def lock(self) -> AbstractContextManager[None]: ...


class PlatformAdapter(Protocol):
    name: str  # matches ShopAccount.platform
    max_text_length: int

    def connect(
        self,
        credentials: Credentials,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
    ) -> ShopApi: ...

    def webhook_shop_id(self, body: bytes) -> str:
        """The shop id a notification names, read with as little parsing as the key lookup
        needs (bounded nesting, the envelope's type and shop id only), before its signature is
        checked. Raise MalformedWebhook for anything that is not a notification."""
        ...

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        """Raise MalformedWebhook for anything that is not a notification."""
        ...

    def verify_webhook(
        self, credentials: Credentials, headers: Mapping[str, str], body: bytes
    ) -> bool: ...

    def exchange_auth_code(self, app_key: str, app_secret: str, auth_code: str) -> TokenSet: ...

    def authorized_shops(self, credentials: Credentials) -> list[AuthorizedShop]: ...


_ADAPTERS: dict[str, Callable[[], PlatformAdapter]] = {}


def register(name: str, factory: Callable[[], PlatformAdapter]) -> None:
    _ADAPTERS[name] = factory


def get_adapter(name: str) -> PlatformAdapter:
    if name not in _ADAPTERS:
        # Importing the platform package registers it.
        import importlib

        importlib.import_module(f"inbox.platforms.{name}")
    return _ADAPTERS[name]()
