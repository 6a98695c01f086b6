"""The instant a person means by a wall-clock time in their time zone (IANA names, e.g.
`Europe/Berlin`). A time the clocks skip (spring forward) or show twice (fall back) means no
single instant, so it is refused with the reason rather than guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class LocalTimeError(ValueError):
    """A local time that names no single instant, or an unknown time zone."""


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`; LocalTimeError if there is none."""
    if name not in known_time_zones():
        raise LocalTimeError(f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise LocalTimeError(f"{name!r} is not an IANA time zone name") from error


def instant_of(value: datetime, zone: str) -> datetime:
    """`value` in UTC: as it says if it carries an offset, else as a wall-clock time in `zone`."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    tz = time_zone(zone)
    earlier, later = value.replace(tzinfo=tz, fold=0), value.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        # Either the clocks skip this time (no instant shows it) or show it twice.
        if _shows(earlier, value):
            raise LocalTimeError(
                f"{value:%Y-%m-%d %H:%M} happens twice in {zone} (the clocks go back): "
                "give a UTC offset to say which"
            )
        raise LocalTimeError(
            f"{value:%Y-%m-%d %H:%M} does not exist in {zone} (the clocks skip it)"
        )
    try:
        return earlier.astimezone(UTC)
    except OverflowError:
        raise LocalTimeError(f"{value:%Y-%m-%d %H:%M} in {zone} is out of range in UTC") from None


def _shows(candidate: datetime, wall: datetime) -> bool:
    """Whether the clock in the candidate's zone really shows `wall` at that instant."""
    round_trip = candidate.astimezone(UTC).astimezone(candidate.tzinfo)
    return round_trip.replace(tzinfo=None) == wall


@cache
def known_time_zones() -> frozenset[str]:
    """Every IANA zone name this machine's zone database holds (read once)."""
    return frozenset(available_timezones())
