"""The one HTTP client of the TikTok Shop connector: signing, token refresh, bounded retries.

Every call the connector makes goes through :class:`TikTokShopClient`. It keeps these
invariants (docs/platforms/tiktok-shop-connector.md):

- Signed calls carry ``app_key``, ``timestamp`` (Unix seconds), ``shop_cipher`` on shop-scoped
  paths (never on ``/authorization/*``), the business parameters and ``sign``, computed over
  the exact JSON body bytes sent. The access token travels only in ``x-tts-access-token``.
- A response is an error when its envelope ``code`` is not 0, whatever the HTTP status.
- 105002 (expired token) refreshes the token once, persists it through
  ``on_tokens_refreshed``, then retries; still expired -> :class:`AuthExpired`.
- 429 / 36009002 and 5xx / 36009003 / timeouts / connection errors are retried a bounded
  number of times with ``max(retry_after, min(base * 2**n + jitter, cap))`` backoff, then
  raise :class:`RateLimited` or :class:`TransientError`.
- Exceptions and log lines never carry tokens, secrets, ``sign`` or message content.

Importable without Django configured: settings are read only when a base URL is not given.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded in-call retries. Sleeps stay short: a worker should not hold a call for long;
    longer waits belong to the task that called us (it gets ``RateLimited.retry_after``)."""

    max_retries: int = 3  # retries after the first attempt, per kind of failure
    base: float = 0.5  # seconds
    cap: float = 8.0  # seconds, for the exponential part
    jitter: float = 0.25  # seconds, uniform in [0, jitter)
    max_in_call_wait: float = 10.0  # a Retry-After longer than this is not slept through

    def delay(self, attempt: int, retry_after: float = 0.0, rnd: float = 0.0) -> float:
        """``max(retry_after, min(base * 2**attempt + jitter, cap))``."""
        return max(retry_after, min(self.base * 2**attempt + rnd * self.jitter, self.cap))


def retry_policy_from_settings() -> RetryPolicy:
    """``TIKTOK_RETRY`` (a dict of RetryPolicy fields) overrides the defaults, e.g. in tests."""
    try:
        from django.conf import settings

        overrides = dict(getattr(settings, "TIKTOK_RETRY", None) or {})
    except Exception:  # Django not configured: the simulator's own tests, scripts
        overrides = {}
    return RetryPolicy(**overrides)


_shared_lock = threading.Lock()
_shared_http: httpx.Client | None = None


def shared_http() -> httpx.Client:
    """The process's pooled HTTP client for platform calls (httpx.Client is thread-safe)."""
    global _shared_http
    with _shared_lock:
        if _shared_http is None or _shared_http.is_closed:
            _shared_http = httpx.Client(
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16)
            )
        return _shared_http


def _forget_shared_http() -> None:
    # A forked child (Celery prefork worker) must not reuse the parent's sockets.
    global _shared_http
    _shared_http = None


os.register_at_fork(after_in_child=_forget_shared_http)


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(10.0, connect=3.0)


def _api_base_from_settings() -> str:
    from django.conf import settings

    return str(settings.TIKTOK_API_BASE)


