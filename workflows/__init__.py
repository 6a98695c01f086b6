"""Temporal workflows: match requests, per-slot matchmakers and sessions."""
