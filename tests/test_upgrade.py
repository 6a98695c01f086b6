"""Deploying a new build while the old one's sessions are live, on the real dev server.

Two worker processes of different code: v1 is today's worker; v2 (tests/upgrade) changes
SessionWorkflow's commands. v1 books and starts sessions; v2 is deployed with `python -m deploy
roll` while they wait. Every v1 session ends correctly on v1, new bookings run on v2, a matchmaker
that was running on v1 hands over to v2 when a booking reaches it (an idle one when the deploy
wakes it), no workflow task fails on non-determinism, and nothing is lost in Postgres. Real
time, compressed: one-minute slots.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client

from api.main import create_app
from api.security import mint_token
from contracts.naming import matchmaker_workflow_id, session_workflow_id
from deploy import versions
from devstack.processes import free_port
from domain.matching import language_pair
from domain.slots import next_slot_after
from settings import Settings
from tests.conftest import REPO
from tests.helpers import Person, eventually

NON_DETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process logging to `log`, killed at the end if it still runs."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def builds_that_ran(client: Client, workflow_id: str, run_id: str | None = None) -> list[str]:
    """The build of every completed workflow task of one run; fails on a non-determinism error."""
    builds = []
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            attributes = event.workflow_task_completed_event_attributes
            builds.append(attributes.deployment_version.build_id)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = event.workflow_task_failed_event_attributes.cause
            assert cause != NON_DETERMINISM, f"{workflow_id}: non-deterministic workflow task"
    return builds


async def test_a_new_build_takes_new_bookings_while_old_sessions_finish_on_the_old_one(
    dev_client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    fast = settings.model_copy(
        update={
            "task_queue": f"parley-{uuid.uuid4()}",
            "slot_minutes": 1,
            "join_opens_minutes": 1,
            "no_show_grace_seconds": 10,
            "receipt_skew_seconds": 1.0,
        }
    )
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": dev_client.service_client.config.target_host,
        "PARLEY_TASK_QUEUE": fast.task_queue,
        "PARLEY_SLOT_MINUTES": "1",
        "PYTHONUNBUFFERED": "1",
    }
    python = sys.executable
    app = create_app(fast, temporal=dev_client, sessionmaker=sessionmaker)
    tag = uuid.uuid4().hex[:6]
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://parley.test") as api:

        def someone(name: str) -> Person:
            user = f"{name}-{tag}"
            return Person(user, api, mint_token(user, fast.signing_secret()))

        a, b, c, d, e, f, g, h, i = (someone(n) for n in "abcdefghi")
        slot1 = next_slot_after(datetime.now(UTC) + timedelta(seconds=60), 1)
        slot2, slot3 = slot1 + timedelta(minutes=2), slot1 + timedelta(minutes=3)
        # Two workers on one host: each its own build, and its own metrics port.
        v1_env, v2_env = (
            {**env, "PARLEY_BUILD_ID": build, "PARLEY_WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}"}
            for build, port in (("v1", free_port()), ("v2", free_port()))
        )
        with process([python, "-m", "worker"], v1_env, tmp_path / "v1.log") as v1:
            first = await asyncio.to_thread(
                subprocess.run,
                [python, "-m", "deploy", "roll", "--to", "v1", "--timeout", "60"],
                env=env, cwd=REPO, capture_output=True, text=True, timeout=90, check=False,
            )  # fmt: skip
            assert first.returncode == 0, first.stdout + first.stderr
            ab = await _pair(a, b, slot1)
            cd = await _pair(c, d, slot1)
            waiting = await e.book(slot3, "english", "spanish")
            assert waiting.status_code == 201, waiting.text
            # Booked and cancelled in a shard whose slot is far off: its v1 matchmaker, holding
            # no one, would idle on v1 until then.
            far = slot1 + timedelta(minutes=30)
            idle = await i.book(far, "english", "spanish")
            assert idle.status_code == 201, idle.text
            cancelled = await i.post(f"/v1/match-requests/{idle.json()['id']}/cancel")
            # 202: recorded, carried out once a worker gets to it
            assert cancelled.status_code in (200, 202), cancelled.text

            v2_worker = [python, "-m", "tests.upgrade.worker_v2"]
            roll = [python, "-m", "deploy", "roll", "--to", "v2", "--stop-old", "--timeout"]
            with process(v2_worker, v2_env, tmp_path / "v2.log"):
                # A first roll gives up waiting (v1 sessions run for minutes yet)...
                impatient = await asyncio.to_thread(
                    subprocess.run, [*roll, "10"],
                    env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                assert impatient.returncode == 1, impatient.stdout + impatient.stderr
                assert "run this again" in impatient.stdout
            with (
                process(v2_worker, v2_env, tmp_path / "v2.log"),
                # ...and running it again picks up the drain where it stopped.
                process([*roll, "240"], env, tmp_path / "deploy.log") as deploying,
            ):
                await _until(lambda: versions.current_build(dev_client, "parley"), "v2")
                # New bookings run on v2; one reaches slot 3's matchmaker, a run of v1.
                fg = await _pair(f, g, slot2)
                joined = await h.book(slot3, "spanish", "english")
                assert joined.status_code == 201, joined.text
                eh = await _session_of(e, waiting.json()["id"])
                # The v1 sessions live their lives on v1: one both join and end early, one
                # only C joins (a no-show: C is rematched).
                await _sleep_until(slot1 - timedelta(seconds=30))
                for who, session in ((a, ab), (b, ab), (c, cd)):
                    joining = await who.post(f"/v1/sessions/{session['id']}/join")
                    assert joining.status_code == 200, joining.text
                await eventually(
                    lambda: a.get(f"/v1/sessions/{ab['id']}"),
                    lambda s: s["status"] == "active",
                    timeout=60,
                )
                ended = await a.post(f"/v1/sessions/{ab['id']}/end")
                assert ended.status_code == 200, ended.text
                # The deploy waits until nothing is pinned to v1 any more, then stops v1.
                await asyncio.to_thread(deploying.wait, 300)
                transcript = (tmp_path / "deploy.log").read_text()
                assert deploying.returncode == 0, transcript
                assert "build v1 is drained" in transcript and "stopped older builds'" in transcript
                assert v1.wait(timeout=30) == 0, (tmp_path / "v1.log").read_text()[-3000:]

                # Every v1 session ended correctly, on v1 alone.
                done = (await a.get(f"/v1/sessions/{ab['id']}")).json()
                assert (done["status"], done["ended_by"]) == ("completed", a.user_id)
                no_show = (await c.get(f"/v1/sessions/{cd['id']}")).json()
                assert (no_show["status"], no_show["cancel_reason"]) == ("cancelled", "no_show")
                rematch = [
                    r
                    for r in (await c.get("/v1/match-requests")).json()
                    if r["origin_session_id"] == cd["id"]
                ]
                assert len(rematch) == 1
                for session in (ab, cd):
                    ran = await builds_that_ran(dev_client, session_workflow_id(session["id"]))
                    assert set(ran) == {"v1"}, ran
                    assert "reminded_at" not in await _memo(dev_client, session["id"])
                # New bookings ran on v2, including the pair slot 3's matchmaker made after it
                # handed over from its v1 run.
                for session in (fg, eh):
                    ran = await builds_that_ran(dev_client, session_workflow_id(session["id"]))
                    assert set(ran) == {"v2"}, ran
                await _until(lambda: _memo(dev_client, fg["id"]), lambda m: "reminded_at" in m)
                matchmaker = matchmaker_workflow_id(slot3, 60, language_pair("english", "spanish"))
                described = await dev_client.get_workflow_handle(matchmaker).describe()
                first_run = described.raw_description.workflow_execution_info.first_run_id
                assert set(await builds_that_ran(dev_client, matchmaker, first_run)) == {"v1"}
                assert set(await builds_that_ran(dev_client, matchmaker)) == {"v2"}
                # The idle one was woken by the deploy and handed over.
                idler = matchmaker_workflow_id(far, 60, language_pair("english", "spanish"))
                described = await dev_client.get_workflow_handle(idler).describe()
                first_run = described.raw_description.workflow_execution_info.first_run_id
                assert set(await builds_that_ran(dev_client, idler, first_run)) == {"v1"}
                assert set(await builds_that_ran(dev_client, idler)) == {"v2"}
                # (woken by the first roll, or by this one)
                assert "matchmaker(s) on build v1: they hand over" in impatient.stdout + transcript
                # And nothing failed anywhere.
                async for listed in dev_client.list_workflows():
                    await builds_that_ran(dev_client, listed.id, listed.run_id)


async def _pair(one: Person, two: Person, slot: datetime) -> dict[str, Any]:
    first = await one.book(slot, "english", "spanish")
    assert first.status_code == 201, first.text
    second = await two.book(slot, "spanish", "english")
    assert second.status_code == 201, second.text
    return await _session_of(one, first.json()["id"])


async def _session_of(who: Person, request_id: str) -> dict[str, Any]:
    matched = await eventually(
        lambda: who.get(f"/v1/match-requests/{request_id}"), lambda r: r["status"] == "matched"
    )
    return dict((await who.get(f"/v1/sessions/{matched['session_id']}")).json())


async def _memo(client: Client, session_id: str) -> dict[str, Any]:
    described = await client.get_workflow_handle(session_workflow_id(session_id)).describe()
    return dict(await described.memo())


async def _until(read: Any, expected: Any, timeout: float = 60.0) -> Any:
    accept = expected if callable(expected) else (lambda value: value == expected)
    for _ in range(int(timeout)):
        value = await read()
        if accept(value):
            return value
        await asyncio.sleep(1.0)
    raise AssertionError(f"never reached: last value {value!r}")


async def _sleep_until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))
