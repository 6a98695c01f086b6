"""The seed's four scenarios end to end through the HTTP API, asserting the rows its SQL makes."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import Stack, book_pair, eventually, is_matched, person, skip_to, slot_ahead


async def test_scenario_1_two_reciprocal_people_are_matched_and_their_session_runs(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)

    req_a, req_b, session = await book_pair(stack, a, b, slot)

    # Step 1-2: the rows as the seed inserts them.
    assert req_a["native_language_id"] == "english" and req_a["learning_language_id"] == "spanish"
    assert req_a["proficiency_level"] == "intermediate"
    assert req_a["availability_start"] == req_a["availability_end"]
    assert datetime.fromisoformat(req_a["availability_start"]) == slot
    assert req_a["preferred_duration_minutes"] == 60 and req_a["priority"] == 0
    # Step 3: both matched with matched_at, one scheduled session over them.
    for req, owner in ((req_a, a), (req_b, b)):
        row = (await owner.get(f"/v1/match-requests/{req['id']}")).json()
        assert row["status"] == "matched" and row["matched_at"] is not None
        assert row["session_id"] == session["id"]
    assert session["status"] == "scheduled"
    assert {session["participant_one_id"], session["participant_two_id"]} == {a.user_id, b.user_id}
    assert {session["match_request_one_id"], session["match_request_two_id"]} == {
        req_a["id"],
        req_b["id"],
    }
    one_is_a = session["participant_one_id"] == a.user_id
    assert session["language_one_id"] == ("english" if one_is_a else "spanish")
    assert session["language_two_id"] == ("spanish" if one_is_a else "english")
    assert datetime.fromisoformat(session["scheduled_start"]) == slot
    assert datetime.fromisoformat(session["scheduled_end"]) == slot + timedelta(minutes=60)
    assert session["duration_minutes"] == 60

    # Step 4: at 15:00 both join and the session begins.
    await skip_to(stack, slot - timedelta(minutes=2))
    for p in (a, b):
        joined = await p.post(f"/v1/sessions/{session['id']}/join")
        assert joined.status_code == 200, joined.text
    await skip_to(stack, slot + timedelta(seconds=1))
    active = await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "active"
    )
    assert datetime.fromisoformat(active["actual_start"]) >= slot

    # And it completes at its scheduled end.
    await skip_to(stack, slot + timedelta(minutes=60, seconds=1))
    done = await eventually(
        lambda: b.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "completed"
    )
    assert datetime.fromisoformat(done["actual_end"]) >= slot + timedelta(minutes=60)


async def test_scenario_2_a_no_show_cancels_the_session_and_rematches_who_came(
    stack: Stack,
) -> None:
    a, b = person(stack, "user-a"), person(stack, "user-b")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)

    await skip_to(stack, slot - timedelta(minutes=1))
    assert (await a.post(f"/v1/sessions/{session['id']}/join")).status_code == 200
    await skip_to(stack, slot + timedelta(minutes=2, seconds=1))

    cancelled = await eventually(
        lambda: a.get(f"/v1/sessions/{session['id']}"), lambda s: s["status"] == "cancelled"
    )
    assert cancelled["cancel_reason"] == "no_show"
    assert (await b.get(f"/v1/match-requests/{req_b['id']}")).json()["status"] == "no_show"
    assert (await a.get(f"/v1/match-requests/{req_a['id']}")).json()["status"] == "matched"
    # A new priority request for A in the next slot after the no-show (15:02 -> 15:10).
    rematch = await eventually(
        lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    new = rematch[0]
    assert new["priority"] == 1
    assert datetime.fromisoformat(new["availability_start"]) == slot + timedelta(minutes=10)
    assert new["native_language_id"] == "english" and new["learning_language_id"] == "spanish"
    assert new["proficiency_level"] == "intermediate" and new["preferred_duration_minutes"] == 60
    assert new["replaces_request_id"] == req_a["id"]
    assert new["origin_session_id"] == session["id"]
    # B, who never came, is not rematched.
    assert (await b.get("/v1/match-requests", status="waiting")).json() == []


async def test_scenario_3_a_cancellation_before_the_start_finds_a_replacement_in_the_same_slot(
    stack: Stack,
) -> None:
    a, b, c = person(stack, "user-a"), person(stack, "user-b"), person(stack, "user-c")
    slot = await slot_ahead(stack)
    req_a, req_b, session = await book_pair(stack, a, b, slot)

    await skip_to(stack, slot - timedelta(minutes=5))
    cancel = await b.post(f"/v1/sessions/{session['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    assert cancel.json()["cancel_reason"] == "cancelled_by_user"
    assert cancel.json()["cancelled_by"] == b.user_id
    assert (await b.get(f"/v1/match-requests/{req_b['id']}")).json()["status"] == "cancelled"

    waiting = await eventually(
        lambda: a.get("/v1/match-requests", status="waiting"), lambda rows: len(rows) == 1
    )
    replacement = waiting[0]
    assert replacement["priority"] == 1
    assert datetime.fromisoformat(replacement["availability_start"]) == slot
    assert replacement["replaces_request_id"] == req_a["id"]

    # Step 3: someone else books the slot and A gets a new partner before the start.
    req_c = await c.book(slot, "spanish", "english")
    assert req_c.status_code == 201, req_c.text
    matched = await eventually(
        lambda: a.get(f"/v1/match-requests/{replacement['id']}"),
        is_matched,
    )
    new_session = (await c.get(f"/v1/sessions/{matched['session_id']}")).json()
    assert {new_session["participant_one_id"], new_session["participant_two_id"]} == {
        a.user_id,
        c.user_id,
    }


async def test_scenario_4_rescheduling_a_waiting_request_cancels_it_and_books_the_new_slot(
    stack: Stack,
) -> None:
    a = person(stack, "user-a")
    slot = await slot_ahead(stack)
    original = await a.book(slot, "english", "spanish")
    assert original.status_code == 201, original.text

    later = slot + timedelta(hours=1)
    moved = await a.post(
        f"/v1/match-requests/{original.json()['id']}/reschedule",
        {"availability_start": later.isoformat()},
    )
    assert moved.status_code == 201, moved.text
    new = moved.json()
    assert new["status"] == "waiting"
    assert datetime.fromisoformat(new["availability_start"]) == later
    assert new["replaces_request_id"] == original.json()["id"]
    assert new["native_language_id"] == "english" and new["priority"] == 0
    old = (await a.get(f"/v1/match-requests/{original.json()['id']}")).json()
    assert old["status"] == "cancelled"
    # Marked, not deleted: both rows are listed.
    listed = (await a.get("/v1/match-requests")).json()
    assert {r["id"] for r in listed} >= {old["id"], new["id"]}
