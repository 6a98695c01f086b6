"""What the metrics say after a booking, a match, a no-show and a cancel: the exact changes, read
from both /metrics endpoints (the worker's Temporal runtime, the API's app)."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import Stack, book_pair, no_show, person, slot_ahead
from tests.scraping import Scrapes


async def test_a_match_a_no_show_and_a_cancel_move_each_metric_by_exactly_what_happened(
    measured: tuple[Stack, Scrapes],
) -> None:
    stack, scrapes = measured
    a, b, c, d, e = (person(stack, name) for name in ("a", "b", "c", "d", "e"))
    slot = await slot_ahead(stack)
    await scrapes.mark()

    # A booking and its match: two requests booked, two matched, one session, one pair.
    _, _, ab = await book_pair(stack, a, b, slot)
    assert await scrapes.delta("parley_requests_booked_total", priority="0") == 2
    assert await scrapes.delta("parley_request_outcomes_total", outcome="matched") == 2
    assert await scrapes.delta("parley_match_wait_seconds_count") == 2
    assert await scrapes.delta("parley_sessions_created_total") == 1
    assert await scrapes.delta("parley_matchmaker_pass_pairs_total", **_matchmaker()) == 1
    created = {"handler": "/v1/match-requests", "method": "POST", "status": "201"}
    assert await scrapes.delta("http_requests_total", **created) == 2

    # A waiting request, then its owner's cancel.
    waiting = (await e.book(slot + timedelta(hours=2), "english", "german")).json()
    assert await scrapes.delta("parley_waiting_requests", slot_start="all") == 1
    assert (await e.post(f"/v1/match-requests/{waiting['id']}/cancel")).status_code == 200
    assert await scrapes.delta("parley_waiting_requests", slot_start="all") == 0
    assert await scrapes.delta("parley_request_outcomes_total", outcome="cancelled") == 1

    # A cancel before the start: a session cancelled by its user, C rebooked (priority 1).
    await scrapes.mark()
    _, _, cd = await book_pair(stack, c, d, slot + timedelta(hours=4))
    assert (await d.post(f"/v1/sessions/{cd['id']}/cancel")).status_code == 200
    ended = "parley_sessions_ended_total"
    assert await scrapes.delta(ended, outcome="cancelled_by_user") == 1
    assert await scrapes.delta("parley_request_outcomes_total", outcome="cancelled") == 1
    assert await scrapes.delta("parley_requests_booked_total", priority="1") == 1
    assert await scrapes.delta("parley_rebook_delay_seconds_count") == 0

    # A no-show: A came, B did not. One session ends as a no-show, B's request with it, A is
    # rebooked once, and the decision is counted once (the sweep and A's session both look).
    await scrapes.mark()
    await no_show(stack, a, ab, slot)
    assert await scrapes.delta(ended, outcome="no_show") == 1
    assert await scrapes.delta("parley_request_outcomes_total", outcome="no_show") == 1
    assert await scrapes.delta("parley_requests_booked_total", priority="1") == 1
    assert await scrapes.delta("parley_rebook_delay_seconds_count") == 1
    assert await scrapes.delta("parley_no_show_decision_lateness_seconds_count") == 1
    assert await scrapes.delta(ended, outcome="cancelled_by_user") == 0

    # The SDK's own metrics are there too, in seconds.
    seen = await scrapes.read()
    assert any(name == "temporal_workflow_task_schedule_to_start_latency_count" for name, _ in seen)


def _matchmaker() -> dict[str, str]:
    """The labels the workflow's meter puts on the matchmaker's pass metrics."""
    return {"namespace": "default", "workflow_type": "MatchmakerWorkflow"}


async def test_an_unknown_path_or_method_mints_no_new_metric_series(
    measured: tuple[Stack, Scrapes],
) -> None:
    stack, scrapes = measured
    before = {sample for sample in await scrapes.read() if sample[0].startswith("http_")}
    for method, path in (
        ("ZZMETHOD", "/no/such/path"),
        ("GET", "/no/such/path/%0Aforged"),
        ("ZZMETHOD", "/v1/match-requests"),
    ):
        await stack.api.request(method, path)
    after = {sample for sample in await scrapes.read() if sample[0].startswith("http_")}
    assert {name for name, labels in after - before if "ZZMETHOD" in str(labels)} == set()
    assert not any("/no/such" in str(labels) for _, labels in after)
