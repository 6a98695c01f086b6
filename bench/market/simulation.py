"""The learners acting on one stack through its HTTP API: they block, book, cancel while waiting,
join their sessions (or stand their partner up), end them early, and block whoever stood them up.

Learners do not poll the API to hear of a match: the app would notify them. The simulation stands
in for the notification by reading the sessions table every few seconds (that read is the only
one it makes of Postgres while the market runs); every action goes through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.api_client import BenchApi
from bench.market.configs import MarketConfig
from bench.market.evening import Evening
from bench.market.population import BLOCK_AFTER_NO_SHOW, Intent, Learner, no_show
from bench.timetable import Timetable

NOTICE_SECONDS = 3.0
RETRY_AFTER = timedelta(seconds=2)
NEW_SESSIONS = text(
    "SELECT id::text, participant_one_id, participant_two_id, scheduled_start,"
    " match_request_one_id::text, match_request_two_id::text FROM sessions"
    " WHERE status = 'scheduled' AND scheduled_start > now()"
)


@dataclass
class Record:
    """What the learners did and what the API answered."""

    calls: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, list[float]] = field(default_factory=dict)  # how long each call took
    # (blocker, blocked, when the API accepted it)
    blocks: list[tuple[str, str, datetime]] = field(default_factory=list)
    bookings_late: int = 0
    sessions_seen: int = 0
    no_shows_planned: int = 0


class Simulation:
    """One configuration's market, from the first block to the last session's end."""

    def __init__(
        self,
        api: BenchApi,
        session_api: BenchApi,
        engine: AsyncEngine,
        learners: list[Learner],
        evening: Evening,
        config: MarketConfig,
        seed: int,
        api_grace_seconds: int,
    ) -> None:
        self.api = api
        # Joins and ends on a pool of their own: a backlog of bookings never delays them.
        self.session_api = session_api
        self.engine = engine
        self.learners = learners
        self.by_user = {learner.user_id: learner for learner in learners}
        self.evening = evening
        self.config = config
        self.seed = seed
        self.grace_seconds = float(api_grace_seconds)
        self.record = Record()
        self._sessions_of: Counter[str] = Counter()
        self._turn: dict[str, int] = {}
        self._seen: set[str] = set()
        self._timetable = Timetable()
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        """Blocks first, then every booking at its time; returns once the last booking and
        everything it set off (cancels, joins, ends) is done or dropped at the end."""
        await asyncio.gather(
            *(self._block(p.user_id, self.learners[p.blocks].user_id) for p in self.learners
              if p.blocks is not None)
        )  # fmt: skip
        for learner in self.learners:
            for intent in learner.intents:
                at = self.evening.minute(intent.minute) + timedelta(seconds=intent.offset)
                self._timetable.at(at, partial(self._book, learner, intent))

    async def watch_until_stopped(self) -> None:
        """Notice new sessions and plan their joins until `stop()`; then drop what is left."""
        while not self._stopped.is_set():
            await self._notice()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), NOTICE_SECONDS)
        await self._timetable.drop()

    def stop(self) -> None:
        """The market settled: stop noticing."""
        self._stopped.set()

    async def _call(
        self, user: str, path: str, body: Any = None, key: str | None = None
    ) -> httpx.Response | None:
        kind = path.rsplit("/", 1)[-1]
        kind = {"match-requests": "book", "blocks": "block"}.get(kind, kind)
        api = self.session_api if path.startswith("/v1/sessions/") else self.api
        headers = api.headers(user)
        if key is not None:
            headers = {**headers, "Idempotency-Key": key}
        sent = time.monotonic()
        try:
            response = await api.http.post(path, json=body, headers=headers)
            self.record.seconds.setdefault(kind, []).append(time.monotonic() - sent)
        except httpx.HTTPError as error:
            self.record.calls[f"{kind} {type(error).__name__}"] += 1
            return None
        self.record.calls[f"{kind} {response.status_code}"] += 1
        return response

    async def _block(self, blocker: str, blocked: str) -> None:
        response = await self._call(blocker, "/v1/blocks", {"user_id": blocked})
        if response is not None and response.status_code in (200, 201):
            self.record.blocks.append((blocker, blocked, datetime.now(UTC)))

    async def _book(self, learner: Learner, intent: Intent) -> None:
        first = self.evening.slot(intent.first)
        last = self.evening.slot(intent.last_slot(self.config.windows))
        cut_off = self.evening.cut_off(first)
        if datetime.now(UTC) >= cut_off:
            self.record.bookings_late += 1  # the stack fell behind: the booking is dropped
            return
        body = {
            "native_language_id": learner.native,
            "learning_language_id": learner.learning,
            "proficiency_level": learner.level,
            "availability_start": first.isoformat(),
            "availability_end": last.isoformat(),
            "preferred_duration_minutes": learner.duration,
        }
        # As an app would: a booking the stack could not answer in time is sent again, with the
        # same Idempotency-Key, until it is answered or the slot's cut-off passes.
        key = f"{learner.user_id}-{intent.minute}"
        while True:
            response = await self._call(learner.user_id, "/v1/match-requests", body, key)
            retry = response is None or response.status_code == 503
            if not retry or datetime.now(UTC) + RETRY_AFTER >= cut_off:
                break
            await asyncio.sleep(RETRY_AFTER.total_seconds())
        if response is None or response.status_code != 201 or intent.cancel_at is None:
            return
        request_id = response.json()["id"]
        now = datetime.now(UTC)
        at = now + (cut_off - now) * intent.cancel_at
        path = f"/v1/match-requests/{request_id}/cancel"
        self._timetable.at(at, lambda: self._cancel(learner.user_id, path, cut_off))

    async def _cancel(self, user: str, path: str, cut_off: datetime) -> None:
        if datetime.now(UTC) < cut_off:
            await self._call(user, path)

    async def _notice(self) -> None:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(NEW_SESSIONS)).all()
        for session_id, one, two, start, request_one, request_two in rows:
            if session_id in self._seen or one not in self.by_user or two not in self.by_user:
                continue
            self._seen.add(session_id)
            self.record.sessions_seen += 1
            people = ((self.by_user[one], request_one), (self.by_user[two], request_two))
            self._plan_session(session_id, people, start)

    def _comes(self, person: Learner, request_id: str) -> bool:
        """Whether `person` comes to the session of this request: decided once per request
        (a rearranged session's requests keep their decision), by their n-th request seated."""
        if request_id not in self._turn:
            self._sessions_of[person.user_id] += 1
            self._turn[request_id] = self._sessions_of[person.user_id]
        return not no_show(self.seed, person, self._turn[request_id])

    def _plan_session(
        self, session_id: str, seated: tuple[tuple[Learner, str], tuple[Learner, str]],
        start: datetime,
    ) -> None:  # fmt: skip
        rng = random.Random(f"{self.seed}-{session_id}")
        people = (seated[0][0], seated[1][0])
        absent = []
        for person, request_id in seated:
            if not self._comes(person, request_id):
                absent.append(person)
                continue
            now = datetime.now(UTC)
            at = max(now, self.evening.join_at(rng, start))
            join = f"/v1/sessions/{session_id}/join"
            deadline = start + timedelta(seconds=self.grace_seconds - 1)
            self._timetable.at(at, partial(self._post, person.user_id, join, deadline))
        self.record.no_shows_planned += len(absent)
        if not absent:
            end = f"/v1/sessions/{session_id}/end"
            at = start + timedelta(seconds=rng.uniform(10, 30))
            self._timetable.at(at, lambda: self._post(people[0].user_id, end))
        elif len(absent) == 1 and rng.random() < BLOCK_AFTER_NO_SHOW:
            came = people[1] if absent[0] is people[0] else people[0]
            at = start + timedelta(seconds=rng.uniform(15, 30))
            self._timetable.at(at, lambda: self._block(came.user_id, absent[0].user_id))

    async def _post(self, user: str, path: str, until: datetime | None = None) -> None:
        """A join or an end; one the stack could not answer is sent again until `until`."""
        while True:
            response = await self._call(user, path)
            if response is not None and response.status_code != 503:
                return
            if until is None or datetime.now(UTC) + RETRY_AFTER >= until:
                return
            await asyncio.sleep(RETRY_AFTER.total_seconds())
