"""Payments (SPEC §8.2, ADR 0060): the provider port and its adapters (fake, Stripe), stored
provider events and their consumer, payment attempts, per-invoice collection and dunning, refunds."""
