"""What a session allows when, and what its cancellation or no-show does to its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.slots import next_slot_after

CANCELLED_BY_USER = "cancelled_by_user"
NO_SHOW = "no_show"
# Dissolved before anyone joined so that more people could be seated; both have new sessions.
REARRANGED = "rearranged"


@dataclass(frozen=True)
class SessionClock:
    """The instants that govern one session."""

    start: datetime
    end: datetime
    join_opens_at: datetime
    no_show_at: datetime

    @classmethod
    def for_session(
        cls, start: datetime, duration_minutes: int, join_opens_minutes: int, grace_seconds: int
    ) -> SessionClock:
        """The clock of a session starting at `start`."""
        return cls(
            start=start,
            end=start + timedelta(minutes=duration_minutes),
            join_opens_at=start - timedelta(minutes=join_opens_minutes),
            no_show_at=start + timedelta(seconds=grace_seconds),
        )


@dataclass(frozen=True)
class Participant:
    """One side of a session: the person and the request that brought them."""

    user_id: str
    request_id: str


@dataclass(frozen=True)
class Cancellation:
    """Everything a cancelled session does: request statuses and who is rematched, and when."""

    reason: str
    cancelled_by: str | None
    cancelled_request_ids: tuple[str, ...]
    no_show_request_ids: tuple[str, ...]
    rematch: tuple[Participant, ...]
    rematch_slot: datetime | None


def join_refusal(clock: SessionClock, now: datetime, status: str) -> str | None:
    """Why a participant may not join now, or None when they may."""
    if status != "scheduled" and status != "active":
        return f"the session is {status}"
    if now < clock.join_opens_at:
        return f"joining opens at {clock.join_opens_at.isoformat()}"
    if status == "scheduled" and now >= clock.no_show_at:
        return "the no-show window has closed"
    return None


def cancel_refusal(status: str) -> str | None:
    """Why the session may not be cancelled, or None when it may."""
    if status == "active":
        return "an active session cannot be cancelled; end it instead"
    if status != "scheduled":
        return f"the session is already {status}"
    return None


def end_refusal(status: str) -> str | None:
    """Why the session may not be ended, or None when it may."""
    if status == "scheduled":
        return "the session has not started; cancel it instead"
    if status != "active":
        return f"the session is already {status}"
    return None


def both_present(participants: tuple[Participant, Participant], joined: frozenset[str]) -> bool:
    """True when every participant has joined."""
    return not absentees(participants, joined)


def absentees(
    participants: tuple[Participant, Participant], joined: frozenset[str]
) -> tuple[Participant, ...]:
    """Who has not joined."""
    return tuple(p for p in participants if p.user_id not in joined)


def no_show(
    participants: tuple[Participant, Participant],
    joined: frozenset[str],
    now: datetime,
    slot_minutes: int,
) -> Cancellation:
    """At start + grace: absentees are no-shows; whoever came is rematched in the next slot."""
    absent = absentees(participants, joined)
    present = tuple(p for p in participants if p.user_id in joined)
    return Cancellation(
        reason=NO_SHOW,
        cancelled_by=None,
        cancelled_request_ids=(),
        no_show_request_ids=tuple(p.request_id for p in absent),
        rematch=present,
        rematch_slot=next_slot_after(now, slot_minutes) if present else None,
    )


def swept(
    participants: tuple[Participant, Participant],
    joined: frozenset[str],
    canceller_id: str | None,
    now: datetime,
    slot_minutes: int,
) -> Cancellation:
    """The deadline's sweep closed the session as a no-show just before a participant's cancel
    landed: its verdict stands, but whoever cancelled wanted out, so they are not rematched
    (their request is cancelled if the sweep left it matched)."""
    verdict = no_show(participants, joined, now, slot_minutes)
    if canceller_id is None:
        return verdict
    rematch = tuple(p for p in verdict.rematch if p.user_id != canceller_id)
    canceller = next(p for p in participants if p.user_id == canceller_id)
    return Cancellation(
        reason=NO_SHOW,
        cancelled_by=None,
        cancelled_request_ids=(canceller.request_id,) if canceller_id in joined else (),
        no_show_request_ids=verdict.no_show_request_ids,
        rematch=rematch,
        rematch_slot=verdict.rematch_slot if rematch else None,
    )


def rearranged() -> Cancellation:
    """The matchmaker seated both participants in other sessions: nobody is let down."""
    return Cancellation(
        reason=REARRANGED,
        cancelled_by=None,
        cancelled_request_ids=(),
        no_show_request_ids=(),
        rematch=(),
        rematch_slot=None,
    )


def cancellation(
    participants: tuple[Participant, Participant],
    canceller_id: str,
    joined: frozenset[str],
    clock: SessionClock,
    now: datetime,
    slot_minutes: int,
) -> Cancellation:
    """A participant cancels. Before the start the partner is rematched into the same slot; after
    it, it is the canceller's no-show: a partner who joined is rematched into the next slot, a
    partner who did not is a no-show too."""
    canceller = next(p for p in participants if p.user_id == canceller_id)
    partner = next(p for p in participants if p.user_id != canceller_id)
    if now < clock.start:
        return Cancellation(
            reason=CANCELLED_BY_USER,
            cancelled_by=canceller_id,
            cancelled_request_ids=(canceller.request_id,),
            no_show_request_ids=(),
            rematch=(partner,),
            rematch_slot=clock.start,
        )
    partner_came = partner.user_id in joined
    return Cancellation(
        reason=NO_SHOW,
        cancelled_by=canceller_id,
        cancelled_request_ids=(canceller.request_id,),
        no_show_request_ids=() if partner_came else (partner.request_id,),
        rematch=(partner,) if partner_came else (),
        rematch_slot=next_slot_after(now, slot_minutes) if partner_came else None,
    )
