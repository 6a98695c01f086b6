"""What a pool needs to know of the people behind its requests: who is unreliable, who blocks
whom. Read when requests join a pool, so the matchmaker never queries per pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.requests import PoolEntry
from db.blocks import blocks_involving
from db.reliability import unreliable_among


async def with_user_facts(
    db: AsyncSession, entries: list[PoolEntry], now: datetime
) -> list[PoolEntry]:
    """The entries with their owners' reliability and blocks filled in."""
    users = sorted({entry.user_id for entry in entries})
    if not users:
        return entries
    unreliable = await unreliable_among(db, users, now)
    blocks = await blocks_involving(db, users)
    return [
        replace(
            entry,
            unreliable=entry.user_id in unreliable,
            blocked_user_ids=tuple(sorted(blocks.get(entry.user_id, ()))),
        )
        for entry in entries
    ]
