"""Parley's rules and matching algorithm: pure functions over frozen dataclasses, stdlib only."""
