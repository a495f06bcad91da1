"""Issue 5 end to end: a participant joins in a real browser (Debian's chromium).

A real relay serves the page, a real host shares the Xvfb screen, and the
page runs the same admission and key schedule as the Python viewer. The
canvas's pixels are read back and compared with what is on the display;
control from the browser lands on the display through the host's gate.
"""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, Route, expect

from tests import scenes
from tests.conftest import SCREEN
from tests.procs import JsonProcess, Processes, Relay
from tests.test_e2e_control import Target, wait_until
from tests.test_e2e_policy import add_member

pytestmark = pytest.mark.e2e

#: Reads the canvas back as base64 RGBA (getImageData is exact for opaque pixels).
_READ_CANVAS = """() => {
  const canvas = document.getElementById("screen");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
  }
  return [canvas.width, canvas.height, btoa(binary)];
}"""


def canvas_rgb(page: Page) -> np.ndarray:
    width, height, data = page.evaluate(_READ_CANVAS)
    rgba = np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(height, width, 4)
    return rgba[:, :, :3]


def host_session(procs: Processes, *extra: str) -> tuple[JsonProcess, dict[str, Any]]:
    host = procs.host("--share", *extra, keep_stdin=True)
    return host, host.wait_for("session_started")


def wait_for_picture(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-state", "watching", timeout=20_000)


def test_joining_by_link_shows_the_hosts_screen_pixel_exactly(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=51)
    scenes.show(display, picture, tmp_path / "scene.png")
    _host, started = host_session(procs)
    page.goto(started["link"])
    wait_for_picture(page)
    # Frames are decompressed by libzstd in WebAssembly, not the fzstd fallback.
    expect(page.locator("body")).to_have_attribute("data-zstd", "wasm")
    # The secret is gone from the address bar (and so from history).
    assert "#" not in page.url and page.url.endswith(f"/j/{started['session_id']}")
    sid = started["session_id"]
    expect(page.locator("#session-label")).to_have_text(f"Session {sid[:3]} {sid[3:6]} {sid[6:]}")
    expect(page.locator("#presenter-label")).to_have_text("The organizer is presenting")
    np.testing.assert_array_equal(canvas_rgb(page), picture)
    # A change on the display reaches the canvas as an update, exactly.
    changed = picture.copy()
    changed[200:230, 400:470] = (250, 30, 160)
    scenes.show(display, changed, tmp_path / "changed.png")
    wait_until(lambda: np.array_equal(canvas_rgb(page), changed), what="the change on the canvas")
    updates = page.evaluate("() => screenrelay.stats.updates")
    assert any(not u["keyframe"] for u in updates), "the change did not come as a delta"


def test_a_scrolled_document_reaches_the_canvas_pixel_exactly_as_a_move(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    picture = scenes.document_picture(*SCREEN, offset=0, seed=56)
    scenes.show(display, picture, tmp_path / "scene.png")
    _host, started = host_session(procs)
    page.goto(started["link"])
    wait_for_picture(page)
    np.testing.assert_array_equal(canvas_rgb(page), picture)
    for n, offset in enumerate((48, 30, 100), 1):
        scrolled = scenes.document_picture(*SCREEN, offset=offset, seed=56)
        scenes.show(display, scrolled, tmp_path / f"scrolled{n}.png")
        wait_until(
            lambda want=scrolled: np.array_equal(canvas_rgb(page), want),
            what=f"scroll {n} on the canvas",
        )
    updates = page.evaluate("() => screenrelay.stats.updates")
    moves = [u for u in updates if not u["keyframe"] and u["moved"] >= 400 * 400]
    assert len(moves) >= 3, updates


def _without_webassembly(page: Page) -> None:
    page.add_init_script("delete globalThis.WebAssembly")


def _csp_without_wasm(page: Page) -> None:
    """The join page as a relay whose CSP lacks 'wasm-unsafe-eval' would serve it."""

    def strip(route: Route) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        csp = headers["content-security-policy"]
        assert " 'wasm-unsafe-eval'" in csp
        headers["content-security-policy"] = csp.replace(" 'wasm-unsafe-eval'", "")
        route.fulfill(response=response, headers=headers)

    page.route("**/j/*", strip)


def _module_not_served(page: Page) -> None:
    page.route("**/static/zstd.wasm", lambda route: route.fulfill(status=404, body="Not found"))


@pytest.mark.parametrize(
    ("why", "block"),
    [
        ("no WebAssembly", _without_webassembly),
        ("a CSP without 'wasm-unsafe-eval'", _csp_without_wasm),
        ("zstd.wasm not served", _module_not_served),
    ],
)
def test_without_the_webassembly_decoder_the_page_falls_back_to_fzstd(
    procs: Processes,
    display: str,
    page: Page,
    tmp_path: Path,
    why: str,
    block: Callable[[Page], None],
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=57)
    scenes.show(display, picture, tmp_path / "scene.png")
    _host, started = host_session(procs)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    block(page)
    page.goto(started["link"])
    wait_for_picture(page)
    expect(page.locator("body")).to_have_attribute("data-zstd", "fzstd")
    assert any("zstd decoder fzstd (WebAssembly not used" in line for line in console), console
    np.testing.assert_array_equal(canvas_rgb(page), picture)
    changed = picture.copy()
    changed[300:340, 500:620] = (20, 200, 90)
    scenes.show(display, changed, tmp_path / "changed.png")
    wait_until(lambda: np.array_equal(canvas_rgb(page), changed), what=f"the change ({why})")


def test_joining_by_typed_id_and_password(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=52)
    scenes.show(display, picture, tmp_path / "scene.png")
    _host, started = host_session(procs)
    page.goto(f"{procs.relay.url}/j")
    page.fill("#session-id", started["session_id"])
    page.fill("#password", started["password"].upper())  # typed loosely: still the password
    page.click("#join-button")
    wait_for_picture(page)
    np.testing.assert_array_equal(canvas_rgb(page), picture)


@pytest.mark.parametrize("wrong", ["password", "session id"])
def test_a_wrong_password_or_id_shows_one_error_and_no_picture(
    procs: Processes, page: Page, wrong: str
) -> None:
    _host, started = host_session(procs)
    sid = started["session_id"]
    if wrong == "session id":
        sid = "123456789" if sid != "123456789" else "987654321"
    password = started["password"] if wrong == "session id" else "not-the-password"
    page.goto(f"{procs.relay.url}/j/{sid}")
    expect(page.locator("#session-id")).to_have_value(f"{sid[:3]} {sid[3:6]} {sid[6:]}")
    page.fill("#password", password)
    page.click("#join-button")
    body = page.locator("body")
    expect(body).to_have_attribute("data-state", "error", timeout=20_000)
    expect(page.locator("#error-text")).to_have_text("Wrong session ID or password.")
    expect(page.locator("#stage")).to_be_hidden()
    assert page.evaluate("() => screenrelay.stats.frames") == 0
    # "Try again" brings the form back.
    page.click("#retry-button")
    expect(page.locator("#join-form")).to_be_visible()


def test_a_damaged_link_says_so_and_offers_the_form(procs: Processes, page: Page) -> None:
    page.goto(f"{procs.relay.url}/j/123456789#tooshort")
    expect(page.locator("#error-title")).to_have_text("This invitation link is damaged")
    assert "#" not in page.url
    page.click("#retry-button")
    expect(page.locator("#session-id")).to_have_value("123 456 789")


def test_pause_hide_and_the_end_of_the_session_are_shown(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=53), tmp_path / "scene.png")
    host, started = host_session(procs)
    page.goto(started["link"])
    wait_for_picture(page)
    notice = page.locator("#notice")
    host.write_line("pause")
    expect(notice).to_contain_text("paused")
    host.write_line("resume")
    expect(notice).to_be_hidden()
    host.write_line("hide")
    expect(notice).to_contain_text("hidden")
    expect(page.locator("#screen")).to_be_hidden()
    host.write_line("show")
    expect(notice).to_be_hidden()
    expect(page.locator("#screen")).to_be_visible()
    host.signal(2)  # Ctrl+C: the organizer ends the session
    expect(page.locator("body")).to_have_attribute("data-state", "ended", timeout=20_000)
    expect(page.locator("#error-title")).to_have_text("The session has ended")


def test_the_relay_unreachable_is_said_in_words(procs: Processes, page: Page) -> None:
    page.goto(f"{procs.relay.url}/j/123456789")
    procs.relay.stop()
    page.fill("#password", "whatever")
    page.click("#join-button")
    expect(page.locator("#error-title")).to_have_text("Cannot reach the relay", timeout=20_000)


def test_a_refused_version_is_said_in_words(page: Page, tmp_path: Path) -> None:
    # A relay whose policy wants a newer client than itself refuses its own page.
    relay = Relay(tmp_path, args=("--min-client-version", "99.0.0"))
    relay.start()
    try:
        page.goto(f"{relay.url}/j/123456789")
        page.fill("#password", "whatever")
        page.click("#join-button")
        expect(page.locator("#error-title")).to_have_text("This page is out of date")
        expect(page.locator("#error-text")).to_contain_text("99.0.0")
    finally:
        relay.stop()


def test_where_policy_admits_only_accounts_the_page_signs_in_first(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=55)
    scenes.show(display, picture, tmp_path / "scene.png")
    relay = procs.relay
    relay.set_policy({"join": {"who": "signed_in"}})
    user, password = add_member(relay, "carol")
    _host, started = host_session(procs)
    page.goto(started["link"])
    # Without an account the relay refuses, in its own words, and the page
    # offers the account box, keeping the link's secret.
    expect(page.locator("#error-text")).to_contain_text("signed-in accounts", timeout=20_000)
    page.click("#retry-button")
    expect(page.locator("#account-box")).to_have_attribute("open", "")
    expect(page.locator("#password")).to_be_hidden()
    page.fill("#account-user", user)
    page.fill("#account-password", "wrong password for carol")
    page.click("#join-button")
    expect(page.locator("#error-title")).to_have_text("Could not sign in", timeout=20_000)
    page.click("#retry-button")
    page.fill("#account-user", user)
    page.fill("#account-password", password)
    page.click("#join-button")
    wait_for_picture(page)
    np.testing.assert_array_equal(canvas_rgb(page), picture)


def test_lossy_where_policy_allows_photo_tiles_go_jpeg_and_text_stays_exact(
    procs: Processes, display: str, page: Page, tmp_path: Path
) -> None:
    procs.relay.set_policy({"features": {"lossy": True}})
    picture = scenes.desktop_picture(*SCREEN, seed=56)
    scenes.show(display, picture, tmp_path / "a.png")
    host, started = host_session(procs, "--lossy")
    assert host.wait_for("encoding")["lossy"] is True
    out = tmp_path / "out"
    viewer = procs.join(started["link"], "--save", str(out))
    viewer.wait_for("frame")
    page.goto(started["link"])
    wait_for_picture(page)
    # The key frame's JPEG tiles are sent again exactly a second later: let
    # that pass, so the next frames both viewers get are the change below.
    time.sleep(2.5)
    viewer.drain()
    seen = len(list(out.glob("frame-*.png")))
    drawn = int(page.locator("body").get_attribute("data-frames") or 0)
    # A photo-like change: noise over a 400x256 area.
    changed = picture.copy()
    photo = (slice(400, 656), slice(700, 1100))
    changed[photo] = np.random.default_rng(7).integers(0, 256, (256, 400, 3), dtype=np.uint8)
    scenes.show(display, changed, tmp_path / "b.png")
    frames = 1
    while viewer.wait_for("frame")["jpeg"] == 0:
        frames += 1
    # That frame's picture, in each viewer, before its lossless refresh comes.
    python = np.asarray(
        Image.open(sorted(out.glob("frame-*.png"))[seen + frames - 1]).convert("RGB")
    )
    page.wait_for_function("n => Number(document.body.dataset.frames) >= n", arg=drawn + frames)
    browser = canvas_rgb(page)
    outside = np.ones(changed.shape[:2], dtype=bool)
    outside[photo] = False
    left, top, width, height = scenes.CANARY_BOX  # the desktop's own noise block
    outside[top : top + height, left : left + width] = False
    # Text and everything else: lossless in both viewers.
    np.testing.assert_array_equal(python[outside], changed[outside])
    np.testing.assert_array_equal(browser[outside], changed[outside])
    # The photo area: close to the original, and the two decoders agree closely.
    error = np.mean((python[photo].astype(np.float64) - changed[photo]) ** 2)
    assert error > 0, "the photo area came exact, not as JPEG"
    psnr = 10 * np.log10(255**2 / error)
    assert psnr > 10, psnr  # white noise is JPEG's worst case
    assert np.abs(browser[photo].astype(np.int16) - python[photo]).mean() < 3


@pytest.fixture
def target(display: str, tmp_path: Path) -> Iterator[Target]:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=54), tmp_path / "bg.png")
    window = Target(display, tmp_path / "target.jsonl")
    try:
        yield window
    finally:
        window.stop()


