"""The audit trail: every write's domain event, kept per tenant (fed by Kafka via audit_writer)."""
