"""`/v1/me`: who you are to Parley, your no-show record, your time zone and calendar feed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.calendar_feeds import new_feed, revoke_feeds
from api.deps import ClockDep, CurrentUser, DbDep
from api.strict_route import StrictRoute
from api.user_schemas import CalendarFeedPublic, MePublic, MeUpdate, ReliabilityPublic
from db.reliability import record_of
from db.user_settings import set_time_zone, time_zone_of
from domain.errors import RuleViolation
from domain.local_time import LocalTimeError, time_zone
from domain.reliability import WINDOW_DAYS, is_unreliable

router = APIRouter(prefix="/v1/me", tags=["me"], route_class=StrictRoute)


@router.get("", response_model=MePublic, summary="You, your time zone and your no-show record")
async def me(user: CurrentUser, db: DbDep, clock: ClockDep) -> MePublic:
    """Your time zone, and your sessions and no-shows over the last 90 days, read from your
    sessions."""
    record = await record_of(db, user, await clock())
    return MePublic(
        user_id=user,
        time_zone=await time_zone_of(db, user),
        reliability=ReliabilityPublic(
            window_days=WINDOW_DAYS,
            sessions=record.sessions_90d,
            no_shows=record.no_shows_90d,
            recent_sessions=record.recent_sessions,
            recent_no_shows=record.recent_no_shows,
            matched_after_others=is_unreliable(record),
        ),
    )


@router.put("", response_model=MePublic, summary="Set your time zone")
async def update_me(body: MeUpdate, user: CurrentUser, db: DbDep, clock: ClockDep) -> MePublic:
    """Store your IANA time zone; the API keeps answering in UTC."""
    try:
        time_zone(body.time_zone)
    except LocalTimeError as error:
        raise RuleViolation("time_zone", str(error)) from None
    await set_time_zone(db, user, body.time_zone, await clock())
    await db.commit()
    return await me(user, db, clock)


@router.post(
    "/calendar-feed",
    response_model=CalendarFeedPublic,
    status_code=status.HTTP_201_CREATED,
    summary="A new calendar feed URL (revokes the old one)",
)
async def create_calendar_feed(
    request: Request, user: CurrentUser, db: DbDep, clock: ClockDep
) -> CalendarFeedPublic:
    """A secret URL a calendar app subscribes to; any earlier feed of yours stops working."""
    secret, created_at = await new_feed(db, user, await clock())
    url = str(request.url_for("calendar_feed", secret=secret))
    return CalendarFeedPublic(url=url, created_at=created_at)


@router.delete(
    "/calendar-feed",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke your calendar feed",
)
async def delete_calendar_feed(user: CurrentUser, db: DbDep, clock: ClockDep) -> Response:
    """Your feed URL stops working (the record of it stays)."""
    await revoke_feeds(db, user, await clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
