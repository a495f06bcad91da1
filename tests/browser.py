"""Debian's chromium, headless, driven by Playwright, for tests of the join page.

`launch` starts one browser for the test session; `PageWatch` records what a
page logs and every uncaught exception, so a test fails on a script error
even when the page looks right.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

#: Debian's package; Playwright's own browser download is not used.
CHROMIUM: Final = os.environ.get("SCREENRELAY_CHROMIUM", "/usr/bin/chromium")

#: Flags for a closed network: no background requests, no first-run pages.
ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # A page a test rewrites in flight (Playwright's route.fulfill) has no
    # address, so Chromium would treat the relay on 127.0.0.1 as a local
    # network it may not reach.
    "--disable-features=LocalNetworkAccessChecks",
)


@contextlib.contextmanager
def launch() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: scripts/setup.sh --for-tests installs Debian's chromium"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(ARGS))
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """Console lines and uncaught errors of one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._error)

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def _error(self, error: Error) -> None:
        self.errors.append(f"{error.name}: {error.message}\n{error.stack}")
