"""The simulated users' side of the HTTP API: tokens, booking, and watching for a session."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.security import mint_token

# How often a waiting user asks for their session: fine enough for latencies of ~100 ms,
# coarse enough not to become the load being measured.
POLL_SECONDS = 0.025
# Answers that say "not now" (an overloaded stack): a poll asks again.
BUSY = (429, 503)
BUSY_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Booking:
    """One request as a simulated user sends it."""

    user_id: str
    native: str
    learning: str
    level: str
    slot_start: datetime
    duration_minutes: int
    # The window's last slot start; None books the one slot `slot_start`.
    last_start: datetime | None = None


@dataclass
class Booked:
    """What came back: the request id, the status code, and when the answer arrived."""

    booking: Booking
    status_code: int
    request_id: str | None
    sent_at: float
    answered_at: float
    error: str | None = None

    @property
    def seconds(self) -> float:
        """How long the POST took."""
        return self.answered_at - self.sent_at


def pool_limits(connections: int) -> httpx.Limits:
    """A connection pool whose idle connections close before uvicorn's 5 s keep-alive does."""
    # A call sent on a connection the server is closing gets no answer at all
    # (httpx.RemoteProtocolError), so the client must let go first.
    return httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0
    )


class BenchApi:
    """An async HTTP client for many users at once, each with its own bearer token."""

    def __init__(self, base_url: str, secret: str, connections: int = 64) -> None:
        self._secret = secret
        self._tokens: dict[str, str] = {}
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(60.0),
            limits=pool_limits(connections),
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    def headers(self, user_id: str) -> dict[str, str]:
        """The bearer header of `user_id`, minted once."""
        token = self._tokens.get(user_id)
        if token is None:
            token = self._tokens[user_id] = mint_token(
                user_id, self._secret, ttl=timedelta(hours=6)
            )
        return {"Authorization": f"Bearer {token}"}

    async def book(self, booking: Booking) -> Booked:
        """POST /v1/match-requests; a failure is recorded, not raised."""
        body = {
            "native_language_id": booking.native,
            "learning_language_id": booking.learning,
            "proficiency_level": booking.level,
            "availability_start": booking.slot_start.isoformat(),
            "preferred_duration_minutes": booking.duration_minutes,
        }
        if booking.last_start is not None:
            body["availability_end"] = booking.last_start.isoformat()
        sent = time.monotonic()
        try:
            response = await self.http.post(
                "/v1/match-requests", json=body, headers=self.headers(booking.user_id)
            )
        except httpx.HTTPError as error:
            return Booked(booking, 0, None, sent, time.monotonic(), f"{type(error).__name__}")
        answered = time.monotonic()
        if response.status_code != 201:
            return Booked(booking, response.status_code, None, sent, answered, response.text[:300])
        return Booked(booking, 201, response.json()["id"], sent, answered)

    async def sessions(self, user_id: str) -> list[dict[str, Any]]:
        """GET /v1/sessions as `user_id` (asked again while the stack answers it is busy)."""
        deadline = time.monotonic() + BUSY_RETRY_SECONDS
        response = await self.http.get("/v1/sessions", headers=self.headers(user_id))
        while response.status_code in BUSY and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS * 20)
            response = await self.http.get("/v1/sessions", headers=self.headers(user_id))
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    async def wait_for_session(self, user_id: str, timeout: float) -> tuple[float, str] | None:
        """Poll until `user_id` has a session; the monotonic time it was seen, and its id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.http.get("/v1/sessions", headers=self.headers(user_id))
            if response.status_code not in BUSY:
                response.raise_for_status()
                found = response.json()
                if found:
                    return time.monotonic(), found[0]["id"]
            await asyncio.sleep(POLL_SECONDS)
        return None

    async def join(self, user_id: str, session_id: str) -> str | None:
        """POST /v1/sessions/{id}/join; None when it worked, else the status and the reason."""
        response = await self.http.post(
            f"/v1/sessions/{session_id}/join", headers=self.headers(user_id)
        )
        if response.status_code == 200:
            return None
        return f"{response.status_code} {response.text[:200]}"

    async def end(self, user_id: str, session_id: str) -> str | None:
        """POST /v1/sessions/{id}/end; None when it was recorded, else the status and reason."""
        response = await self.http.post(
            f"/v1/sessions/{session_id}/end", headers=self.headers(user_id)
        )
        if response.status_code in (200, 202):
            return None
        return f"{response.status_code} {response.text[:200]}"

    async def wait_for_status(
        self, user_id: str, session_id: str, status: str, timeout: float
    ) -> bool:
        """Poll GET /v1/sessions/{id} until the session has `status`; whether it did in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.http.get(
                f"/v1/sessions/{session_id}", headers=self.headers(user_id)
            )
            if response.status_code not in BUSY:
                response.raise_for_status()
                if response.json()["status"] == status:
                    return True
            await asyncio.sleep(POLL_SECONDS * 4)
        return False

    async def language_ids(self) -> list[str]:
        """Every language the service knows (a public endpoint)."""
        response = await self.http.get("/v1/languages")
        response.raise_for_status()
        return [language["id"] for language in response.json()]
