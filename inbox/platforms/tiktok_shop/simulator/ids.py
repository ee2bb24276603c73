"""Identifiers the simulator hands out.

Object IDs are 19-digit numeric strings built like TikTok's own (a millisecond clock shifted
left 22 bits plus a sequence), from the real wall clock rather than the simulator's injectable
one, so IDs stay unique across restarts and never collide with IDs issued before.
"""

from __future__ import annotations

import secrets
import string
import threading
import time

_ALPHABET = string.ascii_letters + string.digits


class IdGenerator:
    """Monotonic, time-based 19-digit numeric IDs (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            candidate = (time.time_ns() // 1_000_000) << 22
            self._last = max(candidate, self._last + 1)
            return str(self._last)


def random_token(prefix: str, length: int = 40) -> str:
    """An opaque credential-like string (access/refresh tokens, auth codes, ciphers)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def request_id() -> str:
    """Like TikTok's ``202203070749000101890810281E8C70B7``: UTC time then 20 hex digits."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()
