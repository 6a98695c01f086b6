"""The invariants the chaos run must keep, judged from Postgres' rows, the driver's own record of
its calls and the faults' windows. Each check counts what it looked at and lists violations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.chaos.calls import Call
from bench.chaos.facts import Facts, RequestFacts, SessionFacts
from bench.chaos.faults import FaultWindow
from bench.chaos.timeline import Action

LIVE_SESSION = ("scheduled", "active")
HELD_SESSION = ("scheduled", "active", "completed")
# Business answers a well-formed call may get: not found, conflict, invalid, rate-limited.
BUSINESS_ANSWERS = frozenset({404, 409, 422, 429})
EXAMPLES = 10


@dataclass
class Check:
    """One invariant: how many things it looked at, what broke it, and figures on the side."""

    key: str
    title: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        """Record a violation."""
        self.violations.append(message)

    def as_json(self) -> dict[str, Any]:
        """Counts and the first few violations, for the JSON report."""
        return {
            "title": self.title,
            "checked": self.checked,
            "violations": len(self.violations),
            "examples": self.violations[:EXAMPLES],
            **self.figures,
        }


def no_double_booking(
    facts: Facts, sampled: Iterable[str], held: Iterable[str], samples: int
) -> Check:
    """a. Nobody holds two live overlapping requests or sessions (sampled while running), nor
    two overlapping sessions that were not cancelled (at the end)."""
    check = Check("a", "no one in two live overlapping sessions or requests")
    check.checked = len(facts.requests) + len(facts.sessions)
    for overlap in sorted({*sampled, *held}):
        check.fail(overlap)
    check.figures["live_samples"] = samples
    return check


def sessions_agree_with_requests(facts: Facts, actions: list[Action]) -> Check:
    """b. Every session and its two requests tell the same story."""
    check = Check("b", "every session agrees with its requests")
    cancellers = {(a.user_id, a.target or "") for a in actions if a.kind == "cancel_session"}
    for session in facts.sessions.values():
        check.checked += 1
        for problem in _disagreements(facts, session, cancellers):
            check.fail(
                f"session {session.id} ({session.status}, {session.cancel_reason}): {problem}"
            )
    for request in facts.requests.values():
        if request.status in ("matched", "no_show"):
            check.checked += 1
            holder = facts.sessions.get(request.session_id or "")
            if holder is None or request.id not in holder.request_ids:
                check.fail(f"request {request.id} is {request.status} but no session holds it")
    return check


def _disagreements(
    facts: Facts, session: SessionFacts, cancellers: set[tuple[str, str]]
) -> list[str]:
    problems: list[str] = []
    requests = [facts.requests.get(request_id) for request_id in session.request_ids]
    if None in requests:
        return ["a request of it is missing"]
    joined = session.joined()
    for user, request in zip(session.participants, requests, strict=True):
        assert request is not None
        if request.user_id != user:
            problems.append(f"request {request.id} belongs to {request.user_id}, not {user}")
        if session.status in HELD_SESSION:
            if (request.status, request.session_id) != ("matched", session.id):
                problems.append(f"{user}'s request is {request.status} in {request.session_id}")
            if (request.released_at is not None) != (session.status == "completed"):
                problems.append(f"{user}'s request released_at {request.released_at}")
        elif session.cancel_reason == "rearranged":
            problems += _not_seated_elsewhere(facts, session, user, request)
        else:
            if request.session_id != session.id or request.released_at is None:
                problems.append(f"{user}'s request left the session or still holds its time")
            allowed = _statuses_allowed(session, user, joined, (user, session.id) in cancellers)
            if request.status not in allowed:
                problems.append(f"{user}'s request is {request.status}, expected {sorted(allowed)}")
    if (
        session.cancel_reason == "cancelled_by_user"
        and session.cancelled_by not in session.participants
    ):
        problems.append(f"cancelled by {session.cancelled_by}, who is not in it")
    return problems


def _statuses_allowed(
    session: SessionFacts, user: str, joined: set[str], sent_a_cancel: bool
) -> set[str]:
    """What a participant's request may be once the session was cancelled (README rules)."""
    if session.cancel_reason == "cancelled_by_user":  # before the start: the partner is rematched
        return {"cancelled"} if user == session.cancelled_by else {"matched"}
    if session.cancelled_by is not None:  # after the start: the canceller's no-show
        if user == session.cancelled_by:
            return {"cancelled"}
        return {"matched"} if user in joined else {"no_show"}
    if user not in joined:  # the deadline: absentees are no-shows
        return {"no_show"}
    # Whoever came stays matched (and is rematched), unless their own cancel reached the
    # session just after the deadline's sweep had closed it.
    return {"matched", "cancelled"} if sent_a_cancel else {"matched"}


