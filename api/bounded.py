"""Answers within a bound, whether or not a worker is there to act.

A workflow call (a booking, a reschedule) gives up after `PARLEY_WORKFLOW_CALL_TIMEOUT_SECONDS`
with a 503 that says nothing changed; the workflow refuses the same work if a worker only picks
it up later (`answer_by`). A recorded receipt (a cancel, an end) waits for its effect as long,
then answers 202: the change is recorded and will be carried out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import HTTPException, status
from temporalio.client import RPCTimeoutOrCancelledError

from settings import Settings

T = TypeVar("T")
R = TypeVar("R")

FIRST_POLL_SECONDS = 0.02
LONGEST_POLL_SECONDS = 0.25


class NoWorkerInTime(HTTPException):
    """503: no worker acted within the bound, and the workflow will not act on it later."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no worker took this within {seconds:g} s, so nothing changed; retry later "
            "(with the same Idempotency-Key, a retry can never do the work twice)",
            headers={"Retry-After": str(max(1, math.ceil(seconds)))},
        )


def answer_by(received: datetime, settings: Settings) -> datetime:
    """When the workflow must have taken the call for the API to still be waiting for it.

    Earlier than the API's own bound by the allowed clock skew (at most half the bound), so a
    call a worker accepts in time also completes in time, and one it takes later is refused.
    """
    bound = settings.workflow_call_timeout_seconds
    margin = min(settings.receipt_skew_seconds, bound / 2)
    return received + timedelta(seconds=bound - margin)


async def within(call: Awaitable[T], settings: Settings) -> T:
    """Await a workflow start or update for at most the call bound, else answer 503."""
    seconds = settings.workflow_call_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await call
    except (TimeoutError, RPCTimeoutOrCancelledError):
        raise NoWorkerInTime(seconds) from None


async def until_changed(
    read: Callable[[], Awaitable[R]], changed: Callable[[R], bool], settings: Settings
) -> tuple[R, bool]:
    """Re-read until `changed` holds or the call bound passes; the last read, and whether it
    changed. Polls back off from 20 ms to 250 ms; each read releases its connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.workflow_call_timeout_seconds
    pause = FIRST_POLL_SECONDS
    while True:
        current = await read()
        if changed(current):
            return current, True
        left = deadline - loop.time()
        if left <= 0:
            return current, False
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, LONGEST_POLL_SECONDS)
