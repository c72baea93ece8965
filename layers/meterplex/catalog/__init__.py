"""The catalog: plans, prices, features and the entitlements that map features to plans (SPEC §3)."""
