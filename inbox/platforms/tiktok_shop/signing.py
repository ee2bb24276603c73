"""TikTok Shop request and webhook signatures: pure functions, importable without Django.

Request signing (docs/platforms/tiktok-shop.md §1.3): every query parameter except ``sign`` and
``access_token`` (and ``x-tts-access-token``), sorted by key, concatenated ``{key}{value}``,
prefixed with the path, followed by the exact body bytes unless the body is multipart, wrapped
``secret + s + secret``, then lowercase hex HMAC-SHA256 keyed with the app secret.

Webhook signature (§3): lowercase hex HMAC-SHA256(key=app_secret, msg=app_key + raw_body), sent
raw in the ``Authorization`` header.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

EXCLUDED_FROM_SIGNATURE = frozenset({"sign", "access_token", "x-tts-access-token"})


class SigningError(ValueError):
    """The request cannot be signed (a lone surrogate in its path or parameters).

    Raised without the encoder's error attached: that error holds the whole string to sign,
    which carries the ``app_key`` and the ``shop_cipher``, and would be printed by any log
    line or task failure that shows the exception. The string to sign is never logged."""


def _string_to_sign(path: str, query: Mapping[str, str | Sequence[str]], body: bytes) -> bytes:
    parts = [path]
    for key in sorted(k for k in query if k not in EXCLUDED_FROM_SIGNATURE):
        value = query[key]
        # A multi-valued key is signed once, values comma-joined.
        text = value if isinstance(value, str) else ",".join(value)
        parts.append(f"{key}{text}")
    encoded: bytes | None
    try:
        encoded = "".join(parts).encode()
    except UnicodeEncodeError:
        encoded = None
    if encoded is None:  # raised outside the handler, so no context chains the string to it
        raise SigningError("the request's path or parameters are not valid UTF-8")
    return encoded + (body or b"")


def sign_request(
    app_secret: str,
    path: str,
    query: Mapping[str, str] | Mapping[str, str | Sequence[str]],
    body: bytes = b"",
) -> str:
    """The ``sign`` query parameter for a request (pass ``body=b""`` for multipart uploads)."""
    secret = app_secret.encode()
    message = secret + _string_to_sign(path, query, body) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The ``Authorization`` header value TikTok Shop sends with a webhook of this raw body."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, body: bytes, authorization: str | None) -> bool:
    """Constant-time check of a webhook's ``Authorization`` header."""
    if not authorization:
        return False
    expected = webhook_signature(app_key, app_secret, body)
    return hmac.compare_digest(expected, authorization.strip().lower())
