"""Headless Chromium driven by Selenium, for the browser tests: the system's browser and driver
only (Debian's `chromium` and `chromium-driver`); nothing is downloaded at run time.

The app is served by uvicorn in the test's own event loop, so every WebDriver call (which
blocks until the browser answers, and the browser may be waiting for the app) runs in a thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WAIT_SECONDS = 30.0


def chromium() -> tuple[str, str]:
    """The browser binary and its driver, or skip the test saying what is missing."""
    browser = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path
        )
        pytest.skip(f"{missing} not installed (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


def clicked(driver: WebDriver, css: str) -> bool:
    """Click the first element matching; a stale one raises, and the wait finds it again."""
    driver.find_element(By.CSS_SELECTOR, css).click()
    return True


class Page:
    """One browser (its own profile and storage: one person) showing Parley's page."""

    def __init__(self, driver: WebDriver, name: str, downloads: Path) -> None:
        self.driver = driver
        self.name = name
        self.downloads = downloads

    def wait(self, timeout: float) -> WebDriverWait[WebDriver]:
        """A wait that looks again when the page replaced an element it was reading."""
        return WebDriverWait(
            self.driver, timeout, 0.1, ignored_exceptions=(StaleElementReferenceException,)
        )

    async def run(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking WebDriver call off the event loop."""
        return await asyncio.to_thread(action, *args)

    async def open(self, url: str) -> None:
        """Load the page and wait until its script has set it up."""
        await self.run(self.driver.get, url)
        await self.wait_for("body[data-ready]")

    async def fill(self, css: str, text: str) -> None:
        """Type into a field, replacing what it held (a datetime-local takes it via script)."""

        def fill() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            if field.get_attribute("type") == "datetime-local":
                self.driver.execute_script(
                    "arguments[0].value = arguments[1];"
                    "arguments[0].dispatchEvent(new Event('input', {bubbles: true}))",
                    field,
                    text,
                )
            else:
                field.clear()
                field.send_keys(text)

        await self.run(fill)

    async def choose(self, css: str, value: str) -> None:
        """Pick an option of a select by its value."""
        await self.run(
            lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css)).select_by_value(value)
        )

    async def click(self, css: str) -> None:
        """Click the element (found again if a live update replaced it meanwhile)."""
        await self.run(lambda: self.wait(1).until(lambda d: clicked(d, css)))

    async def wait_for(self, css: str, text: str = "", timeout: float = WAIT_SECONDS) -> None:
        """Wait until an element matches (and shows `text`); fails with the page's messages."""

        def present(driver: WebDriver) -> bool:
            return any(text in found.text for found in driver.find_elements(By.CSS_SELECTOR, css))

        try:
            await self.run(self.wait(timeout).until, present)
        except Exception as error:
            await self.screenshot(f"failed-{css}")
            shown = f"{css!r} showing {text!r}" if text else repr(css)
            raise AssertionError(
                f"{self.name}: no {shown} in {timeout}s; {await self.said()}"
            ) from error

    async def shown(self, css: str) -> bool:
        """Whether the first element matching is displayed (not hidden by attribute or style)."""
        return bool(
            await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).is_displayed())
        )

    async def text(self, css: str) -> str:
        """The visible text of the first element matching."""
        return str(await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text))

    async def said(self) -> str:
        """What the page's status and alert lines say."""
        return f"message={await self.text('#message')!r} problem={await self.text('#problem')!r}"

    async def script(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page."""
        return await self.run(self.driver.execute_script, source, *args)

    async def mark(self) -> None:
        """Mark this document, so that `still_marked` can tell it was never reloaded."""
        await self.script("window.parleyTestMark = 'not reloaded'")

    async def still_marked(self) -> bool:
        """Whether the document marked earlier is still the one shown (no reload, no navigation)."""
        return bool(await self.script("return window.parleyTestMark === 'not reloaded'"))

    async def downloaded(self, filename: str, timeout: float = WAIT_SECONDS) -> str:
        """The text of a file the page handed to the browser as a download, once it is saved."""
        path = self.downloads / filename
        async with asyncio.timeout(timeout):
            # Chromium writes a .crdownload, then renames it; no event says so.
            while not path.exists():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        return path.read_text()

    async def screenshot(self, step: str) -> Path:
        """Save a screenshot as a test artifact and say where."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in step)[:80]
        path = ARTIFACTS / f"{self.name}-{safe}.png"
        await self.run(self.driver.save_screenshot, str(path))
        print(f"screenshot: {path}")
        return path


@asynccontextmanager
async def browser(name: str, time_zone: str = "UTC") -> AsyncIterator[Page]:
    """A headless Chromium of its own, its clock shown in `time_zone`, closed afterwards."""
    binary, driver_path = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    downloads = ARTIFACTS / f"{name}-downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,1500",
        "--lang=en-GB",
        "--no-first-run",
    ):
        options.add_argument(flag)  # fmt: skip
    # An explicit driver path: Selenium Manager is never asked (it would download a driver).
    service = Service(executable_path=driver_path, env={**os.environ, "TZ": time_zone})
    driver = await asyncio.to_thread(webdriver.Chrome, options=options, service=service)
    try:
        yield Page(driver, name, downloads)
    finally:
        await asyncio.to_thread(driver.quit)
