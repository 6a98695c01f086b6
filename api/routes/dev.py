"""`/v1/dev/token`: sign in as anyone, on a laptop only.

The router exists only when the app signs tokens with the published development secret
(`PARLEY_DEV_MODE=true` and no `PARLEY_JWT_SECRET`): anyone can forge such tokens anyway, so
minting one over HTTP gives nothing away. With a real secret the path is not served at all (404).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, status

from api.deps import SettingsDep
from api.security import mint_token
from api.strict_route import StrictRoute
from api.user_schemas import DevTokenCreate, DevTokenPublic
from settings import DEV_JWT_SECRET, Settings

router = APIRouter(prefix="/v1/dev", tags=["development"], route_class=StrictRoute)
TOKEN_TTL = timedelta(hours=12)


def dev_sign_in_enabled(settings: Settings) -> bool:
    """Whether this app signs with the published development secret (and so may mint tokens)."""
    return settings.dev_mode and settings.signing_secret() == DEV_JWT_SECRET


def routers_for(settings: Settings) -> tuple[APIRouter, ...]:
    """The development routers this app serves: none outside development mode."""
    return (router,) if dev_sign_in_enabled(settings) else ()


@router.post(
    "/token",
    response_model=DevTokenPublic,
    status_code=status.HTTP_201_CREATED,
    summary="A development bearer token for any user (development mode only)",
)
async def create_dev_token(body: DevTokenCreate, settings: SettingsDep) -> DevTokenPublic:
    """Mint a token for `user_id`, valid for 12 hours; served only in development mode."""
    expires_at = datetime.now(UTC) + TOKEN_TTL
    token = mint_token(
        body.user_id, settings.signing_secret(), ttl=TOKEN_TTL, algorithm=settings.jwt_algorithm
    )
    return DevTokenPublic(token=token, expires_at=expires_at)
