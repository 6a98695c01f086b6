"""Pydantic shapes of what the API says about a user: blocks and the no-show record."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from api.schemas import UtcDatetime
from domain.local_time import known_time_zones

# Not blank, no control characters: in the schema, so that clients (and the fuzzer) see it.
USER_ID_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
UserId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=USER_ID_PATTERN,
        description="A user id, as in a token's `sub`: not blank, no control characters",
    ),
]


class BlockCreate(BaseModel):
    """Body of `POST /v1/blocks`."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId = Field(description="Whom to block: never paired with you again, either way")


class BlockPublic(BaseModel):
    """One of your active blocks."""

    user_id: str = Field(description="Whom you blocked")
    blocked_at: UtcDatetime
    scheduled_sessions_kept: list[uuid.UUID] = Field(
        description="Your sessions with them that are still scheduled: blocking does not cancel "
        "them"
    )
    note: str = Field(description="What the block does and does not do, in words")


class ReliabilityPublic(BaseModel):
    """Your no-show record, computed from your sessions each time it is read."""

    window_days: int = Field(description="How far back sessions count")
    sessions: int = Field(description="Completed sessions and no-show sessions in the window")
    no_shows: int = Field(description="Of those, the ones you did not join")
    recent_sessions: int = Field(
        description="How many of your latest counted sessions the rule reads"
    )
    recent_no_shows: int = Field(description="Your no-shows among them")
    matched_after_others: bool = Field(
        description="2 or more no-shows among your last 5 sessions: you are paired after "
        "everyone else in the same pass (never refused)"
    )


class MePublic(BaseModel):
    """Who you are to Parley."""

    user_id: str
    time_zone: str = Field(
        description="Your IANA time zone: how calendar files and the web page show times, and "
        "how a booking time without an offset is read; the API answers in UTC"
    )
    reliability: ReliabilityPublic


class DevTokenCreate(BaseModel):
    """Body of `POST /v1/dev/token` (development mode only)."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId = Field(description="Whom the token speaks for (`sub`)")


class DevTokenPublic(BaseModel):
    """A development bearer token, signed with the published development secret."""

    token: str = Field(description="Send as `Authorization: Bearer <token>`")
    expires_at: UtcDatetime


class MeUpdate(BaseModel):
    """Body of `PUT /v1/me`."""

    model_config = ConfigDict(extra="forbid")

    # The schema lists every zone this server knows, so that what it allows is what it accepts.
    time_zone: str = Field(
        min_length=1,
        max_length=64,
        description="An IANA time zone name, e.g. `Europe/Berlin`",
        json_schema_extra={"enum": list[JsonValue](sorted(known_time_zones()))},
    )


class CalendarFeedPublic(BaseModel):
    """Your calendar feed: subscribe to `url` in a calendar app."""

    url: str = Field(
        description="Secret: anyone with it reads your sessions. Shown once; a new feed revokes "
        "the old URL, and `DELETE /v1/me/calendar-feed` revokes it"
    )
    created_at: UtcDatetime
