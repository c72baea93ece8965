"""Usage ingestion and aggregation (SPEC §6, ADR 0020)."""
