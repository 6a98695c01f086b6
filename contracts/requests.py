"""What crosses a match request's workflow: its input, result, state, updates and signals, the
request as it travels (`RequestSpec`) and as a pool holds it (`PoolEntry`)."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from contracts.policy import Policy
from domain.requests import MatchRequest

T = TypeVar("T")


@dataclass(frozen=True)
class RequestSpec:
    """What one match request asks for; the row a MatchRequestWorkflow persists."""

    request_id: str
    user_id: str
    native_language_id: str
    learning_language_id: str
    proficiency_level: str
    availability_start: datetime
    preferred_duration_minutes: int
    priority: int = 0
    idempotency_key: str | None = None
    replaces_request_id: str | None = None
    origin_session_id: str | None = None
    # The window's last slot start; None or `availability_start` for a single slot.
    availability_end: datetime | None = None

    @property
    def last_start(self) -> datetime:
        """The last slot start the request may be paired at: it expires when that passes."""
        return self.availability_end or self.availability_start

    @classmethod
    def of(cls, request: MatchRequest, idempotency_key: str | None = None) -> "RequestSpec":
        """The spec of a request the API accepted."""
        return carried(request, cls, idempotency_key=idempotency_key)


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
    availability_start: datetime
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
    new_availability_start: datetime
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
    created_at: datetime
    # The window: the slot starts the request may be paired at. A signal from a 0.2.0 worker
    # carries none of these; the matchmaker then reloads its pool from Postgres instead.
    availability_start: datetime | None = None
    availability_end: datetime | None = None
    preferred_duration_minutes: int | None = None
    # Read when the request joins a pool: its owner has 2+ no-shows among their last 5 sessions,
    # and the users its owner blocks or is blocked by.
    unreliable: bool = False
    blocked_user_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: RequestSpec, created_at: datetime) -> "PoolEntry":
        """The pool entry of a request."""
        return carried(spec, cls, created_at=created_at, availability_end=spec.last_start)

    @property
    def placed(self) -> bool:
        """Whether the entry says which slots and duration it wants (0.2.0's signals do not)."""
        return (
            self.availability_start is not None
            and self.availability_end is not None
            and self.preferred_duration_minutes is not None
        )

    @property
    def last_start(self) -> datetime:
        """The window's last slot start."""
        assert self.availability_end is not None, "an unplaced entry never joins a pool"
        return self.availability_end

    def request(self) -> MatchRequest:
        """The request this entry stands for, as the rules see it."""
        assert self.placed, "an unplaced entry never joins a pool"
        return carried(self, MatchRequest)

    def spec(self) -> RequestSpec:
        """The request this entry stands for."""
        assert self.placed, "an unplaced entry never joins a pool"
        return carried(self, RequestSpec)


def carried(source: object, into: type[T], **given: Any) -> T:
    """An `into` made of `given` and of every other field of it that `source` has, by name: the
    layers name each field as its column is, so a conversion copies no list of fields."""
    shared = {
        each.name: getattr(source, each.name)
        for each in fields(into)  # type: ignore[arg-type]
        if each.init and each.name not in given and hasattr(source, each.name)
    }
    return into(**shared, **given)
