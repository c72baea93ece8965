"""Payments test helpers: the capability wired on a fixed clock with the fake provider and an
in-memory tenant directory (collection mode, metadata scripts), stored events delivered to the
`payment_events` consumer as the stream would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from meterplex.billing.events import invoice_fields
from meterplex.billing.models import Invoice
from meterplex.payments.collection import Collector, EventKey, Intake
from meterplex.payments.consumer import PaymentEventsConsumer
from meterplex.payments.fake import FakeProvider
from meterplex.payments.processor import EventProcessor, Policy
from meterplex.payments.provider import PaymentProvider
from meterplex.payments.repository import PaymentsRepository, ProviderEventRecord, event_key
from meterplex.payments.service import PaymentsService
from meterplex.platform.clock import FixedClock
from meterplex.subscriptions.repository import DynamoSubscriptionRepository


@dataclass
class Directory:
    """TenantReader: who collects automatically, and each tenant's metadata."""

    manual: set[str] = field(default_factory=set)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    def collection_of(self, tenant_id: str) -> tuple[bool, dict[str, Any]]:
        return tenant_id not in self.manual, dict(self.metadata.get(tenant_id, {}))

    def script(self, tenant_id: str, outcome: str | None) -> None:
        self.metadata[tenant_id] = {} if outcome is None else {"fakePayment": outcome}


@dataclass
class Payments:
    clock: FixedClock
    provider: PaymentProvider = field(default_factory=FakeProvider)
    directory: Directory = field(default_factory=Directory)
    retry_days: tuple[int, ...] = (3, 8, 15)
    cancel_when_exhausted: bool = False

    def __post_init__(self) -> None:
        self.repo = PaymentsRepository()
        subs = DynamoSubscriptionRepository()
        self.processor = EventProcessor(
            self.repo, subs, Policy(self.retry_days, self.cancel_when_exhausted), self.clock
        )
        self.collector = Collector(self.repo, self.provider, self.directory, subs, self.clock)
        self.intake = Intake(self.repo, self.clock)
        self.service = PaymentsService(self.repo, self.provider, self.clock)
        self.consumer = PaymentEventsConsumer(self.processor, self.repo)

    def finalized(self, invoice: Invoice) -> list[EventKey]:
        """What payment_collector does with the invoice's `invoice.finalized`."""
        return self.collector.invoice_finalized(invoice.tenant_id, invoice_fields(invoice, None))

    def deliver(self, keys: list[EventKey]) -> list[str]:
        """The stream delivering each stored event to payment_events (a record per event)."""
        return [self.consumer.handle(stream_record(*key)) for key in keys]


def stream_record(provider: str, event_id: str) -> DynamoDBRecord:
    item = ProviderEventRecord.get(*event_key(provider, event_id), consistent_read=True)
    image = {"pk": {"S": item.pk}, "sk": {"S": item.sk}, "event": {"S": item.event}}
    return DynamoDBRecord({"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "1"}})


def event_status(provider: str, event_id: str) -> str:
    return str(ProviderEventRecord.get(*event_key(provider, event_id), consistent_read=True).status)
