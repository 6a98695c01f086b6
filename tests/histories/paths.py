"""The paths every workflow kind can take, how a recorded run shows which one it took, and the
test that takes it. The recorder keeps one history per path; the replay test requires every
REQUIRED path in every supported release's folder."""

from __future__ import annotations

from typing import Any

from tests.histories.corpus import RunFacts

MATCH_REQUEST, SESSION, MATCHMAKER = "MatchRequestWorkflow", "SessionWorkflow", "MatchmakerWorkflow"
WEBHOOKS = "WebhookDeliveryWorkflow"

_SEED = "tests/test_seed_scenarios.py::test_scenario_"
_REQUESTS = "tests/test_api_requests.py::test_"
_SESSIONS = "tests/test_api_sessions.py::test_"

# (workflow type, path) -> the test whose run records it.
REQUIRED: dict[tuple[str, str], str] = {
    (MATCH_REQUEST, "matched"): _SEED
    + "1_two_reciprocal_people_are_matched_and_their_session_runs",
    (MATCH_REQUEST, "expired"): _REQUESTS + "an_unmatched_request_expires_when_its_slot_starts",
    (MATCH_REQUEST, "cancelled"): (
        _REQUESTS + "a_waiting_request_is_cancelled_once_and_a_retry_only_reports_it"
    ),
    (MATCH_REQUEST, "rescheduled"): (
        _SEED + "4_rescheduling_a_waiting_request_cancels_it_and_books_the_new_slot"
    ),
    (MATCH_REQUEST, "abandoned"): (
        "tests/test_faults.py::"
        "test_a_booking_no_worker_takes_in_time_answers_503_and_books_nothing_later"
    ),
    (MATCH_REQUEST, "refused"): _REQUESTS
    + "an_overlapping_booking_is_a_409_and_leaves_the_first_alone",
    (MATCH_REQUEST, "rematch"): _SEED + "2_a_no_show_cancels_the_session_and_rematches_who_came",
    (SESSION, "completed"): _SEED + "1_two_reciprocal_people_are_matched_and_their_session_runs",
    (SESSION, "completed-ended-early"): (
        _SESSIONS + "an_active_session_cannot_be_cancelled_but_can_be_ended_early"
    ),
    (SESSION, "no-show-with-rematch"): (
        _SEED + "2_a_no_show_cancels_the_session_and_rematches_who_came"
    ),
    (SESSION, "both-absent"): _SESSIONS
    + "when_nobody_joins_both_are_no_shows_and_nobody_is_rematched",
    (SESSION, "cancelled-before-start"): (
        _SEED + "3_a_cancellation_before_the_start_finds_a_replacement_in_the_same_slot"
    ),
    (SESSION, "cancelled-after-start"): (
        _SESSIONS + "cancelling_after_the_start_counts_as_the_cancellers_no_show"
    ),
    (SESSION, "rearranged"): (
        "tests/test_rearranged_sessions.py::"
        "test_the_matchmaker_swaps_partners_when_that_seats_two_more_people"
    ),
    (SESSION, "rematch-refused"): _SESSIONS
    + "a_rematch_that_would_double_book_is_refused_and_recorded",
    (MATCHMAKER, "matched-and-swept"): (
        "tests/test_no_show_deadline.py::"
        "test_the_matchmaker_cancels_its_slots_no_shows_at_the_deadline_all_at_once"
    ),
    # On the dev server: see tests/test_matchmaker.py for why not on the time-skipping one.
    (MATCHMAKER, "continued-as-new"): (
        "tests/test_matchmaker.py::test_a_matchmaker_that_continues_as_new_loses_no_request"
    ),
    (MATCHMAKER, "rearranged"): (
        "tests/test_rearranged_sessions.py::"
        "test_the_matchmaker_swaps_partners_when_that_seats_two_more_people"
    ),
    # Long-lived: a run ends only by handing over (or when its endpoint leaves the configuration).
    (WEBHOOKS, "continued-as-new"): (
        "tests/test_webhooks.py::"
        "test_every_event_arrives_once_after_de_duplication_and_in_order_per_user"
    ),
}


# Workflow types younger than the first release in the corpus: older releases have no histories
# of them.
INTRODUCED_IN: dict[str, str] = {WEBHOOKS: "0.4.0"}


def required_in(release: str) -> list[tuple[str, str]]:
    """The (workflow type, path) pairs a release's folder must hold."""

    def version(name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in name.split("."))

    return [
        (kind, path)
        for kind, path in REQUIRED
        if version(release) >= version(INTRODUCED_IN.get(kind, "0"))
    ]


def path_of(run: RunFacts) -> str | None:
    """The path a finished (or continued-as-new) run took, or None for one the corpus does not
    keep (still running, terminated, or a path nobody named)."""
    if run.ending == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW":
        return "continued-as-new"
    if run.ending != "WORKFLOW_EXECUTION_COMPLETED" or not isinstance(run.result, dict):
        return None
    classify = {MATCH_REQUEST: _request_path, SESSION: _session_path, MATCHMAKER: _matchmaker_path}
    if run.workflow_type not in classify:
        return None
    return classify[run.workflow_type](run, run.result)


def _request_path(run: RunFacts, result: dict[str, Any]) -> str | None:
    status, reason = result["status"], result.get("reason") or ""
    if status in ("abandoned", "refused"):
        return str(status)
    if run.input["spec"].get("origin_session_id"):
        return "rematch"  # started by a session's settlement for whoever was let down
    if status == "cancelled":
        return "rescheduled" if reason.startswith("rescheduled") else "cancelled"
    return str(status) if status in ("matched", "expired") else None


def _session_path(run: RunFacts, result: dict[str, Any]) -> str | None:
    if result["status"] == "completed":
        return "completed-ended-early" if "end_requested" in run.signals else "completed"
    reason = result.get("cancel_reason")
    if reason == "rearranged":
        return "rearranged"
    if "cancel_requested" in run.signals:
        # Before the start a cancel is the user's; after it, it counts as the canceller's no-show.
        return (
            "cancelled-before-start" if reason == "cancelled_by_user" else "cancelled-after-start"
        )
    if reason != "no_show":
        return None
    if any((la.result or {}).get("rematch_refusal") for la in run.ran("settle_session")):
        return "rematch-refused"
    if result.get("rematch_request_ids"):
        return "no-show-with-rematch"
    return "both-absent" if "joined" not in run.signals else None


def _matchmaker_path(run: RunFacts, result: dict[str, Any]) -> str | None:
    if result.get("sessions_rearranged", 0) > run.input.get("sessions_rearranged", 0):
        return "rearranged"
    if run.ran("settle_shard"):
        return "matched-and-swept"
    if result.get("sessions_created", 0) == run.input.get("sessions_created", 0):
        return "unmatched"  # the shard paired nobody: it closes at its last slot start
    return None
