"""Temporal activities: every write Parley makes to PostgreSQL, each idempotent by business key."""
