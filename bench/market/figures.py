"""One market's figures from its facts: the match rate, the wait, no-shows and rebookings."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from bench.market.configs import SIMULATED_MINUTES_PER_SLOT, SLOT_SECONDS
from bench.market.facts import Facts, RequestFact


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def matched(request: RequestFact) -> bool:
    """A request that was paired into a session (whatever became of the session)."""
    return request.session_id is not None


def figures(facts: Facts, learners: int) -> dict[str, Any]:
    """The market's outcome."""
    requests = list(facts.requests.values())
    paired = [r for r in requests if matched(r)]
    original = [r for r in requests if r.origin_session_id is None]
    rebooked = [r for r in requests if r.origin_session_id is not None]
    waits = [
        (r.matched_at - r.created_at).total_seconds() for r in paired if r.matched_at is not None
    ]
    median_wait = statistics.median(waits) if waits else None
    sessions = [s for s in facts.sessions.values() if s.cancel_reason != "rearranged"]
    no_show_sessions = [s for s in sessions if s.cancel_reason == "no_show"]
    absentees = sum(1 for r in requests if r.status == "no_show")
    booked_users = {r.user for r in original}
    matched_users = {r.user for r in paired}
    return {
        "learners": learners,
        "learners_who_booked": len(booked_users),
        "learners_matched": len(matched_users),
        "requests": len(requests),
        "requests_matched": len(paired),
        "match_rate": _rate(len(paired), len(requests)),
        "original_requests": len(original),
        "original_matched": sum(1 for r in original if matched(r)),
        "original_match_rate": _rate(sum(1 for r in original if matched(r)), len(original)),
        "window_requests": sum(1 for r in original if r.end > r.start),
        "requests_by_status": dict(sorted(Counter(r.status for r in requests).items())),
        "median_wait_seconds": None if median_wait is None else round(median_wait, 1),
        "median_wait_simulated_minutes": (
            None
            if median_wait is None
            else round(median_wait / SLOT_SECONDS * SIMULATED_MINUTES_PER_SLOT, 1)
        ),
        "sessions": len(sessions),
        "sessions_by_status": dict(
            sorted(
                Counter(
                    f"{s.status} ({s.cancel_reason})" if s.cancel_reason else s.status
                    for s in facts.sessions.values()
                ).items()
            )
        ),
        "no_show_sessions": len(no_show_sessions),
        "absentees": absentees,
        "no_show_rate": _rate(absentees, 2 * len(sessions)),
        "rebooked": len(rebooked),
        "rebooked_matched": sum(1 for r in rebooked if matched(r)),
        "blocks": len(facts.blocks.at),
    }
