"""Dependencies every route declares, as `Annotated` aliases."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.security import InvalidToken, user_from_token
from observability.context import USER_ID
from settings import Settings

Clock = Callable[[], Awaitable[datetime]]
log = logging.getLogger("parley.api")


async def system_clock() -> datetime:
    """Wall-clock time in UTC (tests pass Temporal's time-skipping clock instead)."""
    return datetime.now(UTC)


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    db: AsyncSession = request.app.state.sessionmaker()
    try:
        yield db
    finally:
        try:
            await db.close()
        except DBAPIError as error:
            # The answer is on its way; a connection that died under it (Postgres restarted,
            # connections terminated) must not turn that answer into a dropped connection.
            log.warning("closing a database session failed after the answer: %s", error)


def get_temporal(request: Request) -> Client:
    """The shared Temporal client."""
    client: Client = request.app.state.temporal
    return client


def get_clock(request: Request) -> Clock:
    """The clock that decides what 'in the future' means."""
    clock: Clock = request.app.state.clock
    return clock


bearer = HTTPBearer(auto_error=False, description="A JWT (HS256) whose `sub` is your user id")


async def get_current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> str:
    """The user the bearer token speaks for; 401 without a valid one. (Async, so that it runs in
    the request's own task and the user it sets for the logs stays set.)"""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        user = user_from_token(
            credentials.credentials, settings.signing_secret(), settings.jwt_algorithm
        )
    except InvalidToken as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"invalid bearer token: {error}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    USER_ID.set(user)
    return user


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="A retry with the same key never does the work twice: it answers with what "
        "the first call did (or, if that is still under way, carries on with it)",
    ),
]

SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[AsyncSession, Depends(get_db)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
ClockDep = Annotated[Clock, Depends(get_clock)]
CurrentUser = Annotated[str, Depends(get_current_user)]
