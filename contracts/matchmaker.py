"""What crosses a matchmaker's workflow and activities: inputs, results, state."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import datetime

from contracts.policy import Policy
from contracts.requests import PoolEntry
from contracts.sessions import SessionInput


@dataclass(frozen=True)
class SeatedEntry:
    """A session nobody has joined, with its two requests: its partners may still change."""

    session_id: str
    first: PoolEntry
    second: PoolEntry


@dataclass
class MatchmakerInput:
    """One matchmaker per slot, duration and language pair (a shard); each run reloads the
    shard's waiting pool from Postgres."""

    slot_start: datetime
    duration_minutes: int
    # The shard's unordered language pair, smaller id first (`domain.matching.language_pair`).
    language_one_id: str
    language_two_id: str
    policy: Policy = field(default_factory=Policy)
    sessions_created: int = 0
    sessions_rearranged: int = 0
    # Continue-as-new once a run's history passes this many events (or the server suggests it),
    # well before Temporal's limits; the next run reloads the pool from Postgres, so a signal
    # that lands during the hand-over is never lost.
    history_event_budget: int = 2_000
    runs: int = 1

    @property
    def languages(self) -> tuple[str, str]:
        """The shard's language pair."""
        return self.language_one_id, self.language_two_id


@dataclass
class MatchmakerResult:
    """What a matchmaker achieved: sessions before its slot started, no-shows at the deadline."""

    sessions_created: int
    left_unmatched: int
    sessions_rearranged: int = 0
    no_shows_cancelled: int = 0


@dataclass
class MatchmakerState:
    """Query `state` on a matchmaker."""

    slot_start: datetime
    duration_minutes: int
    language_one_id: str
    language_two_id: str
    waiting_request_ids: list[str]
    sessions_created: int
    runs: int
    sessions_rearranged: int = 0


@dataclass
class LoadWaitingInput:
    """Which shard to load: a slot, a duration and a language pair; and whether its sessions
    that may still be rearranged are wanted too."""

    slot_start: datetime
    duration_minutes: int
    languages: tuple[str, str]
    with_seated: bool = False


@dataclass
class LoadWaitingResult:
    """The waiting requests of a shard, oldest first, and the pairs seated in its sessions
    that nobody has joined yet."""

    entries: list[PoolEntry]
    seated: list[SeatedEntry] = field(default_factory=list)


@dataclass
class StillWaitingInput:
    """Requests whose status the matchmaker is unsure of."""

    request_ids: list[str]


@dataclass
class StillWaitingResult:
    """Those of the asked requests that are still waiting."""

    request_ids: list[str]


@dataclass
class DissolvedSession:
    """A session a rearrangement dissolved, and the new sessions its two people sit in."""

    session_id: str
    replacement_session_ids: list[str]


@dataclass
class PersistPairsInput:
    """One session per pair, its id chosen by the workflow so that a retry is idempotent; with
    `dissolved`, a rearrangement: those sessions make way, all or nothing."""

    sessions: list[SessionInput]
    created_at: datetime
    dissolved: list[DissolvedSession] = field(default_factory=list)


@dataclass
class SettleShardInput:
    """A matchmaker's shard (slot, duration, language pair) at its no-show deadline."""

    slot_start: datetime
    duration_minutes: int
    languages: tuple[str, str]
    at: datetime
    policy: Policy


@dataclass
class SettleShardResult:
    """The sessions this sweep cancelled, and the rematches it booked for let-down partners."""

    cancelled_session_ids: list[str] = field(default_factory=list)
    rematch_request_ids: list[str] = field(default_factory=list)


@dataclass
class EnqueueRequestInput:
    """Add one request to the matchmaker of its shard (slot, duration, language pair), starting it
    if needed."""

    slot_start: datetime
    duration_minutes: int
    policy: Policy
    entry: PoolEntry


@dataclass
class EnqueueRequestResult:
    """The matchmaker that now holds the request."""

    matchmaker_workflow_id: str
