"""What every scenario gets: the API client, Temporal, Postgres, the run's id and its dice."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from bench.api_client import BenchApi, Booking
from bench.costs import CostMeter
from bench.environment import Target
from domain.levels import Level
from domain.slots import next_slot_after

LEVELS = [level.value for level in Level]
DURATION_MINUTES = 15


@dataclass
class BenchContext:
    """Shared by the scenarios of one run."""

    target: Target
    api: BenchApi
    temporal: Client
    engine: AsyncEngine
    run_id: str
    languages: list[str]
    rng: random.Random
    costs: CostMeter
    _users: count[int] = field(default_factory=count)

    @property
    def slot_minutes(self) -> int:
        """The stack's slot grid."""
        return self.target.settings.slot_minutes

    def user(self, scenario: str) -> str:
        """A user id never used before, tagged with the run and the scenario."""
        return f"bench-{self.run_id}-{scenario}-{next(self._users)}"

    def slot_at_least(self, delay: timedelta) -> datetime:
        """The first slot start on the grid that is at least `delay` away."""
        return next_slot_after(datetime.now(UTC) + delay, self.slot_minutes)

    def language_pairs(self, how_many: int) -> list[tuple[str, str]]:
        """`how_many` distinct unordered language pairs, drawn with the run's dice."""
        pool = [(a, b) for i, a in enumerate(self.languages) for b in self.languages[i + 1 :]]
        return self.rng.sample(pool, min(how_many, len(pool)))

    def reciprocal(
        self, scenario: str, pair: tuple[str, str], slot: datetime, level: str
    ) -> tuple[Booking, Booking]:
        """Two users who can exchange: one speaks a and learns b, the other the reverse."""
        a, b = pair
        return (
            Booking(self.user(scenario), a, b, level, slot, DURATION_MINUTES),
            Booking(self.user(scenario), b, a, level, slot, DURATION_MINUTES),
        )

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a read-only query against the stack's database."""
        async with self.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())
