"""A booking body's wall-clock times read in the caller's time zone, before any rule sees them:
from here on every time is UTC."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from db.user_settings import time_zone_of
from domain.errors import RuleViolation
from domain.local_time import LocalTimeError, instant_of

BodyT = TypeVar("BodyT", bound=BaseModel)
FIELDS = ("availability_start", "availability_end")


async def in_utc(body: BodyT, db: AsyncSession, user_id: str) -> BodyT:
    """The body with each time that has no offset read in the user's time zone; a time that
    zone skips or shows twice is a 422 naming the field."""
    naive = {name for name in FIELDS if _is_naive(getattr(body, name, None))}
    if not naive:
        return body
    zone = await time_zone_of(db, user_id)
    update = {}
    for name in sorted(naive):
        try:
            update[name] = instant_of(getattr(body, name), zone)
        except LocalTimeError as error:
            raise RuleViolation(name, str(error)) from None
    return body.model_copy(update=update)


def _is_naive(value: object) -> bool:
    return value is not None and getattr(value, "tzinfo", 0) is None
