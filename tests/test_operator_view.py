"""What an operator sees in the Temporal UI, on the real dev server (the test server cannot list).

Answers "what happened to user X's 15:00 session" with a visibility query on Parley's custom
search attributes, and reads each workflow's state through its query.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from contracts.naming import matchmaker_workflow_id, session_workflow_id
from domain.slots import next_slot_after
from settings import Settings
from tests.helpers import eventually, is_matched
from tests.workers import on_dev_server
from workflows.matchmaker import MatchmakerWorkflow
from workflows.session import SessionWorkflow


async def listed(client: Client, query: str, expected: int) -> list[str]:
    """Workflow ids a visibility query returns, once it returns `expected` of them."""
    deadline = time.monotonic() + 20
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = [w.id async for w in client.list_workflows(query)]
        if len(ids) == expected:
            return ids
        await asyncio.sleep(0.2)
    raise AssertionError(f"{query!r} listed {ids}, expected {expected}")


async def test_an_operator_finds_a_users_session_by_user_slot_and_status(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with on_dev_server(dev_client, settings, sessionmaker) as (test_settings, people):
        slot = next_slot_after(datetime.now(UTC) + timedelta(hours=2), test_settings.slot_minutes)
        a, b = people("ana"), people("ben")
        request_a = (await a.book(slot, "english", "spanish")).json()
        await b.book(slot, "spanish", "english")
        matched = await eventually(
            lambda: a.get(f"/v1/match-requests/{request_a['id']}"),
            is_matched,
        )
        session_id = matched["session_id"]
        until = slot + timedelta(minutes=test_settings.slot_minutes)
        who = (
            f"ParleyUserIds = '{a.user_id}' AND ParleySlotStart >= '{slot.isoformat()}'"
            f" AND ParleySlotStart < '{until.isoformat()}'"
        )
        assert await listed(
            dev_client, f"{who} AND ParleyKind = 'session' AND ParleyStatus = 'scheduled'", 1
        ) == [session_workflow_id(session_id)]
        assert len(await listed(dev_client, f"{who} AND ParleyKind = 'match_request'", 1)) == 1

        handle = dev_client.get_workflow_handle(session_workflow_id(session_id))
        state = await handle.query(SessionWorkflow.state)
        assert state.status == "scheduled" and state.joined_user_ids == []
        matchmaker = dev_client.get_workflow_handle(
            matchmaker_workflow_id(slot, 60, ("english", "spanish"))
        )
        pool = await matchmaker.query(MatchmakerWorkflow.state)
        # The day's pool may hold other tests' requests (one Postgres); none of this test's.
        assert pool.sessions_created == 1
        assert not {r["id"] for r in (await a.get("/v1/match-requests")).json()} & set(
            pool.waiting_request_ids
        )

        assert (await b.post(f"/v1/sessions/{session_id}/cancel")).status_code == 200
        await listed(dev_client, f"{who} AND ParleyStatus = 'cancelled'", 1)
        summary = await (await handle.describe()).static_summary()
        assert summary and a.user_id in summary
