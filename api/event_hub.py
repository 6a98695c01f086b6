"""One LISTEN connection per API process, shared by every event stream it serves.

The triggers of migration 0007 `pg_notify('parley_events', user_id)` when an event commits. The
hub wakes the streams of that user, which then read the new rows from the table: the table is
the truth, a notification only says "look". After the connection is lost and made again every
stream is woken, since notifications sent meanwhile are gone. The connection is opened for the
first stream and closed with the last, so an idle process (or a test app) holds none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import psycopg

CHANNEL = "parley_events"
RECONNECT_SECONDS = 1.0
log = logging.getLogger("parley.api.events")


class HubUnavailable(Exception):
    """The hub could not start listening in time (Postgres does not answer)."""


class EventHub:
    """Wakes the streams of the user each notification names."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._streams: dict[str, set[asyncio.Event]] = {}
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def streams(self) -> int:
        """How many streams are subscribed now."""
        return sum(len(wakes) for wakes in self._streams.values())

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up."""
        return self._task is not None and self._listening.is_set()

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: str, timeout: float = 5.0) -> AsyncIterator[asyncio.Event]:
        """An event set whenever `user_id` may have new events; yielded once LISTEN is active,
        so that whatever commits after the caller's next read of the table wakes it."""
        wake = asyncio.Event()
        async with self._lock:
            self._streams.setdefault(user_id, set()).add(wake)
            if self._task is None:
                self._task = asyncio.create_task(self._listen(), name="parley-event-hub")
        try:
            try:
                await asyncio.wait_for(self._listening.wait(), timeout)
            except TimeoutError:
                raise HubUnavailable("not listening for events") from None
            yield wake
        finally:
            await self._leave(user_id, wake)

    async def _leave(self, user_id: str, wake: asyncio.Event) -> None:
        async with self._lock:
            wakes = self._streams.get(user_id, set())
            wakes.discard(wake)
            if not wakes:
                self._streams.pop(user_id, None)
            if not self._streams:
                await self._stop()

    async def close(self) -> None:
        """Stop listening (the app's shutdown)."""
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        task, self._task = self._task, None
        self._listening.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _wake(self, user_id: str | None) -> None:
        targets = self._streams.values() if user_id is None else [self._streams.get(user_id, set())]
        for wakes in targets:
            for wake in wakes:
                wake.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    self._wake(None)  # anything may have committed while not listening
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except psycopg.Error as error:
                log.warning("event hub lost its LISTEN connection: %s", error)
            self._listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)
