"""A matchmaker's bookkeeping of its shard, without Temporal: who waits, who is seated in a
session that may still change, who is finished, and whose status an earlier run may have changed.

Every run of a matchmaker starts from what Postgres says waits and builds its pool anew; a
handover (continue-as-new) carries only the counts, never the pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

# Room for the clocks of Temporal's hosts to disagree when telling whether a request is older
# than this run.
CLOCK_SKEW = timedelta(seconds=5)


class Entry(Protocol):
    """A waiting request as the pool needs it."""

    @property
    def request_id(self) -> str: ...

    @property
    def native_language_id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


EntryT = TypeVar("EntryT", bound=Entry)
EntryT_co = TypeVar("EntryT_co", bound=Entry, covariant=True)


class Seat(Protocol[EntryT_co]):
    """A session nobody has joined, with its two requests."""

    @property
    def session_id(self) -> str: ...

    @property
    def first(self) -> EntryT_co: ...

    @property
    def second(self) -> EntryT_co: ...


SeatT = TypeVar("SeatT", bound=Seat[Any])


@dataclass(frozen=True)
class Handover:
    """What a run hands the next one: counts only, since the next run reloads the pool."""

    sessions_created: int
    sessions_rearranged: int


class ShardPool(Generic[EntryT, SeatT]):
    """Who waits in a shard, who sits in a session that may still change, and who is finished."""

    def __init__(
        self, run_started: datetime, sessions_created: int = 0, sessions_rearranged: int = 0
    ) -> None:
        self.waiting: dict[str, EntryT] = {}
        # This shard's sessions nobody has joined: their partners may still change.
        self.seated: dict[str, SeatT] = {}
        self._finished: set[str] = set()
        # Signalled requests an earlier execution may have finished: `_finished` is not carried
        # over, and a terminated or failed matchmaker's successor starts afresh.
        self._unconfirmed: set[str] = set()
        self._run_started = run_started
        self.sessions_created = sessions_created
        self.sessions_rearranged = sessions_rearranged

    def load(self, entries: Iterable[EntryT], seats: Iterable[SeatT]) -> None:
        """Take in what Postgres shows: waiting requests, and sessions nobody has joined."""
        loaded = list(entries)
        for entry in loaded:
            self.waiting.setdefault(entry.request_id, entry)
        self.seated = {seat.session_id: seat for seat in seats}
        for seat in self.seated.values():
            self._finished.update((seat.first.request_id, seat.second.request_id))
        # What Postgres shows waiting needs no second look.
        self._unconfirmed -= {entry.request_id for entry in loaded}

    def add(self, entry: EntryT) -> bool:
        """A signalled request joins the pool; False for a repeat of a known one."""
        if entry.request_id in self._finished or entry.request_id in self.waiting:
            return False
        self.waiting[entry.request_id] = entry
        if entry.created_at < self._run_started + CLOCK_SKEW:
            self._unconfirmed.add(entry.request_id)
        return True

    def take_unconfirmed(self) -> list[str]:
        """The waiting requests older than this run that nobody has confirmed, sorted; each is
        asked about once."""
        unsure = sorted(self._unconfirmed & self.waiting.keys())
        self._unconfirmed.clear()
        return unsure

    def retire(self, *request_ids: str) -> None:
        """These requests leave the pool for good: a repeated signal for one is ignored."""
        for request_id in request_ids:
            self.waiting.pop(request_id, None)
            self._finished.add(request_id)

    def known(self) -> tuple[int, int]:
        """What a refused persist can teach: requests gone from the pool, sessions from seats."""
        return len(self.waiting), len(self.seated)

    def waiting_on_both_sides(self) -> bool:
        """Whether both languages have someone waiting: an augmenting path runs from someone
        waiting on one side to someone on the other."""
        return len({entry.native_language_id for entry in self.waiting.values()}) == 2

    def with_people_of(self, dissolved: Iterable[str]) -> dict[str, EntryT]:
        """The waiting requests, and those seated in these sessions."""
        entries = dict(self.waiting)
        for session_id in dissolved:
            seat = self.seated[session_id]
            entries[seat.first.request_id] = seat.first
            entries[seat.second.request_id] = seat.second
        return entries

    def people_of(self, session_id: str) -> set[str]:
        """The two requests seated in a session."""
        seat = self.seated[session_id]
        return {seat.first.request_id, seat.second.request_id}

    def dissolved(self, session_ids: Iterable[str]) -> None:
        """These sessions were rearranged away."""
        count = 0
        for session_id in session_ids:
            del self.seated[session_id]
            count += 1
        self.sessions_rearranged += count

    def forget_seats(self, stale_session_ids: Iterable[str], dead_request_ids: set[str]) -> None:
        """Sessions that can no longer be rearranged: stale ones, or holding a dead request."""
        stale = set(stale_session_ids)
        for session_id, seat in list(self.seated.items()):
            if session_id in stale or {seat.first.request_id, seat.second.request_id} & (
                dead_request_ids
            ):
                del self.seated[session_id]

    def handover(self) -> Handover:
        """What the next run starts with."""
        return Handover(self.sessions_created, self.sessions_rearranged)
