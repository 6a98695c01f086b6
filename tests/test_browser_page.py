"""The page outside development mode, in a headless browser on the real stack: no development
sign-in, a pasted bearer token; the user's time zone set to the browser's, and a window typed in
it reaching the API as the right UTC instants; scenario 4 (reschedule before a match), then a
cancel."""

from __future__ import annotations

from datetime import timedelta

from tests.browser import browser
from tests.helpers import Stack, person, slot_ahead
from tests.page_steps import book, iso, request_at, sign_in_with_token, wall_clock
from tests.served_app import app_of, served


async def test_a_pasted_token_books_a_window_reschedules_and_cancels(stack: Stack) -> None:
    someone = person(stack, "user-p")
    slot = await slot_ahead(stack)
    last = slot + timedelta(minutes=30)
    moved = slot + timedelta(hours=3)
    async with served(app_of(stack)) as url, browser("paste", "Europe/Madrid") as page:
        await page.open(url)
        assert not await page.shown("#dev-sign-in") and not await page.shown("#who")
        assert (await page.text('label[for="token"]')) == "Paste your bearer token"

        await page.fill("#token", "not-a-token")
        await page.click('#token-sign-in button[type="submit"]')
        await page.wait_for("#problem", "invalid bearer token")
        await sign_in_with_token(page, someone.token)
        assert await page.text("#who-name") == someone.user_id

        # Times are in the user's zone (the API's default, UTC); the browser's is offered.
        assert await page.text("#zone-name") == "UTC"
        await page.click("#use-browser-zone")
        await page.wait_for("#zone-name", "Europe/Madrid")
        assert (await someone.get("/v1/me")).json()["time_zone"] == "Europe/Madrid"
        assert not await page.shown("#use-browser-zone")

        # A window, typed in the page's zone, is booked as the same instants in UTC.
        await book(page, slot, "english", "spanish", last=last)
        (booked,) = (await someone.get("/v1/match-requests")).json()
        assert (booked["availability_start"], booked["availability_end"]) == (iso(slot), iso(last))
        item = f'li[data-request-id="{booked["id"]}"]'
        assert await page.script(
            f"return [...document.querySelectorAll('{item} time')].map(t => t.dateTime)"
        ) == [iso(slot), iso(last)]

        # Scenario 4: move it before it is matched.
        await page.click(f"{item} summary")
        await page.fill(f"{item} input[name=availability_start]", await wall_clock(page, moved))
        await page.click(f'{item} form.reschedule button[type="submit"]')
        await page.wait_for(request_at(moved, "waiting"))
        await page.wait_for(f'{item}[data-status="cancelled"]')
        await page.wait_for("#message", "Moved to")
        await page.screenshot("4-rescheduled")

        # And cancel the new one.
        new_item = request_at(moved, "waiting")
        await page.click(f'{new_item} [data-action="cancel-request"]')
        await page.wait_for(request_at(moved, "cancelled"))
        statuses = {r["status"] for r in (await someone.get("/v1/match-requests")).json()}
        assert statuses == {"cancelled"}

        await page.click("#sign-out")
        await page.wait_for("#sign-in:not([hidden])")
        assert not await page.shown("#signed-in") and not await page.shown("#who")
        assert await page.script("return sessionStorage.getItem('parley.token')") is None
