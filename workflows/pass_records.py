"""What a matchmaker's pass converts between the wire and the domain: a seat to the domain's
`Seated`, a pair to the `SessionInput` the persist activity writes and starts, and a dissolved
session to the sessions its people sit in now."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.matchmaker import DissolvedSession, MatchmakerInput, SeatedEntry
    from contracts.requests import PoolEntry
    from contracts.sessions import SessionInput, SessionSpec
    from domain.matching import Pair
    from domain.rearranging import Seated


def seated(seat: SeatedEntry) -> Seated:
    """A seat of the pool as the rearranging rules read it."""
    return Seated(
        seat.session_id,
        Pair(
            seat.first.request(),
            seat.second.request(),
            seat.scheduled_start,
        ),
    )


def session_input(
    pair: Pair, entries: dict[str, PoolEntry], input: MatchmakerInput
) -> SessionInput:
    """A new session for `pair`, its id drawn from the workflow's deterministic uuids."""
    return SessionInput(
        spec=SessionSpec(
            session_id=str(workflow.uuid4()),
            participant_one_id=pair.first.user_id,
            participant_two_id=pair.second.user_id,
            match_request_one_id=pair.first.request_id,
            match_request_two_id=pair.second.request_id,
            language_one_id=pair.first.native_language_id,
            language_two_id=pair.second.native_language_id,
            scheduled_start=pair.scheduled_start,
            duration_minutes=input.duration_minutes,
        ),
        request_one=entries[pair.first.request_id].spec(),
        request_two=entries[pair.second.request_id].spec(),
        policy=input.policy,
    )


def dissolution(
    session_id: str, people: set[str], sessions: list[SessionInput]
) -> DissolvedSession:
    """A dissolved session and the new sessions that seat any of its requests (`people`)."""
    return DissolvedSession(
        session_id,
        [
            s.spec.session_id
            for s in sessions
            if {s.spec.match_request_one_id, s.spec.match_request_two_id} & people
        ],
    )
