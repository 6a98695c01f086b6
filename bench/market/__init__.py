"""The simulated market of `python -m bench --only market`: seeded learners book, cancel, join and
block through the HTTP API of a real stack, once per configuration (fixed slots, windows,
windows with widening, and with the no-show record too); the outcome is read from Postgres."""
