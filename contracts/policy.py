"""The timing rules every workflow runs by, fixed in its input."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """Timing rules copied into each workflow's input so a run never reads the environment."""

    slot_minutes: int = 10
    join_opens_minutes: int = 5
    no_show_grace_seconds: int = 120
    # How long a shard must go without a new request before partners are swapped for someone
    # left alone: while requests keep coming, they are left to pair naturally.
    rearrange_after_quiet_seconds: int = 30
    # The no-show deadline is enforced this much after it passes: room for the API's clock to
    # differ from Temporal's and for a join received just before the deadline to commit.
    receipt_skew_seconds: float = 2.0
    # Inside this many minutes of a pair's slot, levels two steps apart may pair (0: never).
    widen_levels_minutes: int = 30
    # A let-down partner's rematch after a no-show covers the slots this far after the next one.
    rebook_window_minutes: int = 30
    # Users with 2+ no-shows among their last 5 sessions are paired after everyone else.
    rank_by_reliability: bool = True
    # A `session.reminder` this long before a session starts, and another when joining opens.
    remind_before_minutes: int = 60
