"""TikTok Shop behind the platform interface of ``inbox/platforms/base.py``.

The calls live by subject: chat (``adapter_chat``), returns and cancellations
(``adapter_aftersales``), orders (``adapter_orders``), customer-service performance
(``adapter_performance``) and webhook parsing
(``adapter_webhooks``); this module puts them together. All HTTP goes through
:class:`~inbox.platforms.tiktok_shop.client.TikTokShopClient`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from inbox.platforms.base import AuthorizedShop, Credentials, TokenKeeper, TokenSet, WebhookNotice
from inbox.platforms.tiktok_shop import signing
from inbox.platforms.tiktok_shop.adapter_aftersales import (
    CANCELLATIONS_SEARCH_PATH,
    MAX_SEARCH_PAGE,
    MIN_RETURNS_PAGE,
    RETURNS_SEARCH_PATH,
    AfterSalesCalls,
    cancellation_from,
    return_from,
)
from inbox.platforms.tiktok_shop.adapter_chat import (
    CS,
    MAX_CONVERSATIONS_PAGE,
    MAX_MESSAGES_PAGE,
    MAX_TEXT_LENGTH,
    SEND_MESSAGE_PATH,
    SENDABLE,
    ChatCalls,
    conversation_from,
    message_from,
    participant_from,
    validate_outgoing,
)
from inbox.platforms.tiktok_shop.adapter_common import (
    decode_content,
    dicts,
    header,
    utc_from_unix,
)
from inbox.platforms.tiktok_shop.adapter_orders import (
    MAX_ORDER_IDS,
    ORDERS_PATH,
    OrderCalls,
    order_from,
)
from inbox.platforms.tiktok_shop.adapter_performance import PERFORMANCE_PATH, PerformanceCalls
from inbox.platforms.tiktok_shop.adapter_webhooks import (
    MAX_WEBHOOK_DEPTH,
    WEBHOOK_KINDS,
    parse_webhook,
    webhook_shop_id,
)
from inbox.platforms.tiktok_shop.client import TikTokShopClient
from scrm.http import RetryRules

SHOPS_PATH = "/authorization/202309/shops"

__all__ = [
    "CANCELLATIONS_SEARCH_PATH",
    "CS",
    "MAX_CONVERSATIONS_PAGE",
    "MAX_MESSAGES_PAGE",
    "MAX_ORDER_IDS",
    "MAX_SEARCH_PAGE",
    "MAX_TEXT_LENGTH",
    "MAX_WEBHOOK_DEPTH",
    "MIN_RETURNS_PAGE",
    "ORDERS_PATH",
    "PERFORMANCE_PATH",
    "RETURNS_SEARCH_PATH",
    "SENDABLE",
    "SEND_MESSAGE_PATH",
    "SHOPS_PATH",
    "WEBHOOK_KINDS",
    "TikTokShopAdapter",
    "TikTokShopApi",
    "cancellation_from",
    "conversation_from",
    "decode_content",
    "message_from",
    "order_from",
    "parse_webhook",
    "participant_from",
    "return_from",
    "utc_from_unix",
    "validate_outgoing",
    "webhook_shop_id",
]


class TikTokShopApi(ChatCalls, AfterSalesCalls, OrderCalls, PerformanceCalls):
    """Calls on one authorised shop (implements ``base.ShopApi``)."""

    def __init__(self, client: TikTokShopClient) -> None:
        self.client = client

    @property
    def credentials(self) -> Credentials:
        # The client swaps in refreshed credentials; always report the current ones.
        return self.client.credentials

    @credentials.setter
    def credentials(self, value: Credentials) -> None:
        self.client.credentials = value

    def close(self) -> None:
        self.client.close()


class TikTokShopAdapter:
    """The TikTok Shop platform (implements ``base.PlatformAdapter``).

    Base URLs default to the ``TIKTOK_API_BASE`` / ``TIKTOK_AUTH_BASE`` settings, read when the
    first call is made.
    """

    name = "tiktok_shop"
    max_text_length = MAX_TEXT_LENGTH

    def __init__(
        self,
        *,
        api_base: str | None = None,
        auth_base: str | None = None,
        retry: RetryRules | None = None,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_base = api_base
        self.auth_base = auth_base
        self.retry = retry
        self.timeout = timeout
        self.sleep = sleep

    def _client(
        self,
        credentials: Credentials,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
    ) -> TikTokShopClient:
        return TikTokShopClient(
            credentials,
            api_base=self.api_base,
            auth_base=self.auth_base,
            on_tokens_refreshed=on_tokens_refreshed,
            token_keeper=token_keeper,
            retry=self.retry,
            timeout=self.timeout,
            sleep=self.sleep,
        )

    def connect(
        self,
        credentials: Credentials,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
    ) -> TikTokShopApi:
        return TikTokShopApi(self._client(credentials, on_tokens_refreshed, token_keeper))

    def webhook_shop_id(self, body: bytes) -> str:
        return webhook_shop_id(body)

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        return parse_webhook(body)

    def verify_webhook(
        self, credentials: Credentials, headers: Mapping[str, str], body: bytes
    ) -> bool:
        authorization = header(headers, "Authorization")
        return signing.verify_webhook(
            credentials.app_key, credentials.app_secret, body, authorization
        )

    def exchange_auth_code(self, app_key: str, app_secret: str, auth_code: str) -> TokenSet:
        with self._client(Credentials(app_key=app_key, app_secret=app_secret)) as client:
            return client.exchange_auth_code(auth_code)

    def authorized_shops(self, credentials: Credentials) -> list[AuthorizedShop]:
        with self._client(credentials) as client:
            data = client.call("GET", SHOPS_PATH)
        return [
            AuthorizedShop(
                shop_id=str(s.get("id") or ""),
                cipher=str(s.get("cipher") or ""),
                name=str(s.get("name") or ""),
                region=str(s.get("region") or ""),
                code=str(s.get("code") or ""),
                seller_type=str(s.get("seller_type") or ""),
            )
            for s in dicts(data.get("shops"))
        ]
