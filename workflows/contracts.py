"""Data that crosses workflow boundaries: inputs, results, messages and queried state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class RequestSpec:
    """What one match request asks for; the row a MatchRequestWorkflow persists."""

    request_id: str
    user_id: str
    native_language_id: str
    learning_language_id: str
    proficiency_level: str
    slot_start: datetime
    duration_minutes: int
    priority: int = 0
    idempotency_key: str | None = None
    replaces_request_id: str | None = None
    origin_session_id: str | None = None


@dataclass
class MatchRequestInput:
    """Start a match request's life. `answer_by`: when the API stops waiting for the booking;
    a request whose workflow first runs after that books nothing (the caller got a 503)."""

    spec: RequestSpec
    policy: Policy = field(default_factory=Policy)
    answer_by: datetime | None = None


@dataclass
class MatchRequestResult:
    """How a match request's life ended."""

    request_id: str
    status: str
    session_id: str | None = None
    reason: str | None = None


@dataclass
class MatchRequestState:
    """A match request as its workflow sees it (query `state`)."""

    request_id: str
    user_id: str
    slot_start: datetime
    status: str
    session_id: str | None = None
    reason: str | None = None
    replaced_by_request_id: str | None = None


@dataclass
class CreatedInput:
    """Update `created`: answer once the row is durable; `answer_by` as in MatchRequestInput."""

    answer_by: datetime | None = None


@dataclass
class CancelRequestedSignal:
    """Signal: the owner's cancel reached Parley at `at` (the row already records it)."""

    at: datetime


@dataclass
class RescheduleRequestInput:
    """Update `reschedule` on a match request: the new slot and the new request's id. The API
    stops waiting at `answer_by`: delivered later, the update is refused and changes nothing."""

    user_id: str
    new_request_id: str
    new_slot_start: datetime
    answer_by: datetime | None = None
    idempotency_key: str | None = None


@dataclass
class MatchedSignal:
    """Signal from a session to each of its requests: you are in this session."""

    session_id: str


@dataclass
class RearrangedSignal:
    """Signal to a dissolved session: its people were seated in these sessions instead."""

    replacement_session_ids: list[str]


@dataclass(frozen=True)
class PoolEntry:
    """A waiting request as the matchmaker pools it."""

    request_id: str
    user_id: str
    native_language_id: str
    learning_language_id: str
    proficiency_level: str
    priority: int
    waiting_since: datetime

    @classmethod
    def of(cls, spec: RequestSpec, waiting_since: datetime) -> PoolEntry:
        """The pool entry of a request."""
        return cls(
            request_id=spec.request_id,
            user_id=spec.user_id,
            native_language_id=spec.native_language_id,
            learning_language_id=spec.learning_language_id,
            proficiency_level=spec.proficiency_level,
            priority=spec.priority,
            waiting_since=waiting_since,
        )

    def spec(self, slot_start: datetime, duration_minutes: int) -> RequestSpec:
        """The request this entry stands for, in its matchmaker's slot."""
        return RequestSpec(
            request_id=self.request_id,
            user_id=self.user_id,
            native_language_id=self.native_language_id,
            learning_language_id=self.learning_language_id,
            proficiency_level=self.proficiency_level,
            slot_start=slot_start,
            duration_minutes=duration_minutes,
            priority=self.priority,
        )


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
    # Continue-as-new once a run's history passes this many events (or the server suggests it).
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


@dataclass(frozen=True)
class SessionSpec:
    """A session as created by the matchmaker."""

    session_id: str
    participant_one_id: str
    participant_two_id: str
    match_request_one_id: str
    match_request_two_id: str
    language_one_id: str
    language_two_id: str
    scheduled_start: datetime
    duration_minutes: int


@dataclass
class SessionInput:
    """Run one session to its end; the request specs let it rematch a let-down partner."""

    spec: SessionSpec
    request_one: RequestSpec
    request_two: RequestSpec
    policy: Policy = field(default_factory=Policy)


@dataclass
class SessionResult:
    """How a session ended."""

    session_id: str
    status: str
    cancel_reason: str | None = None
    rematch_request_ids: list[str] = field(default_factory=list)


@dataclass
class SessionState:
    """A session as its workflow sees it (query `state`, and the answer to every update)."""

    session_id: str
    status: str
    joined_user_ids: list[str]
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    rematch_request_ids: list[str] = field(default_factory=list)
    rematch_refusals: list[str] = field(default_factory=list)


@dataclass
class SessionReceiptSignal:
    """Signals `joined`, `cancel_requested`, `end_requested`: who asked, and when it reached
    Parley (the API recorded it on the session's row before sending this)."""

    user_id: str
    at: datetime
