"""Reading a user's events, tickets for browser streams, and the Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.event_hub import EventHub, HubUnavailable
from api.schemas import EventPublic, MatchRequestPublic, SessionPublic
from db.models import EventRow, EventTicketRow

TICKET_TTL = timedelta(seconds=60)
STREAM_BATCH = 200
# An EventSource reconnects after this many milliseconds when the stream ends.
RETRY_MS = 2000


def event_out(row: EventRow) -> EventPublic:
    """An event as the API shows it: the payload read through the resource's own schema, so it
    is exactly what `GET` of that resource answers."""
    shape = MatchRequestPublic if row.type.startswith("request.") else SessionPublic
    return EventPublic(
        id=row.id,
        type=row.type,
        occurred_at=row.occurred_at,
        payload=shape.model_validate(row.payload),
        reminder=row.payload.get("reminder"),
    )


async def events_after(
    db: AsyncSession, user_id: str, after: int, limit: int
) -> Sequence[EventRow]:
    """The user's events with ids above `after`, oldest first."""
    query = (
        select(EventRow)
        .where(EventRow.user_id == user_id, EventRow.id > after)
        .order_by(EventRow.id)
        .limit(limit)
    )
    return (await db.scalars(query)).all()


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def _ticket_for(secret: str, user_id: str, idempotency_key: str | None) -> str:
    """A random ticket; with an Idempotency-Key, the same one for every retry of that key (an
    HMAC under the server's secret, so nobody without it can derive one)."""
    if idempotency_key is None:
        return secrets.token_urlsafe(32)
    message = f"parley.event-ticket\x1f{user_id}\x1f{idempotency_key}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def issue_ticket(
    db: AsyncSession, user_id: str, now: datetime, secret: str, idempotency_key: str | None
) -> tuple[str, datetime]:
    """A ticket for the user and when it expires; only its hash is stored. A retry with the same
    Idempotency-Key answers the first call's ticket, however it has been used since."""
    ticket = _ticket_for(secret, user_id, idempotency_key)
    await db.execute(
        insert(EventTicketRow)
        .values(ticket_hash=_hash(ticket), user_id=user_id, expires_at=now + TICKET_TTL)
        .on_conflict_do_nothing(index_elements=["ticket_hash"])
    )
    expires_at = await db.scalar(
        select(EventTicketRow.expires_at).where(EventTicketRow.ticket_hash == _hash(ticket))
    )
    await db.commit()
    assert expires_at is not None
    return ticket, expires_at


async def redeem_ticket(db: AsyncSession, ticket: str, now: datetime) -> str | None:
    """The user a valid ticket was issued to, marking it used (one statement, so two racing
    redemptions cannot both win); None if unknown, used or expired."""
    user_id = await db.scalar(
        update(EventTicketRow)
        .where(
            EventTicketRow.ticket_hash == _hash(ticket),
            EventTicketRow.used_at.is_(None),
            EventTicketRow.expires_at > now,
        )
        .values(used_at=now)
        .returning(EventTicketRow.user_id)
    )
    await db.commit()
    return user_id


def sse_message(event: EventPublic) -> str:
    """One event in the text/event-stream format."""
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


async def stream(
    hub: EventHub,
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: str,
    after: int,
    keepalive_seconds: float,
) -> AsyncIterator[str]:
    """The user's events after `after`, then each as it commits, with keep-alive comments.

    It subscribes before it reads, so nothing committed between the backlog and the live part is
    missed, and reads only ids above the last one sent, so nothing is sent twice. Ids are handed
    out in commit order (migration 0007), so a read never skips one that commits later.
    """
    yield f"retry: {RETRY_MS}\n\n"
    try:
        async with hub.subscribe(user_id) as wake:
            last = after
            while True:
                wake.clear()  # before reading: a notification during the read wakes the next wait
                async with sessionmaker() as db:
                    rows = await events_after(db, user_id, last, STREAM_BATCH)
                for row in rows:
                    yield sse_message(event_out(row))
                    last = row.id
                if len(rows) == STREAM_BATCH:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), keepalive_seconds)
                except TimeoutError:
                    yield ": keep-alive\n\n"
    except (HubUnavailable, DBAPIError):
        # End the stream cleanly: the client reconnects after `retry` and resumes by its id.
        yield ": events are unavailable; reconnect later\n\n"
