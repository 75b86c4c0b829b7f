"""The bare clients, for bench/portfolio.py: one set per process, no Django, no outbox.

A process (multiprocessing, spawned) builds its three clients once (`start`, which also
fetches their tokens and, for zevvy, has a person approve a device login on the
sandbox's page), then creates what each job says (`push`), as fast as the platform
answers. The jobs carry the payloads the portal's handlers build, so both sides send the
same bytes.
"""

import re
import time

import requests

from providers.spark.client_current import CurrentClient as SparkClient
from providers.zaehlerfreunde.client import ZaehlerfreundeClient
from providers.zevvy.client import ZevvyClient

_clients: dict = {}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def start(config: dict, ready=None) -> None:
    """`config`: each platform's (base URL, client id, secret, options) as the portal's
    registry resolves them, and the sandboxes' control token."""
    zf_at, spark_at, zevvy_at = (config[name] for name in ("zaehlerfreunde", "spark", "zevvy"))
    zf = ZaehlerfreundeClient(zf_at["base_url"], zf_at["client_id"], zf_at["client_secret"])
    spark = SparkClient(
        spark_at["base_url"],
        spark_at["options"]["token_url"],
        spark_at["client_id"],
        spark_at["client_secret"],
    )
    zevvy = ZevvyClient(
        zevvy_at["base_url"],
        zevvy_at["client_id"],
        zevvy_at["client_secret"],
        token_url=zevvy_at["options"]["token_url"],
        device_authorization_url=zevvy_at["options"]["device_authorization_url"],
        allow_http_loopback=True,  # the embedded sandbox's http://127.0.0.1 links
    )
    _connect_zevvy(zevvy, config["control_token"])
    zf.ensure_token()  # tokens fetched before the clock starts
    spark.ensure_token()
    _clients.update(zaehlerfreunde=zf, spark=spark, zevvy=zevvy)
    if ready is not None:
        ready.wait()  # every process is connected before the clock starts


def _connect_zevvy(zevvy: ZevvyClient, control_token: str) -> None:
    """What a person does once: approve the portal's device login on zevvy's page."""
    authorization = zevvy.start_device_authorization()
    person = requests.Session()
    person.headers["X-Sandbox-Token"] = control_token
    page = person.get(authorization.verification_uri_complete, timeout=30)
    page.raise_for_status()
    user_code = re.search(r'name="user_code" value="([^"]*)"', page.text).group(1)
    person.post(
        authorization.verification_uri_complete.split("?")[0],
        data={
            "user_code": user_code,
            "decision": "approve",
            "csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1),
        },
        timeout=30,
    ).raise_for_status()
    zevvy.wait_for_device_token(authorization, sleep=lambda seconds: time.sleep(min(seconds, 1)))


def push(jobs: list[dict]) -> list[tuple]:
    """Create each job's object; [(key, remote id, platform, finished at)]."""
    done = []
    for job in jobs:
        remote_id = CREATE[job["kind"]](_clients[job["platform"]], job)
        done.append((job["key"], remote_id, job["platform"], time.time()))
    return done


def _space(client, job) -> str:
    payload = {k: v for k, v in job["payload"].items() if v is not None}
    if job.get("parent_id"):
        payload["parentSpaceId"] = job["parent_id"]
    return client.create_space(payload)


def _spark_user(client, job) -> str:
    """Spark as it answers today (SPARK_API=current): the user's id is ours."""
    client.create_user(job["payload"]["userId"])
    return job["payload"]["userId"]


def _spark_location(client, job) -> str:
    """A tenant's meter is a location of its Spark user, under our id."""
    client.create_location(job["parent_id"], job["payload"])
    return f"{job['parent_id']}/{job['payload']['locationId']}"


CREATE = {
    "space": _space,
    "device": lambda client, job: client.create_device(job["parent_id"], job["payload"]),
    "invite": lambda client, job: client.create_invite(job["parent_id"], job["payload"]),
    "spark_user": lambda client, job: _spark_user(client, job),
    "spark_meter": lambda client, job: _spark_location(client, job),
    "zevvy_device": lambda client, job: client.create_device(
        job["payload"]["name"], job["payload"]["reference"]
    )["id"],
}
