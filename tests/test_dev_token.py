"""Development sign-in (`POST /v1/dev/token`) exists only when the app signs with the published
development secret; the page at `/` and its files are public in every mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.security import user_from_token
from settings import DEV_JWT_SECRET, Settings
from tests.served_app import served
from tests.test_schemathesis import Bookable, fuzz

DEV_TOKEN = "/v1/dev/token"


def dev_settings(settings: Settings) -> Settings:
    """The test settings as `dev.py up` runs them: development mode, no secret of its own."""
    return settings.model_copy(update={"dev_mode": True, "jwt_secret": None})


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app in this process (no server)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
        yield client


@pytest.mark.parametrize("dev_mode", [False, True], ids=["production", "dev-mode-real-secret"])
async def test_no_dev_token_path_unless_the_app_signs_with_the_development_secret(
    settings: Settings, dev_mode: bool
) -> None:
    # A real secret wins over PARLEY_DEV_MODE (settings.signing_secret): minting tokens for
    # anyone would then hand out accounts, so the path is not served at all.
    app = create_app(settings.model_copy(update={"dev_mode": dev_mode}))
    async with client_of(app) as client:
        minted = await client.post(DEV_TOKEN, json={"user_id": "mallory"})
        assert minted.status_code == 404, minted.text
        assert (await client.options(DEV_TOKEN)).status_code == 404
        assert DEV_TOKEN not in (await client.get("/openapi.json")).json()["paths"]
        page = await client.get("/")
        assert page.status_code == 200 and "Paste your bearer token" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        script = await client.get("/web/app.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert (await client.get("/v1/match-requests")).status_code == 401  # still guarded


async def test_in_development_mode_a_dev_token_speaks_for_its_user(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(dev_settings(settings), sessionmaker=sessionmaker)
    async with client_of(app) as client:
        minted = await client.post(DEV_TOKEN, json={"user_id": "dev-alice"})
        assert minted.status_code == 201, minted.text
        token = minted.json()["token"]
        assert user_from_token(token, DEV_JWT_SECRET) == "dev-alice"
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["user_id"] == "dev-alice"
        operation = (await client.get("/openapi.json")).json()["paths"][DEV_TOKEN]["post"]
        assert "security" not in operation and "422" in operation["responses"]


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": ""}, {"user_id": " "}, {"user_id": "a\x01"}, {"user_id": "x" * 201},
     {"user_id": 5}],
    ids=["missing", "empty", "blank", "control", "long", "number"],
)  # fmt: skip
async def test_a_bad_user_id_is_a_422_naming_the_field(
    settings: Settings, body: dict[str, object]
) -> None:
    async with client_of(create_app(dev_settings(settings))) as client:
        refused = await client.post(DEV_TOKEN, json=body)
        assert refused.status_code == 422, refused.text
        assert [issue["loc"] for issue in refused.json()["detail"]] == [["body", "user_id"]]
        extra = await client.post(DEV_TOKEN, json={"user_id": "a", "admin": True})
        assert extra.status_code == 422
        assert extra.json()["detail"][0]["loc"] == ["body", "admin"]
        broken = await client.post(
            DEV_TOKEN, content=b"{", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400


async def test_schemathesis_finds_no_failure_in_dev_sign_in(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    env: WorkflowEnvironment,
) -> None:
    app = create_app(
        dev_settings(settings),
        temporal=env.client,
        sessionmaker=sessionmaker,
        clock=env.get_current_time,
    )
    nobody = Bookable(slots=[], languages=[])
    async with served(app) as base_url:
        outcome = await asyncio.to_thread(fuzz, base_url, "not-a-token", nobody, DEV_TOKEN)
    print(outcome.summary())
    assert not outcome.errors, outcome.errors
    assert not outcome.failures, "\n".join(outcome.failures)
    codes = {code for (_, path, code) in outcome.statuses if path == DEV_TOKEN}
    assert 201 in codes and 422 in codes and not [code for code in codes if code >= 500]
