"""The audit chain's HMAC keys, from ``SCRM_AUDIT_KEYS``: ``kid:base64key[,kid:base64key...]``.

The first key signs (row MACs at insert, chain MACs at sealing); every key verifies, by the key
id stored on the row, so keys rotate by putting a new one first and keeping the old ones. Without
the variable one key is derived from ``SECRET_KEY`` (HKDF, key id ``sk``): fine for the embedded
mode, but a deployment should set its own, kept apart from the database's operators.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DERIVED_KID = "sk"
MIN_KEY_BYTES = 32
MAX_KID_LENGTH = 16


class UnknownKey(KeyError):
    """A row names a key id that is not configured (any more)."""


@dataclass(frozen=True)
class AuditKeys:
    signing_kid: str
    keys: dict[str, bytes]

    @property
    def signing_key(self) -> bytes:
        return self.keys[self.signing_kid]

    def key(self, kid: str) -> bytes:
        try:
            return self.keys[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    @classmethod
    def parse(cls, spec: str) -> AuditKeys:
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, b64 = part.partition(":")
            if not sep or not kid or len(kid) > MAX_KID_LENGTH or ":" in b64:
                raise ValueError("SCRM_AUDIT_KEYS: each key must be 'kid:base64key' (kid <= 16)")
            try:
                key = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_")
            except binascii.Error:
                raise ValueError(f"SCRM_AUDIT_KEYS: key {kid!r} is not base64") from None
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"SCRM_AUDIT_KEYS: key {kid!r} must be at least 32 bytes")
            if kid in keys:
                raise ValueError(f"SCRM_AUDIT_KEYS: key id {kid!r} given twice")
            keys[kid] = key
        if not keys:
            raise ValueError("SCRM_AUDIT_KEYS: no key given")
        return cls(signing_kid=next(iter(keys)), keys=keys)


@lru_cache(maxsize=4)
def _keys_for(spec: str, secret_key: str) -> AuditKeys:
    if spec.strip():
        return AuditKeys.parse(spec)
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"scrm audit chain v1"
    ).derive(secret_key.encode())
    return AuditKeys(signing_kid=DERIVED_KID, keys={DERIVED_KID: derived})


def audit_keys() -> AuditKeys:
    """The configured keys (parsed once per distinct setting)."""
    from django.conf import settings

    return _keys_for(getattr(settings, "SCRM_AUDIT_KEYS", ""), settings.SECRET_KEY)


def generate_audit_key_spec(kid: str = "a1") -> str:
    """A fresh ``kid:base64key`` for SCRM_AUDIT_KEYS."""
    import os

    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
