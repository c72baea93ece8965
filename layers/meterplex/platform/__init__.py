"""Cross-cutting pieces: settings, errors, observability, clock, ids, the API resolver factory."""
