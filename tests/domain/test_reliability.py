"""The no-show rule: 2 or more no-shows among the last 5 counted sessions."""

from __future__ import annotations

import pytest

from domain.reliability import NO_RECORD, ReliabilityRecord, is_unreliable


@pytest.mark.parametrize(
    ("record", "unreliable"),
    [
        (NO_RECORD, False),
        (ReliabilityRecord(5, 1, 5, 1), False),
        (ReliabilityRecord(2, 2, 2, 2), True),
        (ReliabilityRecord(5, 2, 5, 2), True),
        # Old no-shows outside the last five are forgiven by the rule.
        (ReliabilityRecord(20, 6, 5, 1), False),
    ],
)
def test_two_recent_no_shows_make_a_user_unreliable(
    record: ReliabilityRecord, unreliable: bool
) -> None:
    assert is_unreliable(record) is unreliable
