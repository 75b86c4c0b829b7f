"""Tokens never reach an error text (issue 18, item 1).

A platform that answers oddly (a token endpoint's answer with the token under another
name, an API that echoes our bearer token in a 2xx page or a 4xx reason) must not put
that token into `SyncRecord.last_error` (which viewers see on object pages) or into
`check_providers`' output, although both still say what went wrong.
"""

import copy
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from onboarding.models import SyncRecord
from onboarding.sync import engine
from providers.http import redacted_text
from providers.redaction import mask_secrets

from .factories import building
from .loopback import Answer

pytestmark = pytest.mark.django_db(transaction=True)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwb3J0YWwiLCJzY29wZSI6ImFsbCJ9.c2lnbmF0dXJlLTEyMzQ1"
OPAQUE = "Zm9vYmFyQmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo"
JSON = {"Content-Type": "application/json"}
TOKEN_OK = Answer(200, json.dumps({"accessToken": "good-token"}), JSON)


@pytest.fixture
def zaehlerfreunde_at(settings, loopback):
    """Zählerfreunde's base URL pointed at the loopback server, only it enabled."""
    config = copy.deepcopy(settings.PROVIDER_CONFIG)
    config["zaehlerfreunde"].update(base_url=loopback.url, client_id="id", client_secret="s")
    settings.PROVIDER_CONFIG = config
    settings.PROVIDERS = ["zaehlerfreunde"]
    settings.SYNC_MAX_ATTEMPTS = 5
    return loopback


def push(obj) -> SyncRecord:
    row = obj.sync_records.get(provider="zaehlerfreunde")
    SyncRecord.objects.filter(pk=row.pk).update(not_before=timezone.now() - timedelta(hours=1))
    engine.run(row.pk)
    return obj.sync_records.get(provider="zaehlerfreunde")


def check_providers() -> str:
    out = StringIO()
    try:
        call_command("check_providers", stdout=out)
    except CommandError as exc:
        out.write(str(exc))
    return out.getvalue()


def assert_no_token(text: str) -> None:
    assert JWT not in text and OPAQUE not in text
    assert JWT[:20] not in text and OPAQUE[:20] not in text


@pytest.mark.parametrize(
    "odd_answer",
    [
        # A token under a name the client does not know: the answer is not a token.
        Answer(200, json.dumps({"token": JWT, "opaque": OPAQUE}), JSON),
        # A proxy's page that shows the session it just made.
        Answer(200, f"<p>Signed in, session {JWT} {OPAQUE}</p>", {"Content-Type": "text/html"}),
        # A refusal that quotes what it refused.
        Answer(401, json.dumps({"title": "Unauthorized", "detail": f"token {JWT} rejected, "
                                f"access_token={OPAQUE}"}), JSON),
    ],
)  # fmt: skip
def test_an_odd_token_answer_stays_out_of_last_error_and_check_providers(
    zaehlerfreunde_at, odd_answer
):
    zaehlerfreunde_at.default = odd_answer
    row = push(building())
    assert row.last_error  # it does say what went wrong ...
    assert "/auth/token" in row.last_error or "token refused" in row.last_error
    assert_no_token(row.last_error)  # ... without the token
    output = check_providers()
    assert "Zählerfreunde: FAILED" in output
    assert_no_token(output)


@pytest.mark.parametrize(
    "odd_answer",
    [
        Answer(200, f"Down. Authorization: Bearer {OPAQUE} ({JWT})", {"Content-Type": "text/x"}),
        Answer(200, json.dumps({"debug": {"access_token": OPAQUE, "id": JWT}}), JSON),
        Answer(400, json.dumps({"title": "Bad Request", "detail": f"header was Bearer {OPAQUE}",
                                "errors": {"jwt": [JWT]}}), JSON),
    ],
)  # fmt: skip
def test_an_api_answer_that_echoes_a_token_stays_out_of_last_error(zaehlerfreunde_at, odd_answer):
    zaehlerfreunde_at.answer(TOKEN_OK)
    zaehlerfreunde_at.default = odd_answer
    row = push(building())
    assert "/spaces" in row.last_error or "Bad Request" in row.last_error
    assert_no_token(row.last_error)


@pytest.mark.platforms("spark")
def test_sparks_identity_server_answering_oddly_is_not_quoted(settings, loopback):
    config = copy.deepcopy(settings.PROVIDER_CONFIG)
    config["spark"].update(base_url=loopback.url, client_id="id", client_secret="s")
    config["spark"]["options"]["token_url"] = f"{loopback.url}/connect/token"
    settings.PROVIDER_CONFIG = config
    loopback.default = Answer(
        200, json.dumps({"accessToken": OPAQUE, "jwt": JWT}), {"Content-Type": "application/json"}
    )
    output = check_providers()
    assert "Volue Spark: FAILED" in output and "without an access token" in output
    assert_no_token(output)


def test_messages_keep_what_staff_need():
    # Remote ids, URLs and reasons stay readable; only credentials go.
    text = (
        "space 3fa85f64-5717-4562-b3fc-2c963f66afa6 not found at "
        "https://external.prod.zaehlerfreunde.com/partner/spaces (error code: 42)"
    )
    assert mask_secrets(text) == text
    assert redacted_text(json.dumps({"title": "Bad Request", "postcode": "80A"})) == (
        '{"title": "Bad Request", "postcode": "80A"}'
    )
