"""Parley's benchmark: drives a whole local stack through its HTTP API (`python -m bench`)."""
