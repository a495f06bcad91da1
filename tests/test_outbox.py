"""The viewer outbox: control never dropped, newest picture wins, bounded."""

from __future__ import annotations

import pytest

from relay.outbox import ControlOverflow, Outbox, Verdict


def make(**limits: int) -> tuple[Outbox, list[int]]:
    wakes: list[int] = []
    return Outbox(lambda: wakes.append(1), **limits), wakes


def drain(box: Outbox) -> list[bytes]:
    out = []
    while (item := box.pop()) is not None:
        out.append(item)
    return out


def test_a_new_outbox_waits_for_a_key_frame() -> None:
    box, _ = make()
    assert box.put_frame(b"delta", keyframe=False) is Verdict.NEED_KEYFRAME
    assert box.pop() is None
    assert box.put_frame(b"key", keyframe=True) is Verdict.QUEUED
    assert box.put_frame(b"d1", keyframe=False) is Verdict.QUEUED
    assert drain(box) == [b"key", b"d1"]


def test_control_goes_before_frames_and_in_order() -> None:
    box, wakes = make()
    box.put_frame(b"key", keyframe=True)
    box.put_control(b"c1")
    box.put_control(b"c2")
    assert drain(box) == [b"c1", b"c2", b"key"]
    assert len(wakes) == 3


def test_a_key_frame_replaces_everything_queued() -> None:
    box, _ = make()
    box.put_frame(b"k1", keyframe=True)
    box.put_frame(b"d1", keyframe=False)
    box.put_frame(b"k2", keyframe=True)
    assert drain(box) == [b"k2"]
    assert box.statistics().frames_dropped == 2


def test_a_backlog_past_the_frame_limit_drops_all_and_waits_for_a_key_frame() -> None:
    box, _ = make(max_frames=3)
    box.put_frame(b"k", keyframe=True)
    assert box.put_frame(b"d1", keyframe=False) is Verdict.QUEUED
    assert box.put_frame(b"d2", keyframe=False) is Verdict.QUEUED
    assert box.put_frame(b"d3", keyframe=False) is Verdict.NEED_KEYFRAME
    stats = box.statistics()
    assert stats.frames_queued == 0 and stats.waiting_for_keyframe
    assert box.put_frame(b"d4", keyframe=False) is Verdict.NEED_KEYFRAME
    assert box.put_frame(b"k2", keyframe=True) is Verdict.QUEUED
    assert drain(box) == [b"k2"]


def test_the_byte_limit_counts_queued_bytes() -> None:
    box, _ = make(max_frame_bytes=100)
    box.put_frame(b"k" * 60, keyframe=True)
    assert box.put_frame(b"d" * 50, keyframe=False) is Verdict.NEED_KEYFRAME
    assert box.statistics().frame_bytes_queued == 0
    box.put_frame(b"k" * 60, keyframe=True)
    box.pop()
    assert box.put_frame(b"d" * 50, keyframe=False) is Verdict.QUEUED
    assert box.statistics().frame_bytes_queued == 50


def test_control_is_never_dropped_a_stuck_peer_overflows_instead() -> None:
    box, _ = make(max_control=2)
    box.put_control(b"1")
    box.put_control(b"2")
    with pytest.raises(ControlOverflow):
        box.put_control(b"3")
    assert drain(box) == [b"1", b"2"]


def test_statistics_count_what_was_sent() -> None:
    box, _ = make()
    box.put_control(b"abc")
    box.put_frame(b"12345", keyframe=True)
    drain(box)
    stats = box.statistics()
    assert (stats.messages_sent, stats.bytes_sent) == (2, 8)
