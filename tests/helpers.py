"""Small helpers the end-to-end tests share: people with tokens, slots, and patient reads."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.security import mint_token
from contracts.matchmaker import MatchmakerState
from contracts.naming import match_request_workflow_id, matchmaker_workflow_id, session_workflow_id
from db.models import MatchRequestRow, SessionRow
from domain.matching import language_pair
from domain.slots import day_start, days_touched, next_slot_after
from settings import Settings
from tests.histories.recording import record_histories
from workflows.matchmaker import MatchmakerWorkflow

REAL_SECONDS_TO_SETTLE = 30.0
SETTLE_AFTER_LAST_SLOT = timedelta(hours=2, minutes=30)
# Each test books its own stretch of the calendar, so that slot-keyed workflows left behind by an
# earlier test (on a task queue nobody polls any more) never share an id with this test's ones.
HOURS_BETWEEN_TESTS = 6
# 40 stretches of 6 hours: 10 days, well inside the 30-day booking horizon.
STRETCHES_IN_TURN = 40
_test_number = itertools.count(1)


@dataclass
class Stack:
    """One test's view of Parley: the API client, the environment and its task queue."""

    api: AsyncClient
    env: WorkflowEnvironment
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    tag: str
    calendar_offset: timedelta


@dataclass
class Person:
    """Someone using the API with their own token."""

    user_id: str
    api: AsyncClient
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this person."""
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, path: str, json: Any = None, **headers: str) -> Response:
        """POST as this person."""
        return await self.api.post(path, json=json, headers={**self.headers, **headers})

    async def put(self, path: str, json: Any = None) -> Response:
        """PUT as this person."""
        return await self.api.put(path, json=json, headers=self.headers)

    async def get(self, path: str, **params: Any) -> Response:
        """GET as this person."""
        return await self.api.get(path, params=params, headers=self.headers)

    async def book(self, slot: datetime, native: str, learning: str, **extra: Any) -> Response:
        """POST /v1/match-requests with sensible defaults."""
        body = {
            "native_language_id": native,
            "learning_language_id": learning,
            "proficiency_level": extra.pop("level", "intermediate"),
            "availability_start": slot.isoformat(),
            "preferred_duration_minutes": extra.pop("duration", 60),
            **extra,
        }
        return await self.post("/v1/match-requests", body)


def person(stack: Stack, user_id: str) -> Person:
    """A person (unique to this test) whose token is signed with the stack's secret."""
    unique = f"{user_id}-{stack.tag}"
    return Person(unique, stack.api, mint_token(unique, stack.settings.signing_secret()))


async def slot_ahead(stack: Stack, minutes: int = 60) -> datetime:
    """The first slot on the grid at least `minutes` after Temporal's current time."""
    now = await stack.env.get_current_time()
    return next_slot_after(
        now + stack.calendar_offset + timedelta(minutes=minutes), stack.settings.slot_minutes
    )


async def _requests_of_test(
    db: AsyncSession, suffix: str
) -> Sequence[Row[uuid.UUID, datetime, datetime, int, str, str]]:
    """Id, window, duration and languages of every request made by this test's people."""
    query = select(
        MatchRequestRow.id,
        MatchRequestRow.availability_start,
        MatchRequestRow.availability_end,
        MatchRequestRow.preferred_duration_minutes,
        MatchRequestRow.native_language_id,
        MatchRequestRow.learning_language_id,
    ).where(MatchRequestRow.user_id.like(suffix))
    return (await db.execute(query)).all()


async def withdraw_waiting(sessionmaker: async_sessionmaker[AsyncSession], tag: str) -> None:
    """Mark this test's people's requests still waiting as cancelled (never deleted): their
    workflows end with the test's server, and a row left waiting would sit in a later test's
    pool (one Postgres for every test), paired ahead of that test's own people."""
    async with sessionmaker.begin() as db:
        await db.execute(
            update(MatchRequestRow)
            .where(
                MatchRequestRow.user_id.like(f"%-{tag}"),
                MatchRequestRow.status == "waiting",
            )
            .values(status="cancelled", status_reason="the test that booked it ended")
        )


