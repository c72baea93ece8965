"""Kafka topic names (versioned). The topology declares them from here; producers use them."""

DOMAIN = "meterplex.domain.v1"  # domain events of every write (audit trail, future webhooks)
USAGE = "meterplex.usage.v1"  # accepted usage events, from the usage table's stream (docs/events.md)
