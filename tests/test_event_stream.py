"""The live event stream through uvicorn: events as they commit, resuming after Last-Event-ID
with nothing missed or repeated, keep-alives, tickets, and nothing left behind on disconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import select

from api.event_hub import EventHub
from api.main import create_app
from db.models import EventTicketRow
from tests.helpers import Person, Stack, person, slot_ahead
from tests.served_app import served

KEEPALIVE = 0.5
STREAM = {"Accept": "text/event-stream"}


async def messages(response: Response) -> AsyncIterator[dict[str, str]]:
    """The stream's messages as fields (`id`, `event`, `data`, or `comment`), one per block."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if fields:
                yield fields
            fields = {}
        elif line.startswith(":"):
            fields["comment"] = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def next_event(stream: AsyncIterator[dict[str, str]], timeout: float = 10) -> dict[str, str]:
    """The next message that is an event (skipping `retry:` and keep-alives)."""
    async with asyncio.timeout(timeout):
        async for message in stream:
            if "event" in message:
                return message
    raise AssertionError("the stream ended")


async def next_message(stream: AsyncIterator[dict[str, str]]) -> dict[str, str]:
    """The next message, whatever it is (the `retry:` hint aside)."""
    async with asyncio.timeout(10):
        async for message in stream:
            if "retry" not in message:
                return message
    raise AssertionError("the stream ended")


@asynccontextmanager
async def api_on_a_port(stack: Stack) -> AsyncIterator[tuple[AsyncClient, EventHub]]:
    """The stack's app served by uvicorn, keep-alives every half second; its event hub."""
    settings = stack.settings.model_copy(update={"sse_keepalive_seconds": KEEPALIVE})
    app = create_app(
        settings,
        temporal=stack.env.client,
        sessionmaker=stack.sessionmaker,
        clock=stack.env.get_current_time,
    )
    async with served(app) as base_url, AsyncClient(base_url=base_url, timeout=30) as client:
        yield client, app.state.event_hub


async def until(condition: Callable[[], bool]) -> None:
    """Wait (a few seconds at most) for the condition."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110  (the hub's counters have no event to await)
            await asyncio.sleep(0.05)


async def book(who: Person, slot: Any) -> str:
    """A waiting request of `who`; its id."""
    booked = await who.book(slot, "english", "spanish")
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


async def test_resume_after_last_event_id_gives_exactly_what_was_missed(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    async with api_on_a_port(stack) as (client, hub):
        async with client.stream("GET", "/v1/events", headers={**a.headers, **STREAM}) as live:
            assert live.status_code == 200
            assert live.headers["content-type"].startswith("text/event-stream")
            stream = messages(live)
            first = await book(a, slot)
            await book(b, slot + timedelta(hours=5))  # someone else's: never on A's stream
            got = await next_event(stream)
            assert got["event"] == "request.waiting"
            assert json.loads(got["data"])["payload"]["id"] == first
            assert json.loads(got["data"])["id"] == int(got["id"])
            # Nothing else for A: the next thing is a keep-alive comment.
            assert await next_message(stream) == {"comment": "keep-alive"}
            assert hub.streams == 1 and hub.connected
        await until(lambda: hub.streams == 0 and not hub.connected)  # disconnect: all let go

        missed = [await book(a, slot + timedelta(hours=h)) for h in (1, 2, 3)]
        resume = {**a.headers, **STREAM, "Last-Event-ID": got["id"]}
        async with client.stream("GET", "/v1/events", headers=resume) as again:
            stream = messages(again)
            resumed = [await next_event(stream) for _ in missed]
            assert [json.loads(m["data"])["payload"]["id"] for m in resumed] == missed
            assert all(m["event"] == "request.waiting" for m in resumed)
            assert await next_message(stream) == {"comment": "keep-alive"}  # exactly three
            # And it goes on live: a change committed now arrives, once.
            fourth = await book(a, slot + timedelta(hours=4))
            live_one = await next_event(stream)
            assert json.loads(live_one["data"])["payload"]["id"] == fourth
            assert int(live_one["id"]) > int(resumed[-1]["id"])
            assert await next_message(stream) == {"comment": "keep-alive"}
        await until(lambda: hub.streams == 0 and not hub.connected)


async def test_streams_of_two_users_share_one_hub_and_see_only_their_own(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    async with (
        api_on_a_port(stack) as (client, hub),
        client.stream("GET", "/v1/events", headers={**a.headers, **STREAM}) as for_a,
        client.stream("GET", "/v1/events", headers={**b.headers, **STREAM}) as for_b,
    ):
        stream_a, stream_b = messages(for_a), messages(for_b)
        await until(lambda: hub.streams == 2)
        mine_a, mine_b = await book(a, slot), await book(b, slot + timedelta(hours=1))
        assert json.loads((await next_event(stream_a))["data"])["payload"]["id"] == mine_a
        assert json.loads((await next_event(stream_b))["data"])["payload"]["id"] == mine_b
        assert await next_message(stream_a) == {"comment": "keep-alive"}
        assert await next_message(stream_b) == {"comment": "keep-alive"}


async def test_a_ticket_opens_one_stream_once_and_expires(stack: Stack) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    request_id = await book(a, slot)
    async with api_on_a_port(stack) as (client, _):
        issued = await a.post("/v1/events/ticket")
        assert issued.status_code == 201, issued.text
        ticket = issued.json()["ticket"]
        params = {"ticket": ticket}
        async with client.stream("GET", "/v1/events", params=params, headers=STREAM) as opened:
            assert opened.status_code == 200
            got = await next_event(messages(opened))
            assert json.loads(got["data"])["payload"]["id"] == request_id
        used = await client.get("/v1/events", params=params, headers=STREAM)
        assert used.status_code == 401 and "used" in used.json()["detail"]

        late = (await a.post("/v1/events/ticket")).json()["ticket"]
        await stack.env.sleep(61)  # Temporal's clock, which the app reads, moves on a minute
        expired = await client.get("/v1/events", params={"ticket": late}, headers=STREAM)
        assert expired.status_code == 401
        forged = await client.get("/v1/events", params={"ticket": "x" * 43}, headers=STREAM)
        assert forged.status_code == 401
    async with stack.sessionmaker() as db:
        stored = (await db.scalars(select(EventTicketRow.ticket_hash))).all()
    assert ticket not in stored and len(stored) >= 2  # hashed, and kept
