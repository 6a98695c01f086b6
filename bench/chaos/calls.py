"""The chaos driver's HTTP side: every call recorded (method, path, send and answer time, status),
spread over every API process, and state changes retried with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.security import mint_token
from bench.api_client import pool_limits

UUID_SEGMENT = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Answers that ask for the same call again later: no worker could act in time (503), or the
# user's rate limit (429). Retries are bounded: a user gives up after a while too.
RETRIED = frozenset({429, 503})
MAX_ATTEMPTS = 8
MAX_RETRY_AFTER_SECONDS = 5.0
GIVE_UP_AFTER = timedelta(seconds=60)
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Call:
    """One HTTP exchange as the driver saw it; status 0 means no HTTP answer came."""

    method: str
    path: str
    user_id: str
    api: int
    sent: datetime
    answered: datetime
    status: int
    idempotency_key: str | None = None
    detail: str = ""
    retry_after: float | None = None

    @property
    def endpoint(self) -> str:
        """The path with ids taken out: `POST /v1/sessions/{id}/join`."""
        return f"{self.method} {UUID_SEGMENT.sub('/{id}', self.path.split('?')[0])}"

    def as_json(self) -> dict[str, Any]:
        """The call for the JSON report."""
        return {
            "method": self.method,
            "path": self.path,
            "user": self.user_id,
            "api": self.api,
            "sent": self.sent.isoformat(),
            "answered": self.answered.isoformat(),
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class Outcome:
    """A state-changing call after its retries: every attempt, and the last answer's body."""

    attempts: list[Call] = field(default_factory=list)
    body: Any = None

    @property
    def status(self) -> int:
        """The last attempt's status."""
        return self.attempts[-1].status

    @property
    def first_sent(self) -> datetime:
        """When the user first asked: what a fair deadline is judged by."""
        return self.attempts[0].sent

    @property
    def ok(self) -> bool:
        """Answered 2xx in the end."""
        return 200 <= self.status < 300


class RecordingApi:
    """Many users' HTTP calls to several API processes, taken in turn, all recorded."""

    def __init__(self, base_urls: Sequence[str], secret: str) -> None:
        self._secret = secret
        self._tokens: dict[str, str] = {}
        self._clients = [
            httpx.AsyncClient(
                base_url=url,
                timeout=httpx.Timeout(TIMEOUT_SECONDS),
                limits=pool_limits(64),
            )
            for url in base_urls
        ]
        self._turn = itertools.cycle(range(len(self._clients)))
        self.calls: list[Call] = []

    async def close(self) -> None:
        """Close every connection pool."""
        await asyncio.gather(*(client.aclose() for client in self._clients))

    def _headers(self, user_id: str) -> dict[str, str]:
        token = self._tokens.get(user_id)
        if token is None:
            token = self._tokens[user_id] = mint_token(
                user_id, self._secret, ttl=timedelta(hours=6)
            )
        return {"Authorization": f"Bearer {token}"}

    async def _send(
        self, method: str, path: str, user_id: str, body: Any = None, key: str | None = None
    ) -> tuple[Call, Any]:
        api = next(self._turn)
        headers = self._headers(user_id)
        if key is not None:
            headers["Idempotency-Key"] = key
        sent = datetime.now(UTC)
        try:
            response = await self._clients[api].request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            call = Call(method, path, user_id, api, sent, datetime.now(UTC), 0, key, repr(error))
            self.calls.append(call)
            return call, None
        answered = datetime.now(UTC)
        ok = 200 <= response.status_code < 300
        call = Call(
            method, path, user_id, api, sent, answered, response.status_code, key,
            detail="" if ok else response.text[:300],
            retry_after=_seconds(response.headers.get("Retry-After")),
        )  # fmt: skip
        self.calls.append(call)
        return call, _json(response) if ok else None

    async def get(self, user_id: str, path: str) -> Any:
        """A read; None unless it answered 2xx."""
        _, parsed = await self._send("GET", path, user_id)
        return parsed

    async def change(self, user_id: str, path: str, body: Any = None) -> Outcome:
        """A state-changing POST with its own Idempotency-Key, retried with that same key while
        the answer is 503 or 429 (after Retry-After) or no answer came, within bounds."""
        key = str(uuid.uuid4())
        outcome = Outcome()
        while True:
            call, parsed = await self._send("POST", path, user_id, body, key)
            outcome.attempts.append(call)
            outcome.body = parsed
            retry = call.status in RETRIED or call.status == 0
            waited_long = datetime.now(UTC) - outcome.first_sent > GIVE_UP_AFTER
            if not retry or len(outcome.attempts) >= MAX_ATTEMPTS or waited_long:
                return outcome
            await asyncio.sleep(_pause(call))


def write_calls(path: Path, calls: list[Call]) -> None:
    """Every call, one JSON object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(call.as_json()) + "\n" for call in calls))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _seconds(header: str | None) -> float | None:
    """A Retry-After given in seconds (the form Parley sends), else None."""
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _pause(call: Call) -> float:
    """Seconds to wait before retrying `call`: its Retry-After, within bounds, else one."""
    seconds = call.retry_after if call.retry_after is not None else 1.0
    return min(max(seconds, 0.2), MAX_RETRY_AFTER_SECONDS)
