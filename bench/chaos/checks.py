"""The invariants the chaos run must keep, judged from Postgres' rows, the driver's own record of
its calls and the faults' windows. Each check counts what it looked at and lists violations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.chaos.calls import Call
from bench.chaos.facts import Facts, RequestFacts, SessionFacts
from bench.chaos.faults import FaultWindow
from bench.chaos.workload import Action

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
    """c. No request is still waiting once its slot has started."""
    check = Check("c", "nothing is still waiting after its slot started")
    lateness = []
    for request in facts.requests.values():
        check.checked += 1
        if request.status == "waiting" and request.availability_start <= facts.now:
            check.fail(f"request {request.id} of {request.user_id} still waits")
        if request.status == "expired":
            lateness.append((request.updated_at - request.availability_start).total_seconds())
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


def let_down_people_are_rematched(facts: Facts, refusals: dict[str, list[str]]) -> Check:
    """e. Every let-down participant has exactly one priority rematch from that session (or the
    session records that the database refused it), and nobody else has one."""
    check = Check("e", "every let-down participant has exactly one rematch, nobody else one")
    rematches = Counter(
        (request.origin_session_id, request.user_id)
        for request in facts.requests.values()
        if request.origin_session_id is not None
    )
    for request in facts.requests.values():
        if request.origin_session_id is not None and request.priority != 1:
            check.fail(f"rematch {request.id} has priority {request.priority}")
    expected = {(s.id, user) for s in facts.sessions.values() for user in let_down(facts, s)}
    check.checked = len(expected)
    refused: list[str] = []
    for session_id, user in sorted(expected):
        count = rematches.get((session_id, user), 0)
        if count == 1:
            continue
        why = [r for r in refusals.get(session_id, []) if r.startswith(f"{user}:")]
        if count == 0 and why:
            refused.append(f"session {session_id}: {why[0][:160]}")
            continue
        check.fail(f"{user}, let down by session {session_id}, has {count} rematches")
    for (session_id, user), count in sorted(rematches.items()):
        if (session_id, user) not in expected:
            check.fail(f"{user} has {count} rematch(es) from session {session_id}: not let down")
    check.figures["rematches"] = sum(rematches.values())
    check.figures["refused_and_recorded"] = len(refused)
    check.figures["refusals"] = refused[:EXAMPLES]
    return check


def let_down(facts: Facts, session: SessionFacts) -> set[str]:
    """Who a cancelled session lets down (README): in a no-show, whoever joined; in a cancel
    before the start, the partner; in a cancel after the start, the partner if they joined."""
    if session.status != "cancelled" or session.cancel_reason == "rearranged":
        return set()
    joined = session.joined()
    if session.cancel_reason == "cancelled_by_user" and session.cancelled_by:
        return {session.partner(session.cancelled_by)}
    if session.cancelled_by is not None:
        return {session.partner(session.cancelled_by)} & joined
    # Someone whose own cancel reached it just after the sweep asked to leave: not let down.
    return {
        user for user in joined if facts.requests[session.request_of(user)].status != "cancelled"
    }


def nobody_in_time_is_a_no_show(
    facts: Facts, actions: list[Action], grace: timedelta, skew: timedelta
) -> Check:
    """f. A join or a session cancel first sent before start + grace (less the skew allowed)
    never leaves its sender a no-show of that session, whatever the answer was, unless the
    partner's cancel after the start had been sent first."""
    check = Check("f", "no one who joined (or cancelled) in time is recorded as a no-show")
    borderline = excused = 0
    answered: Counter[str] = Counter()
    for action in actions:
        session = facts.sessions.get(action.target or "")
        if action.kind not in ("join", "cancel_session") or session is None:
            continue
        deadline = session.scheduled_start + grace
        sent = action.outcome.first_sent
        if sent >= deadline:
            continue
        if sent >= deadline - skew:
            borderline += 1
            continue
        request = facts.requests[session.request_of(action.user_id)]
        if request.session_id != session.id:
            continue  # rearranged into another session before the deadline
        check.checked += 1
        answered[f"{action.kind} {action.outcome.status}"] += 1
        if request.status != "no_show":
            continue
        if _partner_cancelled_first(actions, session, action, skew):
            excused += 1
            continue
        check.fail(
            f"{action.kind} by {action.user_id} on session {session.id} sent "
            f"{(deadline - sent).total_seconds():.1f} s before the deadline, answered "
            f"{action.outcome.status} after {len(action.outcome.attempts)} attempt(s) "
            f"({action.outcome.attempts[-1].detail[:80]}): recorded as a no-show"
        )
    check.figures["sent_within_skew_of_the_deadline"] = borderline
    check.figures["excused_partner_cancelled_first"] = excused
    check.figures["answers"] = dict(sorted(answered.items()))
    return check


def _partner_cancelled_first(
    actions: list[Action], session: SessionFacts, action: Action, skew: timedelta
) -> bool:
    partner = session.partner(action.user_id)
    if session.cancelled_by != partner:
        return False
    return any(
        other.kind == "cancel_session"
        and other.target == session.id
        and other.user_id == partner
        and other.outcome.first_sent <= action.outcome.first_sent + skew
        for other in actions
    )


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
