"""The project's one HTTP client: a pooled, fork-safe client, timeouts and retry rules.

Every call the product makes to a platform or an outside endpoint goes through here; a platform
client (``inbox/platforms/tiktok_shop/client.py``) adds only its own signing and error mapping,
and an outgoing webhook (alerts) calls :func:`webhook_post`.

- **One pool per process.** :func:`pool` returns the process's :class:`scrm.http_pool.Pool`
  (keep-alive across calls, hosts and shops, thread-safe; the standard library's
  ``http.client`` under httpx's contract, a third of httpx's CPU a call). A forked child
  (Celery's prefork workers) never touches its parent's sockets: ``os.register_at_fork`` drops
  the reference in the child, and a pid check catches a fork that skipped the hook. An
  ``httpx.Client`` passed instead (an injected transport in tests, the guarded outbound pool)
  is called the same way.
- **Every call has a timeout**: connect ``SCRM_HTTP_CONNECT_TIMEOUT_SECONDS`` (3 s), read, write
  and pool ``SCRM_HTTP_TIMEOUT_SECONDS`` (10 s). Redirects are not followed.
- **Retry rules** (:func:`with_retries`), bounded, exponential backoff with jitter, a
  ``Retry-After`` honoured up to ``max_in_call_wait``:
  - a request that never left (connection refused, DNS, connect timeout, no free pooled
    connection) is retried whatever its method: nothing reached the server;
  - 429 is retried whatever the method: the server refused the call without acting on it;
  - anything after the request may have reached the server (a read timeout, a dropped
    connection, a 5xx) is retried only for safe or idempotent methods (GET, HEAD, OPTIONS,
    PUT, DELETE) or when the caller says the call is idempotent. An unsafe call (a send) gets
    the error at once, and its durable outbox decides (it reads the platform first).
- Errors and log lines name the method, host and path, never the query string (signatures,
  tokens) or the body.

Importable without Django configured (the simulator's own tests): settings are read lazily.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from scrm.http_pool import Pool

logger = logging.getLogger(__name__)

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_CONNECTIONS = 64
MAX_KEEPALIVE_CONNECTIONS = 16


# --- errors ----------------------------------------------------------------------------------
class HttpError(Exception):
    """A call that did not get a usable answer. ``retryable``: worth trying again later;
    ``may_have_acted``: the request may have reached the server (so an unsafe call must not be
    repeated blindly); ``retry_after``: seconds to wait first (0 if the server did not say)."""

    retryable = True
    may_have_acted = True

    def __init__(
        self, where: str, reason: str, *, status: int = 0, retry_after: float = 0.0
    ) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class NotSent(HttpError):
    """The request never reached the server (refused, unreachable, connect timeout, no free
    connection in the pool)."""

    may_have_acted = False


class NoAnswer(HttpError):
    """The request may have reached the server, but no answer came (read timeout, dropped
    connection, protocol error)."""


class Throttled(HttpError):
    """429: the server refused the call without acting on it."""

    may_have_acted = False


class ServerError(HttpError):
    """5xx: the server (or a gateway in front of it) failed, perhaps after acting."""


class Refused(HttpError):
    """A 4xx other than 429, or an address we do not call: trying again will not help."""

    retryable = False
    may_have_acted = False


@dataclass
class Retry(Exception):
    """Raised by one attempt inside :func:`with_retries`: this failure is worth another try.

    ``error`` is what the caller gets if no try is left (or if the call is unsafe and the
    request may have acted)."""

    error: Exception
    retry_after: float = 0.0
    may_have_acted: bool = False

    def __str__(self) -> str:
        return str(self.error)


# --- settings --------------------------------------------------------------------------------
def setting(name: str, default: Any) -> Any:
    """A Django setting, or ``default`` where Django is not set up (the simulator's own tests,
    scripts): never an attempt to import the settings module on every call."""
    from django.conf import settings

    if not settings.configured:
        return default
    return getattr(settings, name, default)


@dataclass(frozen=True)
class RetryRules:
    """Bounded in-call retries. Sleeps stay short: a worker should not hold a call for long;
    longer waits belong to the task that called (it gets ``retry_after``)."""

    max_retries: int = 3  # retries after the first attempt
    base: float = 0.5  # seconds
    cap: float = 8.0  # seconds, for the exponential part
    jitter: float = 0.25  # seconds, uniform in [0, jitter)
    max_in_call_wait: float = 10.0  # a Retry-After longer than this is not slept through

    def delay(self, attempt: int, retry_after: float = 0.0, rnd: float = 0.0) -> float:
        """``max(retry_after, min(base * 2**attempt + jitter, cap))``."""
        return max(retry_after, min(self.base * 2**attempt + rnd * self.jitter, self.cap))


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(
        float(setting("SCRM_HTTP_TIMEOUT_SECONDS", 10.0)),
        connect=float(setting("SCRM_HTTP_CONNECT_TIMEOUT_SECONDS", 3.0)),
    )


# --- the pool --------------------------------------------------------------------------------
_lock = threading.Lock()
_pool: Pool | None = None
_pool_pid = 0

# The process's pool, or an httpx client (an injected transport, the guarded outbound pool).
Client = Pool | httpx.Client


def pool() -> Pool:
    """The process's pooled client, made at first use and again in a forked child."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool.is_closed or _pool_pid != os.getpid():
            _pool = Pool(
                timeout=default_timeout(),
                max_connections=MAX_CONNECTIONS,
                max_keepalive=MAX_KEEPALIVE_CONNECTIONS,
            )
            _pool_pid = os.getpid()
        return _pool


def _forget_pool_in_child() -> None:
    # Not closed: closing would act on sockets the parent still uses. The lock is new too, in
    # case another thread of the parent held it at the fork.
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


