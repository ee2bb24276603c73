"""Encryption of personal data at rest: an AES-256-GCM key ring and blind indexes.

Ciphertext format (text, so it fits any database): ``v1:<kid>:<base64url(nonce || ct || tag)>``.
The associated data binds a value to where it lives (model label and field name), so a value
copied into another column fails to decrypt instead of leaking.

Keys come from ``SCRM_ENCRYPTION_KEYS``: ``kid:base64key[,kid:base64key...]``; the first is used
to encrypt, all are tried by kid to decrypt, so keys rotate by putting a new one first.
Blind indexes are HMAC-SHA256 over a normalised value with a key derived (HKDF) from the primary
key, truncated to 16 bytes: equal values give equal indexes, nothing else is learnt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value could not be decrypted (wrong key, wrong place, or tampered)."""


@dataclass(frozen=True)
class KeyRing:
    primary_kid: str
    keys: dict[str, bytes]
    # A key of its own for blind indexes (SCRM_BLIND_INDEX_KEY): rotating the encryption keys
    # must not change every stored index. Without it, derived from the primary key.
    index_key: bytes | None = None

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        primary = ""
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            kid, sep, b64 = part.partition(":")
            if not sep or not kid or ":" in b64:
                raise ValueError("each key must be 'kid:base64key'")
            key = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_")
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            keys[kid] = key
            primary = primary or kid
        if not keys:
            raise ValueError("no encryption key given")
        return cls(primary_kid=primary, keys=keys)

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        ct = AESGCM(self.keys[self.primary_kid]).encrypt(nonce, plaintext.encode(), aad)
        return f"{PREFIX}:{self.primary_kid}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str, aad: bytes) -> str:
        try:
            prefix, kid, b64 = token.split(":", 2)
            if prefix != PREFIX:
                raise ValueError
            raw = base64.urlsafe_b64decode(b64)
            key = self.keys[kid]
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
        except Exception as exc:  # InvalidTag, KeyError, binascii.Error, ValueError
            # Never include the token or plaintext in the message.
            raise DecryptionError("stored value could not be decrypted") from exc

    @property
    def blind_index_key(self) -> bytes:
        return _derive(self.index_key or self.keys[self.primary_kid], b"scrm blind index v1")

    def blind_index(self, value: str, *, purpose: str) -> str:
        normalised = " ".join(value.split()).casefold()
        mac = hmac.new(
            self.blind_index_key, purpose.encode() + b"\x00" + normalised.encode(), hashlib.sha256
        )
        return mac.hexdigest()[:32]


@lru_cache(maxsize=8)
def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@lru_cache(maxsize=4)
def _ring_for(spec: str, index_key: str) -> KeyRing:
    ring = KeyRing.parse(spec)
    if not index_key:
        return ring
    raw = base64.b64decode(index_key + "=" * (-len(index_key) % 4), altchars=b"-_")
    if len(raw) != 32:
        raise ValueError("SCRM_BLIND_INDEX_KEY must be 32 bytes, base64")
    return KeyRing(primary_kid=ring.primary_kid, keys=ring.keys, index_key=raw)


def key_ring() -> KeyRing:
    """The key ring from settings (parsed once per distinct setting)."""
    from django.conf import settings

    return _ring_for(settings.SCRM_ENCRYPTION_KEYS, settings.SCRM_BLIND_INDEX_KEY)


def generate_key_spec(kid: str = "k1") -> str:
    """A fresh ``kid:base64key`` for SCRM_ENCRYPTION_KEYS."""
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
