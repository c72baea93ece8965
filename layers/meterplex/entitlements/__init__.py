"""The entitlement hot path: check and consume against a tenant's subscription snapshot (SPEC §5).

Keep this package's imports small: the entitlements_api function imports it on every cold start.
"""
