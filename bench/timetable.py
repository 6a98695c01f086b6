"""Work a load generator sets for later: each piece runs at its moment, alongside the loop that
set it, and the lot can be dropped at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime


class Timetable:
    """Coroutines due at given moments, each kept referenced until it finishes."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def at(self, when: datetime, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` at `when` (now if that has passed)."""

        async def delayed() -> None:
            await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))
            await work()

        task = asyncio.ensure_future(delayed())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drop(self) -> None:
        """Cancel whatever has not run yet, and wait until it has gone."""
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
