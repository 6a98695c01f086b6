"""The fixed UTC slot grid that every session starts on."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def require_aware(t: datetime) -> datetime:
    """Return t in UTC, refusing a naive datetime whose instant would be a guess."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()} has no timezone; normalise to UTC")
    return t.astimezone(UTC)


def _step(slot_minutes: int) -> timedelta:
    if slot_minutes <= 0:
        raise ValueError(f"slot_minutes must be positive, got {slot_minutes}")
    return timedelta(minutes=slot_minutes)


def is_on_grid(t: datetime, slot_minutes: int) -> bool:
    """Tell whether t is a whole number of slots after the Unix epoch."""
    # timedelta arithmetic is exact to the microsecond, so seconds and microseconds count.
    return (require_aware(t) - _EPOCH) % _step(slot_minutes) == timedelta(0)


def next_slot_after(t: datetime, slot_minutes: int) -> datetime:
    """Return the first grid point strictly after t, in UTC."""
    step = _step(slot_minutes)
    slots_so_far = (require_aware(t) - _EPOCH) // step
    return _EPOCH + (slots_so_far + 1) * step


def slot_key(t: datetime) -> str:
    """Return t as a compact UTC stamp such as 20250727T1500Z, for workflow ids."""
    return require_aware(t).strftime("%Y%m%dT%H%MZ")


def day_start(t: datetime) -> datetime:
    """Return 00:00 UTC of the UTC day t falls in."""
    return require_aware(t).replace(hour=0, minute=0, second=0, microsecond=0)


def days_touched(first: datetime, last: datetime) -> list[datetime]:
    """Return 00:00 UTC of every UTC day holding a slot start in [first, last], in order."""
    days, day = [], day_start(first)
    while day <= require_aware(last):
        days.append(day)
        day += timedelta(days=1)
    return days