async def settle(stack: Stack) -> None:
    """Let every workflow this test started run to its natural end, then end any straggler.

    The time-skipping server will not skip past a workflow task or activity nobody serves, and
    this test's task queue dies with its worker: a workflow left running would stall every later
    test. So, with the worker still up, jump past the last slot this test touched (each test owns
    its stretch of the calendar, so nothing of a later test is due there).
    """
    suffix = f"%-{stack.tag}"
    async with stack.sessionmaker() as db:
        requests = await _requests_of_test(db, suffix)
    if requests:
        last = max(r.availability_end for r in requests)
        # A matchmaker pairs until its day's last slot, then sweeps that slot's no-shows.
        day_over = day_start(last) + timedelta(days=1, minutes=5)
        await skip_to(stack, max(last + SETTLE_AFTER_LAST_SLOT, day_over))
    async with stack.sessionmaker() as db:
        requests = await _requests_of_test(db, suffix)
        sessions = await db.scalars(
            select(SessionRow.id).where(SessionRow.participant_one_id.like(suffix))
        )
        ids = {match_request_workflow_id(str(r.id)) for r in requests}
        ids |= {
            matchmaker_workflow_id(
                day,
                r.preferred_duration_minutes,
                language_pair(r.native_language_id, r.learning_language_id),
            )
            for r in requests
            for day in days_touched(r.availability_start, r.availability_end)
        }
        ids |= {session_workflow_id(str(session_id)) for session_id in sessions}
    running = []
    for workflow_id in ids:
        try:
            description = await stack.env.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            continue  # never started
        if description.status == WorkflowExecutionStatus.RUNNING:
            running.append(workflow_id)
    await withdraw_waiting(stack.sessionmaker, stack.tag)
    assert not running, f"workflows still running after their slots passed: {running}"
    await record_histories(stack.env.client, ids, user_suffix=f"-{stack.tag}")


def new_calendar_offset() -> timedelta:
    """This test's stretch of the calendar."""
    # Each test skips past its stretch's day when it settles, so stretches may come round again
    # and stay inside the booking horizon however many tests there are.
    return timedelta(hours=HOURS_BETWEEN_TESTS * (next(_test_number) % STRETCHES_IN_TURN + 1))


async def skip_to(stack: Stack, instant: datetime) -> None:
    """Let Temporal's clock jump to `instant` (time skipping, nothing faked)."""
    now = await stack.env.get_current_time()
    seconds = (instant - now).total_seconds()
    if seconds > 0:
        await stack.env.sleep(seconds)


async def eventually(
    read: Callable[[], Awaitable[Response]],
    accept: Callable[[Any], bool],
    *,
    timeout: float = REAL_SECONDS_TO_SETTLE,
) -> Any:
    """Poll a GET until its JSON satisfies `accept`; fail with the last answer after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Response | None = None
    while time.monotonic() < deadline:
        last = await read()
        if last.status_code == 200 and accept(last.json()):
            return last.json()
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"condition not reached in {timeout}s; last answer: "
        f"{last.status_code if last else None} {last.text if last else ''}"
    )


def is_matched(request: dict[str, Any]) -> bool:
    """A request the API shows as matched."""
    return request["status"] == "matched"


async def book_pair(stack: Stack, a: Person, b: Person, slot: datetime) -> tuple[dict, dict, dict]:
    """A books english->spanish, B spanish->english; wait for their session."""
    req_a = await a.book(slot, "english", "spanish")
    assert req_a.status_code == 201, req_a.text
    req_b = await b.book(slot, "spanish", "english")
    assert req_b.status_code == 201, req_b.text
    matched_a = await eventually(
        lambda: a.get(f"/v1/match-requests/{req_a.json()['id']}"),
        is_matched,
    )
    session = (await a.get(f"/v1/sessions/{matched_a['session_id']}")).json()
    return req_a.json(), req_b.json(), session


async def no_show(stack: Stack, joined: Person, session: dict, slot: datetime) -> None:
    """`joined` joins the session, the other participant never does: once past the no-show
    deadline the session is cancelled and `joined` holds a new waiting request."""
    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await joined.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    deadline = slot + timedelta(seconds=stack.settings.no_show_grace_seconds)
    await skip_to(stack, deadline + timedelta(seconds=5))
    await eventually(
        lambda: joined.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    await eventually(lambda: joined.get("/v1/match-requests", status="waiting"), bool)


async def until_state(
    handle: WorkflowHandle[Any, Any],
    accept: Callable[[MatchmakerState], bool],
) -> MatchmakerState:
    """Query the matchmaker until its state satisfies `accept`; fail with the last one after
    about ten seconds (a query may land while a pass is under way)."""
    for _ in range(100):
        state = await handle.query(MatchmakerWorkflow.state)
        if accept(state):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached; last state: {state}")
