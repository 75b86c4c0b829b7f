"""Spark's webhook signature (NOTES.md): Base64(HMAC-SHA256(key = the webhook secret as
UTF-8, message = the raw body exactly as received)), no prefix, no timestamp, in
`Spark-Signature` (the guide) or `X-Payload-Signature` (the current reference)."""

import base64
import hashlib
import hmac

SIGNATURE_HEADERS = ("Spark-Signature", "X-Payload-Signature")


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signatures_of(headers) -> list[str]:
    return [headers[name].strip() for name in SIGNATURE_HEADERS if headers.get(name)]


def matching(secrets, body: bytes, given: list[str]):
    """The first of `secrets` ((key, secret) pairs) that signed `body`, or None.

    Every secret is compared, in constant time (hmac.compare_digest), whatever matched
    before: how long verification takes tells nothing about which secret or byte failed.
    """
    found = None
    given_bytes = [g.encode() for g in given]
    for key, secret in secrets:
        expected = sign(secret, body).encode()
        for candidate in given_bytes:
            if hmac.compare_digest(expected, candidate) and found is None:
                found = key
    return found
