"""`/healthz` and `/readyz`: public probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import DbDep, TemporalDep
from api.schemas import Health

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_SECONDS = 3


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: answers while the process runs."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Postgres and Temporal answer",
    responses={503: {"model": Health}},
)
async def readyz(db: DbDep, temporal: TemporalDep) -> Health | JSONResponse:
    """Readiness: 200 only when both Postgres and Temporal answer."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(db.execute(text("SELECT 1")), PROBE_TIMEOUT_SECONDS)
        checks["postgres"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        checks["postgres"] = f"error: {type(error).__name__}"
    try:
        await asyncio.wait_for(temporal.service_client.check_health(), PROBE_TIMEOUT_SECONDS)
        checks["temporal"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["temporal"] = f"error: {type(error).__name__}"
    if all(value == "ok" for value in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(
        status_code=503, content=Health(status="unavailable", checks=checks).model_dump()
    )
