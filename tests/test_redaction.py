"""The call log keeps no credential, whatever shape the body has."""

import pytest

from providers.http import REDACTED, _body_for_log


@pytest.mark.parametrize(
    ("body", "kept", "hidden"),
    [
        # OAuth token requests are form-encoded (client credentials, device flow, refresh).
        (
            "grant_type=client_credentials&client_id=portal&client_secret=s3cr3t-value",
            "client_id=portal",
            "s3cr3t-value",
        ),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "dc-1"},
            "device_code",
            "dc-1",
        ),
        ("code=auth-code-123&code_verifier=verifier-456", "code=", "auth-code-123"),
        ("code=auth-code-123&code_verifier=verifier-456", "code_verifier=", "verifier-456"),
        # Token responses, JSON or form-encoded.
        (b'{"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 300}', "300", "at-1"),
        (b'{"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 300}', "300", "rt-1"),
        ("access_token=at-2&token_type=bearer&expires_in=3600", "expires_in=3600", "at-2"),
        # Device authorization answers, Climkit's JWT, API keys, invite links.
        ({"user_code": "WDJB-MJHT", "verification_uri": "https://x/device"}, "https", "WDJB"),
        ({"jwt": "abc.def.ghi", "valid_until": 1}, "valid_until", "abc.def.ghi"),
        ({"key": "k-123", "name": "n"}, '"name"', "k-123"),
        ({"inviteLink": "https://zf/invite/abc"}, "inviteLink", "invite/abc"),
        # A bare token, in quotes or not.
        ('"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"', "", "eyJhbGci"),
        ("dGhpcyBpcyBhIGxvbmcgb3BhcXVlIHRva2Vu", "", "dGhpcyBp"),
    ],
)
def test_secrets_are_redacted_in_every_body_type(body, kept, hidden):
    logged = _body_for_log(body)
    assert hidden not in logged
    assert REDACTED in logged
    assert kept in logged


def test_plain_bodies_are_kept_as_they_are():
    assert _body_for_log("Service temporarily unavailable") == "Service temporarily unavailable"
    assert _body_for_log({"name": "Lindenhof", "postcode": "8004"}) == (
        '{"name": "Lindenhof", "postcode": "8004"}'
    )
