"""`/v1/me`: who you are to Parley, with your no-show record."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ClockDep, CurrentUser, DbDep
from api.strict_route import StrictRoute
from api.user_schemas import MePublic, ReliabilityPublic
from db.reliability import record_of
from domain.reliability import WINDOW_DAYS, is_unreliable

router = APIRouter(prefix="/v1/me", tags=["me"], route_class=StrictRoute)


@router.get("", response_model=MePublic, summary="You and your no-show record")
async def me(user: CurrentUser, db: DbDep, clock: ClockDep) -> MePublic:
    """Your sessions and no-shows over the last 90 days, read from your sessions."""
    record = await record_of(db, user, await clock())
    return MePublic(
        user_id=user,
        reliability=ReliabilityPublic(
            window_days=WINDOW_DAYS,
            sessions=record.sessions_90d,
            no_shows=record.no_shows_90d,
            recent_sessions=record.recent_sessions,
            recent_no_shows=record.recent_no_shows,
            matched_after_others=is_unreliable(record),
        ),
    )
