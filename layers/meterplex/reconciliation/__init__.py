"""Reconciliation (SPEC §8.4, ADR 0095): accepted usage vs counters vs invoice lines vs ledger."""