def picture_point(page: Page, x: int, y: int) -> tuple[float, float]:
    """Where on the page the picture's pixel (x, y) is shown."""
    box = page.locator("#screen").bounding_box()
    assert box is not None
    return (
        box["x"] + (x + 0.5) * box["width"] / SCREEN[0],
        box["y"] + (y + 0.5) * box["height"] / SCREEN[1],
    )


def test_a_granted_browser_controls_the_host_until_ctrl_f12(
    procs: Processes, display: str, page: Page, target: Target
) -> None:
    host, started = host_session(procs, "--consent-timeout", "10")
    page.goto(started["link"])
    wait_for_picture(page)
    body = page.locator("body")
    # View-only until the presenter accepts: input on the canvas goes nowhere.
    page.mouse.click(*picture_point(page, 300, 250))
    page.click("#control-button")
    expect(page.locator("#control-label")).to_have_text("Waiting for the presenter to accept…")
    asked = host.wait_for("consent_asked")
    host.write_line(f"accept {asked['id']}")
    expect(body).to_have_attribute("data-control", "mine")
    expect(page.locator("#control-label")).to_have_text("You control the presenter's screen")
    assert target.records("button") == []

    page.mouse.move(*picture_point(page, 250, 200))
    wait_until(
        lambda: any((r["x"], r["y"]) == (250, 200) for r in target.records("motion")),
        what="the pointer on the target",
    )
    page.mouse.click(*picture_point(page, 300, 250))
    page.keyboard.type("hi")
    page.keyboard.press("Enter")
    wait_until(lambda: len(target.records("key")) >= 3, what="keys on the target")
    assert [r["keysym"] for r in target.records("key")] == ["h", "i", "Return"]
    clicks = target.records("button")
    assert [(c["button"], c["x"], c["y"]) for c in clicks] == [(1, 300, 250)]

    subprocess.run(["xdotool", "key", "ctrl+F12"], env={"DISPLAY": display}, check=True)
    assert host.wait_for("control_revoked")["how"] == "hotkey"
    expect(body).to_have_attribute("data-control", "none")
    expect(page.locator("#toast")).to_have_text("The presenter took control back.")
    keys_before = len(target.records("key"))
    page.mouse.click(*picture_point(page, 500, 300))
    page.keyboard.type("nope")
    time.sleep(1.0)
    assert len(target.records("key")) == keys_before
    assert [(c["x"], c["y"]) for c in target.records("button")] == [(300, 250)]
