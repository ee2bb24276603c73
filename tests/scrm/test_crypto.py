from __future__ import annotations

import base64

import pytest
from django.db import connection

from scrm.crypto import DecryptionError, KeyRing, generate_key_spec
from tests.factories import ShopAccountFactory


def test_round_trip_and_binding_to_place():
    ring = KeyRing.parse(generate_key_spec("k1"))
    token = ring.encrypt("Alice Buyer", b"inbox.customer.name")
    assert "Alice" not in token
    assert ring.decrypt(token, b"inbox.customer.name") == "Alice Buyer"
    # The same ciphertext moved to another column does not decrypt.
    with pytest.raises(DecryptionError) as exc:
        ring.decrypt(token, b"inbox.customer.phone")
    assert "Alice" not in str(exc.value)


def test_tampered_ciphertext_is_detected():
    ring = KeyRing.parse(generate_key_spec("k1"))
    token = ring.encrypt("secret", b"aad")
    prefix, kid, b64 = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(b64))
    raw[15] ^= 0x01  # one bit of the ciphertext
    flipped = f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        ring.decrypt(flipped, b"aad")


def test_rotation_decrypts_old_values_and_encrypts_with_the_new_key():
    old = generate_key_spec("old")
    new = generate_key_spec("new")
    token_old = KeyRing.parse(old).encrypt("v", b"a")
    rotated = KeyRing.parse(f"{new},{old}")
    assert rotated.decrypt(token_old, b"a") == "v"
    # A value written before issue 16 (v1: bound to its column only) decrypts only where the
    # caller names that column as its v1 binding.
    v1 = KeyRing.parse(old).encrypt("v", b"col").replace("v2:", "v1:", 1)
    assert rotated.decrypt(v1, b"col\x00row", aad_v1=b"col") == "v"
    with pytest.raises(DecryptionError):
        rotated.decrypt(v1, b"col\x00row")
    assert rotated.encrypt("v", b"a").startswith("v2:new:")


@pytest.mark.parametrize("spec", ["", "nokey", "k1:" + "QUJD", "k1:a:b"])
def test_bad_key_specs_are_refused(spec):
    with pytest.raises(ValueError):
        KeyRing.parse(spec)


@pytest.mark.django_db
def test_credentials_are_ciphertext_in_the_database():
    shop = ShopAccountFactory(credentials={"app_secret": "s3cr3t-value", "access_token": "tok"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM inbox_shopaccount WHERE id = %s", [shop.id])
        raw = cursor.fetchone()[0]
    assert raw.startswith("v2:t1:")
    assert "s3cr3t-value" not in raw
    shop.refresh_from_db()
    assert shop.credentials["app_secret"] == "s3cr3t-value"
