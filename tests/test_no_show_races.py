"""A join and the no-show sweep racing for one session: whichever commits first decides, and the
other sees it (a join after the sweep is not recorded; a sweep after a join spares the session)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.rows import insert_pair
from tests.test_no_show_settlement import DEADLINE, fresh_slot, join, session_status, sweep


@contextmanager
def uncommitted(database_url: str, sql: str, params: tuple[Any, ...]) -> Iterator[None]:
    """Another transaction that has run `sql` and holds its row locks until the block ends."""
    with psycopg.connect(database_url) as other:
        other.execute(sql, params)
        yield
        other.commit()


async def still_waiting(task: asyncio.Task[Any]) -> None:
    """Fail unless `task` is still blocked (on a row lock) a moment later."""
    await asyncio.sleep(0.3)
    assert not task.done(), "it should wait for the other transaction's row lock"


async def test_a_join_after_the_sweep_is_not_recorded(
    conn: psycopg.Connection[Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    await sweep(sessionmaker, slot, slot + DEADLINE)
    assert not await join(sessionmaker, session_id, one, slot + DEADLINE)
    assert session_status(conn, session_id)[0] == "cancelled"


async def test_a_join_waiting_on_the_sweeps_row_lock_finds_the_session_closed(
    database_url: str,
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    swept = "UPDATE sessions SET status = 'cancelled', cancel_reason = 'no_show' WHERE id = %s"
    with uncommitted(database_url, swept, (session_id,)):
        joining = asyncio.create_task(join(sessionmaker, session_id, one, slot))
        await still_waiting(joining)
    assert await joining is False


async def test_a_sweep_waiting_on_a_joins_row_lock_spares_the_session_it_completes(
    database_url: str,
    conn: psycopg.Connection[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    slot = fresh_slot()
    session_id, (one, _), _ = insert_pair(conn, slot)
    assert await join(sessionmaker, session_id, one, slot)
    second_join = "UPDATE sessions SET participant_two_joined_at = %s WHERE id = %s"
    with uncommitted(database_url, second_join, (slot, session_id)):
        sweeping = asyncio.create_task(sweep(sessionmaker, slot, slot + DEADLINE))
        await still_waiting(sweeping)
    assert await sweeping == []
    assert session_status(conn, session_id)[0] == "scheduled"
