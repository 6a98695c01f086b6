"""Settling scheduled sessions in Postgres: recorded cancels, and no-shows at the deadline.

Every session of a slot shares one no-show deadline, so each matchmaker settles its whole shard
in one transaction when the deadline comes (one timer and one transaction per shard, not one
workflow task per session); each session's own timer follows and settles that session alone if
the sweep has not, and a session settles itself at once when a participant cancels. All three
apply the same rules (`domain.session_rules.settlement`) to what the rows say, receipts
included, so they agree in whichever order they run. The let-down partner's `priority=1`
request is inserted in the transaction that cancels the session (the seed's one step), and its
workflow is started right after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.base import StartingActivities
from activities.rematches import book_rematches
from activities.request_rows import request_spec
from activities.session_rows import at_shard_slot, session_facts
from contracts.matchmaker import SettleShardInput, SettleShardResult
from contracts.policy import Policy
from contracts.requests import MatchRequestInput
from contracts.sessions import SessionRowResult, SettleSessionInput
from contracts.statuses import CancelReason, RequestStatus, SessionStatus
from db.models import MatchRequestRow, SessionRow
from domain import session_rules
from domain.session_rules import Cancellation, CancelReceipt, Participant, SessionClock
from observability.business import BusinessMetrics


def _participants(row: SessionRow) -> tuple[Participant, Participant]:
    return (
        Participant(row.participant_one_id, str(row.match_request_one_id)),
        Participant(row.participant_two_id, str(row.match_request_two_id)),
    )


def _outcome(row: SessionRow, at: datetime, policy: Policy) -> Cancellation | None:
    receipt = (
        CancelReceipt(row.cancel_requested_by, row.cancel_requested_at)
        if row.cancel_requested_by is not None and row.cancel_requested_at is not None
        else None
    )
    clock = SessionClock.for_session(
        row.scheduled_start,
        row.duration_minutes,
        policy.join_opens_minutes,
        policy.no_show_grace_seconds,
    )
    return session_rules.settlement(
        _participants(row), row.joined_user_ids(), receipt, clock, at, policy.slot_minutes
    )


@dataclass
class Settled:
    """What a settlement changed, to be counted once its transaction has committed."""

    cancelled_session_ids: list[str] = field(default_factory=list)
    session_outcomes: list[str] = field(default_factory=list)
    request_outcomes: list[str] = field(default_factory=list)
    rematches_booked: int = 0
    # After the no-show deadline: when each no-show was decided, each let-down partner rebooked.
    no_shows_decided: list[timedelta] = field(default_factory=list)
    rebooked: list[timedelta] = field(default_factory=list)

    def report(self, metrics: BusinessMetrics) -> None:
        """Count what changed."""
        for outcome in self.session_outcomes:
            metrics.session_ended(outcome)
        for outcome in self.request_outcomes:
            metrics.outcome(outcome)
        for late in self.no_shows_decided:
            metrics.no_show_decided(late)
        for delay in self.rebooked:
            metrics.rebooked(delay)
        metrics.booked(priority=1, count=self.rematches_booked)


async def _mark(
    db: AsyncSession, request_ids: tuple[str, ...], status: str, reason: str, at: datetime
) -> int:
    """Move the matched requests among `request_ids` to `status`; how many moved."""
    if not request_ids:
        return 0
    moved = await db.execute(
        update(MatchRequestRow)
        .where(
            MatchRequestRow.id.in_([uuid.UUID(i) for i in request_ids]),
            MatchRequestRow.status == RequestStatus.MATCHED,
        )
        .values(status=status, status_reason=reason, updated_at=at)
    )
    return int(moved.rowcount)  # type: ignore[attr-defined]


async def _apply_all(
    db: AsyncSession,
    due: list[tuple[SessionRow, Cancellation]],
    at: datetime,
    policy: Policy,
    settled: Settled,
) -> None:
    """Cancel the sessions, then move their requests (which frees the let-down partners' time),
    then book each rematch: a few statements for the whole slot, not a few per session."""
    if not due:
        return
    sessions = cast(Table, SessionRow.__table__)
    await db.execute(
        update(sessions)
        .where(sessions.c.id == bindparam("session_id"))
        .values(
            status=SessionStatus.CANCELLED,
            cancel_reason=bindparam("reason"),
            cancelled_by=bindparam("by"),
            updated_at=at,
        ),
        [{"session_id": row.id, "reason": o.reason, "by": o.cancelled_by} for row, o in due],
    )
    for status, pick in (
        (RequestStatus.CANCELLED, lambda o: o.cancelled_request_ids),
        (RequestStatus.NO_SHOW, lambda o: o.no_show_request_ids),
    ):
        for reason in sorted({o.reason for _, o in due}):
            ids = tuple(i for _, o in due if o.reason == reason for i in pick(o))
            settled.request_outcomes += [status] * await _mark(db, ids, status, reason, at)
    wanted = [(row, who, o) for row, o in due for who in o.rematch]
    refusals = await book_rematches(
        db, [(row, who, _slot(o)) for row, who, o in wanted], at, policy
    )
    for row, outcome in due:
        _count(row, outcome, at, policy, settled)
    for (row, _, outcome), refusal in zip(wanted, refusals, strict=True):
        if refusal:
            await db.execute(
                update(SessionRow).where(SessionRow.id == row.id).values(rematch_refusal=refusal)
            )
        elif refusal is None:
            settled.rematches_booked += 1
            if outcome.reason == CancelReason.NO_SHOW:
                settled.rebooked.append(_after_deadline(row, at, policy))


def _slot(outcome: Cancellation) -> datetime:
    assert outcome.rematch_slot is not None, "a rematch always has its slot"
    return outcome.rematch_slot


def _after_deadline(row: SessionRow, at: datetime, policy: Policy) -> timedelta:
    return at - (row.scheduled_start + timedelta(seconds=policy.no_show_grace_seconds))


def _count(
    row: SessionRow, outcome: Cancellation, at: datetime, policy: Policy, settled: Settled
) -> None:
    """Count the cancelled session, and a deadline's no-show decision."""
    settled.cancelled_session_ids.append(str(row.id))
    settled.session_outcomes.append(outcome.reason)
    after_deadline = _after_deadline(row, at, policy)
    if outcome.reason == CancelReason.NO_SHOW and after_deadline >= timedelta(0):
        # A deadline's decision (a late cancel's, settled early, is not one).
        settled.no_shows_decided.append(after_deadline)


async def settle_due(
    db: AsyncSession, which: ColumnElement[bool], at: datetime, policy: Policy
) -> Settled:
    """Settle the selected scheduled sessions that are due at `at`, in this transaction; what
    changed. Row locks order this against a receipt (a join, a cancel) landing at the same
    moment."""
    rows = (
        await db.scalars(
            select(SessionRow)
            .where(
                which,
                SessionRow.status == SessionStatus.SCHEDULED,
                or_(
                    SessionRow.cancel_requested_by.is_not(None),
                    SessionRow.participant_one_joined_at.is_(None),
                    SessionRow.participant_two_joined_at.is_(None),
                ),
            )
            .order_by(SessionRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    settled = Settled()
    outcomes = [(row, _outcome(row, at, policy)) for row in rows]
    due = [(row, outcome) for row, outcome in outcomes if outcome is not None]
    await _apply_all(db, due, at, policy, settled)
    # The sessions were updated past the ORM (one statement for all): let a later read reload.
    for row, _ in due:
        db.expire(row)
    return settled


class SettlementActivities(StartingActivities):
    """Session settlement; settling twice changes nothing the second time."""

    @activity.defn
    async def settle_shard(self, input: SettleShardInput) -> SettleShardResult:
        """Every due session of the shard settled in one transaction; rematches started."""
        shard = at_shard_slot(input.scheduled_start, input.duration_minutes, input.languages)
        async with self._sessionmaker.begin() as db:
            settled = await settle_due(db, shard, input.at, input.policy)
        settled.report(self._metrics)
        # A retry after a commit finds nothing left to settle, so the rematches to start are
        # read back: every waiting rematch whose session belongs to this shard.
        async with self._sessionmaker() as db:
            rematches = (
                await db.scalars(
                    select(MatchRequestRow)
                    .join(SessionRow, SessionRow.id == MatchRequestRow.origin_session_id)
                    .where(shard, MatchRequestRow.status == RequestStatus.WAITING)
                    .order_by(MatchRequestRow.id)
                )
            ).all()
        await self._start(rematches, input.policy)
        return SettleShardResult(settled.cancelled_session_ids, [str(row.id) for row in rematches])

    @activity.defn
    async def settle_session(self, input: SettleSessionInput) -> SessionRowResult:
        """This session settled if it is due (unless the sweep did it); its facts."""
        session_id = uuid.UUID(input.session_id)
        async with self._sessionmaker.begin() as db:
            settled = await settle_due(db, SessionRow.id == session_id, input.at, input.policy)
            facts = await session_facts(db, input.session_id)
        settled.report(self._metrics)
        async with self._sessionmaker() as db:
            rematches = (
                await db.scalars(
                    select(MatchRequestRow).where(
                        MatchRequestRow.origin_session_id == session_id,
                        MatchRequestRow.status == RequestStatus.WAITING,
                    )
                )
            ).all()
        await self._start(rematches, input.policy)
        return facts

    async def _start(self, rematches: Sequence[MatchRequestRow], policy: Policy) -> None:
        for row in rematches:
            await self._starts.start_request(
                MatchRequestInput(spec=request_spec(row), policy=policy),
                f"Priority rematch for {row.user_id} after session {row.origin_session_id}",
            )
