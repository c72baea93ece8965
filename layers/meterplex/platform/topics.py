"""Kafka topic names (versioned). The topology declares them from here; producers use them."""

DOMAIN = "meterplex.domain.v1"  # domain events of every write (audit trail, future webhooks)
USAGE = "meterplex.usage.v1"  # accepted usage events, from the usage table's stream (docs/events.md)
BILLING = "meterplex.billing.v1"  # the invoice lifecycle, from the outbox; ledger_writer consumes it
INVOICING = "meterplex.invoicing.v1"  # invoice.due work items: billing_scheduler → invoice_worker
