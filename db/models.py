"""SQLAlchemy rows for Parley's tables (the schema itself lives in the migrations)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base for every Parley row."""


class LanguageRow(Base):
    """A language people can speak or learn; ids are lowercase English names."""

    __tablename__ = "languages"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class MatchRequestRow(Base):
    """One person's wish to talk in one slot."""

    __tablename__ = "match_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    native_language_id: Mapped[str] = mapped_column(ForeignKey("languages.id"))
    learning_language_id: Mapped[str] = mapped_column(ForeignKey("languages.id"))
    proficiency_level: Mapped[str] = mapped_column(Text)
    availability_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    availability_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    preferred_duration_minutes: Mapped[int]
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    status: Mapped[str] = mapped_column(Text, default="waiting")
    matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id", use_alter=True))
    replaces_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("match_requests.id"))
    origin_session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", use_alter=True)
    )
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # When the owner's cancel reached Parley; from then on no session may claim the request.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Empty while parked: waiting, but no matchmaker was woken for it (no possible partner yet).
    matchmaker_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A scheduled conversation between two matched requests."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_one_id: Mapped[str] = mapped_column(Text)
    participant_two_id: Mapped[str] = mapped_column(Text)
    match_request_one_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("match_requests.id"))
    match_request_two_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("match_requests.id"))
    language_one_id: Mapped[str] = mapped_column(ForeignKey("languages.id"))
    language_two_id: Mapped[str] = mapped_column(ForeignKey("languages.id"))
    scheduled_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheduled_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(Text, default="scheduled")
    actual_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actual_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    participant_one_joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    participant_two_joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[str | None] = mapped_column(Text)
    # Receipts: who asked to cancel or end, and when the ask reached Parley.
    cancel_requested_by: Mapped[str | None] = mapped_column(Text)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_requested_by: Mapped[str | None] = mapped_column(Text)
    end_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rematch_refusal: Mapped[str | None] = mapped_column(Text)
    # Where the two meet; None for sessions made before revision 0008.
    meeting_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def joined_user_ids(self) -> frozenset[str]:
        """The participants whose join the row records."""
        stamps = (
            (self.participant_one_id, self.participant_one_joined_at),
            (self.participant_two_id, self.participant_two_joined_at),
        )
        return frozenset(user for user, joined_at in stamps if joined_at is not None)


class RateLimitRow(Base):
    """One user's rate-limit state for one action (GCRA), shared by every API process."""

    __tablename__ = "rate_limits"

    user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    action: Mapped[str] = mapped_column(Text, primary_key=True)
    theoretical_arrival: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AbandonedBookingRow(Base):
    """A request the API stopped waiting for (it answered 503): not to be made for that caller."""

    __tablename__ = "abandoned_bookings"

    request_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    answer_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserBlockRow(Base):
    """One user's block on another; lifted by stamping `removed_at`, never deleted."""

    __tablename__ = "user_blocks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    blocked_user_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """One state change for one user, written by the triggers of migration 0007; never deleted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventTicketRow(Base):
    """A single-use ticket that opens one event stream; kept hashed, marked used, never deleted."""

    __tablename__ = "event_tickets"

    ticket_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserSettingsRow(Base):
    """A user's settings, once they changed one: their IANA time zone."""

    __tablename__ = "user_settings"

    user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    time_zone: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarFeedRow(Base):
    """A user's calendar feed: its secret, kept hashed; revoked by a stamp, never deleted."""

    __tablename__ = "calendar_feeds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionReminderRow(Base):
    """A reminder sent for a session (one per kind); its insert emits `session.reminder`."""

    __tablename__ = "session_reminders"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDeliveryRow(Base):
    """One event delivered to one configured webhook endpoint (a 2xx answer); never deleted."""

    __tablename__ = "webhook_deliveries"

    endpoint: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    attempt: Mapped[int]
    status_code: Mapped[int]
    delivered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDeadLetterRow(Base):
    """One event a webhook endpoint was given up on after its bounded tries; never deleted."""

    __tablename__ = "webhook_dead_letters"

    endpoint: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    attempts: Mapped[int]
    last_error: Mapped[str] = mapped_column(Text)
    dead_lettered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
