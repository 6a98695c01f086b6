"""`/v1/events`: your events, live (Server-Sent Events) or as JSON pages, and stream tickets.

A browser's `EventSource` cannot send an Authorization header, and a bearer token in a URL ends
up in logs and history. So a client with a bearer token asks `POST /v1/events/ticket` for a
ticket (random, 60 s, single use, stored hashed) and opens `GET /v1/events?ticket=...`; a ticket
opens only the stream, never a JSON page or any other call, and once used it is worth nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from api import events
from api.deps import (
    ClockDep,
    CurrentUser,
    DbDep,
    IdempotencyKey,
    SettingsDep,
    bearer,
    get_current_user,
)
from api.event_hub import EventHub
from api.schemas import EventPage, EventTicketPublic
from api.strict_route import StrictRoute

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=StrictRoute)

EVENT_STREAM = "text/event-stream"
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON: a page of your events. With `Accept: text/event-stream`: a "
        "Server-Sent Events stream that never ends by itself, each message `id:` (the event "
        "id), `event:` (its type) and `data:` (an `EventPublic` as JSON), with a `: keep-alive` "
        "comment every `PARLEY_SSE_KEEPALIVE_SECONDS`",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    }
}


def wants_stream(request: Request) -> bool:
    """Whether the client asked for Server-Sent Events."""
    return EVENT_STREAM in request.headers.get("accept", "")


@router.post(
    "/ticket",
    response_model=EventTicketPublic,
    status_code=status.HTTP_201_CREATED,
    summary="A single-use ticket for a browser's event stream",
)
async def create_ticket(
    user: CurrentUser,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> EventTicketPublic:
    """A ticket that opens `GET /v1/events?ticket=...` once, within 60 seconds."""
    ticket, expires_at = await events.issue_ticket(
        db, user, await clock(), settings.signing_secret(), idempotency_key
    )
    return EventTicketPublic(ticket=ticket, expires_at=expires_at)


@router.get("", response_model=EventPage, responses=STREAM_DOC, summary="Your events")
async def list_events(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    after: Annotated[int, Query(ge=0, le=2**62, description="Only events with a higher id")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many (JSON)")] = 100,
    ticket: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Instead of a bearer token, on the event stream only: a ticket from "
            "`POST /v1/events/ticket`",
        ),
    ] = None,
    # Typed `int`, not `int | None`: a header cannot carry null, so the document must not offer
    # it (a fuzzer sends the text "null"); absent, it is None.
    last_event_id: Annotated[
        int,
        Header(
            alias="Last-Event-ID",
            ge=0,
            le=2**62,
            description="Resume the stream after this event (sent by a reconnecting "
            "EventSource); wins over `after`",
        ),
    ] = None,  # type: ignore[assignment]
) -> Any:
    """Your events oldest first: JSON pages after `after`, or a live stream."""
    stream = wants_stream(request)
    if ticket is not None and credentials is None:
        if not stream:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a ticket opens the event stream only (Accept: text/event-stream)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        user = await events.redeem_ticket(db, ticket, await clock())
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the ticket is unknown, used or expired",
                headers={"WWW-Authenticate": "Bearer"},
            )
    else:
        user = await get_current_user(credentials, settings)
    start = last_event_id if last_event_id is not None else after
    if not stream:
        rows = await events.events_after(db, user, start, limit)
        return EventPage(
            events=[events.event_out(row) for row in rows],
            next_after=rows[-1].id if rows else start,
        )
    await db.close()  # the stream reads with sessions of its own; hold no connection meanwhile
    hub: EventHub = request.app.state.event_hub
    return StreamingResponse(
        events.stream(
            hub, request.app.state.sessionmaker, user, start, settings.sse_keepalive_seconds
        ),
        media_type=EVENT_STREAM,
        # No proxy may buffer or cache a live stream.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
