"""Calendar files: one session's (`/v1/sessions/{id}/calendar.ics`, with your bearer token) and
your feed of all of them (`/v1/calendar-feeds/{secret}.ics`, opened by the feed's secret alone,
since calendar apps cannot send headers; see `POST /v1/me/calendar-feed`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy import select

from api import reads
from api.calendar_feeds import feed_owner
from api.calendars import ICS_MEDIA_TYPE, calendar_of
from api.deps import ClockDep, CurrentUser, DbDep
from api.strict_route import StrictRoute
from db.models import SessionRow
from db.user_settings import time_zone_of

sessions_router = APIRouter(prefix="/v1/sessions", tags=["calendars"], route_class=StrictRoute)
feeds_router = APIRouter(prefix="/v1/calendar-feeds", tags=["calendars"], route_class=StrictRoute)

ICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An RFC 5545 calendar, times in your time zone (`PUT /v1/me`)",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    }
}
# How far back the feed reaches; everything ahead is in it.
FEED_PAST = timedelta(days=90)
FEED_LIMIT = 500


@sessions_router.get(
    "/{session_id}/calendar.ics",
    response_class=Response,
    responses={**ICS, 404: {"description": "No such session of yours"}},
    summary="One of your sessions as a calendar file",
)
async def session_calendar(
    session_id: uuid.UUID, user: CurrentUser, db: DbDep, clock: ClockDep
) -> Response:
    """Import it into a calendar app: the event keeps one UID, and a later download of the same
    session (cancelled, say) updates it rather than adding another."""
    row = await reads.session_of(db, user, session_id)
    body = calendar_of([row], user, await time_zone_of(db, user), await clock())
    return Response(
        body,
        media_type=ICS_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="parley-{session_id}.ics"'},
    )


@feeds_router.get(
    "/{secret}.ics",
    name="calendar_feed",
    response_class=Response,
    responses={**ICS, 404: {"description": "No live feed has this secret"}},
    summary="Your calendar feed (public URL, opened by its secret)",
)
async def calendar_feed(
    secret: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    db: DbDep,
    clock: ClockDep,
) -> Response:
    """Every session of the feed's owner from 90 days back on, in their time zone."""
    user = await feed_owner(db, secret)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such calendar feed")
    now = await clock()
    rows = await db.scalars(
        select(SessionRow)
        .where(reads.takes_part(user), SessionRow.scheduled_start >= now - FEED_PAST)
        .order_by(SessionRow.scheduled_start)
        .limit(FEED_LIMIT)
    )
    zone = await time_zone_of(db, user)
    body = calendar_of(rows.all(), user, zone, now, name="Parley sessions")
    return Response(body, media_type=ICS_MEDIA_TYPE, headers={"Cache-Control": "private"})
