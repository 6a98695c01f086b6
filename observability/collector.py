"""Gauges read from Postgres at each scrape: what waits, per slot, and what a matchmaker missed.

Every API process exports the same values (they describe the database, not the process), so
dashboards and alerts take `max` over instances of these, never `sum`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

WAITING = "parley_waiting_requests"
WAITING_AFTER_START = "parley_waiting_after_start"
PAIRABLE_AFTER_START = "parley_pairable_waiting_after_start"
# Slots whose waiting requests are shown one by one (the rest are in the total).
SLOTS_AHEAD = "48 hours"

_WAITING_BY_SLOT = f"""
SELECT availability_start, count(*) FROM match_requests
 WHERE status = 'waiting' AND cancel_requested_at IS NULL
   AND availability_start < now() + interval '{SLOTS_AHEAD}'
 GROUP BY availability_start
"""
_TOTALS = """
SELECT count(*) FILTER (WHERE cancel_requested_at IS NULL),
       count(*) FILTER (WHERE availability_end < now() - interval '1 minute')
  FROM match_requests WHERE status = 'waiting'
"""
# Two requests still waiting a minute after their windows' last slot started, that could have
# paired: windows sharing a slot start, reciprocal languages, the same duration, other users,
# levels at most one step apart.
_PAIRABLE = """
WITH late AS (
    SELECT id, user_id, native_language_id AS native, learning_language_id AS learning,
           availability_start AS first_slot, availability_end AS last_slot,
           preferred_duration_minutes AS minutes,
           array_position(ARRAY['beginner', 'elementary', 'intermediate',
                                'upper_intermediate', 'advanced'], proficiency_level) AS rank
      FROM match_requests
     WHERE status = 'waiting' AND cancel_requested_at IS NULL
       AND availability_end < now() - interval '1 minute'
)
SELECT count(DISTINCT a.id) FROM late a JOIN late b
    ON a.first_slot <= b.last_slot AND b.first_slot <= a.last_slot
   AND a.minutes = b.minutes AND a.native = b.learning
   AND a.learning = b.native AND a.user_id <> b.user_id AND abs(a.rank - b.rank) <= 1
"""

log = logging.getLogger("parley.metrics")


class PostgresGauges(Collector):
    """Reads the gauges with one short connection, at most once every few seconds however often
    /metrics is read (it may be open to anyone, and each read queries Postgres)."""

    def __init__(self, database_url: str, fresh_for_seconds: float = 5.0) -> None:
        self._url = database_url
        self._fresh_for = fresh_for_seconds
        self._cached: tuple[float, list[GaugeMetricFamily]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges, or none at all while Postgres does not answer (scrape still succeeds)."""
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] >= self._fresh_for:
            self._cached = (now, list(self._read()))
        yield from self._cached[1]

    def _read(self) -> Iterator[GaugeMetricFamily]:
        try:
            with psycopg.connect(self._url, connect_timeout=2, autocommit=True) as conn:
                by_slot = conn.execute(_WAITING_BY_SLOT).fetchall()
                waiting, after_start = conn.execute(_TOTALS).fetchone() or (0, 0)
                (pairable,) = conn.execute(_PAIRABLE).fetchone() or (0,)
        except psycopg.Error as error:
            log.warning("could not read the Postgres gauges: %s", error)
            return
        per_slot = GaugeMetricFamily(
            WAITING,
            f"Requests waiting for a partner, by slot start (slots in the next {SLOTS_AHEAD}; "
            'slot_start="all" counts every slot)',
            labels=["slot_start"],
        )
        for slot, count in sorted(by_slot):
            per_slot.add_metric([slot.isoformat()], count)
        per_slot.add_metric(["all"], waiting)
        yield per_slot
        yield GaugeMetricFamily(
            WAITING_AFTER_START,
            "Requests still waiting a minute after their slot started (should expire at once)",
            value=after_start,
        )
        yield GaugeMetricFamily(
            PAIRABLE_AFTER_START,
            "Requests still waiting a minute after their slot started though a partner waits too",
            value=pairable,
        )
