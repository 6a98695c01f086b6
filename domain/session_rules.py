"""What a session allows when, and what its cancellation or no-show does to its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.slots import next_slot_after
from domain.statuses import CancelReason, SessionStatus


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
class CancelReceipt:
    """A participant asked to cancel, and when that reached Parley (stamped by the API)."""

    user_id: str
    at: datetime


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
    if status != SessionStatus.SCHEDULED and status != SessionStatus.ACTIVE:
        return f"the session is {status}"
    if now < clock.join_opens_at:
        return f"joining opens at {clock.join_opens_at.isoformat()}"
    if status == SessionStatus.SCHEDULED and now >= clock.no_show_at:
        return "the no-show window has closed"
    return None


def cancel_refusal(
    clock: SessionClock, now: datetime, status: str, both_joined: bool = False
) -> str | None:
    """Why the session may not be cancelled now, or None when it may."""
    if status == SessionStatus.ACTIVE or (
        status == SessionStatus.SCHEDULED and both_joined and now >= clock.start
    ):
        # Both are there and it is time: it is under way (whether or not a worker has marked
        # it active yet), so it can only be ended.
        return "an active session cannot be cancelled; end it instead"
    if status != SessionStatus.SCHEDULED:
        return f"the session is already {status}"
    if now >= clock.no_show_at:
        # Past the deadline the no-show rules decide, not a late cancel.
        return "the no-show window has closed"
    return None


def end_refusal(status: str) -> str | None:
    """Why the session may not be ended, or None when it may."""
    if status == SessionStatus.SCHEDULED:
        return "the session has not started; cancel it instead"
    if status != SessionStatus.ACTIVE:
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
        reason=CancelReason.NO_SHOW,
        cancelled_by=None,
        cancelled_request_ids=(),
        no_show_request_ids=tuple(p.request_id for p in absent),
        rematch=present,
        rematch_slot=next_slot_after(now, slot_minutes) if present else None,
    )


def rearranged() -> Cancellation:
    """The matchmaker seated both participants in other sessions: nobody is let down."""
    return Cancellation(
        reason=CancelReason.REARRANGED,
        cancelled_by=None,
        cancelled_request_ids=(),
        no_show_request_ids=(),
        rematch=(),
        rematch_slot=None,
    )


def cancellation(
    participants: tuple[Participant, Participant],
    receipt: CancelReceipt,
    joined: frozenset[str],
    clock: SessionClock,
    now: datetime,
    slot_minutes: int,
) -> Cancellation:
    """A participant's cancel, judged by when it reached Parley (`receipt.at`), carried out at
    `now`. Received before the start, the partner is rematched into the same slot (the next one
    if it has started by now); received after it, it is the canceller's no-show: a partner who
    joined is rematched into the next slot, a partner who did not is a no-show too."""
    canceller = next(p for p in participants if p.user_id == receipt.user_id)
    partner = next(p for p in participants if p.user_id != receipt.user_id)
    if receipt.at < clock.start:
        return Cancellation(
            reason=CancelReason.CANCELLED_BY_USER,
            cancelled_by=receipt.user_id,
            cancelled_request_ids=(canceller.request_id,),
            no_show_request_ids=(),
            rematch=(partner,),
            rematch_slot=clock.start if now < clock.start else next_slot_after(now, slot_minutes),
        )
    partner_came = partner.user_id in joined
    return Cancellation(
        reason=CancelReason.NO_SHOW,
        cancelled_by=receipt.user_id,
        cancelled_request_ids=(canceller.request_id,),
        no_show_request_ids=() if partner_came else (partner.request_id,),
        rematch=(partner,) if partner_came else (),
        rematch_slot=next_slot_after(now, slot_minutes) if partner_came else None,
    )


def settlement(
    participants: tuple[Participant, Participant],
    joined: frozenset[str],
    cancel: CancelReceipt | None,
    clock: SessionClock,
    now: datetime,
    slot_minutes: int,
) -> Cancellation | None:
    """What a scheduled session comes to at `now`, whoever settles it (the slot's sweep or the
    session itself, in either order): a recorded cancel, judged at its receipt (one made after
    the start, while the partner has not joined, waits for the deadline); else, from the no-show
    deadline on, a no-show unless both joined; else nothing yet."""
    if cancel is not None:
        partner = next(p for p in participants if p.user_id != cancel.user_id)
        if cancel.at >= clock.start and partner.user_id not in joined and now < clock.no_show_at:
            # A cancel after the start makes the canceller a no-show; whether the partner is one
            # too is for the deadline to say: they may still join in time.
            return None
        return cancellation(participants, cancel, joined, clock, now, slot_minutes)
    if now >= clock.no_show_at and not both_present(participants, joined):
        return no_show(participants, joined, now, slot_minutes)
    return None


def rematch_window_end(
    slot: datetime,
    session_start: datetime,
    original_end: datetime,
    *,
    slot_minutes: int,
    rebook_minutes: int,
) -> datetime:
    """The last slot start of a let-down partner's rematch that starts at `slot`.

    Cancelled before its start, the session's partner keeps the rest of their original window.
    After a no-show (or a late cancel), the rematch covers `rebook_minutes` of slots after the
    next one, not past the last slot of the day their original window ended in.
    """
    if slot <= session_start:
        return max(slot, original_end)
    day = original_end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last_of_day = day + timedelta(days=1) - timedelta(minutes=slot_minutes)
    return max(slot, min(slot + timedelta(minutes=rebook_minutes), last_of_day))
