"""The process's kept-alive HTTP/1.1 connections for the platform calls (``scrm.http.pool``):
the standard library's ``http.client`` under the same contract as an ``httpx.Client``.

Why not httpx's own pool: every message the worker stores is one platform read, and httpx's
layers (the client's request building, URL and header models, cookies, httpcore's pool, h11's
state machine) cost 550–650 µs of CPU a call where ``http.client`` on a kept-alive connection
costs 165–200 (the same local server, the same JSON answer; docs/performance.md, issue 18).
In the soak at 100 messages/s the platform's read was a sixth of the worker's CPU.

What callers see is httpx's: :meth:`Pool.request` takes httpx's arguments (``params``,
``headers``, ``content``, ``json``, an ``httpx.Timeout``), returns an ``httpx.Response`` and
raises httpx's exceptions (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``,
``ReadTimeout``, ``WriteTimeout``, ``RemoteProtocolError``, ``ReadError``), so
``scrm.http.send`` maps both to the same retry rules. It keeps what the httpx client gave:

- keep-alive per origin, at most ``max_keepalive`` idle connections, each dropped after
  ``keepalive_expiry`` seconds idle or as soon as the server has closed it (checked before
  reuse, as httpcore does);
- at most ``max_connections`` calls in flight; one more waits up to the pool timeout, then
  ``PoolTimeout`` (never sent);
- connect, read and write timeouts from the ``httpx.Timeout``; redirects are not followed;
- TLS with httpx's own context (``httpx.create_ssl_context``: certifi, ``SSL_CERT_FILE``);
- a proxy from the environment (``HTTPS_PROXY``, ``NO_PROXY``, ...): such an origin's calls go
  through an ``httpx.Client`` that honours it, as before.

Thread-safe (a connection belongs to one call at a time); not fork-safe by itself:
``scrm.http.pool`` makes a new one in a forked child.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import re
import select
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

# A path sent as it is (RFC 3986 unreserved and sub-delims, ':', '@', '/'); any other goes
# through httpx's URL model, which escapes it as httpx always did.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*\Z")
_DEFAULT_HEADERS = {"Accept": "*/*", "User-Agent": "scrm"}

Origin = tuple[str, str, int]  # scheme, host, port
# NO_PROXY's rules, as urllib (and httpx) apply them; public in urllib, missing from its stubs.
_proxy_bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


class Pool:
    """Kept-alive HTTP/1.1 connections, shared by the process's threads (see the module)."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout,
        max_connections: int = 64,
        max_keepalive: int = 16,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self.timeout = timeout
        self.max_keepalive = max_keepalive
        self.keepalive_expiry = keepalive_expiry
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._proxied: dict[Origin, bool] = {}
        self._fallback: httpx.Client | None = None
        self._ssl: Any = None
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
            fallback, self._fallback = self._fallback, None
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()
        if fallback is not None:
            fallback.close()

    # --- one call ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One call on a kept-alive connection of ``url``'s origin (see the module)."""
        if self._closed:
            raise RuntimeError("the HTTP pool is closed")
        timeout = timeout or self.timeout
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"not an http(s) address: {scheme or 'no scheme'}")
        origin: Origin = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        if self._is_proxied(origin):
            return self._via_httpx(method, url, params, headers, content, json, timeout)
        target = _target(url, parts.path, parts.query, params)
        body, sent_headers = _body_and_headers(method, headers, content, json)
        if not self._slots.acquire(timeout=timeout.pool):
            raise httpx.PoolTimeout("no free connection in the pool")
        try:
            connection = self._idle_connection(origin) or self._connect(origin, timeout)
            try:
                status, answer_headers, answer, reusable = _exchange(
                    connection, method, target, body, sent_headers, timeout
                )
            except BaseException:
                connection.close()
                raise
            if reusable:
                self._keep(origin, connection)
            else:
                connection.close()
        finally:
            self._slots.release()
        # Without its request model (another URL parse, ~100 µs): nothing reads it back.
        return httpx.Response(status, headers=answer_headers, content=answer)

    # --- connections -------------------------------------------------------------------------
    def _idle_connection(self, origin: Origin) -> http.client.HTTPConnection | None:
        """The most recently used idle connection to ``origin`` that is still open, if any;
        the expired and the closed ones met on the way are closed."""
        now = time.monotonic()
        while True:
            with self._lock:
                connections = self._idle.get(origin)
                if not connections:
                    return None
                connection, since = connections.pop()
            if now - since < self.keepalive_expiry and _still_open(connection):
                return connection
            connection.close()

    def _keep(self, origin: Origin, connection: http.client.HTTPConnection) -> None:
        """Keep ``connection`` idle for its origin's next call. Idle connections past their
        expiry are closed whatever their origin (one to a server called once would otherwise
        hold its place for good), and when the pool is still full its oldest idle one goes."""
        now = time.monotonic()
        with self._lock:
            if self._closed or self.max_keepalive <= 0:
                closing = [connection]
            else:
                closing = self._expired_take(now)
                if sum(len(idle) for idle in self._idle.values()) >= self.max_keepalive:
                    closing.append(self._oldest_take())
                self._idle.setdefault(origin, []).append((connection, now))
        for stale in closing:
            stale.close()

    def _expired_take(self, now: float) -> list[http.client.HTTPConnection]:
        """(Under the lock.) Remove the idle connections past their expiry; returns them."""
        expired: list[http.client.HTTPConnection] = []
        for key, idle in list(self._idle.items()):
            fresh = [(c, since) for c, since in idle if now - since < self.keepalive_expiry]
            expired += [c for c, since in idle if now - since >= self.keepalive_expiry]
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
        return expired

    def _oldest_take(self) -> http.client.HTTPConnection:
        """(Under the lock, the pool not empty.) Remove the longest idle connection."""
        key = min(self._idle, key=lambda origin: self._idle[origin][0][1])
        connection = self._idle[key].pop(0)[0]
        if not self._idle[key]:
            del self._idle[key]
        return connection

    def _connect(self, origin: Origin, timeout: httpx.Timeout) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            connection = http.client.HTTPSConnection(
                host, port, timeout=timeout.connect, context=self._ssl
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout.connect)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout("connect timeout") from exc
        except OSError as exc:  # refused, unreachable, name not resolved, TLS handshake failed
            connection.close()
            raise httpx.ConnectError(type(exc).__name__) from exc
        return connection

    # --- a proxy from the environment --------------------------------------------------------
    def _is_proxied(self, origin: Origin) -> bool:
        proxied = self._proxied.get(origin)
        if proxied is None:
            scheme, host, port = origin
            proxies = urllib.request.getproxies_environment()
            proxied = bool(proxies.get(scheme) or proxies.get("all")) and not (
                _proxy_bypass(f"{host}:{port}", proxies)
            )
            self._proxied[origin] = proxied
        return proxied

    def _via_httpx(
        self,
        method: str,
        url: str,
        params: Any,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        json: Any,
        timeout: httpx.Timeout,
    ) -> httpx.Response:
        with self._lock:
            if self._fallback is None:
                self._fallback = httpx.Client(timeout=self.timeout, follow_redirects=False)
            client = self._fallback
        return client.request(
            method, url, params=params, headers=headers, content=content, json=json,
            timeout=timeout,
        )  # fmt: skip


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: httpx.Timeout,
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """Send one request and read its whole answer: status, headers, body, and whether the
    connection may carry another call. Failures are httpx's exceptions."""
    sock = connection.sock
    try:
        sock.settimeout(timeout.write)
        connection.request(method, target, body=body, headers=headers)
    except TimeoutError as exc:
        raise httpx.WriteTimeout("write timeout") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise httpx.WriteError(type(exc).__name__) from exc
    try:
        sock.settimeout(timeout.read)
        response = connection.getresponse()
        answer = response.read()
    except TimeoutError as exc:
        raise httpx.ReadTimeout("read timeout") from exc
    except http.client.RemoteDisconnected as exc:
        raise httpx.RemoteProtocolError("server disconnected without an answer") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise httpx.ReadError(type(exc).__name__) from exc
    # As bytes: http.client decodes header values as latin-1, httpx would encode text as ASCII.
    headers_raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()]
    return response.status, headers_raw, answer, not response.will_close


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection the server has not closed: nothing to read on it (a
    readable idle socket is an end of file or bytes nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def _target(url: str, path: str, query: str, params: Any) -> str:
    """The request target as httpx makes it: the usual call (a plain path, no query of the
    URL's own, parameters as string or number pairs) encoded here (``urlencode``, as httpx
    does); anything else (a query in the URL, characters to escape in the path, lists, booleans
    or ``None`` as values) by httpx's own URL model, which costs ~90 µs more."""
    pairs = _plain_pairs(params)
    if query or pairs is None or not _PLAIN_PATH.match(path):
        return httpx.URL(url, params=params).raw_path.decode("ascii")
    target = path or "/"
    return f"{target}?{urlencode(pairs)}" if pairs else target


def _plain_pairs(params: Any) -> list[tuple[str, str]] | None:
    """``params`` as (name, value) text pairs when each value is a string or a number; else
    None (httpx's rules apply)."""
    if not params:
        return []
    if isinstance(params, str | bytes):
        return None
    items = params.items() if isinstance(params, Mapping) else params
    pairs = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            return None
        name, value = item
        if not isinstance(name, str) or isinstance(value, bool):
            return None
        if not isinstance(value, str | int | float):
            return None
        pairs.append((name, str(value)))
    return pairs


def _body_and_headers(
    method: str, headers: Mapping[str, str] | None, content: bytes | None, json: Any
) -> tuple[bytes | None, dict[str, str]]:
    sent = dict(_DEFAULT_HEADERS)
    if headers:  # the caller's replace the defaults whatever their case, as in httpx
        named = {name.lower() for name in headers}
        sent = {name: value for name, value in sent.items() if name.lower() not in named}
        sent.update(headers)
    body = content
    if json is not None and content is None:
        # httpx's own encoding of ``json=``
        body = jsonlib.dumps(
            json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
        if not any(name.lower() == "content-type" for name in sent):
            sent["Content-Type"] = "application/json"
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""  # http.client then says Content-Length: 0
    return body, sent
