"""The seed's scenarios 1 and 3 in two headless browsers, each page updated live by the other
person's actions (never reloaded), on the real stack: uvicorn, Postgres, Temporal's
time-skipping server and a worker.

Scenario 1: A books, B books the same slot, both pages show their session, both join, it runs,
one ends it. Scenario 3: they pair again, A cancels before the start, B's page shows the cancel
and B's priority rematch, which a third person, C, is then paired with. In between the API goes
down and comes back: each page takes a new ticket and resumes after the last event it saw.
"""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient

from api.main import create_app
from api.security import mint_token
from devstack.processes import free_port
from settings import DEV_JWT_SECRET
from tests.browser import Page, browser
from tests.helpers import Stack, person, skip_to, slot_ahead
from tests.page_steps import (
    book,
    event_shown,
    live,
    request_at,
    session_with,
    sign_in_as,
)
from tests.served_app import served

GRACE = 1  # second an open event stream may hold up the server's shutdown


async def still_the_same_page(*pages: Page) -> None:
    """Nothing reloaded or navigated away: every update came over the event stream."""
    for page in pages:
        assert await page.still_marked(), f"{page.name}'s page was reloaded"


async def test_two_people_book_meet_and_cancel_and_each_page_follows_live(stack: Stack) -> None:
    user_a, user_b = f"user-a-{stack.tag}", f"user-b-{stack.tag}"
    user_c = f"user-c-{stack.tag}"
    # As `dev.py up` runs the API: development mode, so the page offers development sign-in.
    settings = stack.settings.model_copy(update={"dev_mode": True, "jwt_secret": None})
    app = create_app(
        settings,
        temporal=stack.env.client,
        sessionmaker=stack.sessionmaker,
        clock=stack.env.get_current_time,
    )
    port = free_port()
    slot = await slot_ahead(stack)
    second = slot + timedelta(hours=2)
    # Each person's browser runs in another zone: every time they type is read in the zone shown.
    async with browser("a", "America/New_York") as a, browser("b", "Asia/Kolkata") as b:
        async with served(app, port, GRACE) as url:
            for page, user in ((a, user_a), (b, user_b)):
                await page.open(url)
                assert await page.shown("#dev-sign-in") and not await page.shown("#signed-in")
                await sign_in_as(page, user)
                await page.mark()

            # Scenario 1: A books 15:00; B books the same slot; both are paired.
            await book(a, slot, "english", "spanish")
            await book(b, slot, "spanish", "english")
            await a.wait_for(session_with(user_b, slot, "scheduled"))  # A did nothing: live
            await a.wait_for(request_at(slot, "matched"))
            await b.wait_for(session_with(user_a, slot, "scheduled"))
            await still_the_same_page(a, b)
            await a.screenshot("1-session-scheduled")

            await check_the_calendar_file_and_meeting_link(a, url, user_a)

            # Both join (the join window opens 5 minutes before the start).
            await skip_to(stack, slot - timedelta(minutes=2))
            await a.click(f'{session_with(user_b, slot, "scheduled")} [data-action="join"]')
            await b.wait_for(event_shown("session.partner_joined"))
            await b.click(f'{session_with(user_a, slot, "scheduled")} [data-action="join"]')
            await a.wait_for(event_shown("session.partner_joined"))
            await skip_to(stack, slot + timedelta(seconds=30))
            await a.wait_for(session_with(user_b, slot, "active"))
            await b.wait_for(session_with(user_a, slot, "active"))
            await b.screenshot("1-session-active")
            await b.click(f'{session_with(user_a, slot, "active")} [data-action="end"]')
            await a.wait_for(session_with(user_b, slot, "completed"))
            await still_the_same_page(a, b)

        # The API is down: both pages say so, and A books through another client meanwhile.
        await a.wait_for('#live[data-state="reconnecting"]')
        await b.wait_for('#live[data-state="reconnecting"]')
        meanwhile = await person(stack, "user-a").book(second, "english", "spanish")
        assert meanwhile.status_code == 201, meanwhile.text

        async with served(app, port, GRACE) as url:
            # Back: A's page reconnects with a new ticket and gets the event it missed.
            await live(a)
            await live(b)
            await a.wait_for(request_at(second, "waiting"))
            await still_the_same_page(a, b)

            # Scenario 3: B books the same slot, they are paired; A cancels before the start.
            await book(b, second, "spanish", "english")
            await a.wait_for(session_with(user_b, second, "scheduled"))
            await b.wait_for(session_with(user_a, second, "scheduled"))
            await a.click(
                f'{session_with(user_b, second, "scheduled")} [data-action="cancel-session"]'
            )
            # B's page shows the cancel and the priority rematch for the same slot, untouched.
            await b.wait_for(session_with(user_a, second, "cancelled"))
            await b.wait_for(request_at(second, "waiting", priority=1))
            await b.wait_for(event_shown("request.rebooked"))
            await a.wait_for(session_with(user_b, second, "cancelled"))
            await still_the_same_page(a, b)
            await b.screenshot("3-cancelled-and-rebooked")

            # C books the other side of the slot: B's rematch is paired with C, live.
            async with AsyncClient(base_url=url) as client:
                c_token = mint_token(user_c, DEV_JWT_SECRET)
                booked = await client.post(
                    "/v1/match-requests",
                    json={
                        "native_language_id": "english",
                        "learning_language_id": "spanish",
                        "proficiency_level": "intermediate",
                        "availability_start": second.isoformat(),
                        "preferred_duration_minutes": 60,
                    },
                    headers={"Authorization": f"Bearer {c_token}"},
                )
                assert booked.status_code == 201, booked.text
            await b.wait_for(session_with(user_c, second, "scheduled"))
            await b.wait_for(request_at(second, "matched", priority=1))
            await still_the_same_page(a, b)
            await b.screenshot("3-paired-with-c")


async def check_the_calendar_file_and_meeting_link(page: Page, url: str, user: str) -> None:
    """The calendar button fetches the session's .ics with the bearer token and hands it to the
    browser as a download; the meeting link is the session's own."""
    session_id = await page.script(
        "return document.querySelector('li[data-session-id]').dataset.sessionId"
    )
    item = f'li[data-session-id="{session_id}"]'
    async with AsyncClient(base_url=url) as client:
        headers = {"Authorization": f"Bearer {mint_token(user, DEV_JWT_SECRET)}"}
        session = (await client.get(f"/v1/sessions/{session_id}", headers=headers)).json()
    await page.click(f'{item} [data-action="calendar"]')
    await page.wait_for("#message", "Calendar file downloaded.")
    calendar = await page.downloaded(f"parley-session-{session_id}.ics")
    assert calendar.startswith("BEGIN:VCALENDAR"), calendar[:200]
    assert session["meeting_url"], session
    links = await page.script(f"return [...document.querySelectorAll('{item} a')].map(a => a.href)")
    assert links == [session["meeting_url"]]
