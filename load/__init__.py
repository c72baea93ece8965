"""The load harness (`make load`, `python -m load`): Locust scenarios against the local cloud, then
the checks that prove nothing was lost or counted twice. See docs/load.md and ADR 0110."""
