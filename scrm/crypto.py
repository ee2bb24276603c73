"""Encryption of personal data at rest: an AES-256-GCM key ring.

Ciphertext format (text, so it fits any database): ``v2:<kid>:<base64url(nonce || ct || tag)>``.
The associated data binds a value to where it lives: the model and column *and the row* (its
``row_uid``, see ``scrm.fields``), so a value copied into another column or another row fails to
decrypt instead of leaking. ``v1`` values (before issue 16: bound to the column only) still
decrypt; ``manage.py rotate_keys`` rewrites them as ``v2`` under the newest key.

Keys come from ``SCRM_ENCRYPTION_KEYS``: ``kid:base64key[,kid:base64key...]``; the first is used
to encrypt, all are tried by kid to decrypt, so keys rotate by putting a new one first, running
``rotate_keys``, then removing the old one. Blind indexes have keys and a rotation path of their
own (``scrm.blind``).
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")

PREFIX = "v2"
PREFIX_V1 = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value could not be decrypted (wrong key, wrong place, or tampered)."""


def parse_keys(spec: str, *, setting: str) -> dict[str, bytes]:
    """``kid:base64key[,kid:base64key...]`` as an ordered dict (the first is the primary)."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or ":" in b64 or "." in kid:
            raise ValueError(f"{setting}: each key must be 'kid:base64key'")
        try:
            key = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=True)
        except binascii.Error:
            raise ValueError(f"{setting}: key {kid!r} is not base64") from None
        if len(key) != 32:
            raise ValueError(f"{setting}: key {kid!r} must be 32 bytes, got {len(key)}")
        if kid in keys:
            raise ValueError(f"{setting}: key id {kid!r} given twice")
        keys[kid] = key
    return keys


@dataclass(frozen=True)
class KeyRing:
    primary_kid: str
    keys: dict[str, bytes]
    _aead: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys = parse_keys(spec, setting="SCRM_ENCRYPTION_KEYS")
        if not keys:
            raise ValueError("no encryption key given")
        return cls(primary_kid=next(iter(keys)), keys=keys)

    def _cipher(self, kid: str) -> AESGCM:
        # One AESGCM per key: building it costs more than a short field's encryption.
        cipher = self._aead.get(kid)
        if cipher is None:
            cipher = self._aead[kid] = AESGCM(self.keys[kid])
        return cipher

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        ct = self._cipher(self.primary_kid).encrypt(nonce, plaintext.encode(), aad)
        # binascii directly: base64.urlsafe_b64encode's layers cost as much as AES on a name.
        b64 = binascii.b2a_base64(nonce + ct, newline=False).translate(_TO_URLSAFE).decode()
        return f"{PREFIX}:{self.primary_kid}:{b64}"

    def decrypt(self, token: str, aad: bytes, *, aad_v1: bytes | None = None) -> str:
        """The plaintext of ``token``. ``aad`` binds ``v2`` tokens; ``aad_v1`` (the column alone)
        is what ``v1`` tokens were bound to, accepted only where the caller passes it."""
        try:
            prefix, kid, b64 = token.split(":", 2)
            if prefix == PREFIX_V1 and aad_v1 is not None:
                aad = aad_v1
            elif prefix != PREFIX:
                raise ValueError
            raw = binascii.a2b_base64(b64.encode().translate(_FROM_URLSAFE))
            return self._cipher(kid).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
        except Exception as exc:  # InvalidTag, KeyError, binascii.Error, ValueError
            # Never include the token or plaintext in the message.
            raise DecryptionError("stored value could not be decrypted") from exc


def token_kid(token: str) -> str:
    """The key id a stored token was encrypted with ("" for something that is not a token)."""
    prefix, _, rest = token.partition(":")
    return rest.partition(":")[0] if prefix in (PREFIX, PREFIX_V1) else ""


def is_current(token: str, ring: KeyRing) -> bool:
    """Whether ``token`` is in the newest format under the primary key (rotation skips it)."""
    return token.startswith(f"{PREFIX}:{ring.primary_kid}:")


@lru_cache(maxsize=2048)
def derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@lru_cache(maxsize=4)
def _ring_for(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


_settings: Any = None
_last: tuple[str, KeyRing] | None = None


def key_ring() -> KeyRing:
    """The key ring from settings (parsed once per distinct setting)."""
    global _settings, _last
    if _settings is None:  # imported once: this is on every encrypted value's path
        from django.conf import settings

        _settings = settings
    spec = _settings.SCRM_ENCRYPTION_KEYS
    last = _last
    if last is not None and last[0] is spec:
        return last[1]
    ring = _ring_for(spec)
    _last = (spec, ring)
    return ring


def generate_key_spec(kid: str = "k1") -> str:
    """A fresh ``kid:base64key`` for SCRM_ENCRYPTION_KEYS or SCRM_BLIND_INDEX_KEYS."""
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
