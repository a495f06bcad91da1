"""Take docs/browser-join.png: the join page in chromium, watching a real session.

    .venv/bin/python docs/make_browser_screenshot.py

Starts a private Xvfb showing a desktop-like picture, a relay, a host sharing
that screen, and Debian's chromium (headless) on the invitation link; the
host grants the page remote control so the indicator shows. Nothing here is
a test; the e2e tests (tests/test_e2e_browser.py) prove the behaviour.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import scenes  # noqa: E402
from tests.browser import launch  # noqa: E402
from tests.procs import Processes, running_relay  # noqa: E402
from tests.xvfb import running_xvfb  # noqa: E402

OUT = REPO / "docs" / "browser-join.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as name, running_xvfb(1280, 720) as display:
        work = Path(name)
        scenes.show(display, scenes.desktop_picture(1280, 720, seed=7), work / "bg.png")
        with running_relay(work) as relay, launch() as chromium:
            procs = Processes(relay, display, work)
            try:
                host = procs.host("--share", keep_stdin=True)
                started = host.wait_for("session_started")
                page = chromium.new_page(viewport={"width": 1280, "height": 780})
                page.goto(started["link"])
                page.wait_for_selector("body[data-state=watching]", timeout=30_000)
                page.click("#control-button")
                asked = host.wait_for("consent_asked")
                host.write_line(f"accept {asked['id']}")
                page.wait_for_selector("body[data-control=mine]", timeout=10_000)
                page.screenshot(path=str(OUT))
            finally:
                procs.stop_all()
    print(OUT)


if __name__ == "__main__":
    main()
