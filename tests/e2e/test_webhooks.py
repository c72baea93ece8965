"""Outbound webhooks over real HTTP (SPEC §8.3, ADR 0080), against the local cloud subprocess that
moves the test clock, delivering to a real HTTP receiver on localhost. Every delivery is verified
with the `standardwebhooks` library — not with our own signing code.

* invoice finalized → exactly one delivery to the endpoint subscribed to it, signature valid;
* a receiver answering 500 three times then 200 → delivered on the 4th attempt, the attempts at
  the retry schedule's offsets (5 s, 5 min, 30 min, ± 10 % jitter, whole seconds), driven by the
  test clock; every attempt carries the same `webhook-id`;
* a receiver answering 410 → the endpoint is disabled (GONE);
* the secret rotated → both signatures verify during the 24 h overlap, only the new one after it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from infra.local.replies import ok
from infra.local.webhook_receiver import Received, Receiver, running_receiver
from tests.e2e.http_setup import advance, eventually, metered_tenant, on_the_test_clock


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The body, if `standardwebhooks` accepts the request's signature with `secret`."""
    return Webhook(secret).verify(received.body, received.headers)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_webhooks_over_http_with_the_test_clock(clock_cloud_url: str, receiver: Receiver) -> None:
    on_the_test_clock(clock_cloud_url, lambda url, admin: _story(url, admin, receiver))


def _story(url: str, admin: dict[str, str], receiver: Receiver) -> None:
    tenant = metered_tenant(url, "hooks", monthly=1_000, included=100, overage=10)
    member = tenant.member
    period_end = parse(tenant.subscription["currentPeriodEnd"])
    now = parse(ok(requests.get(f"{url}/admin/clock", headers=admin, timeout=10))["now"])
    # business time frozen from here: only advances move it
    assert advance(url, admin, {"to": (now + timedelta(seconds=5)).isoformat()}) == 200

    def endpoint(path: str, types: list[str]) -> dict[str, Any]:
        body = {"url": f"{receiver.url}{path}", "eventTypes": types, "description": path}
        reply = requests.post(f"{url}/webhook-endpoints", json=body, headers=member, timeout=10)
        assert reply.status_code == 201, reply.text
        created: dict[str, Any] = reply.json()
        assert created["secret"].startswith("whsec_")
        return created

    invoices = endpoint("/invoices", ["invoice.finalized"])
    flaky = endpoint("/flaky", ["invoice.paid"])
    gone = endpoint("/gone", ["invoice.paid"])
    rotating = endpoint("/rotating", ["invoice.paid"])
    receiver.script("/flaky", [500, 500, 500, 200])
    receiver.script("/gone", [410])
    # the secret is never answered again
    shown = ok(requests.get(f"{url}/webhook-endpoints/{invoices['id']}", headers=member, timeout=10))
    assert "secret" not in shown and invoices["secret"] not in json.dumps(shown)

    # -- invoice finalized → one delivery, signature valid ----------------------------------------
    assert advance(url, admin, {"to": (period_end + timedelta(days=1)).isoformat()}) == 200
    invoice = ok(requests.get(f"{url}/invoices", headers=member, timeout=10))["data"][0]
    assert invoice["status"] == "FINALIZED"
    got = eventually(lambda: receiver.at("/invoices"), bool)
    assert len(got) == 1, got
    body = verified(invoices["secret"], got[0])
    assert body["type"] == "invoice.finalized" and body["tenantId"] == member["x-tenant-id"]
    assert body["id"] == got[0].headers["webhook-id"]
    assert body["data"]["id"] == invoice["id"]
    time.sleep(1)  # nothing else arrives: one delivery per (event, endpoint)
    assert len(receiver.at("/invoices")) == 1
    log = ok(requests.get(f"{url}/webhook-endpoints/{invoices['id']}/deliveries", headers=member, timeout=10))
    assert [(d["eventType"], d["status"], d["attemptCount"]) for d in log["data"]] == [
        ("invoice.finalized", "SUCCEEDED", 1)
    ]

    # -- 500, 500, 500, 200 → the 4th attempt, at the schedule's offsets (test clock) -------------
    test = requests.post(f"{url}/webhook-endpoints/{flaky['id']}/test", headers=member, timeout=10)
    assert test.status_code == 202, test.text
    delivery_id = test.json()["deliveryId"]
    eventually(lambda: receiver.at("/flaky"), bool)
    assert advance(url, admin, {"hours": 3}) == 200

    def flaky_delivery() -> dict[str, Any]:
        page = ok(
            requests.get(f"{url}/webhook-endpoints/{flaky['id']}/deliveries", headers=member, timeout=10)
        )
        return next(d for d in page["data"] if d["id"] == delivery_id)

    delivered = eventually(flaky_delivery, lambda d: d["status"] == "SUCCEEDED", timeout=10)
    assert delivered["status"] == "SUCCEEDED" and delivered["attemptCount"] == 4
    assert [a["statusCode"] for a in delivered["attempts"]] == [500, 500, 500, 200]
    times = [parse(a["at"]) for a in delivered["attempts"]]
    for (earlier, later), base in zip(itertools.pairwise(times), (5, 300, 1800), strict=True):
        offset = (later - earlier).total_seconds()
        assert base * 0.9 <= offset <= base * 1.1 + 1, (base, offset, times)
    requests_seen = receiver.at("/flaky")
    assert len(requests_seen) == 4
    assert {r.headers["webhook-id"] for r in requests_seen} == {test.json()["eventId"]}
    for seen in requests_seen:
        assert verified(flaky["secret"], seen)["type"] == "webhook.test"

    # -- 410 → the endpoint is disabled ------------------------------------------------------------
    assert (
        requests.post(f"{url}/webhook-endpoints/{gone['id']}/test", headers=member, timeout=10).status_code
        == 202
    )
    disabled = eventually(
        lambda: ok(requests.get(f"{url}/webhook-endpoints/{gone['id']}", headers=member, timeout=10)),
        lambda e: not e["enabled"],
    )
    assert (disabled["enabled"], disabled["disabledReason"]) == (False, "GONE")
    assert len(receiver.at("/gone")) == 1
    refused = requests.post(f"{url}/webhook-endpoints/{gone['id']}/test", headers=member, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (409, "WEBHOOK_ENDPOINT_DISABLED")

    # -- rotation: both signatures verify in the overlap, only the new one after it ----------------
    old_secret = rotating["secret"]
    rotated = ok(
        requests.post(f"{url}/webhook-endpoints/{rotating['id']}/rotate-secret", headers=member, timeout=10)
    )
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret

    def test_event() -> Received:
        before = len(receiver.at("/rotating"))
        reply = requests.post(f"{url}/webhook-endpoints/{rotating['id']}/test", headers=member, timeout=10)
        assert reply.status_code == 202, reply.text
        return eventually(lambda: receiver.at("/rotating"), lambda r: len(r) > before)[-1]  # type: ignore[no-any-return]

    during = test_event()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(new_secret, during)["type"] == "webhook.test"
    assert verified(old_secret, during)["type"] == "webhook.test"

    assert advance(url, admin, {"hours": 25}) == 200
    after = test_event()
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verified(new_secret, after)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verified(old_secret, after)
