"""Shared fixtures: a real Xvfb display, a real relay process, client processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import PageWatch, launch
from tests.procs import Processes, Relay, running_relay
from tests.xvfb import running_xvfb

#: The test screen: big enough for several tile rows, small enough to be quick.
SCREEN = (1280, 720)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    with running_xvfb(*SCREEN) as name:
        yield name


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    with running_relay(tmp_path) as running:
        yield running


@pytest.fixture
def procs(relay: Relay, display: str, tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(relay, display, tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One browser per test module: Playwright's sync API keeps an asyncio loop
    marked running in this thread while it is open, which would break every
    later test that calls asyncio.run or anyio.run."""
    with launch() as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context and page; fails the test on any uncaught script error."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watch = PageWatch(page)
    try:
        yield page
    finally:
        context.close()
    assert not watch.errors, "script errors on the page:\n" + "\n".join(watch.errors)
