"""Telling a workflow about a receipt the API just recorded: a durable signal, best effort.

The receipt on the row is what counts; the signal only wakes the workflow so it acts at once
(rematches a let-down partner while the slot is still ahead, for example). A signal is durable
in Temporal the moment it is accepted, worker or not. A session's row is committed a moment
before its workflow starts, so a missing workflow is waited for briefly; one that has finished
needs no telling. If Temporal itself does not answer, the receipt still stands: the deadline's
settlement reads it from the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from fastapi import Response, status
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from api.bounded import until_changed
from observability.context import WORKFLOW_ID
from settings import Settings

SETUP_WAIT_SECONDS = 5.0
# A pending receipt is told again at most this often (its first signal may have been lost).
RESIGNAL_AFTER = timedelta(seconds=5)

log = logging.getLogger("parley.api")


def worth_telling(asked_at: datetime, received: datetime) -> bool:
    """Tell the workflow of a receipt this call recorded, or of one old enough that its first
    signal may have been lost; not of every retry in between (no flooding its history)."""
    return asked_at == received or received - asked_at >= RESIGNAL_AFTER


class _NotStartedYet(Exception):
    """The workflow does not exist yet: it is being started right now."""


async def tell(
    handle: WorkflowHandle[Any, Any], signal: Any, arg: Any, within_seconds: float
) -> bool:
    """Signal the workflow; False (logged) if Temporal could not take it within the bound."""
    WORKFLOW_ID.set(handle.id)
    try:
        async with asyncio.timeout(within_seconds):
            return await _tell(handle, signal, arg)
    except TimeoutError:
        log.warning("could not signal %s in %s s (the receipt stands)", handle.id, within_seconds)
        return False


async def _tell(handle: WorkflowHandle[Any, Any], signal: Any, arg: Any) -> bool:
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(_NotStartedYet),
            stop=stop_after_delay(SETUP_WAIT_SECONDS),
            wait=wait_exponential(multiplier=0.02, max=0.5),
            reraise=True,
        ):
            with attempt:
                await _signal_once(handle, signal, arg)
    except (RPCError, _NotStartedYet) as error:
        log.warning("could not signal %s (the receipt stands): %s", handle.id, error)
        return False
    return True


async def _signal_once(handle: WorkflowHandle[Any, Any], signal: Any, arg: Any) -> None:
    try:
        await handle.signal(signal, arg)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            described = await handle.describe()
        except RPCError as missing:
            if missing.status == RPCStatusCode.NOT_FOUND:
                raise _NotStartedYet(str(missing)) from None
            raise
        if described.status == WorkflowExecutionStatus.RUNNING:
            raise _NotStartedYet("started between the signal and the look") from None
        # It has finished: it read the row when it closed, and needs no telling.


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


RowT = TypeVar("RowT", bound=_HasStatus)


@dataclass(frozen=True)
class Receipt:
    """A receipt on a row whose workflow carries it out: the row stays `pending` until then."""

    pending: str
    at: datetime | None
    handle: WorkflowHandle[Any, Any]
    signal: Any
    arg: Callable[[datetime], object]


async def answer_receipt(
    row: RowT,
    receipt: Receipt,
    received: datetime,
    read_now: Callable[[], Awaitable[RowT]],
    settings: Settings,
    response: Response,
) -> RowT:
    """Tell the workflow of the receipt if worth it and wait a bounded time for the row to move
    on: the row as it then stands, answered 202 while it is still pending."""
    at = receipt.at
    if row.status == receipt.pending and at is not None and worth_telling(at, received):
        bound = settings.workflow_call_timeout_seconds
        if await tell(receipt.handle, receipt.signal, receipt.arg(at), bound):
            row, _ = await until_changed(read_now, lambda r: r.status != receipt.pending, settings)
    if row.status == receipt.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return row
