"""TikTok Shop's rules on top of the project's HTTP client (``scrm/http.py``): signing, the
response envelope and its error codes, token refresh.

Every call the connector makes goes through :class:`TikTokShopClient`, and its HTTP through
``scrm.http`` (the process's pool, timeouts, the retry loop and its rules: a send is never
repeated once it may have reached the platform). It keeps these invariants
(docs/platforms/tiktok-shop-connector.md):

- Signed calls carry ``app_key``, ``timestamp`` (Unix seconds), ``shop_cipher`` on shop-scoped
  paths (never on ``/authorization/*``), the business parameters and ``sign``, computed over
  the exact JSON body bytes sent. The access token travels only in ``x-tts-access-token``.
- A query key is never repeated: a list of values (``ids`` of Get Order Detail) goes as one
  comma-joined value, signed as sent (repeated keys are signed differently by different
  clients and TikTok's samples; docs/platforms/tiktok-shop.md).
- A response is an error when its envelope ``code`` is not 0, whatever the HTTP status.
- 105002 (expired token) refreshes the token once, persists it through
  ``on_tokens_refreshed``, then retries; still expired -> :class:`AuthExpired`.
- 429 / 36009002 (refused, not acted on) and connection failures are retried a bounded number
  of times with ``max(retry_after, min(base * 2**n + jitter, cap))`` backoff, then raise
  :class:`RateLimited` or :class:`TransientError`; 5xx / 36009003 and read timeouts likewise,
  but only for calls that are idempotent (reads, mark-read), never for a send.
- Exceptions and log lines never carry tokens, secrets, ``sign`` or message content.

Importable without Django configured: settings are read only when a base URL is not given.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import httpx

from inbox.platforms.base import (
    AuthExpired,
    Credentials,
    InvalidPlatformId,
    PlatformError,
    RateLimited,
    TokenKeeper,
    TokenSet,
    TransientError,
)
from inbox.platforms.tiktok_shop.signing import SigningError, sign_request
from scrm import http
from scrm.http import RetryRules

logger = logging.getLogger(__name__)

# Platform codes (docs/platforms/tiktok-shop.md §1.5).
CODE_OK = 0
CODE_TOKEN_EXPIRED = 105002
CODE_TOKEN_INVALID = 101000  # e.g. an access token another worker's refresh just replaced
CODE_TOO_MANY_REQUESTS = 36009002
CODE_INTERNAL_ERROR = 36009003

TOKEN_GET_PATH = "/api/v2/token/get"  # noqa: S105 - a path, not a secret
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"  # noqa: S105

# Paths that must not carry shop_cipher (§1.2); sending it there returns 36009004.
_CIPHERLESS_PREFIXES = ("/authorization/", "/seller/")

QueryValue = str | int | Sequence[str]


def retry_policy_from_settings() -> RetryRules:
    """``TIKTOK_RETRY`` (a dict of RetryRules fields) overrides the defaults, e.g. in tests."""
    overrides = dict(http.setting("TIKTOK_RETRY", None) or {})
    return RetryRules(**overrides)


def _api_base_from_settings() -> str:
    from django.conf import settings

    return str(settings.TIKTOK_API_BASE)


def _auth_base_from_settings() -> str:
    from django.conf import settings

    return str(settings.TIKTOK_AUTH_BASE)


class TikTokShopClient:
    """Signed, retried calls on behalf of one set of credentials (one shop, or none yet)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_base: str | None = None,
        auth_base: str | None = None,
        on_tokens_refreshed: Callable[[Credentials], None] | None = None,
        token_keeper: TokenKeeper | None = None,
        retry: RetryRules | None = None,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self._api_base = api_base.rstrip("/") if api_base else None
        self._auth_base = auth_base.rstrip("/") if auth_base else None
        self.on_tokens_refreshed = on_tokens_refreshed
        self.token_keeper = token_keeper
        self.retry = retry or retry_policy_from_settings()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._timeout = timeout
        # The process's pool (scrm.http); a client of its own only for an injected transport
        # (tests).
        self._owns_http = transport is not None
        self._http = httpx.Client(transport=transport) if transport is not None else http.pool()

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TikTokShopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def api_base(self) -> str:
        if self._api_base is None:
            self._api_base = _api_base_from_settings().rstrip("/")
        return self._api_base

    @property
    def auth_base(self) -> str:
        if self._auth_base is None:
            self._auth_base = _auth_base_from_settings().rstrip("/")
        return self._auth_base

    # --- public calls ------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """A signed Open API call; returns the envelope's ``data``.

        ``idempotent`` (default: by the method, so a POST is not) lets a call that may have
        reached the platform be retried here: a send is not, since a retry could deliver the
        message twice; the caller gets TransientError and its durable outbox decides.
        """
        body_bytes = (
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            if body is not None
            else b""
        )
        refreshed = False
        while True:
            try:
                return self._with_retries(
                    lambda: self._signed_attempt(method, path, params or {}, body_bytes),
                    path=path,
                    idempotent=http.is_idempotent(method, idempotent),
                )
            except PlatformError as error:
                if error.code not in (CODE_TOKEN_EXPIRED, CODE_TOKEN_INVALID):
                    raise
                if not refreshed and self._adopt_stored_tokens():
                    refreshed = True  # another worker refreshed first: use its tokens
                    continue
                if error.code == CODE_TOKEN_INVALID:
                    raise
                if refreshed or not self.credentials.refresh_token:
                    raise AuthExpired(
                        "TikTok Shop access token expired and could not be refreshed",
                        code=error.code,
                        http_status=error.http_status,
                    ) from None
                if self.on_tokens_refreshed is None:
                    # Refreshing without persisting would strand the stored refresh token (each
                    # refresh issues a new one), so only refresh when the result can be saved.
                    raise AuthExpired(
                        "TikTok Shop access token expired (no refresh callback)",
                        code=error.code,
                        http_status=error.http_status,
                    ) from None
                lock = self.token_keeper.lock() if self.token_keeper else nullcontext()
                with lock:
                    # Re-checked under the lock: the worker before us may have just refreshed.
                    if not self._adopt_stored_tokens():
                        self.refresh_tokens()
                refreshed = True

    def _adopt_stored_tokens(self) -> bool:
        """Take the stored tokens if another process changed them since we loaded ours."""
        if self.token_keeper is None:
            return False
        stored = self.token_keeper.load()
        if stored.access_token and stored.access_token != self.credentials.access_token:
            self.credentials = stored
            return True
        return False

    def refresh_tokens(self) -> Credentials:
        """Refresh the token pair, persist it through ``on_tokens_refreshed``, return it.

        A refused refresh (expired or revoked refresh token) is AuthExpired: the seller must
        authorise the app again.
        """
        creds = self.credentials
        try:
            data = self.token_call(
                TOKEN_REFRESH_PATH,
                {
                    "app_key": creds.app_key,
                    "app_secret": creds.app_secret,
                    "refresh_token": creds.refresh_token,
                    "grant_type": "refresh_token",
                },
            )
        except (RateLimited, TransientError):
            raise
        except PlatformError as error:
            raise AuthExpired(
                "TikTok Shop token refresh was refused",
                code=error.code,
                http_status=error.http_status,
            ) from None
        tokens = token_set_from(data)
        self.credentials = creds.with_tokens(tokens)
        logger.info(
            "tiktok_shop token refreshed shop_id=%s expires_at=%s",
            creds.shop_id,
            tokens.access_token_expires_at,
        )
        if self.on_tokens_refreshed is not None:
            self.on_tokens_refreshed(self.credentials)
        return self.credentials

    def exchange_auth_code(self, auth_code: str) -> TokenSet:
        """Exchange a seller's one-time authorisation code for a token pair."""
        data = self.token_call(
            TOKEN_GET_PATH,
            {
                "app_key": self.credentials.app_key,
                "app_secret": self.credentials.app_secret,
                "auth_code": auth_code,
                "grant_type": "authorized_code",  # sic: TikTok's literal grant type
            },
        )
        return token_set_from(data)

    def token_call(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """An unsigned GET on the auth host (token get/refresh); returns ``data``."""
        url = self.auth_base + path
        return self._with_retries(
            lambda: self._attempt("GET", url, path, list(params.items()), b"", {}),
            path=path,
            idempotent=True,
        )

    # --- one attempt -------------------------------------------------------------------------
    def _signed_attempt(
        self, method: str, path: str, params: Mapping[str, QueryValue], body_bytes: bytes
    ) -> dict[str, Any]:
        creds = self.credentials
        query: dict[str, str] = {
            "app_key": creds.app_key,
            "timestamp": str(int(self._clock())),
        }
        if not path.startswith(_CIPHERLESS_PREFIXES) and creds.shop_cipher:
            query["shop_cipher"] = creds.shop_cipher
        for key, value in params.items():
            if isinstance(value, int):
                query[key] = str(value)
            elif isinstance(value, str):
                if value != "":  # empty parameters are neither sent nor signed
                    query[key] = value
            else:
                values = [str(v) for v in value]
                if values:
                    query[key] = ",".join(values)
        try:
            sign = sign_request(creds.app_secret, path, query, body_bytes)
        except SigningError:
            sign = None
        if sign is None:  # outside the handler: nothing chains the string to sign to this
            raise InvalidPlatformId("TikTok Shop request cannot be signed (not valid UTF-8)")
        pairs = [*query.items(), ("sign", sign)]
        headers = {"x-tts-access-token": creds.access_token}
        return self._attempt(method, self.api_base + path, path, pairs, body_bytes, headers)

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        query: list[tuple[str, str]],
        body_bytes: bytes,
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        try:
            response = http.send(
                self._http,
                method,
                url,
                params=tuple(query),
                content=body_bytes or None,
                headers={"Content-Type": "application/json", **headers},
                timeout=self._timeout,
            )
        except http.HttpError as exc:
            error = TransientError(f"TikTok Shop {path}: {exc.reason}")
            raise http.Retry(error, may_have_acted=exc.may_have_acted) from exc
        return self._parse(path, response)

    def _parse(self, path: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        retry_after = http.retry_after_seconds(response.headers.get("Retry-After"))
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            if status == 429:
                raise http.Retry(self._rate_limited(path, 0, status, ""), retry_after)
            if status >= 500:
                # A gateway's error page: the platform behind it may have acted.
                raise http.Retry(
                    TransientError(f"TikTok Shop {path}: HTTP {status}", http_status=status),
                    may_have_acted=True,
                )
            raise PlatformError(
                f"TikTok Shop {path}: HTTP {status} without an envelope", http_status=status
            )
        code = _as_int(envelope.get("code"))
        message = self._scrub(str(envelope.get("message") or ""))[:200]
        request_id = str(envelope.get("request_id") or "")
        if code == CODE_OK and status < 400:
            data = envelope.get("data")
            return data if isinstance(data, dict) else {}
        if status == 429 or code == CODE_TOO_MANY_REQUESTS:
            raise http.Retry(self._rate_limited(path, code, status, request_id), retry_after)
        if status >= 500 or code == CODE_INTERNAL_ERROR:
            # The platform (or a gateway before it) may have acted before failing: an unsafe
            # call (a send) is not repeated here; its caller checks the platform first.
            raise http.Retry(
                TransientError(
                    f"TikTok Shop {path}: code {code} HTTP {status} ({message}) "
                    f"request_id={request_id}",
                    code=code,
                    http_status=status,
                ),
                may_have_acted=True,
            )
        raise PlatformError(
            f"TikTok Shop {path}: code {code} HTTP {status} ({message}) request_id={request_id}",
            code=code,
            http_status=status,
        )

    def _rate_limited(self, path: str, code: int, status: int, request_id: str) -> RateLimited:
        return RateLimited(
            f"TikTok Shop {path}: rate limited (code {code} HTTP {status}) request_id={request_id}",
            code=code,
            http_status=status,
        )

    # --- retries -----------------------------------------------------------------------------
    def _with_retries(
        self, attempt: Callable[[], dict[str, Any]], *, path: str, idempotent: bool
    ) -> dict[str, Any]:
        return http.with_retries(
            attempt,
            idempotent=idempotent,
            label=f"tiktok_shop {path}",
            rules=self.retry,
            sleep=self._sleep,
            rng=self._rng,
        )

    def _scrub(self, text: str) -> str:
        """Remove any secret that a platform message might echo back."""
        creds = self.credentials
        for secret in (creds.access_token, creds.refresh_token, creds.app_secret):
            if secret:
                text = text.replace(secret, "***")
        return text


def token_set_from(data: Mapping[str, Any]) -> TokenSet:
    """A TokenSet from a token get/refresh ``data``; ``*_expire_in`` are absolute Unix times."""
    access_token = str(data.get("access_token") or "")
    if not access_token:
        raise PlatformError("TikTok Shop token response without an access token")
    return TokenSet(
        access_token=access_token,
        access_token_expires_at=_as_int(data.get("access_token_expire_in")),
        refresh_token=str(data.get("refresh_token") or ""),
        refresh_token_expires_at=_as_int(data.get("refresh_token_expire_in")),
        seller_name=str(data.get("seller_name") or ""),
        open_id=str(data.get("open_id") or ""),
    )


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
