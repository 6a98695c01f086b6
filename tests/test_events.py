"""The event log through the API: the seed's scenarios 1 and 3, per user and in order; payloads
equal to what `GET` answers; JSON pages; nobody sees another's events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.helpers import (
    Person,
    Stack,
    book_pair,
    eventually,
    is_matched,
    no_show,
    person,
    skip_to,
    slot_ahead,
)


async def events_of(who: Person, after: int = 0) -> list[dict[str, Any]]:
    """Every event of this person, read page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = await who.get("/v1/events", after=after, limit=3)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["events"]
        if not body["events"]:
            assert body["next_after"] == after
            return found
        assert body["next_after"] == body["events"][-1]["id"]
        after = body["next_after"]


def types(found: list[dict[str, Any]]) -> list[str]:
    """The types, in order, but reminders (their timing is tests/test_reminders.py's)."""
    return [event["type"] for event in found if event["type"] != "session.reminder"]


def last_payload(found: list[dict[str, Any]], resource_id: str) -> dict[str, Any]:
    """The payload of the last event about this resource."""
    return [e["payload"] for e in found if e["payload"]["id"] == resource_id][-1]


def assert_only_own(who: Person, found: list[dict[str, Any]]) -> None:
    """Every event is about a request or a session of this person, ids only increase."""
    ids = [event["id"] for event in found]
    assert ids == sorted(set(ids))
    for event in found:
        payload = event["payload"]
        if event["type"].startswith("request."):
            assert payload["user_id"] == who.user_id
        else:
            assert who.user_id in (payload["participant_one_id"], payload["participant_two_id"])


async def test_scenario_1_events_per_user_in_order_with_payloads_as_the_api_shows(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=2))
    for p in (a, b):
        assert (await p.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(minutes=60, seconds=1))
    done = await eventually(
        lambda: b.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "completed"
    )

    flow = [
        "request.waiting",
        "session.scheduled",
        "request.matched",
        "session.partner_joined",
        "session.active",
        "session.completed",
    ]
    for who, request in ((a, req_a), (b, req_b)):
        # Committed with the changes they tell of: what GET shows, the log already holds.
        found = await events_of(who)
        assert types(found) == flow, who.user_id
        assert_only_own(who, found)
        assert last_payload(found, session["id"]) == done
        mine = (await who.get(f"/v1/match-requests/{request['id']}")).json()
        assert last_payload(found, request["id"]) == mine
    # Each was told of the other's join, with the session as it stood then.
    joined_b = [e for e in await events_of(a) if e["type"] == "session.partner_joined"][0]
    assert joined_b["payload"]["participant_one_joined_at"] is not None
    assert joined_b["payload"]["participant_two_joined_at"] is not None


async def test_scenario_2_the_no_show_hears_it_and_who_came_is_rebooked(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    _, req_b, session = await book_pair(stack, a, b, slot)
    await no_show(stack, a, session, slot)

    start = ["request.waiting", "session.scheduled", "request.matched"]
    found_a, found_b = await events_of(a), await events_of(b)
    assert types(found_a) == [*start, "session.cancelled", "request.rebooked"]
    assert types(found_b) == [
        *start,
        "session.partner_joined",
        "session.cancelled",
        "request.no_show",
    ]
    assert last_payload(found_a, session["id"])["cancel_reason"] == "no_show"
    assert (
        last_payload(found_b, req_b["id"])
        == (await b.get(f"/v1/match-requests/{req_b['id']}")).json()
    )
    rebooked = found_a[-1]["payload"]
    assert rebooked == (await a.get(f"/v1/match-requests/{rebooked['id']}")).json()


async def test_scenario_3_a_cancel_rebooks_the_partner_and_each_hears_only_their_part(
    stack: Stack,
) -> None:
    a, b, c = person(stack, "user-a"), person(stack, "user-b"), person(stack, "user-c")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)
    await skip_to(stack, slot - timedelta(minutes=5))
    cancel = await b.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    waiting = await eventually(
        lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    assert (await c.book(slot, "spanish", "english")).status_code == 201
    matched = await eventually(lambda: a.get(f"/v1/match-requests/{waiting[0]['id']}"), is_matched)

    start = ["request.waiting", "session.scheduled", "request.matched"]
    found_a = await events_of(a)
    assert types(found_a) == [*start, "session.cancelled", "request.rebooked", *start[1:]]
    found_b = await events_of(b)
    assert types(found_b) == [*start, "session.cancelled", "request.cancelled"]
    assert types(await events_of(c)) == start
    for who, found in ((a, found_a), (b, found_b)):
        assert_only_own(who, found)
        cancelled = [e for e in found if e["type"] == "session.cancelled"][0]
        assert cancelled["payload"] == (await who.get(f"/v1/sessions/{session['id']}")).json()
        assert cancelled["payload"]["cancel_reason"] == "cancelled_by_user"
    rebooked = [e for e in found_a if e["type"] == "request.rebooked"][0]["payload"]
    assert rebooked["id"] == waiting[0]["id"] and rebooked["priority"] == 1
    assert rebooked["origin_session_id"] == session["id"]
    new_session = (await a.get(f"/v1/sessions/{matched['session_id']}")).json()
    assert last_payload(found_a, new_session["id"]) == new_session
    assert last_payload(found_a, matched["id"]) == matched
    # B's request went to cancelled; C never sees A and B's first session.
    assert last_payload(found_b, req_b["id"])["status"] == "cancelled"
    assert session["id"] not in {e["payload"]["id"] for e in await events_of(c)}


async def test_pages_and_refusals(stack: Stack) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    for hours in range(4):
        booked = await a.book(slot + timedelta(hours=hours), "english", "spanish")
        assert booked.status_code == 201, booked.text
    found = await events_of(a)
    assert types(found) == ["request.waiting"] * 4
    page = (await a.get("/v1/events", after=found[1]["id"], limit=1)).json()
    assert [e["id"] for e in page["events"]] == [found[2]["id"]]
    assert page["next_after"] == found[2]["id"]
    resumed = await a.api.get(
        "/v1/events", headers={**a.headers, "Last-Event-ID": str(found[0]["id"])}
    )
    assert [e["id"] for e in resumed.json()["events"]] == [e["id"] for e in found[1:]]
    assert await events_of(b) == []  # another user's events never appear
    assert (await stack.api.get("/v1/events")).status_code == 401
    assert (await a.get("/v1/events", limit=0)).status_code == 422
    # A ticket opens the stream only, never a JSON page.
    ticket = (await a.post("/v1/events/ticket")).json()["ticket"]
    assert (await stack.api.get("/v1/events", params={"ticket": ticket})).status_code == 401
    # A retry with the same Idempotency-Key gets the same ticket; another key, another one.
    keyed = [(await a.post("/v1/events/ticket", **{"Idempotency-Key": k})).json() for k in "xxy"]
    assert keyed[0] == keyed[1] and keyed[0]["ticket"] != keyed[2]["ticket"] != ticket
