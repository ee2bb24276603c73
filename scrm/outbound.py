"""Calls to addresses people type in (alert channels' webhooks): the SSRF guard.

A supervisor saves a URL; a worker inside our network POSTs to it. Without a guard that URL
could be ``http://169.254.169.254/`` (the cloud's metadata service, with its credentials), a
database's port on ``10.0.0.5`` or an admin page on ``127.0.0.1``. So an outgoing webhook:

- uses ``https`` only, and names a host (no bare scheme, no user:password@);
- goes only to public addresses: every address the host resolves to must be outside loopback,
  private (RFC 1918, IPv6 unique-local fc00::/7), link-local (169.254.0.0/16, where the metadata
  services live; fe80::/10), multicast, unspecified, shared/carrier-grade and reserved ranges
  (``ipaddress``'s ``is_global``, with IPv4-mapped IPv6 addresses judged as their IPv4 address);
- is checked where the connection is made, on the address actually connected to: the guarded
  client's network backend resolves the host, checks every address and connects to a checked
  one, while TLS still verifies the certificate for the host name (SNI and ``Host`` are the
  URL's). A name that resolves to a public address when the channel is saved and to 127.0.0.1
  when the alert goes (DNS rebinding) is refused at the connection;
- follows no redirect (the pool's ``follow_redirects=False``; a 3xx is a refusal), and uses no
  proxy from the environment (``trust_env=False``: through a proxy, the check would be on the
  proxy's address).

Hosts in ``SCRM_OUTBOUND_ALLOW_HOSTS`` (exact names or IP literals, compared case-insensitively)
skip both checks: the tests' and a local demo's receiver on 127.0.0.1.

Residual risks, accepted: name resolution itself (``getaddrinfo``) has no timeout of ours; an
IPv6 address embedding a private IPv4 one other than the IPv4-mapped form (NAT64 64:ff9b::/96,
6to4) is judged by its IPv6 range only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
import typing
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import httpcore
import httpx

from scrm import http
from scrm.http import HttpError, NotSent, Refused, default_timeout, setting

SocketOption = typing.Any


class OutboundRefused(Refused):
    """An address the guard does not call (never retried). ``why``: ``scheme``, ``host``,
    ``address`` (not a public one) or ``redirect``."""

    def __init__(self, reason: str, *, why: str, label: str = "") -> None:
        super().__init__(label, reason)
        self.why = why


# --- the rules -------------------------------------------------------------------------------
def allowed_hosts() -> frozenset[str]:
    return frozenset(h.lower() for h in setting("SCRM_OUTBOUND_ALLOW_HOSTS", []) or [])


def host_allow_listed(host: str) -> bool:
    return host.lower().strip("[]") in allowed_hosts()


def address_problem(address: str) -> str | None:
    """Why an address is not one we call (``"loopback"``, ``"private"``, ...), or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return "invalid"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def url_check(url: str) -> tuple[str, int]:
    """The URL's host and port if its form is one we call (https, a host, no credentials);
    OutboundRefused otherwise. Resolving the host is :func:`resolve_checked`'s."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise OutboundRefused("not a valid URL", why="host") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(f"not a web address ({scheme or 'no scheme'})", why="scheme")
    if not host:
        raise OutboundRefused("the URL names no host", why="host")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("user names and passwords in the URL are not sent", why="host")
    if scheme != "https" and not host_allow_listed(host):
        raise OutboundRefused("only https addresses are called", why="scheme")
    return host, port or (443 if scheme == "https" else 80)


def resolve_checked(host: str, port: int) -> list[str]:
    """The host's addresses, every one checked (all must be public unless the host is allow-
    listed), in resolver order. A name that does not resolve is NotSent (retryable: DNS may
    come back); a refused address is OutboundRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotSent(host, "name not resolved") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise NotSent(host, "name not resolved")
    if host_allow_listed(host):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            what = f"a {problem} address: not called"
            if host.strip("[]") == address:
                raise OutboundRefused(f"{address} is {what}", why="address")
            raise OutboundRefused(f"{host} resolves to {address}, {what}", why="address")
    return addresses


def target_check(url: str) -> None:
    """Everything the guard checks before a call, now (a channel being saved): the URL's form
    and its host's addresses. OutboundRefused or NotSent (the name does not resolve)."""
    host, port = url_check(url)
    resolve_checked(host, port)


# --- the guarded client ----------------------------------------------------------------------
class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses: resolves the host itself and hands the checked
    address to the plain socket backend (TLS then verifies the certificate for the host
    name, which httpcore passes to ``start_tls`` separately)."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(host, port)
        except NotSent as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # noqa: S101 - resolve_checked returns at least one
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not called")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose network backend is the guard's
    (``ssl_context``: the system's trust store unless a test trusts its own certificate)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=http.MAX_CONNECTIONS,
            max_keepalive_connections=http.MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(),
        )


_lock = threading.Lock()
_pool: httpx.Client | None = None
_pool_pid = 0


def guarded_pool() -> httpx.Client:
    """The process's client for guarded calls (pooled and fork-safe like ``scrm.http.pool``)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool.is_closed or _pool_pid != os.getpid():
            _pool = httpx.Client(
                transport=GuardedTransport(),
                timeout=default_timeout(),
                follow_redirects=False,
                trust_env=False,
            )
            _pool_pid = os.getpid()
        return _pool


def _forget_pool_in_child() -> None:
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def outbound_post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.Response:
    """POST to an address someone typed in, through the guard; returns the 2xx response.

    A chat webhook does not de-duplicate, so a timeout or a 5xx is not repeated here (the
    caller's outbox action decides); a request that never left is retried by ``scrm.http``'s
    rules. A 3xx (not followed) or a 4xx other than 429 is :class:`Refused`; an address the
    guard does not call is :class:`OutboundRefused`, before anything is sent. Errors and the
    retry log name the host, never the path (a bot's token).
    """
    host, _ = url_check(url)
    # Errors and log lines name the host only: a chat bot's URL path is its secret token.
    label = f"POST {host}"
    try:
        response = http.request(
            "POST",
            url,
            content=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=timeout,
            idempotent=False,
            client=guarded_pool(),
            label=label,
        )
    except HttpError as exc:
        exc.args = (f"{label}: {exc.reason}",)
        raise
    status = response.status_code
    if 300 <= status < 400:
        raise OutboundRefused(
            f"HTTP {status}: redirects are not followed", why="redirect", label=label
        )
    if not 200 <= status < 300:
        raise Refused(label, f"HTTP {status}", status=status)
    return response
