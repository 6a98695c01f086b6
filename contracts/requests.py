"""What crosses a match request's workflow: its input, result, state, updates and signals, the
request as it travels (`RequestSpec`) and as a pool holds it (`PoolEntry`)."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import datetime

from contracts.policy import Policy
from domain.requests import MatchRequest


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
    # The window's last slot start; None or `slot_start` for a single slot.
    availability_end: datetime | None = None

    @property
    def last_start(self) -> datetime:
        """The last slot start the request may be paired at: it expires when that passes."""
        return self.availability_end or self.slot_start

    @classmethod
    def of(cls, request: MatchRequest, idempotency_key: str | None = None) -> "RequestSpec":
        """The spec of a request the API accepted."""
        return cls(
            request_id=request.request_id,
            user_id=request.user_id,
            native_language_id=request.native_language_id,
            learning_language_id=request.learning_language_id,
            proficiency_level=request.proficiency_level,
            slot_start=request.availability_start,
            duration_minutes=request.preferred_duration_minutes,
            priority=request.priority,
            idempotency_key=idempotency_key,
            availability_end=request.availability_end,
        )


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
    # The new window's last slot start; None for a single slot.
    new_availability_end: datetime | None = None


@dataclass
class MatchedSignal:
    """Signal to each request of a new session (sent by the activity that starts the session):
    you are in this session."""

    session_id: str


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
    # The window: the slot starts the request may be paired at. A signal from a 0.2.0 worker
    # carries none of these; the matchmaker then reloads its pool from Postgres instead.
    availability_start: datetime | None = None
    availability_end: datetime | None = None
    duration_minutes: int | None = None
    # Read when the request joins a pool: its owner has 2+ no-shows among their last 5 sessions,
    # and the users its owner blocks or is blocked by.
    unreliable: bool = False
    blocked_user_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: RequestSpec, waiting_since: datetime) -> "PoolEntry":
        """The pool entry of a request."""
        return cls(
            request_id=spec.request_id,
            user_id=spec.user_id,
            native_language_id=spec.native_language_id,
            learning_language_id=spec.learning_language_id,
            proficiency_level=spec.proficiency_level,
            priority=spec.priority,
            waiting_since=waiting_since,
            availability_start=spec.slot_start,
            availability_end=spec.last_start,
            duration_minutes=spec.duration_minutes,
        )

    @property
    def placed(self) -> bool:
        """Whether the entry says which slots and duration it wants (0.2.0's signals do not)."""
        return (
            self.availability_start is not None
            and self.availability_end is not None
            and self.duration_minutes is not None
        )

    @property
    def last_start(self) -> datetime:
        """The window's last slot start."""
        assert self.availability_end is not None, "an unplaced entry never joins a pool"
        return self.availability_end

    def request(self) -> MatchRequest:
        """The request this entry stands for, as the rules see it."""
        assert self.availability_start is not None and self.availability_end is not None
        assert self.duration_minutes is not None
        return MatchRequest(
            request_id=self.request_id,
            user_id=self.user_id,
            native_language_id=self.native_language_id,
            learning_language_id=self.learning_language_id,
            proficiency_level=self.proficiency_level,
            availability_start=self.availability_start,
            availability_end=self.availability_end,
            preferred_duration_minutes=self.duration_minutes,
            created_at=self.waiting_since,
            priority=self.priority,
        )

    def spec(self) -> RequestSpec:
        """The request this entry stands for."""
        assert self.availability_start is not None and self.duration_minutes is not None
        return RequestSpec(
            request_id=self.request_id,
            user_id=self.user_id,
            native_language_id=self.native_language_id,
            learning_language_id=self.learning_language_id,
            proficiency_level=self.proficiency_level,
            slot_start=self.availability_start,
            duration_minutes=self.duration_minutes,
            priority=self.priority,
            availability_end=self.availability_end,
        )


