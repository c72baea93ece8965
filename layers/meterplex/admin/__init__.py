"""Platform administration (SPEC §8.4): dead-letter control and the operator overview."""
