"""A join sent in time while no worker runs is never a no-show (real time on the dev server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from domain.slots import next_slot_after
from settings import Settings
from tests.helpers import Person, eventually
from tests.no_worker import BOUND, SLACK, on_the_dev_server, pair, sleep_until, timed
from tests.workers import dev_worker


async def test_a_join_sent_in_time_while_no_worker_runs_is_never_a_no_show(
    dev_client: Client, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Real time, compressed: one-minute slots, a 10-second grace. The worker is down from before
    the start until well after the no-show deadline; A joins 2 s after the start, B never comes;
    C's partner D cancels before the start."""
    async with on_the_dev_server(
        dev_client,
        settings,
        sessionmaker,
        slot_minutes=1,
        join_opens_minutes=1,
        no_show_grace_seconds=10,
        receipt_skew_seconds=1.0,
    ) as (someone, queue):
        a, b, c, d = (someone(n) for n in ("user-a", "user-b", "user-c", "user-d"))
        slot = next_slot_after(datetime.now(UTC) + timedelta(seconds=25), 1)
        async with dev_worker(dev_client, sessionmaker, queue):
            ab = await pair(a, b, slot)
            cd = await pair(c, d, slot)
        # The worker is down from here until after the deadline.
        await sleep_until(slot - timedelta(seconds=5))
        withdrawn = await d.post(f"/v1/sessions/{cd['id']}/cancel")
        assert withdrawn.status_code == 202, withdrawn.text
        await sleep_until(slot + timedelta(seconds=2))
        joined, took = await timed(a.post(f"/v1/sessions/{ab['id']}/join"))
        assert joined.status_code == 200 and took < BOUND + SLACK, joined.text
        await sleep_until(slot + timedelta(seconds=25))
        late = await b.post(f"/v1/sessions/{ab['id']}/join")
        assert late.status_code == 409, late.text
        async with dev_worker(dev_client, sessionmaker, queue):
            ab_done = await eventually(
                lambda: a.get(f"/v1/sessions/{ab['id']}"), lambda s: s["status"] == "cancelled"
            )
            assert ab_done["cancel_reason"] == "no_show"
            mine = {r["id"]: r for r in (await a.get("/v1/match-requests")).json()}
            assert mine[_request_of(ab, a)]["status"] == "matched"  # came: not a no-show
            theirs = (await b.get(f"/v1/match-requests/{_request_of(ab, b)}")).json()
            assert theirs["status"] == "no_show"
            rematch = [r for r in mine.values() if r["origin_session_id"] == ab["id"]]
            assert len(rematch) == 1 and rematch[0]["priority"] == 1
            cd_done = await eventually(
                lambda: c.get(f"/v1/sessions/{cd['id']}"), lambda s: s["status"] == "cancelled"
            )
            assert (cd_done["cancel_reason"], cd_done["cancelled_by"]) == (
                "cancelled_by_user",
                d.user_id,
            )
            c_rematch = [
                r
                for r in (await c.get("/v1/match-requests")).json()
                if r["origin_session_id"] == cd["id"]
            ]
            assert len(c_rematch) == 1


def _request_of(session: dict[str, Any], who: Person) -> str:
    if session["participant_one_id"] == who.user_id:
        return str(session["match_request_one_id"])
    return str(session["match_request_two_id"])