# --- one attempt, and the retry loop ---------------------------------------------------------
def where(method: str, url: str | httpx.URL) -> str:
    """``METHOD host/path`` for errors and logs: never the query string or credentials."""
    parts = urlsplit(str(url))
    return f"{method} {parts.hostname or ''}{parts.path}"


def send(
    client: Client,
    method: str,
    url: str,
    *,
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    json: Any = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.Response:
    """One request; transport failures become :class:`NotSent` or :class:`NoAnswer`."""
    label = where(method, url)
    try:
        return client.request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            json=json,
            timeout=timeout or default_timeout(),
        )
    except httpx.ConnectError as exc:
        raise NotSent(label, "connection failed") from exc
    except httpx.ConnectTimeout as exc:
        raise NotSent(label, "connect timeout") from exc
    except httpx.PoolTimeout as exc:
        raise NotSent(label, "no free connection") from exc
    except httpx.TimeoutException as exc:
        raise NoAnswer(label, "timed out") from exc
    except httpx.TransportError as exc:
        raise NoAnswer(label, "transport error") from exc


def retry_after_seconds(value: str | None) -> float:
    """A ``Retry-After`` header in seconds (an HTTP date, rare on APIs, counts as 0)."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def is_idempotent(method: str, idempotent: bool | None) -> bool:
    """The caller's word if given, else the method's (GET, HEAD, OPTIONS, PUT, DELETE)."""
    return method.upper() in SAFE_METHODS if idempotent is None else idempotent


def _described(error: Exception) -> tuple[str, Any, Any]:
    """An error's class, code and HTTP status for the retry log (never its message)."""
    return (
        type(error).__name__,
        getattr(error, "code", ""),
        getattr(error, "http_status", getattr(error, "status", "")),
    )


def with_retries(
    attempt: Callable[[], T],
    *,
    idempotent: bool,
    label: str,
    rules: RetryRules | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt`` until it returns, retrying each :class:`Retry` it raises by the rules
    above. Giving up raises the Retry's ``error``; an error with a ``retry_after`` attribute
    learns the wait this loop would have made next (the caller's task waits that long)."""
    rules = rules or RetryRules()
    failures = 0
    while True:
        try:
            return attempt()
        except Retry as retry:
            error = retry.error
            if retry.may_have_acted and not idempotent:
                raise error from None
            delay = rules.delay(failures, retry.retry_after, rng())
            if failures >= rules.max_retries or delay > rules.max_in_call_wait:
                if hasattr(error, "retry_after"):
                    error.retry_after = delay
                logger.warning(
                    "http %s gave up after %d attempts: %s code=%s http=%s",
                    label,
                    failures + 1,
                    *_described(error),
                )
                raise error from None
            failures += 1
            logger.info(
                "http %s retry %d in %.2fs: %s code=%s http=%s",
                label,
                failures,
                delay,
                *_described(error),
            )
            sleep(delay)


def _by_status(method: str, url: str, response: httpx.Response) -> httpx.Response:
    """The response, or a Retry for the statuses the rules retry (429, 5xx)."""
    status = response.status_code
    label = where(method, url)
    if status == 429:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        raise Retry(Throttled(label, "HTTP 429", status=status, retry_after=wait), wait)
    if status >= 500:
        raise Retry(ServerError(label, f"HTTP {status}", status=status), may_have_acted=True)
    return response


def request(
    method: str,
    url: str,
    *,
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    json: Any = None,
    timeout: httpx.Timeout | None = None,
    idempotent: bool | None = None,
    rules: RetryRules | None = None,
    client: Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    label: str | None = None,
) -> httpx.Response:
    """One call with the project's pool, timeouts and retry rules.

    Returns the response for any status the rules do not retry (2xx, 3xx, 4xx but 429). A
    failure that remains raises :class:`HttpError`: :class:`NotSent`, :class:`NoAnswer`,
    :class:`Throttled` or :class:`ServerError` (all ``retryable``). ``idempotent`` overrides
    what the method implies (a POST the server de-duplicates by an idempotency key is
    idempotent; a PUT that appends is not). ``label`` names the call in the retry log instead
    of ``METHOD host/path`` (a URL whose path is a secret: a chat bot's webhook).
    """
    method = method.upper()
    http = client or pool()

    def attempt() -> httpx.Response:
        try:
            response = send(
                http,
                method,
                url,
                params=params,
                headers=headers,
                content=content,
                json=json,
                timeout=timeout,
            )
        except NotSent as exc:
            raise Retry(exc) from exc
        except NoAnswer as exc:
            raise Retry(exc, may_have_acted=True) from exc
        return _by_status(method, url, response)

    return with_retries(
        attempt,
        idempotent=is_idempotent(method, idempotent),
        label=label or where(method, url),
        rules=rules,
        sleep=sleep,
        rng=rng,
    )


# --- outgoing webhooks -----------------------------------------------------------------------
def webhook_post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    idempotent: bool = False,
    timeout: httpx.Timeout | None = None,
    client: Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST a notification to an outside endpoint (an alert to Feishu, DingTalk, Slack or any
    URL); returns the 2xx status.

    Only ``http``/``https`` URLs are called. A receiver that does not de-duplicate (most chat
    webhooks) makes this call unsafe, so a timeout or a 5xx is not repeated here: the outbox
    action that called decides (at least once, at most once per attempt). A 4xx other than
    429, or a 3xx (redirects are not followed), is :class:`Refused` (not retryable).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("", f"not an http(s) address: {scheme or 'no scheme'}")
    response = request(
        "POST",
        url,
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=timeout,
        idempotent=idempotent,
        client=client,
        sleep=sleep,
    )
    if not 200 <= response.status_code < 300:
        raise Refused(
            where("POST", url), f"HTTP {response.status_code}", status=response.status_code
        )
    return response.status_code
