"""The chaos scenario's simulated users. Each one, through the HTTP API only, books a slot, may
cancel or reschedule a waiting request, and in a session joins early, late, just before the
no-show deadline or never, or cancels before or after the start, then ends the session once it
is active. Every choice is drawn with the run's dice; every call is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.chaos.calls import RecordingApi
from bench.chaos.timeline import LEAD, Action, Timeline
from bench.timetable import Timetable

DURATION_MINUTES = 15
JOIN_EARLY = "join_early"
JOIN_AFTER_START = "join_after_start"
JOIN_NEAR_DEADLINE = "join_near_deadline"
NO_SHOW = "no_show"
CANCEL_BEFORE_START = "cancel_before_start"
CANCEL_AFTER_START = "cancel_after_start"
# Drawn without replacement, a bag at a time, per slot: every slot sees every behaviour once
# enough sessions are in it, and joins in the last seconds before the deadline are frequent.
PLAN_BAG = (
    (JOIN_EARLY,) * 4
    + (JOIN_NEAR_DEADLINE,) * 2
    + (JOIN_AFTER_START, NO_SHOW, CANCEL_BEFORE_START, CANCEL_AFTER_START)
)
LEVELS = ("elementary", "intermediate", "intermediate", "upper_intermediate")
POLL_SECONDS = (2.0, 3.0)
BOOK_CHANCE = 0.6
CANCEL_REQUEST_CHANCE = 0.10
RESCHEDULE_CHANCE = 0.15


@dataclass
class _User:
    user_id: str
    rng: random.Random
    home_slot: datetime
    planned_sessions: set[str] = field(default_factory=set)
    ending: set[str] = field(default_factory=set)
    seen_requests: set[str] = field(default_factory=set)
    booking: bool = False
    booked_once: bool = False


class Workload:
    """Simulated users acting until told to stop."""

    def __init__(
        self,
        api: RecordingApi,
        users: list[str],
        timeline: Timeline,
        language_pairs: list[tuple[str, str]],
        seed: int,
    ) -> None:
        self.api = api
        self.timeline = timeline
        self.language_pairs = language_pairs
        self.actions: list[Action] = []
        self.plans: Counter[str] = Counter()
        self._bag_rng = random.Random(f"{seed}-bags")
        self._bags: dict[datetime, deque[str]] = {}
        self._users = [
            _User(user, random.Random(f"{seed}-{user}"), timeline.slots[i % len(timeline.slots)])
            for i, user in enumerate(users)
        ]
        self._timetable = Timetable()

    async def run(self, stop: asyncio.Event) -> None:
        """Every user's loop, until `stop` is set; then their pending actions are dropped."""
        try:
            await asyncio.gather(*(self._live(user, stop) for user in self._users))
        finally:
            await self._timetable.drop()

    async def _live(self, user: _User, stop: asyncio.Event) -> None:
        await _sleep_or_stop(stop, user.rng.uniform(0, 1.5))
        while not stop.is_set():
            await self._look_around(user)
            await _sleep_or_stop(stop, user.rng.uniform(*POLL_SECONDS))

    async def _look_around(self, user: _User) -> None:
        """Read one's sessions and requests, and decide what to do about new ones."""
        sessions = await self.api.get(user.user_id, "/v1/sessions?limit=50")
        requests = await self.api.get(user.user_id, "/v1/match-requests?limit=50")
        if sessions is None or requests is None:
            return
        now = datetime.now(UTC)
        for session in sessions:
            if session["status"] == "scheduled" and session["id"] not in user.planned_sessions:
                user.planned_sessions.add(session["id"])
                self._plan_session(user, session, now)
            if session["status"] == "active" and session["id"] not in user.ending:
                user.ending.add(session["id"])
                self._plan_end(user, session["id"], now)
        for request in requests:
            if request["status"] == "waiting" and request["id"] not in user.seen_requests:
                user.seen_requests.add(request["id"])
                self._plan_request(user, request, now)
        if not user.booking and not _holds_time(sessions, requests):
            self._maybe_book(user, now)

    def _plan_session(self, user: _User, session: dict[str, Any], now: datetime) -> None:
        start = _when(session["scheduled_start"])
        deadline = self.timeline.deadline(start)
        grace = self.timeline.grace.total_seconds()
        plan = self._draw(start) if self.timeline.in_workload(start) else JOIN_EARLY
        self.plans[plan] += 1
        rng = user.rng
        at = {
            JOIN_EARLY: lambda: _between(rng, now, start - timedelta(seconds=1)),
            JOIN_AFTER_START: lambda: start + timedelta(seconds=rng.uniform(0.5, grace - 4)),
            JOIN_NEAR_DEADLINE: lambda: deadline - timedelta(seconds=rng.uniform(1.5, 4)),
            CANCEL_BEFORE_START: lambda: _between(rng, now, start - timedelta(seconds=1)),
            CANCEL_AFTER_START: lambda: start + timedelta(seconds=rng.uniform(0.5, grace - 1.5)),
        }
        if plan == NO_SHOW:
            return
        when = at[plan]()
        kind = "cancel_session" if plan.startswith("cancel") else "join"
        path = f"/v1/sessions/{session['id']}/{'cancel' if kind == 'cancel_session' else 'join'}"
        self._timetable.at(when, lambda: self._change(user, kind, session["id"], path, None, plan))

    def _draw(self, slot: datetime) -> str:
        bag = self._bags.setdefault(slot, deque())
        if not bag:
            fresh = list(PLAN_BAG)
            self._bag_rng.shuffle(fresh)
            bag.extend(fresh)
        return bag.popleft()

    def _plan_request(self, user: _User, request: dict[str, Any], now: datetime) -> None:
        slot = _when(request["availability_start"])
        if not self.timeline.in_workload(slot) or slot - now < LEAD:
            return
        rng = user.rng
        roll = rng.random()
        when = _between(rng, now, slot - timedelta(seconds=3))
        path = f"/v1/match-requests/{request['id']}"
        if roll < CANCEL_REQUEST_CHANCE:
            cancel = path + "/cancel"
            self._timetable.at(
                when, lambda: self._change(user, "cancel_request", request["id"], cancel)
            )
        elif roll < CANCEL_REQUEST_CHANCE + RESCHEDULE_CHANCE:
            targets = [
                s
                for s in (*self.timeline.slots, self.timeline.spare_slot)
                if s != slot and s - when >= LEAD
            ]
            if targets:
                body = {"availability_start": rng.choice(targets).isoformat()}
                move = path + "/reschedule"
                self._timetable.at(
                    when, lambda: self._change(user, "reschedule", request["id"], move, body)
                )

    def _maybe_book(self, user: _User, now: datetime) -> None:
        rng = user.rng
        if now >= self.timeline.bookings_close or rng.random() > BOOK_CHANCE:
            return
        open_slots = [slot for slot in self.timeline.slots if slot - now >= LEAD]
        if not open_slots:
            return
        if not user.booked_once and user.home_slot in open_slots:
            slot = user.home_slot
        else:
            slot = open_slots[0] if rng.random() < 0.5 else rng.choice(open_slots)
        user.booked_once = True
        native, learning = rng.choice(self.language_pairs)
        if rng.random() < 0.5:
            native, learning = learning, native
        body = {
            "native_language_id": native,
            "learning_language_id": learning,
            "proficiency_level": rng.choice(LEVELS),
            "availability_start": slot.isoformat(),
            "preferred_duration_minutes": DURATION_MINUTES,
        }
        user.booking = True
        self._timetable.at(now, lambda: self._book(user, body))

    async def _book(self, user: _User, body: dict[str, Any]) -> None:
        try:
            await self._change(user, "book", None, "/v1/match-requests", body)
        finally:
            user.booking = False

    def _plan_end(self, user: _User, session_id: str, now: datetime) -> None:
        when = now + timedelta(seconds=user.rng.uniform(1, 6))
        path = f"/v1/sessions/{session_id}/end"
        self._timetable.at(when, lambda: self._change(user, "end", session_id, path))

    async def _change(
        self,
        user: _User,
        kind: str,
        target: str | None,
        path: str,
        body: Any = None,
        plan: str | None = None,
    ) -> None:
        outcome = await self.api.change(user.user_id, path, body)
        if kind == "book" and outcome.ok and isinstance(outcome.body, dict):
            target = outcome.body.get("id")
        self.actions.append(Action(kind, user.user_id, target, outcome, plan))


def _holds_time(sessions: list[dict[str, Any]], requests: list[dict[str, Any]]) -> bool:
    """True while the user holds a booking: a waiting request or a session not cancelled (a
    completed one still fills its slot's time, so a new booking would overlap it)."""
    return any(r["status"] == "waiting" for r in requests) or any(
        s["status"] != "cancelled" for s in sessions
    )


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _between(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """A random instant in [earliest, latest], or `earliest` when that is already later."""
    span = (latest - earliest).total_seconds()
    return earliest + timedelta(seconds=rng.uniform(0, span)) if span > 0 else earliest


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
