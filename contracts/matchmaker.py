"""What crosses a matchmaker's workflow and activities: inputs, results, state."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contracts.policy import Policy
from contracts.requests import PoolEntry
from contracts.sessions import SessionInput
from domain.slots import day_start

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeatedEntry:
    """A session nobody has joined, with its two requests: its partners may still change."""

    session_id: str
    first: PoolEntry
    second: PoolEntry
    # The session's slot: a seated request may only be re-paired at it.
    scheduled_start: datetime


@dataclass
class MatchmakerInput:
    """One matchmaker per UTC day, duration and language pair (a shard); it pairs at the slot
    starts of its day, and each run reloads the shard's waiting pool from Postgres."""

    duration_minutes: int
    # The shard's unordered language pair, smaller id first (`domain.matching.language_pair`).
    language_one_id: str
    language_two_id: str
    # 00:00 UTC of the shard's day (a default only so that a 0.2.0 input, see `slot_start`, reads).
    day: datetime = EPOCH
    policy: Policy = field(default_factory=Policy)
    sessions_created: int = 0
    sessions_rearranged: int = 0
    # Continue-as-new once a run's history passes this many events (or the server suggests it),
    # well before Temporal's limits; the next run reloads the pool from Postgres, so a signal
    # that lands during the hand-over is never lost.
    history_event_budget: int = 2_000
    runs: int = 1
    # Set only by a 0.2.0 run handing over (one shard per slot then): its day's shard goes on.
    slot_start: datetime | None = None

    def __post_init__(self) -> None:
        if self.slot_start is not None:
            self.day, self.slot_start = day_start(self.slot_start), None
        if self.day == EPOCH:
            raise ValueError("a matchmaker needs the day of its shard")

    @property
    def languages(self) -> tuple[str, str]:
        """The shard's language pair."""
        return self.language_one_id, self.language_two_id

    @property
    def day_end(self) -> datetime:
        """00:00 UTC of the next day: the shard pairs at slot starts before it."""
        return self.day + timedelta(days=1)

    @property
    def last_slot(self) -> datetime:
        """The shard's last slot start."""
        return self.day_end - timedelta(minutes=self.policy.slot_minutes)


@dataclass
class MatchmakerResult:
    """What a matchmaker achieved: sessions before its day's last slot started, no-shows at the
    slots' deadlines."""

    sessions_created: int
    left_unmatched: int
    sessions_rearranged: int = 0
    no_shows_cancelled: int = 0


@dataclass
class MatchmakerState:
    """Query `state` on a matchmaker."""

    day: datetime
    duration_minutes: int
    language_one_id: str
    language_two_id: str
    waiting_request_ids: list[str]
    sessions_created: int
    runs: int
    sessions_rearranged: int = 0


@dataclass
class LoadWaitingInput:
    """Which shard to load: a day, a duration and a language pair, as of `now`."""

    day: datetime
    duration_minutes: int
    languages: tuple[str, str]
    now: datetime
    policy: Policy


@dataclass
class LoadWaitingResult:
    """The waiting requests whose windows touch the shard's day, oldest first; the pairs seated
    in its sessions that may still be rearranged; the slots whose no-show sweep is still due."""

    entries: list[PoolEntry]
    seated: list[SeatedEntry] = field(default_factory=list)
    sweeps_due: list[datetime] = field(default_factory=list)


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

    scheduled_start: datetime
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
class AddRequestsSignal:
    """Requests that join a matchmaker's pool together: a booking and the parked requests it
    could pair with (`db.counterparts`). `reload`: more were parked than one signal carries, so
    read the shard's pool from Postgres before pairing."""

    entries: list[PoolEntry]
    reload: bool = False


@dataclass
class EnqueueRequestsInput:
    """Add requests to the matchmaker of a shard (day, duration, language pair) their windows
    touch, starting it if needed."""

    day: datetime
    duration_minutes: int
    policy: Policy
    signal: AddRequestsSignal


@dataclass
class EnqueueRequestResult:
    """The matchmaker that now holds the request."""

    matchmaker_workflow_id: str
