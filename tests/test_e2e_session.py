"""Issue 3 end to end: real relay process, real Xvfb capture, real viewer process."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import scenes
from tests.conftest import SCREEN
from tests.procs import JsonProcess, Processes, Relay
from tests.tcp_tap import TcpTap

pytestmark = pytest.mark.e2e


def start_session(procs: Processes, *extra: str) -> tuple[JsonProcess, dict[str, str]]:
    host = procs.host("--share", *extra)
    started = host.wait_for("session_started")
    return host, started


def rgb_of(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("RGB"))


def latest_png(directory: Path) -> Path:
    return sorted(directory.glob("frame-*.png"))[-1]


def test_viewer_reconstructs_the_screen_pixel_exactly(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=1)
    scenes.show(display, picture, tmp_path / "scene.png")
    _host, started = start_session(procs)
    assert len(started["session_id"]) == 9 and started["session_id"].isdigit()
    assert started["link"].startswith(f"{procs.relay.url}/j/{started['session_id']}#")

    viewer = procs.join(
        started["session_id"],
        "--save",
        str(tmp_path / "out"),
        "--frames",
        "1",
        password=started["password"],
    )
    joined = viewer.wait_for("joined")
    assert joined["session_id"] == started["session_id"]
    frame = viewer.wait_for("frame")
    assert frame["keyframe"] is True
    assert (frame["width"], frame["height"]) == SCREEN
    assert viewer.wait_exit() == 0
    np.testing.assert_array_equal(rgb_of(latest_png(tmp_path / "out")), picture)


def test_joining_by_link_works_and_a_change_arrives_as_a_delta_of_changed_tiles(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=2)
    scenes.show(display, picture, tmp_path / "a.png")
    _host, started = start_session(procs)
    viewer = procs.join(started["link"], "--save", str(tmp_path / "out"))
    first = viewer.wait_for("frame")
    assert first["keyframe"] is True
    # Joining may bring a second key frame (the relay asks for one on
    # admission); let the join settle, so the next update is the change.
    time.sleep(1.0)
    viewer.drain()
    # Change one glyph-sized spot: the next update carries only its tile(s).
    changed = picture.copy()
    changed[300:310, 600:612] = (200, 20, 20)
    scenes.show(display, changed, tmp_path / "b.png")
    delta = viewer.wait_for("frame")
    assert delta["keyframe"] is False
    assert delta["rects"] == 1
    assert delta["pixels"] == 12 * 10  # exactly the spot, not its tiles
    assert delta["bytes"] < first["bytes"] / 20
    # The viewer writes a frame's PNG before it reports the frame.
    np.testing.assert_array_equal(rgb_of(latest_png(tmp_path / "out")), changed)


def test_lossy_asked_but_not_allowed_by_policy_stays_pixel_exact(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    # The relay's Welcome has no "lossy": true, so --lossy must change nothing.
    picture = scenes.desktop_picture(*SCREEN, seed=3)
    scenes.show(display, picture, tmp_path / "a.png")
    host, started = start_session(procs, "--lossy")
    told = host.wait_for("encoding")
    assert told["lossy"] is False and "policy forbids lossy" in told["message"]
    viewer = procs.join(started["link"], "--save", str(tmp_path / "out"))
    first = viewer.wait_for("frame")
    assert first["jpeg"] == 0
    time.sleep(1.0)
    viewer.drain()
    # A photo-like change (new noise in the canary block and beside it).
    changed = picture.copy()
    rng = np.random.default_rng(4)
    changed[400:656, 700:1100] = rng.integers(0, 256, (256, 400, 3), dtype=np.uint8)
    scenes.show(display, changed, tmp_path / "b.png")
    delta = viewer.wait_for("frame")
    assert delta["keyframe"] is False and delta["jpeg"] == 0
    np.testing.assert_array_equal(rgb_of(latest_png(tmp_path / "out")), changed)


def test_lossy_photo_areas_are_sent_again_exactly_once_they_stop_changing(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    procs.relay.set_policy({"features": {"lossy": True}})
    picture = scenes.desktop_picture(*SCREEN, seed=8)
    rng = np.random.default_rng(8)
    y, x = np.mgrid[0:300, 0:480]
    channels = [np.sin(x / 37), np.cos(y / 23), np.sin((x + y) / 51)]
    photo = 128 + 80 * np.stack(channels, axis=-1)
    photo += rng.normal(0, 6, photo.shape)
    picture[400:700, 700:1180] = np.clip(photo, 0, 255).astype(np.uint8)
    scenes.show(display, picture, tmp_path / "a.png")
    host, started = start_session(procs, "--lossy")
    assert host.wait_for("encoding")["lossy"] is True
    viewer = procs.join(started["link"], "--save", str(tmp_path / "out"))
    first = viewer.wait_for("frame")
    assert first["jpeg"] > 0
    # Nothing changes on the screen; within about a second the photo's
    # tiles come again, lossless, and the picture is exact.
    deadline = time.monotonic() + 20
    while True:
        frame = viewer.wait_for("frame", timeout=max(0.1, deadline - time.monotonic()))
        if not frame["keyframe"] and frame["jpeg"] == 0:
            break
    np.testing.assert_array_equal(rgb_of(latest_png(tmp_path / "out")), picture)


def test_a_scrolled_document_arrives_pixel_exact_and_mostly_as_a_move(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    picture = scenes.document_picture(*SCREEN, offset=0, seed=6)
    scenes.show(display, picture, tmp_path / "a.png")
    _host, started = start_session(procs)
    viewer = procs.join(started["link"], "--save", str(tmp_path / "out"))
    first = viewer.wait_for("frame")
    time.sleep(1.0)  # let the join settle (a second key frame may come)
    viewer.drain()
    for n, offset in enumerate((48, 51, 90), 1):
        scrolled = scenes.document_picture(*SCREEN, offset=offset, seed=6)
        scenes.show(display, scrolled, tmp_path / f"s{n}.png")
        delta = viewer.wait_for("frame")
        assert delta["keyframe"] is False
        np.testing.assert_array_equal(rgb_of(latest_png(tmp_path / "out")), scrolled)
        # The text moved (its blank right part did not change at all); only
        # the lines scrolled in are sent.
        assert delta["moved"] >= 400 * 400, delta
        assert delta["pixels"] < delta["moved"] / 3, delta
        assert delta["bytes"] < first["bytes"] / 4, delta


def test_wrong_password_and_unknown_id_fail_the_same_way(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=3), tmp_path / "s.png")
    host, started = start_session(procs)
    wrong = procs.join(
        started["session_id"], "--save", str(tmp_path / "w"), password="not-the-password"
    )
    unknown_id = "100000000" if started["session_id"] != "100000000" else "100000001"
    unknown = procs.join(unknown_id, "--save", str(tmp_path / "u"), password=started["password"])
    errors = [wrong.wait_for("error"), unknown.wait_for("error")]
    assert wrong.wait_exit() == unknown.wait_exit() == 3
    assert (
        errors[0]
        == errors[1]
        == {
            "event": "error",
            "message": "Wrong session ID or password.",
            "code": "admission_failed",
        }
    )
    for proc in (wrong, unknown):
        assert not [e for e in proc.events if e["event"] in ("joined", "frame")]
    assert not list((tmp_path / "w").glob("*.png")) and not list((tmp_path / "u").glob("*.png"))
    # The organizer's client saw the failed attempt; nothing about the
    # password is kept on the relay (it never had it).
    assert host.wait_for("admission_failed")["member_id"] >= 2
    relay.stop()
    blob = b"".join(p.read_bytes() for p in relay.data.rglob("*") if p.is_file())
    blob += relay.log.read_bytes()
    assert started["password"].encode() not in blob
    assert b"not-the-password" not in blob


def test_screen_content_is_nowhere_on_the_relay_or_the_wire(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=4)
    scenes.show(display, picture, tmp_path / "scene.png")
    host, started = start_session(procs)
    with TcpTap("127.0.0.1", relay.port) as tap:
        viewer = procs.join(
            started["session_id"],
            "--save",
            str(tmp_path / "out"),
            "--frames",
            "1",
            password=started["password"],
            relay_url=f"http://127.0.0.1:{tap.port}",
        )
        viewer.wait_for("frame")
        assert viewer.wait_exit() == 0
        wire = tap.recorded()
    # The check can fail: the decoded picture does hold the canary.
    decoded = rgb_of(latest_png(tmp_path / "out"))
    assert scenes.contains_canary(decoded.tobytes(), picture)
    assert len(wire) > 100_000  # the key frame did cross the tap
    assert not scenes.contains_canary(wire, picture)
    host.signal(signal.SIGINT)
    assert host.wait_exit() == 0
    relay.stop()
    written = [p for p in (*relay.data.rglob("*"), *relay.tmp.rglob("*")) if p.is_file()]
    for path in written:
        assert not scenes.contains_canary(path.read_bytes(), picture), path
    assert not scenes.contains_canary(relay.log.read_bytes(), picture)
    # What the relay did keep is metadata only.
    with sqlite3.connect(relay.data / "relay.sqlite") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit ORDER BY id")]
    # (the first row is the admin command that added the organizer)
    assert actions[:3] == ["account_added", "signed_in", "session_started"]
    assert "joined" in actions and "session_ended" in actions


def test_a_stalled_viewer_does_not_slow_the_other_or_grow_the_relay(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=5), tmp_path / "s.png")
    animator = scenes.start_animator(display, (400, 160, 480, 360), fps=20)
    try:
        host, started = start_session(procs)
        healthy = procs.join(started["session_id"], "--no-window", password=started["password"])
        stalled = procs.join(started["session_id"], "--no-window", password=started["password"])
        healthy.wait_for("frame")
        stalled.wait_for("frame")
        time.sleep(2)
        stalled.signal(signal.SIGSTOP)
        time.sleep(3)  # its socket buffers and its outbox fill
        rss_start = relay.rss_kib()
        sent, received = delivered(host, healthy, 6.0)
        rss_end = relay.rss_kib()
        stalled.signal(signal.SIGCONT)
    finally:
        animator.terminate()
        animator.wait()
    # At least 24 frames of ~350 KB would grow an unbounded relay by more than
    # the 8 MiB allowed below (a loaded machine may animate at 4 fps, not 20).
    assert sent >= 24, f"the scene did not animate ({sent} frames in 6 s)"
    # Every frame the host sent meanwhile reached the healthy viewer (give or
    # take the few in flight at either edge of the window).
    assert received >= sent - 3, f"healthy viewer got {received} of {sent} frames"
    # Bounded: flat once the stalled viewer's outbox is full. Unbounded, the
    # ~350 KB frames would pile up at several MB a second.
    assert rss_end - rss_start < 8 * 1024, f"relay grew {rss_end - rss_start} KiB"


def delivered(host: JsonProcess, viewer: JsonProcess, seconds: float) -> tuple[int, int]:
    """Frames the host sent and the viewer received in the next ``seconds``."""
    host.drain()
    viewer.drain()
    time.sleep(seconds)
    sent = sum(1 for e in host.drain() if e["event"] == "frame_sent")
    received = sum(1 for e in viewer.drain() if e["event"] == "frame")
    return sent, received


def test_relay_restart_mid_session_is_reported_and_nothing_hangs(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=6), tmp_path / "s.png")
    host, started = start_session(procs)
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("frame")
    relay.stop(signal.SIGKILL)
    for proc in (host, viewer):
        error = proc.wait_for("error", timeout=30)
        assert "Lost the connection to the relay" in error["message"]
        assert proc.wait_exit(timeout=10) == 4
    # A restarted relay serves a new session at once; the old ID is gone.
    relay.start()
    _again, restarted = start_session(procs)
    late = procs.join(started["session_id"], "--no-window", password=started["password"])
    assert late.wait_for("error")["code"] == "admission_failed"
    fresh = procs.join(
        restarted["session_id"], "--no-window", "--frames", "1", password=restarted["password"]
    )
    fresh.wait_for("frame")
    assert fresh.wait_exit() == 0


def test_ctrl_c_on_the_host_ends_the_session_for_everyone(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=7), tmp_path / "s.png")
    host, started = start_session(procs)
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("frame")
    host.signal(signal.SIGINT)
    assert viewer.wait_for("session_ended")
    assert viewer.wait_exit() == 0
    assert host.wait_exit() == 0
    assert relay.health()["sessions"] == 0


def test_the_viewer_window_shows_the_shared_region_at_full_size(
    procs: Processes, display: str, tmp_path: Path
) -> None:
    picture = scenes.desktop_picture(*SCREEN, seed=8)
    scenes.show(display, picture, tmp_path / "s.png")
    region = (640, 360, 640, 360)  # bottom right: the window opens top left, apart from it
    host, started = start_session(procs, "--region", ",".join(map(str, region)))
    viewer = procs.join(started["session_id"], password=started["password"])
    assert viewer.wait_for("frame")["width"] == 640
    left, top, width, height = region
    expected = picture[top : top + height, left : left + width]
    shown = scenes.wait_for_window(
        display, f"screenrelay: session {started['session_id']}", (width, height), expected
    )
    np.testing.assert_array_equal(shown, expected)
    host.signal(signal.SIGINT)
    viewer.wait_for("session_ended")
    assert viewer.wait_exit() == 0


def test_pause_and_hide_send_nothing_of_the_screen_and_viewers_are_told(
    procs: Processes, relay: Relay, display: str, tmp_path: Path
) -> None:
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=13), tmp_path / "s.png")
    animator = scenes.start_animator(display, (400, 200, 320, 240), fps=20)
    try:
        with TcpTap("127.0.0.1", relay.port) as uplink:
            host = procs.host("--share", relay_url=f"http://127.0.0.1:{uplink.port}",
                              keep_stdin=True)  # fmt: skip
            started = host.wait_for("session_started")
            viewer = procs.join(started["session_id"], "--no-window",
                                password=started["password"])  # fmt: skip
            viewer.wait_for("frame")
            time.sleep(1.0)
            moving = len(uplink.recorded())
            time.sleep(1.0)
            assert len(uplink.recorded()) - moving > 100_000  # the picture really moves
            for hide, show, word in (("hide", "show", "hidden"), ("pause", "resume", "paused")):
                host.write_line(hide)
                told = viewer.wait_for("presenter")
                assert told[word] is True
                time.sleep(0.5)  # anything in flight lands
                viewer.drain()
                before = len(uplink.recorded())
                time.sleep(2.0)
                assert len(uplink.recorded()) - before < 2_000, f"screen data left while {word}"
                assert [e for e in viewer.drain() if e["event"] == "frame"] == []
                host.write_line(show)
                assert viewer.wait_for("presenter")[word] is False
                assert viewer.wait_for("frame")["keyframe"] is True
    finally:
        animator.terminate()
        animator.wait()