def _not_seated_elsewhere(
    facts: Facts, session: SessionFacts, user: str, request: RequestFacts
) -> list[str]:
    if session.joined():
        return ["rearranged after someone joined"]
    seen = {session.id}
    current = facts.sessions.get(request.session_id or "")
    while current is not None and current.cancel_reason == "rearranged" and current.id not in seen:
        seen.add(current.id)
        current = facts.sessions.get(facts.requests[current.request_of(user)].session_id or "")
    if current is None or current.id in seen:
        return [f"rearranged, but {user} is not seated in another session"]
    if current.scheduled_start != session.scheduled_start:
        return [f"rearranged, but {user} was moved to another slot"]
    return []


def nothing_waits_after_its_start(facts: Facts) -> Check:
    """c. No request is still waiting once its window's last slot has started."""
    check = Check("c", "nothing is still waiting after its last slot started")
    lateness = []
    for request in facts.requests.values():
        check.checked += 1
        if request.status == "waiting" and request.availability_end <= facts.now:
            check.fail(f"request {request.id} of {request.user_id} still waits")
        if request.status == "expired":
            lateness.append((request.updated_at - request.availability_end).total_seconds())
    check.figures["expired"] = len(lateness)
    check.figures["expiry_lateness_max_seconds"] = round(max(lateness, default=0.0), 2)
    return check


def nothing_scheduled_after_its_deadline(facts: Facts, grace: timedelta) -> Check:
    """d. No session is still scheduled after start + grace, and one both joined in time is
    active or completed, never a no-show."""
    check = Check("d", "nothing is still scheduled after its no-show deadline")
    for session in facts.sessions.values():
        check.checked += 1
        deadline = session.scheduled_start + grace
        if session.status == "scheduled" and deadline <= facts.now:
            check.fail(f"session {session.id} is still scheduled {facts.now - deadline} after")
        both_in_time = all(at is not None and at < deadline for at in session.joined_at)
        if both_in_time and session.cancel_reason == "no_show":
            check.fail(f"session {session.id}: both joined in time, yet it is a no-show")
    return check


def only_503s_during_faults(
    calls: list[Call], windows: list[FaultWindow], margin: timedelta
) -> Check:
    """h. Every answer is 2xx or a business refusal, or a 503 while a fault lasted (plus a
    margin for recovery); no 500, no hang without an answer."""
    check = Check("h", "the only 5xx answers were 503s during a fault window")
    check.checked = len(calls)
    during = 0
    for call in calls:
        status = call.status
        if 200 <= status < 300 or status in BUSINESS_ANSWERS:
            continue
        where = f"{call.method} {call.path} by {call.user_id} sent {call.sent:%H:%M:%S.%f}"
        if status == 503 and any(w.covers(call.sent, call.answered, margin) for w in windows):
            during += 1
        elif status == 0:
            check.fail(f"no answer to {where}: {call.detail[:120]}")
        else:
            check.fail(f"{status} to {where}: {call.detail[:120]}")
    check.figures["503_during_faults"] = during
    slow = sorted((c.answered - c.sent).total_seconds() for c in calls if c.method == "POST")
    check.figures["slowest_post_seconds"] = round(slow[-1], 1) if slow else None
    check.figures["posts_slower_than_10_s"] = sum(1 for seconds in slow if seconds > 10)
    return check
