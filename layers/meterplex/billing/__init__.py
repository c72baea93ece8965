"""Billing: invoices, proration, late usage, the ledger and balances, scheduled billing (SPEC §7)."""
