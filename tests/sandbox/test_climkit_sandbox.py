"""The Climkit sandbox over real HTTP, as the guide describes the platform."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from providers.climkit.client import utc_param
from tests.climkit_support import ClimkitControl, gaps

pytestmark = pytest.mark.django_db(transaction=True)
CREDENTIALS = {"username": "portal-sandbox", "password": "sandbox-secret"}


@pytest.fixture
def climkit(portal, live_server) -> ClimkitControl:
    return ClimkitControl(live_server.url)


@pytest.fixture
def quick(climkit) -> ClimkitControl:
    """The sandbox without its rate limit, for tests about everything else."""
    climkit.rate_limit(0)
    return climkit


@pytest.fixture
def token(quick) -> str:
    return requests.post(f"{quick.api}/auth", json=CREDENTIALS, timeout=5).json()["access_token"]


def get(climkit, path, token, **kwargs):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{climkit.api}{path}", headers=headers, timeout=10, **kwargs)


def post(climkit, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{climkit.api}{path}", headers=headers, json=body or {}, timeout=10)


def test_auth_issues_a_jwt_valid_15_minutes_and_refuses_bad_credentials(quick):
    before = time.time()
    response = requests.post(f"{quick.api}/auth", json=CREDENTIALS, timeout=5)
    body = response.json()
    assert response.status_code == 200 and body["access_token"].count(".") == 2
    valid_until = body["valid_until"]["$date"] / 1000  # {"$date": <epoch ms>}
    assert before + 14 * 60 < valid_until <= time.time() + 15 * 60

    # Form-encoded works too; wrong or missing credentials do not.
    form = requests.post(f"{quick.api}/auth", data=CREDENTIALS, timeout=5)
    assert form.status_code == 200
    wrong = requests.post(f"{quick.api}/auth", json={**CREDENTIALS, "password": "x"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json() == {"msg": "Bad username or password"}
    missing = requests.post(f"{quick.api}/auth", json={"username": "a"}, timeout=5)
    assert missing.status_code == 400 and "Missing" in missing.json()["msg"]
    assert quick.state()["counts"]["tokens_issued"] == 2


def test_sites_meters_and_sensors_as_the_guide_lists_them(quick, token):
    # The guide: "a list of objects" (`_sandbox/answers` switches to NOTES.md's others).
    listed = get(quick, "/all_installations", token).json()
    assert all(set(s) == {"id", "site_ref", "name"} for s in listed)
    sites = [s["id"] for s in listed]
    assert len(sites) == 3 and all(isinstance(s, str) and len(s) == 24 for s in sites)

    info = get(quick, f"/installation_infos/{sites[0]}", token).json()
    assert set(info) == {"site_ref", "name", "address", "creation_date", "latitude",
                         "longitude", "timezone"}  # fmt: skip
    assert info["address"] == {"street_name": "Lindenstrasse", "street_number": "5",
                               "city": "Zürich", "postal_code": 8004}  # fmt: skip

    meters = get(quick, f"/meter_info/{sites[0]}", token).json()
    assert {m["type"] for m in meters} == {"electricity", "heating", "cold_water", "hot_water",
                                           "charge_point"}  # fmt: skip
    assert {m["mode"] for m in meters} == {"consumption", "production", "introduction", "battery"}
    assert set(meters[0]) == {"id", "type", "name", "mode", "prim_ad", "is_rule_meter"}

    sensors = get(quick, f"/{sites[0]}/sensors_list", token).json()
    assert {s["type"] for s in sensors} == {"temperature", "humidity", "co2"}
    assert set(sensors[0]) == {"id", "name", "type", "unit", "model"}
    assert get(quick, f"/{sites[2]}/sensors_list", token).json() == []

    unknown = get(quick, "/meter_info/000000000000000000000000", token)
    assert unknown.status_code == 404 and "not found" in unknown.json()["msg"]


def test_tokens_are_checked_and_expire(quick, token):
    assert get(quick, "/all_installations", "").status_code == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert get(quick, "/all_installations", forged).json()["msg"] == "Signature verification failed"
    assert get(quick, "/all_installations", token).status_code == 200
    quick.expire_tokens()
    expired = get(quick, "/all_installations", token)
    assert expired.status_code == 401 and expired.json() == {"msg": "Token has expired"}


def test_series_for_any_range_agree_with_each_other(quick, token):
    site = get(quick, "/all_installations", token).json()[0]["id"]
    meters = get(quick, f"/meter_info/{site}", token).json()
    flat = next(m["id"] for m in meters if m["name"] == "Wohnung 1.1")
    # Days of 2025: the sandbox has no data for the future, wherever a run's clock is set.
    day = {"t_s": "2025-03-21T23:00:00", "t_e": "2025-03-22T23:00:00"}

    quarter = post(quick, f"/meter_data/{site}/{flat}", token, day).json()
    assert len(quarter) == 96
    # 15T: the end of each period, in the site's time with its offset.
    assert quarter[0]["timestamp"] == "2025-03-22 00:15:00+01:00"
    assert quarter[-1]["timestamp"] == "2025-03-23 00:00:00+01:00"
    assert all(q["total"] > 0 and abs(q["total"] - q["self"] - q["ext"]) < 1e-3 for q in quarter)
    # Asked again: the same answer (generated, not random).
    assert post(quick, f"/meter_data/{site}/{flat}", token, day).json() == quarter

    hourly = post(quick, f"/meter_data/{site}/{flat}", token,
                  {**day, "sampling_frequency": "H"}).json()  # fmt: skip
    assert hourly[0]["timestamp"] == "2025-03-22 00:00:00+01:00"  # longer periods: the start
    assert abs(hourly[0]["total"] - sum(q["total"] for q in quarter[:4])) < 1e-3
    daily = post(quick, f"/meter_data/{site}/{flat}", token,
                 {**day, "sampling_frequency": "D"}).json()  # fmt: skip
    assert [d["timestamp"] for d in daily] == ["2025-03-22 00:00:00+01:00"]
    assert abs(daily[0]["total"] - sum(q["total"] for q in quarter)) < 1e-2

    raw = post(quick, f"/meter_data_raw/{site}/{flat}", token, day).json()
    assert set(raw[0]) == {"en_im", "en_ex", "timestamp"}
    assert abs(raw[-1]["en_im"] - raw[0]["en_im"] - sum(q["total"] for q in quarter[1:])) < 1e-2

    summer = {"t_s": "2025-06-21T00:00:00", "t_e": "2025-06-22T00:00:00", "sampling_frequency": "D"}
    site_day = post(quick, f"/site_data/{site}/electricity", token, summer).json()
    assert site_day[0]["timestamp"] == "2025-06-21 00:00:00+02:00"  # summer time
    assert site_day[0]["prod_total"] > 0 and site_day[0]["self"] > 0
    assert abs(site_day[0]["conso_total"] - site_day[0]["self"] - site_day[0]["from_ext"]) < 1e-3

    heat = next(m["id"] for m in meters if m["type"] == "heating")
    assert "heat_energy_kwh" in post(quick, f"/meter_data_raw/{site}/{heat}", token, day).json()[0]
    water = next(m["id"] for m in meters if m["type"] == "cold_water")
    assert "vol_m3" in post(quick, f"/meter_data_raw/{site}/{water}", token, day).json()[0]


def test_bad_requests_get_the_platforms_reason(quick, token):
    site = get(quick, "/all_installations", token).json()[0]["id"]
    meters = get(quick, f"/meter_info/{site}", token).json()
    rule = next(m["id"] for m in meters if m["is_rule_meter"])
    flat = next(m["id"] for m in meters if not m["is_rule_meter"])
    cases = [
        (f"/meter_data_raw/{site}/{rule}", {}, "physical meters"),
        (f"/meter_data/{site}/{flat}", {"t_s": "yesterday"}, "t_s"),
        (f"/meter_data/{site}/{flat}", {"sampling_frequency": "W"}, "sampling_frequency"),
        (f"/meter_data/{site}/{flat}", {"t_s": "2024-01-01T00:00:00",
                                        "t_e": "2026-01-01T00:00:00"}, "too long"),
        (f"/meter_data/{site}/{flat}", {"t_s": "2026-01-02T00:00:00",
                                        "t_e": "2026-01-01T00:00:00"}, "t_s"),
        (f"/site_data/{site}/gas", {}, "meter_type"),
    ]  # fmt: skip
    for path, body, reason in cases:
        response = post(quick, path, token, body)
        assert response.status_code == 400 and reason in response.json()["msg"], path
    assert post(quick, f"/meter_data/{site}/nope", token).status_code == 404


def test_sensor_data_latest_or_a_range_in_epoch_ms(quick, token):
    site = get(quick, "/all_installations", token).json()[0]["id"]
    sensor = get(quick, f"/{site}/sensors_list", token).json()[0]["id"]
    latest = get(quick, f"/{site}/sensor_data/{sensor}", token).json()
    assert len(latest) == 1 and time.time() - latest[0]["timestamp"] / 1000 < 20 * 60
    # The guide's range is UTC without a zone: the last hour, built in UTC (a range
    # from local midnight, sent as UTC, lies in the future after midnight in Zurich).
    now = datetime.now(UTC)
    params = {"t_s": utc_param(now - timedelta(hours=1)), "t_e": utc_param(now)}
    ranged = get(quick, f"/{site}/sensor_data/{sensor}", token, params=params).json()
    assert 3 <= len(ranged) <= 4 and all(isinstance(p["timestamp"], int) for p in ranged)
    assert all(now.timestamp() - 3600 < p["timestamp"] / 1000 <= now.timestamp() for p in ranged)


def test_two_calls_less_than_a_second_apart_get_429_with_retry_after(climkit):
    first = requests.post(f"{climkit.api}/auth", json=CREDENTIALS, timeout=5)
    second = requests.get(f"{climkit.api}/all_installations", timeout=5)
    assert first.status_code == 200
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    time.sleep(1.05)
    third = requests.get(f"{climkit.api}/all_installations", timeout=5)
    assert third.status_code == 401  # admitted (and then asked for its token)

    arrivals = climkit.arrivals()
    assert [a["admitted"] for a in arrivals] == [True, False, True]
    assert arrivals[0]["endpoint"] == "POST /auth"
    assert (
        arrivals[2]["at"] - arrivals[0]["at"] >= 1.0 and arrivals[1]["at"] - arrivals[0]["at"] < 1
    )
    assert climkit.state()["rate_limit"]["refused"] == 1


def test_concurrent_calls_admit_one_per_second(climkit):
    """Several at once, across the server's threads: exactly one gets through."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(
            lambda _: requests.get(f"{climkit.api}/all_installations", timeout=5).status_code,
            range(6),
        ))  # fmt: skip
    assert sorted(statuses) == [401] + [429] * 5
    admitted = [a for a in climkit.arrivals() if a["admitted"]]
    assert len(admitted) == 1 and all(g >= 0 for g in gaps(climkit.arrivals()))


