"""A viewer's send queue: control messages never dropped, the newest picture wins.

Rules:
  1. Control messages (admission, keys, session end) go first, in order, and
     are never dropped. If MAX_CONTROL of them are waiting, the peer is not
     reading: the owner disconnects it rather than drop one.
  2. Frames are deltas on top of the last key frame. A key frame replaces
     everything queued before it (the newest picture wins).
  3. At most MAX_FRAMES frames or MAX_FRAME_BYTES bytes wait. When a delta
     would pass either limit, every queued frame is dropped and the outbox
     waits for the next key frame, which the caller asks the presenter for.
  4. A new outbox waits for a key frame: a viewer never sees a delta it
     cannot apply.

Pure logic with no I/O: the endpoint pops messages in its sender task and is
woken through the ``on_ready`` callback.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Callable
from typing import Final

#: Control messages a peer may leave unread before it is disconnected. Every
#: one is small (< 64 KiB); input to a presenter comes at most 240 a second
#: (relay/control_routing.py), so 1024 is seconds of a stalled reader.
MAX_CONTROL: Final = 1024

#: Delta frames queued for one viewer. A handful absorbs jitter at 60 frames
#: per second; more would be a backlog, which a key frame replaces cheaper.
MAX_FRAMES: Final = 8

#: Bytes of frames queued for one viewer: two raw 1080p pictures.
MAX_FRAME_BYTES: Final = 16 * 1024 * 1024


class Verdict(enum.Enum):
    """What became of a frame offered to an outbox."""

    #: The frame was queued.
    QUEUED = "queued"
    #: The frame (and maybe earlier ones) was dropped; a key frame is needed.
    NEED_KEYFRAME = "need-keyframe"


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxStatistics:
    """A snapshot of one outbox."""

    #: Control messages waiting.
    control_queued: int
    #: Frames waiting.
    frames_queued: int
    #: Bytes of frames waiting.
    frame_bytes_queued: int
    #: Frames dropped since the outbox was made.
    frames_dropped: int
    #: Messages handed to the sender so far.
    messages_sent: int
    #: Bytes handed to the sender so far.
    bytes_sent: int
    #: True while deltas are refused until a key frame arrives.
    waiting_for_keyframe: bool


class ControlOverflow(Exception):
    """The peer left MAX_CONTROL control messages unread."""


class Outbox:
    """One viewer's bounded queue (see the module's rules)."""

    def __init__(
        self,
        on_ready: Callable[[], None],
        *,
        max_control: int = MAX_CONTROL,
        max_frames: int = MAX_FRAMES,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self._on_ready = on_ready
        self._max_control = max_control
        self._max_frames = max_frames
        self._max_frame_bytes = max_frame_bytes
        self._control: collections.deque[bytes] = collections.deque()
        self._frames: collections.deque[bytes] = collections.deque()
        self._frame_bytes = 0
        self._need_key = True
        self._dropped = 0
        self._sent = 0
        self._bytes_sent = 0

    def put_control(self, data: bytes) -> None:
        """Queue a control message; raise ControlOverflow if the peer is stuck."""
        if len(self._control) >= self._max_control:
            raise ControlOverflow(f"{len(self._control)} control messages unread")
        self._control.append(data)
        self._on_ready()

    def put_frame(self, data: bytes, *, keyframe: bool) -> Verdict:
        """Offer a frame; the verdict says whether a key frame is now needed."""
        if keyframe:
            self._drop_frames()
            self._need_key = False
        elif self._need_key:
            self._dropped += 1
            return Verdict.NEED_KEYFRAME
        elif (
            len(self._frames) >= self._max_frames
            or self._frame_bytes + len(data) > self._max_frame_bytes
        ):
            self._drop_frames()
            self._dropped += 1
            self._need_key = True
            return Verdict.NEED_KEYFRAME
        self._frames.append(data)
        self._frame_bytes += len(data)
        self._on_ready()
        return Verdict.QUEUED

    def pop(self) -> bytes | None:
        """The next message to send, control first; None when empty."""
        if self._control:
            data = self._control.popleft()
        elif self._frames:
            data = self._frames.popleft()
            self._frame_bytes -= len(data)
        else:
            return None
        self._sent += 1
        self._bytes_sent += len(data)
        return data

    def statistics(self) -> OutboxStatistics:
        """A frozen snapshot of the queue's state and counters."""
        return OutboxStatistics(
            control_queued=len(self._control),
            frames_queued=len(self._frames),
            frame_bytes_queued=self._frame_bytes,
            frames_dropped=self._dropped,
            messages_sent=self._sent,
            bytes_sent=self._bytes_sent,
            waiting_for_keyframe=self._need_key,
        )

    def _drop_frames(self) -> None:
        self._dropped += len(self._frames)
        self._frames.clear()
        self._frame_bytes = 0
