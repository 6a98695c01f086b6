"""Pydantic shapes of the HTTP API (kept apart from rows and domain types)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.booking import BookingPolicy
from domain.levels import Level
from domain.requests import MatchRequest


def as_utc(value: datetime) -> datetime:
    """ISO 8601 without an offset is read as UTC; every time leaves the API in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


def offset_as_utc(value: datetime) -> datetime:
    """A time with an offset in UTC; one without stays a wall-clock time, which the route reads
    in the caller's time zone (`api/local_times.py`)."""
    return value if value.tzinfo is None else as_utc(value)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
# A booking's times: "2027-03-28T15:00" means 15:00 where you are (your `PUT /v1/me` time zone).
WallOrUtcDatetime = Annotated[datetime, AfterValidator(offset_as_utc)]
LOCAL = "; without an offset, a wall-clock time in your time zone (`PUT /v1/me`, UTC by default)"
_BOOKING = BookingPolicy()


class MatchRequestBase(BaseModel):
    """What a request asks for, as the client sends it and reads it back (the seed's column
    names). `MatchRequestCreate` narrows each field to what a booking must meet;
    `MatchRequestPublic` reads them, with what Parley adds, from the row."""

    native_language_id: str
    learning_language_id: str
    proficiency_level: str
    availability_start: UtcDatetime
    availability_end: UtcDatetime
    preferred_duration_minutes: int


class MatchRequestCreate(MatchRequestBase):
    """Body of `POST /v1/match-requests`."""

    # Its example is written when the OpenAPI document is served (api/openapi.py), so that the
    # slot it books is always ahead of the clock that reads it.
    model_config = ConfigDict(extra="forbid")

    native_language_id: str = Field(
        min_length=1, max_length=64, description="An id from `GET /v1/languages`"
    )
    learning_language_id: str = Field(
        min_length=1,
        max_length=64,
        description="An id from `GET /v1/languages`, other than `native_language_id`",
    )
    # The domain's rules decide (422 naming the field); the schema only shows them to clients.
    proficiency_level: str = Field(
        min_length=1, max_length=64, json_schema_extra={"enum": [level.value for level in Level]}
    )
    availability_start: WallOrUtcDatetime = Field(
        description="A slot start on the grid (every `PARLEY_SLOT_MINUTES`, 10 by default), "
        "in the future and within the booking horizon" + LOCAL
    )
    availability_end: WallOrUtcDatetime | None = Field(  # type: ignore[assignment]
        default=None,
        description="The window's last slot start: pair me once at any slot start from "
        "`availability_start` to this, on the grid, at most `PARLEY_MAX_WINDOW_HOURS` (6) later. "
        "Omitted or equal to `availability_start`: that one slot" + LOCAL,
    )
    preferred_duration_minutes: int = Field(
        default=60,
        json_schema_extra={
            "minimum": _BOOKING.min_duration_minutes,
            "maximum": _BOOKING.max_duration_minutes,
        },
    )

    def request(self, request_id: str, user_id: str, created_at: datetime) -> MatchRequest:
        """The request this body asks for, as the booking rules check it."""
        return MatchRequest(
            request_id=request_id,
            user_id=user_id,
            native_language_id=self.native_language_id,
            learning_language_id=self.learning_language_id,
            proficiency_level=self.proficiency_level,
            availability_start=self.availability_start,
            preferred_duration_minutes=self.preferred_duration_minutes,
            created_at=created_at,
            availability_end=self.availability_end,
        )


class MatchRequestReschedule(BaseModel):
    """Body of `POST /v1/match-requests/{id}/reschedule`."""

    model_config = ConfigDict(extra="forbid")

    availability_start: WallOrUtcDatetime = Field(
        description="The new slot start: on the grid, in the future, within the booking horizon"
        + LOCAL
    )
    availability_end: WallOrUtcDatetime | None = Field(
        default=None,
        description="The new window's last slot start, as when booking; omitted: one slot"
        + LOCAL,
    )


class MatchRequestPublic(MatchRequestBase):
    """A match request with every seed column and what Parley adds."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: str
    priority: int
    status: str
    matched_at: UtcDatetime | None
    session_id: uuid.UUID | None
    replaces_request_id: uuid.UUID | None
    origin_session_id: uuid.UUID | None
    status_reason: str | None
    cancel_requested_at: UtcDatetime | None = Field(
        description="When your cancel reached Parley; from then on it cannot be matched"
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SessionPublic(BaseModel):
    """A session with every seed column and what Parley adds."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    participant_one_id: str
    participant_two_id: str
    match_request_one_id: uuid.UUID
    match_request_two_id: uuid.UUID
    language_one_id: str
    language_two_id: str
    scheduled_start: UtcDatetime
    scheduled_end: UtcDatetime
    duration_minutes: int
    status: str
    actual_start: UtcDatetime | None
    actual_end: UtcDatetime | None
    participant_one_joined_at: UtcDatetime | None
    participant_two_joined_at: UtcDatetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    ended_by: str | None
    cancel_requested_by: str | None = Field(description="Who asked to cancel (a receipt)")
    cancel_requested_at: UtcDatetime | None = Field(description="When that reached Parley")
    end_requested_by: str | None = Field(description="Who asked to end it early (a receipt)")
    end_requested_at: UtcDatetime | None = Field(description="When that reached Parley")
    rematch_refusal: str | None = Field(
        description="Why the let-down partner's rematch could not be booked, if it could not"
    )
    meeting_url: str | None = Field(
        description="Where the two of you meet (only the two participants ever see it)"
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime


class LanguagePublic(BaseModel):
    """A language people can speak or learn."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str


class Health(BaseModel):
    """Liveness or readiness, with what was checked."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """Every refusal but a validation error: what went wrong, in words."""

    detail: str = Field(description="Why the call was refused")


class ValidationIssue(BaseModel):
    """One field that failed validation."""

    loc: list[str | int] = Field(
        description='Where: `["body", field, ...]`, `["query", name]`, `["path", name]` or '
        '`["header", name]`; inside a body, array positions are integers'
    )
    msg: str = Field(description="Why, in words")
    type: str = Field(description="A stable code for the kind of failure")


class ValidationErrorOut(BaseModel):
    """422: each field that failed validation, named by its location (FastAPI's own shape)."""

    detail: list[ValidationIssue]


class EventPublic(BaseModel):
    """One change to one of your requests or sessions, with the resource as it then stood."""

    id: int = Field(description="Increases with every event, in commit order; resume after it")
    type: str = Field(
        description="`request.waiting|matched|rescheduled|rebooked|cancelled|expired|no_show`, "
        "`session.scheduled|rearranged|partner_joined|active|completed|cancelled|reminder`"
    )
    occurred_at: UtcDatetime
    payload: MatchRequestPublic | SessionPublic = Field(
        description="The request (`request.*`) or session (`session.*`) as `GET` shows it, as of "
        "the transaction that made the change"
    )
    reminder: Literal["before_start", "join_open"] | None = Field(
        default=None,
        description="`session.reminder` only: `before_start` (`PARLEY_REMIND_BEFORE_MINUTES` "
        "before the start, or at once if booked closer) or `join_open` (joining is open)",
    )


class EventPage(BaseModel):
    """Your events after `after`, oldest first."""

    events: list[EventPublic]
    next_after: int = Field(description="Pass as `after` to read on (the last id, or `after`)")


class EventTicketPublic(BaseModel):
    """A ticket that opens one event stream: `GET /v1/events?ticket=...`."""

    ticket: str = Field(description="Single use; valid for 60 seconds; never a bearer token")
    expires_at: UtcDatetime
