"""Invoice numbers: gap-free and unique per UTC year under 50 concurrent finalizations (moto
server, real threads, each with its own service — 50 Lambda instances)."""

from __future__ import annotations

import threading
import uuid

import pytest

from meterplex.billing.models import Invoice, InvoiceKind, InvoiceSource, InvoiceStatus
from meterplex.billing.repository import BillingRepository
from meterplex.billing.usage_billed import UsageBilledState
from meterplex.platform.clock import FixedClock
from tests.integration.billing.helpers import at, billing

pytestmark = pytest.mark.usefixtures("moto_endpoint")
YEAR = 2031  # a year no other test finalizes in: its sequence starts at 1
CONCURRENT = 50


def draft(tenant_id: str) -> Invoice:
    invoice = Invoice(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        subscription_id=str(uuid.uuid4()),
        status=InvoiceStatus.DRAFT,
        kind=InvoiceKind.FULL,
        source=InvoiceSource.MANUAL,
        currency="usd",
        period_start=at(YEAR, 1, 1),
        period_end=at(YEAR, 2, 1),
        created_at=at(YEAR, 2, 1),
    )
    BillingRepository().create(
        invoice,
        claim_start=invoice.period_start,
        state_before=UsageBilledState(),
        state_after=UsageBilledState(version=1),
        events=[],
    )
    return invoice


def test_fifty_concurrent_finalizations_take_fifty_consecutive_numbers() -> None:
    drafts = [draft(str(uuid.uuid4())) for _ in range(CONCURRENT)]
    barrier = threading.Barrier(CONCURRENT)
    numbers: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def finalize(invoice: Invoice) -> None:
        service = billing(FixedClock(at(YEAR, 3, 1)))  # its own process-wide number cache
        barrier.wait()
        try:
            numbers[invoice.id] = service.finalize(invoice.tenant_id, invoice.id).invoice_number
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=finalize, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    expected = {f"INV-{YEAR}-{n:04d}" for n in range(1, CONCURRENT + 1)}
    assert set(numbers.values()) == expected and len(numbers) == CONCURRENT  # unique, gap-free
    stored = {d.id: billing().invoice(d.tenant_id, d.id).invoice_number for d in drafts}
    assert stored == numbers
    assert BillingRepository().last_number(YEAR) == CONCURRENT
