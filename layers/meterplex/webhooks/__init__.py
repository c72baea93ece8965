"""Outbound webhooks (SPEC §8.3, ADR 0080): endpoints, the event catalogue, deliveries and their retries."""