def _auth_base_from_settings() -> str:
    from django.conf import settings

    return str(settings.TIKTOK_AUTH_BASE)


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, error: PlatformError, retry_after: float = 0.0) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


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
        retry: RetryPolicy | None = None,
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
        self._timeout = timeout or default_timeout()
        # One pooled client per process (keep-alive across calls and shops); a client of its own
        # only for an injected transport (tests).
        self._owns_http = transport is not None
        self._http = httpx.Client(transport=transport) if transport is not None else shared_http()

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
        retry_unsafe: bool = True,
    ) -> dict[str, Any]:
        """A signed Open API call; returns the envelope's ``data``.

        ``retry_unsafe=False`` (for sends) keeps a read timeout from being retried here: the
        request reached the platform, so a retry could send the message twice. The caller gets
        TransientError and its durable outbox decides.
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
                    retry_unsafe=retry_unsafe,
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
            retry_unsafe=True,
        )

    # --- one attempt -------------------------------------------------------------------------
    def _signed_attempt(
        self, method: str, path: str, params: Mapping[str, QueryValue], body_bytes: bytes
    ) -> dict[str, Any]:
        creds = self.credentials
        query: dict[str, str | list[str]] = {
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
                    query[key] = values
        try:
            sign = sign_request(creds.app_secret, path, query, body_bytes)
        except SigningError:
            sign = None
        if sign is None:  # outside the handler: nothing chains the string to sign to this
            raise InvalidPlatformId("TikTok Shop request cannot be signed (not valid UTF-8)")
        pairs: list[tuple[str, str]] = []
        for key, value in query.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, v) for v in value)
        pairs.append(("sign", sign))
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
            response = self._http.request(
                method,
                url,
                params=tuple(query),
                content=body_bytes or None,
                headers={"Content-Type": "application/json", **headers},
                timeout=self._timeout,
            )
        except httpx.ConnectError as exc:
            raise _Retry(TransientError(f"TikTok Shop {path}: connection failed")) from exc
        except httpx.ConnectTimeout as exc:
            raise _Retry(TransientError(f"TikTok Shop {path}: connect timeout")) from exc
        except httpx.TimeoutException as exc:
            raise _ReadTimeout(TransientError(f"TikTok Shop {path}: timed out")) from exc
        except httpx.TransportError as exc:
            raise _ReadTimeout(TransientError(f"TikTok Shop {path}: transport error")) from exc
        return self._parse(path, response)

    def _parse(self, path: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            if status == 429:
                raise _Retry(self._rate_limited(path, 0, status, ""), retry_after)
            if status >= 500:
                raise _Retry(
                    TransientError(f"TikTok Shop {path}: HTTP {status}", http_status=status)
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
            raise _Retry(self._rate_limited(path, code, status, request_id), retry_after)
        if status >= 500 or code == CODE_INTERNAL_ERROR:
            # The platform (or a gateway before it) may have acted before failing: an unsafe
            # call (a send) is not repeated here; its caller checks the platform first.
            raise _ReadTimeout(
                TransientError(
                    f"TikTok Shop {path}: code {code} HTTP {status} ({message}) "
                    f"request_id={request_id}",
                    code=code,
                    http_status=status,
                )
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
        self, attempt: Callable[[], dict[str, Any]], *, path: str, retry_unsafe: bool
    ) -> dict[str, Any]:
        failures = 0
        while True:
            try:
                return attempt()
            except _Retry as retry:
                error = retry.error
                if isinstance(retry, _ReadTimeout) and not retry_unsafe:
                    raise error from None
                delay = self.retry.delay(failures, retry.retry_after, self._rng())
                if failures >= self.retry.max_retries or delay > self.retry.max_in_call_wait:
                    if isinstance(error, RateLimited):
                        error.retry_after = delay
                    logger.warning(
                        "tiktok_shop %s gave up after %d attempts: code=%s http=%s",
                        path,
                        failures + 1,
                        error.code,
                        error.http_status,
                    )
                    raise error from None
                failures += 1
                logger.info(
                    "tiktok_shop %s retry %d in %.2fs: %s code=%s http=%s",
                    path,
                    failures,
                    delay,
                    type(error).__name__,
                    error.code,
                    error.http_status,
                )
                self._sleep(delay)

    def _scrub(self, text: str) -> str:
        """Remove any secret that a platform message might echo back."""
        creds = self.credentials
        for secret in (creds.access_token, creds.refresh_token, creds.app_secret):
            if secret:
                text = text.replace(secret, "***")
        return text


class _ReadTimeout(_Retry):
    """A failure after the request may have reached the platform (a read timeout, a broken
    connection, a 5xx): retried in the call only for calls that are safe to repeat."""


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


def _retry_after_seconds(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0  # an HTTP date: rare on APIs; fall back to our own backoff
