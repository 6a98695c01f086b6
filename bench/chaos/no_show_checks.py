"""The chaos run's checks of the seed's no-show and cancel rules: let-down people are rematched,
and nobody who joined (or cancelled) in time is a no-show."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bench.chaos.checks import EXAMPLES, Check
from bench.chaos.facts import Facts, SessionFacts
from bench.chaos.timeline import Action


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
