"""The original product's demo data (SPEC §9), seeded by the local cloud unless MP_SEED_DEMO=false."""
