"""Proxies from the environment: still honoured, but worked out once per host and not on
every call (requests' getproxies cost every push a few hundred microseconds)."""

import pytest
import requests

from providers import http
from providers.http import HttpTransport, make_session
from providers.zaehlerfreunde.client import ZaehlerfreundeClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    http._proxies_for.cache_clear()
    yield
    http._proxies_for.cache_clear()


def test_the_environment_is_read_once_per_host_not_per_call(sandbox, monkeypatch):
    # A spy on requests' own reading of the environment (not on our code): it counts.
    looked = []
    real = requests.utils.getproxies
    monkeypatch.setattr(requests.utils, "getproxies", lambda: looked.append(1) or real())
    client = ZaehlerfreundeClient(
        f"{sandbox.base}/sandbox/zaehlerfreunde/partner", "portal-sandbox", "sandbox-secret"
    )
    list(client.list_spaces())  # the token, then the list
    after_first = len(looked)
    for _ in range(5):
        list(client.list_spaces())
    assert after_first >= 1  # it did look, once
    assert len(looked) == after_first  # and never again for the same host


def test_a_proxy_named_in_the_environment_is_still_used(loopback, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", loopback.url)
    transport = HttpTransport("http://platform.invalid/api", session=make_session())
    assert transport.send("GET", "/ping").status_code == 200
    (received,) = loopback.received
    assert received.path == "http://platform.invalid/api/ping"  # asked of the proxy


def test_a_session_wrapped_by_a_client_still_goes_through_the_proxy(loopback, monkeypatch):
    from providers.spark.client import GatewayAwareSession

    monkeypatch.setenv("HTTP_PROXY", loopback.url)
    transport = HttpTransport("http://spark.invalid", session=GatewayAwareSession())
    assert transport.send("GET", "/users").status_code == 200
    assert [r.path for r in loopback.received] == ["http://spark.invalid/users"]


def test_no_proxy_still_sends_those_hosts_direct(loopback, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    transport = HttpTransport(loopback.url, session=make_session())
    assert transport.send("GET", "/direct").status_code == 200
    assert [r.path for r in loopback.received] == ["/direct"]
