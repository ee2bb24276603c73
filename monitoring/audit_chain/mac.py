"""The two MACs of an audit event (HMAC-SHA256, hex).

The row MAC is computed at insert over a canonical encoding of everything the row says (its
organisation, actor id and name, shop, address hash, action, target, data, time and a random
nonce), so a row edited, or inserted without the key, fails it. The chain MAC is computed by the
sealer over (previous chain MAC, organisation, seq, row id, row MAC): a row deleted, moved or
re-numbered breaks the chain at the next event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

ROW_TAG = b"scrm-audit-row-v1\x00"
CHAIN_TAG = b"scrm-audit-chain-v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def canonical_data(data: dict[str, Any] | None) -> str:
    """``data`` as the one JSON text the MAC covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def micros(moment: datetime) -> int:
    """A time as whole microseconds since the epoch (what both databases keep exactly)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def row_mac(
    key: bytes,
    *,
    kid: str,
    organisation_id: int,
    actor_id: int | None,
    actor_name: str,
    shop_account_id: int | None,
    ip_digest: str,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any] | None,
    created_at: datetime,
    nonce: str,
) -> str:
    encoded = json.dumps(
        [
            kid,
            organisation_id,
            actor_id,
            actor_name,
            shop_account_id,
            ip_digest,
            action,
            target_type,
            target_id,
            canonical_data(data),
            micros(created_at),
            nonce,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hmac.new(key, ROW_TAG + encoded.encode(), hashlib.sha256).hexdigest()


def chain_mac(
    key: bytes, *, previous: str, organisation_id: int, seq: int, event_id: int, row: str
) -> str:
    message = f"{previous}|{organisation_id}|{seq}|{event_id}|{row}".encode()
    return hmac.new(key, CHAIN_TAG + message, hashlib.sha256).hexdigest()
