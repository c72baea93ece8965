"""The client's resources, one module per API area (`mp.entitlements`, `mp.invoices`, …)."""
