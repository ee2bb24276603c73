"""The simulator's in-memory state: plain dataclasses and their API (JSON) shapes.

Everything here is mutated only while holding ``Simulator.lock``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# --- platform codes (shared notes §1.5) and the simulator's own choices (NOT CONFIRMED) -------
CODE_OK = 0
CODE_EXPIRED_TOKEN = 105002
CODE_INVALID_SIGN = 106001
CODE_MISSING_CIPHER = 106013
CODE_INVALID_TOKEN = 101000
CODE_INVALID_AUTH_CODE = 36004004
CODE_TOO_MANY_REQUESTS = 36009002
CODE_INTERNAL_ERROR = 36009003
CODE_INVALID_REQUEST = 36009004  # overloaded by the platform: match on the message
CODE_INVALID_PATH = 36009009
CODE_INVALID_METHOD = 36009010
# Business codes are NOT CONFIRMED; the simulator's choices (docs/platforms/tiktok-shop.md).
CODE_INVALID_PARAMETER = 40006
CODE_NOT_FOUND = 40004
CODE_CONFLICT = 40009

MAX_TEXT_LENGTH = 2000

# Numeric webhook ``type`` for each event_type (shared notes §3).
EVENT_TYPES: dict[str, int] = {
    "ORDER_STATUS_CHANGE": 1,
    "REVERSE_STATUS_UPDATE": 2,
    "RECIPIENT_ADDRESS_UPDATE": 3,
    "PACKAGE_UPDATE": 4,
    "PRODUCT_STATUS_CHANGE": 5,
    "SELLER_DEAUTHORIZATION": 6,
    "UPCOMING_AUTHORIZATION_EXPIRATION": 7,
    "CANCELLATION_STATUS_CHANGE": 11,
    "RETURN_STATUS_CHANGE": 12,
    "NEW_CONVERSATION": 13,
    "NEW_MESSAGE": 14,
    "PRODUCT_INFORMATION_CHANGE": 15,
    "PRODUCT_CREATION": 16,
    "NEW_MESSAGE_LISTENER": 33,
}


class ApiError(Exception):
    """An error answer: HTTP status, platform code and message."""

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def bad_param(message: str) -> ApiError:
    return ApiError(400, CODE_INVALID_PARAMETER, f"Invalid parameter. {message}")


def avatar_url(im_user_id: str) -> str:
    return f"https://example.com/tiktok-simulator/avatar/{im_user_id}.png"


@dataclass
class App:
    app_key: str
    app_secret: str


@dataclass
class Subscription:
    event_type: str
    address: str
    create_time: int
    update_time: int


@dataclass
class Shop:
    shop_id: str
    app_key: str
    name: str
    region: str
    cipher: str
    seller_type: str
    code: str
    im_user_id: str
    can_accept_chat: bool = True
    webhooks: dict[str, Subscription] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {
            "cipher": self.cipher,
            "code": self.code,
            "id": self.shop_id,
            "name": self.name,
            "region": self.region,
            "seller_type": self.seller_type,
        }


@dataclass
class Buyer:
    user_id: str
    im_user_id: str
    nickname: str

    def participant(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "im_user_id": self.im_user_id,
            "nickname": self.nickname,
            "avatar": avatar_url(self.im_user_id),
            "role": "BUYER",
        }


@dataclass
class Message:
    id: str
    conversation_id: str
    type: str
    content: str  # JSON-serialized, as on the wire
    create_time: int
    index: str
    role: str  # BUYER | SHOP | CUSTOMER_SERVICE | SYSTEM | ROBOT
    im_user_id: str
    nickname: str
    is_visible: bool = True

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "index": self.index,
            "type": self.type,
            "content": self.content,
            "create_time": self.create_time,
            "is_visible": self.is_visible,
            "sender": {
                "im_user_id": self.im_user_id,
                "nickname": self.nickname,
                "avatar": avatar_url(self.im_user_id),
                "role": self.role,
            },
        }

    def to_webhook(self) -> dict[str, Any]:
        """NEW_MESSAGE ``data`` (single third-party source; see the docs)."""
        return {
            "message_id": self.id,
            "conversation_id": self.conversation_id,
            "type": self.type,
            "content": self.content,
            "create_time": self.create_time,
            "is_visible": self.is_visible,
            "index": self.index,
            "sender": {"im_user_id": self.im_user_id, "role": self.role},
        }


@dataclass
class Conversation:
    id: str
    shop_id: str
    buyer: Buyer
    create_time: int
    messages: list[Message] = field(default_factory=list)
    read_upto: int = 0  # messages[:read_upto] have been read by the shop
    opened_by_shop: bool = False  # CreateConversation: the buyer ordered (API contract)

    @property
    def last_activity(self) -> int:
        return self.messages[-1].create_time if self.messages else self.create_time

    @property
    def unread_count(self) -> int:
        return sum(1 for m in self.messages[self.read_upto :] if m.role == "BUYER")

    def last_buyer_time(self) -> int | None:
        for message in reversed(self.messages):
            if message.role == "BUYER":
                return message.create_time
        return None


@dataclass
class Grant:
    access_token: str
    refresh_token: str
    app_key: str
    shop_ids: list[str]
    access_expires: int
    refresh_expires: int
    open_id: str
    access_valid: bool = True
    refresh_valid: bool = True

    def to_api(self, seller_name: str, region: str) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "access_token_expire_in": self.access_expires,
            "refresh_token": self.refresh_token,
            "refresh_token_expire_in": self.refresh_expires,
            "open_id": self.open_id,
            "seller_name": seller_name,
            "seller_base_region": region,
            "user_type": 0,
            "granted_scopes": [
                "seller.authorization.info",
                "seller.customer_service",
                "seller.return_refund.basic",
            ],
        }


@dataclass
class AuthCode:
    code: str
    app_key: str
    shop_ids: list[str]
    expires: float
    used: bool = False


@dataclass
class Notification:
    notification_id: str
    app_key: str
    app_secret: str
    address: str
    body: bytes
    attempts: int = 0
    not_before: float = 0.0  # time.monotonic()
    event_type: str = ""  # e.g. RETURN_STATUS_CHANGE (what webhook faults select on)


@dataclass
class Fault:
    path_prefix: str
    kind: str  # 5xx | rate_limit | delay | delay_after
    remaining: int
    delay: float = 0.0
    method: str | None = None  # only calls of this HTTP method; None: every method


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