def test_control_adds_changes_and_removes_meters(quick, token):
    site = quick.sites()[2]
    added = quick.add_meter(site_id=site["id"], name="Wallbox 1", type="charge_point", prim_ad=9)
    listed = get(quick, f"/meter_info/{site['id']}", token).json()
    assert added["id"] in [m["id"] for m in listed] and added["mode"] == "consumption"

    quick.change_meter(added["id"], name="Wallbox Garage")
    listed = get(quick, f"/meter_info/{site['id']}", token).json()
    assert next(m for m in listed if m["id"] == added["id"])["name"] == "Wallbox Garage"

    quick.remove_meter(added["id"])
    assert added["id"] not in [
        m["id"] for m in get(quick, f"/meter_info/{site['id']}", token).json()
    ]

    bad = quick.http.post(
        f"{quick.control}/meters", json={"site_id": "x", "type": "gas"}, timeout=5
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"name", "type", "site_id"}
    unknown = quick.http.patch(f"{quick.control}/meters/nope", json={"name": "x"}, timeout=5)
    assert unknown.status_code == 404


def test_control_needs_the_token_and_reset_restores_the_account(quick):
    assert requests.get(f"{quick.control}/state", timeout=5).status_code == 403
    site = quick.sites()[0]
    quick.remove_meter(site["meters"][0]["id"])
    assert quick.state()["counts"]["meters"] == 25
    quick.reset()
    state = quick.state()
    assert state["counts"] == {"sites": 3, "meters": 26, "sensors": 4, "tokens_valid": 0,
                               "tokens_issued": 0}  # fmt: skip
    assert state["sites"][0]["id"] == site["id"]  # the same ids after a reset
    assert state["rate_limit"]["interval"] == 1.0


