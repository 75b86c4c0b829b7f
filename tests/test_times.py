"""Times read from other systems, whatever the hour and the host's zone."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from providers.errors import TransientError
from providers.http import raise_for_status

from .loopback import Answer


@pytest.mark.parametrize(
    "form",
    [
        "%a, %d %b %Y %H:%M:%S GMT",  # IMF-fixdate, what servers send today
        "%A, %d-%b-%y %H:%M:%S GMT",  # RFC 850, obsolete but to be accepted
        "%a %b %d %H:%M:%S %Y",  # asctime: GMT as well, without saying so
    ],
)
def test_a_retry_after_date_is_gmt_in_each_form_http_allows(loopback, form):
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    loopback.answer(Answer(503, "busy", {"Retry-After": at.strftime(form)}))
    response = requests.get(loopback.url, timeout=5)
    with pytest.raises(TransientError) as raised:
        raise_for_status(response, lambda r: r.text)
    assert 100 < raised.value.retry_after <= 120
