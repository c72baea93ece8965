"""`WebhookDeliveriesExhausted` (ADR 0100) from webhook_delivery's own worker: one per delivery
that failed every attempt of its retry schedule, never for the attempts before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.webhook_receiver import Receiver
from meterplex.platform import business_metrics as bm
from meterplex.webhooks.delivery import Result
from meterplex.webhooks.models import DeliveryRef
from meterplex.webhooks.retries import RETRY_DELAYS
from tests.integration.billing.helpers import function
from tests.integration.catalog.handlers import call
from tests.integration.webhooks.test_dispatch_and_delivery import BASE, deliveries, endpoint, owner
from tests.support.emf import Emf, capture

pytestmark = pytest.mark.usefixtures("webhook_aws")


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Emf]:
    yield from capture(monkeypatch, capsys)


def test_an_exhausted_delivery_is_counted_once_by_the_delivery_function(emf: Emf, receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/down", ["webhook.test"])
    receiver.script("/down", [503] * (len(RETRY_DELAYS) + 1))
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    worker = function("webhook_delivery").worker  # the handler's worker: its results are metrics
    emf.read(flush=True)
    at = datetime.now(UTC) + timedelta(seconds=1)
    results, exhausted_per_attempt = [], []
    for _ in range(len(RETRY_DELAYS) + 1):
        results.append(worker.attempt(ref, at))
        exhausted_per_attempt.append(emf.total(bm.WEBHOOK_DELIVERIES_EXHAUSTED, emf.read(flush=True)))
        pending = deliveries(who, hook["id"])[0]
        if pending["nextRetryAt"]:
            at = datetime.fromisoformat(pending["nextRetryAt"].replace("Z", "+00:00"))
    assert results[-1] is Result.EXHAUSTED
    assert exhausted_per_attempt == [0] * len(RETRY_DELAYS) + [1]
    assert all(dims == ["service"] for dims in emf.dimension_sets(bm.WEBHOOK_DELIVERIES_EXHAUSTED))
