"""TikTok Shop request and webhook signatures against published vectors (no Django, no HTTP)."""

from __future__ import annotations

import hashlib
import hmac

from inbox.platforms.tiktok_shop.signing import sign_request, verify_webhook, webhook_signature

# [PHP] EcomPHP/tiktokshop-php tests/WebhookTest.php, $sample_data, byte for byte.
PHP_SAMPLE_BODY = (
    b'{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,'
    b'"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT",'
    b'"update_time":1664095610}}'
)


def _reference(secret: str, message: str, body: bytes = b"") -> str:
    """The documented algorithm, written out independently of the module under test."""
    wrapped = secret.encode() + message.encode() + body + secret.encode()
    return hmac.new(secret.encode(), wrapped, hashlib.sha256).hexdigest()


def test_v1_official_doc_example():
    # Given the official documentation example (via [RB] signer_test.rb)
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    # When it is signed
    sign = sign_request("e59af819cc", "/authorization/202309/shops", query)
    # Then it matches the published signature
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_v4_php_client_example():
    sign = sign_request("app_secret", "/test-api", {"foo": "bar"})
    assert sign == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"


def test_keys_are_sorted_and_concatenated_without_separators():
    query = {"timestamp": "1", "app_key": "k", "b": "2", "a": "1"}
    assert sign_request("s", "/p", query) == _reference("s", "/pa1app_keykb2timestamp1")


def test_multi_valued_key_is_signed_once_comma_joined():
    # Given a key with several values
    query = {"app_key": "k", "ids": ["3", "1", "2"]}
    # Then it is signed as one key, values comma-joined in their order
    assert sign_request("s", "/p", query) == _reference("s", "/papp_keykids3,1,2")
    assert sign_request("s", "/p", query) == sign_request(
        "s", "/p", {"app_key": "k", "ids": "3,1,2"}
    )


def test_access_token_and_sign_are_not_signed():
    base = {"app_key": "k", "timestamp": "1"}
    with_extras = {**base, "access_token": "tok", "sign": "old", "x-tts-access-token": "tok"}
    assert sign_request("s", "/p", with_extras) == sign_request("s", "/p", base)


def test_body_bytes_are_appended_after_the_parameters():
    body = b'{"type":"TEXT","content":"{\\"content\\": \\"hi\\"}"}'
    sign = sign_request("s", "/p", {"app_key": "k"}, body)
    assert sign == _reference("s", "/papp_keyk", body)
    # one byte more in the body changes the signature
    assert sign != sign_request("s", "/p", {"app_key": "k"}, body + b" ")


def test_webhook_derived_vector_from_php_sample():
    # Given the [PHP] WebhookTest sample body and fake app credentials
    # Then the Authorization value is the derived vector from the platform notes
    expected = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27"
    assert webhook_signature("fake_app_key", "fake_app_secret", PHP_SAMPLE_BODY) == expected
    assert verify_webhook("fake_app_key", "fake_app_secret", PHP_SAMPLE_BODY, expected)


def test_webhook_round_trip_and_tampering():
    body = b'{"type":14,"shop_id":"7001","timestamp":1700000000,"data":{}}'
    signature = webhook_signature("key", "secret", body)
    assert verify_webhook("key", "secret", body, signature)
    assert verify_webhook("key", "secret", body, signature.upper())  # hex case-insensitive
    # a one-byte change to the body fails
    assert not verify_webhook("key", "secret", body.replace(b"7001", b"7002"), signature)
    assert not verify_webhook("key", "secret", body + b"\n", signature)
    # wrong secret, wrong key, missing header
    assert not verify_webhook("key", "other", body, signature)
    assert not verify_webhook("other", "secret", body, signature)
    assert not verify_webhook("key", "secret", body, None)
    assert not verify_webhook("key", "secret", body, "")