def test_trainer_page_shows_the_account(quick):
    page = quick.http.get(quick.root + "/", timeout=5)
    assert page.status_code == 200
    assert "Lindenhof" in page.text and "Ladestation P1" in page.text and "rule meter" in page.text
    assert requests.get(quick.root + "/", timeout=5, allow_redirects=False).status_code in (
        302,
        403,
    )


@pytest.mark.parametrize(
    ("night", "quarters", "hours", "day_length"),
    [
        # Last Sunday of October: 03:00 summer time is 02:00 winter time, 02:xx comes twice.
        ("2025-10-26", ["02:15+02", "02:30+02", "02:45+02", "02:00+01", "02:15+01", "02:30+01",
                        "02:45+01", "03:00+01"], ["02:00+02", "02:00+01"], 25),
        # Last Sunday of March: 02:00 winter time is 03:00 summer time, 02:xx never comes.
        ("2025-03-30", ["01:15+01", "01:30+01", "01:45+01", "03:00+02", "03:15+02", "03:30+02",
                        "03:45+02", "04:00+02"], ["01:00+01", "03:00+02"], 23),
    ],
)  # fmt: skip
def test_series_through_a_dst_change_have_every_quarter_hour_once(
    quick, token, night, quarters, hours, day_length
):
    """Two UTC hours across the change: eight periods, each at its own local time and
    offset, in the hour it belongs to; the local day around them has 25 or 23 hours.
    (Nights of 2025: the sandbox has no data for the future, wherever a run's clock is.)"""
    site = get(quick, "/all_installations", token).json()[0]["id"]
    flat = next(m["id"] for m in get(quick, f"/meter_info/{site}", token).json()
                if m["name"] == "Wohnung 1.1")  # fmt: skip
    path = f"/meter_data/{site}/{flat}"

    def local(hh_mm_offset: str) -> str:  # "02:15+02" → "2025-10-26 02:15:00+02:00"
        return f"{night} {hh_mm_offset[:5]}:00{hh_mm_offset[5:]}:00"

    utc = datetime.fromisoformat(night).replace(tzinfo=UTC)  # 01:00 or 02:00 local
    two_hours = {"t_s": utc_param(utc), "t_e": utc_param(utc + timedelta(hours=2))}
    quarter = post(quick, path, token, two_hours).json()
    assert [q["timestamp"] for q in quarter] == [local(q) for q in quarters]
    raw = post(quick, f"/meter_data_raw/{site}/{flat}", token, two_hours).json()
    assert [r["timestamp"] for r in raw] == [q["timestamp"] for q in quarter]
    hourly = post(quick, path, token, {**two_hours, "sampling_frequency": "H"}).json()
    assert [h["timestamp"] for h in hourly] == [local(h) for h in hours]
    for hour, its_quarters in zip(hourly, (quarter[:4], quarter[4:]), strict=True):
        assert hour["total"] == pytest.approx(sum(q["total"] for q in its_quarters), abs=1e-3)

    midnight = datetime.fromisoformat(night).replace(tzinfo=ZoneInfo("Europe/Zurich"))
    whole_day = {"t_s": utc_param(midnight), "t_e": utc_param(midnight + timedelta(days=1))}
    every = post(quick, path, token, whole_day).json()
    assert len(every) == day_length * 4
    day = post(quick, path, token, {**whole_day, "sampling_frequency": "D"}).json()
    assert [d["timestamp"] for d in day] == [local("00:00+02" if day_length == 25 else "00:00+01")]
    assert day[0]["total"] == pytest.approx(sum(q["total"] for q in every), abs=1e-2)
