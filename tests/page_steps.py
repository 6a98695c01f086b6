"""What a person does on Parley's page, and how the browser tests find what it shows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.browser import Page


def iso(instant: datetime) -> str:
    """An instant as the API writes it (and the page's <time datetime>): UTC, `Z`."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_at(slot: datetime, status: str | None = None, priority: int | None = None) -> str:
    """CSS for a request of the slot (in this status, of this priority)."""
    state = "" if status is None else f'[data-status="{status}"]'
    rank = "" if priority is None else f'[data-priority="{priority}"]'
    return f'li[data-request-id]{state}{rank}:has(time[datetime="{iso(slot)}"])'


def session_with(partner: str, slot: datetime, status: str) -> str:
    """CSS for a session with `partner` at the slot in this status."""
    return (
        f'li[data-session-id][data-status="{status}"][data-partner="{partner}"]'
        f':has(time[datetime="{iso(slot)}"])'
    )


def event_shown(event_type: str) -> str:
    """CSS for an event of this type in the page's activity log."""
    return f'#activity li[data-event-type="{event_type}"]'


async def live(page: Page) -> None:
    """Wait until the page's event stream is open."""
    await page.wait_for('#live[data-state="connected"]')


async def sign_in_as(page: Page, user_id: str) -> None:
    """Development sign-in: type a user id."""
    await page.fill("#dev-user", user_id)
    await page.click('#dev-sign-in button[type="submit"]')
    await page.wait_for("#signed-in:not([hidden])")
    await live(page)


async def sign_in_with_token(page: Page, token: str) -> None:
    """Paste a bearer token."""
    await page.fill("#token", token)
    await page.click('#token-sign-in button[type="submit"]')
    await page.wait_for("#signed-in:not([hidden])")
    await live(page)


async def zone_of(page: Page) -> ZoneInfo:
    """The time zone the page shows and reads times in."""
    return ZoneInfo(await page.script("return document.getElementById('zone').dataset.zone"))


async def wall_clock(page: Page, instant: datetime) -> str:
    """An instant as a person using the page types it (a `datetime-local` value in its zone)."""
    return instant.astimezone(await zone_of(page)).strftime("%Y-%m-%dT%H:%M")


async def book(
    page: Page, slot: datetime, native: str, learning: str, last: datetime | None = None
) -> None:
    """Fill in the booking form and send it; wait until the page shows the request."""
    await page.choose("#native", native)
    await page.choose("#learning", learning)
    await page.choose("#level", "intermediate")
    await page.fill("#start", await wall_clock(page, slot))
    await page.fill("#end", await wall_clock(page, last) if last else "")
    await page.fill("#duration", "60")
    await page.click('#book-form button[type="submit"]')
    await page.wait_for(request_at(slot))  # waiting, or matched already
