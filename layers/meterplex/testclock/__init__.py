"""The test clock (SPEC §8.1, ADR 0050): show, advance (running the schedules that came due) and reset."""
