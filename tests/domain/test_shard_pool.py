"""A matchmaker's bookkeeping of its shard, as sentences."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.shard_pool import CLOCK_SKEW, Handover, ShardPool

RUN_STARTED = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LATER = RUN_STARTED + CLOCK_SKEW + timedelta(seconds=1)
EARLIER = RUN_STARTED - timedelta(minutes=1)


@dataclass(frozen=True)
class Entry:
    request_id: str
    native_language_id: str = "english"
    created_at: datetime = LATER


@dataclass(frozen=True)
class Seat:
    session_id: str
    first: Entry
    second: Entry


def pool() -> ShardPool[Entry, Seat]:
    return ShardPool(RUN_STARTED)


def test_a_signalled_request_waits_and_a_repeat_of_it_is_ignored() -> None:
    shard = pool()
    assert shard.add(Entry("a"))
    assert not shard.add(Entry("a", created_at=EARLIER))
    assert list(shard.waiting) == ["a"] and shard.waiting["a"].created_at == LATER


def test_a_retired_request_never_comes_back() -> None:
    shard = pool()
    shard.add(Entry("a"))
    shard.retire("a")
    assert not shard.add(Entry("a"))
    assert shard.waiting == {}


def test_a_request_older_than_the_run_is_unconfirmed_until_asked_about_once() -> None:
    shard = pool()
    shard.add(Entry("old", created_at=EARLIER))
    shard.add(Entry("new"))
    assert shard.take_unconfirmed() == ["old"]
    assert shard.take_unconfirmed() == []


def test_a_request_within_the_clock_skew_of_the_run_start_counts_as_older() -> None:
    shard = pool()
    shard.add(Entry("close", created_at=RUN_STARTED + CLOCK_SKEW - timedelta(seconds=1)))
    assert shard.take_unconfirmed() == ["close"]


def test_what_postgres_shows_waiting_needs_no_second_look() -> None:
    shard = pool()
    shard.add(Entry("a", created_at=EARLIER))
    shard.load([Entry("a", created_at=EARLIER)], [])
    assert shard.take_unconfirmed() == []


def test_loading_keeps_a_signalled_entry_and_finishes_the_seated_people() -> None:
    shard = pool()
    shard.add(Entry("a"))
    seat = Seat("s1", Entry("b"), Entry("c", "spanish"))
    shard.load([Entry("a", created_at=EARLIER), Entry("d")], [seat])
    assert list(shard.waiting) == ["a", "d"] and shard.waiting["a"].created_at == LATER
    assert shard.seated == {"s1": seat}
    assert not shard.add(Entry("b")) and not shard.add(Entry("c"))


def test_someone_waits_on_both_sides_only_when_both_languages_wait() -> None:
    shard = pool()
    shard.add(Entry("a", "english"))
    assert not shard.waiting_on_both_sides()
    shard.add(Entry("b", "spanish"))
    assert shard.waiting_on_both_sides()


def test_a_rearrangement_sees_the_waiting_and_the_people_of_dissolved_sessions() -> None:
    shard = pool()
    shard.add(Entry("a"))
    shard.load([], [Seat("s1", Entry("b"), Entry("c", "spanish"))])
    assert set(shard.with_people_of(["s1"])) == {"a", "b", "c"}
    assert shard.people_of("s1") == {"b", "c"}
    shard.dissolved(["s1"])
    assert shard.seated == {} and shard.sessions_rearranged == 1


def test_stale_seats_and_seats_holding_a_dead_request_are_forgotten() -> None:
    shard = pool()
    seats = [Seat(f"s{i}", Entry(f"{i}a"), Entry(f"{i}b", "spanish")) for i in range(3)]
    shard.load([], seats)
    shard.forget_seats(["s0"], {"1b"})
    assert list(shard.seated) == ["s2"]


def test_what_changed_is_known_by_the_pool_and_seat_counts() -> None:
    shard = pool()
    shard.add(Entry("a"))
    before = shard.known()
    shard.retire("a")
    assert shard.known() != before


def test_a_handover_carries_the_counts_and_not_the_pool() -> None:
    shard = ShardPool[Entry, Seat](RUN_STARTED, sessions_created=3, sessions_rearranged=1)
    shard.add(Entry("a"))
    shard.sessions_created += 2
    assert shard.handover() == Handover(sessions_created=5, sessions_rearranged=1)
