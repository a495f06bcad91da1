"""Where pictures of the screen come from.

``ScreenSource`` is the small interface the host uses; ``open_source`` is the
one place that chooses an implementation. ``MssSource`` grabs an X11 (or
Windows, macOS) screen with mss; ``FakeSource`` plays given pictures for
tests. A grabbed picture is a numpy array (height, width, 4) uint8 BGRA,
read-only, valid until the next ``grab`` or ``close``: copy it to keep it.

Importing this module needs no display: mss is imported when an
``MssSource`` is opened.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt

from protocol.errors import ScreenrelayError

Picture = npt.NDArray[np.uint8]

#: mss releases whose private X11 shared-memory members the zero-copy path
#: uses (see ``_ShmView``); any other release takes the public, copying path.
_MSS_ZERO_COPY_VERSIONS: Final = frozenset({"10.2.0"})


class CaptureError(ScreenrelayError):
    """The screen could not be opened or grabbed (no display, bad monitor...)."""


class ScreenSource(abc.ABC):
    """A screen, or part of one, that can be grabbed again and again."""

    @property
    @abc.abstractmethod
    def size(self) -> tuple[int, int]:
        """(width, height) of every picture ``grab`` returns."""

    @property
    def origin(self) -> tuple[int, int]:
        """(left, top) of the grabbed area in screen coordinates."""
        return 0, 0

    @abc.abstractmethod
    def grab(self) -> Picture:
        """The current picture: (height, width, 4) uint8 BGRA, read-only,
        valid until the next ``grab`` or ``close``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the screen; safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_source(
    *,
    monitor: int = 1,
    region: tuple[int, int, int, int] | None = None,
    display: str | None = None,
) -> ScreenSource:
    """Open the screen of this machine; the one place a source is chosen.

    ``monitor`` is mss's numbering (1 is the first monitor, 0 all of them
    together); ``region`` is (left, top, width, height) inside that monitor;
    ``display`` an X11 display name such as ":0" (default: ``$DISPLAY``, read
    by the X library).
    """
    return MssSource(monitor, region, display)


class MssSource(ScreenSource):
    """Grabs with mss. On X11 with MIT-SHM, ``grab`` is zero-copy: the array
    is a view of the shared-memory segment the X server writes into.

    mss's public ``grab`` copies that segment into a new ``bytearray`` every
    time (an 8 MB allocation at 1080p, which costs more in page faults than
    the copy itself). With ``zero_copy`` (the default) and a known mss
    release, this class asks the X server itself, through mss's connection
    and segment, and returns a read-only view of the segment; otherwise, or
    if that path is not available, it uses the public ``grab``.
    """

    def __init__(
        self,
        monitor: int = 1,
        region: tuple[int, int, int, int] | None = None,
        display: str | None = None,
        *,
        zero_copy: bool = True,
    ) -> None:
        import mss  # here, so that importing this module needs no display

        self._mss_version = str(getattr(mss, "__version__", ""))
        self._closed = False
        self._shm: _ShmView | None = None
        try:
            self._sct: Any = mss.MSS() if display is None else mss.MSS(display=display)
        except mss.ScreenShotError as exc:
            raise CaptureError(f"cannot open the screen: {exc}") from exc
        try:
            self._box = self._choose_box(monitor, region)
            first = self._public_grab()
            if first.shape[:2] != (self._box["height"], self._box["width"]):
                raise CaptureError(f"mss returned {first.shape} for {self._box}")
            if zero_copy and self._mss_version in _MSS_ZERO_COPY_VERSIONS:
                self._shm = _ShmView.attach(self._sct, self._box)
        except BaseException:
            self._sct.close()
            raise

    @property
    def size(self) -> tuple[int, int]:
        return self._box["width"], self._box["height"]

    @property
    def origin(self) -> tuple[int, int]:
        return self._box["left"], self._box["top"]

    @property
    def zero_copy(self) -> bool:
        """True if ``grab`` returns a view of the X server's shared memory."""
        return self._shm is not None

    def grab(self) -> Picture:
        if self._closed:
            raise CaptureError("the screen source is closed")
        if self._shm is not None:
            return self._shm.grab()
        return self._public_grab()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        shm, self._shm = self._shm, None
        if shm is not None:
            shm.detach()
        self._sct.close()

    def _choose_box(self, monitor: int, region: tuple[int, int, int, int] | None) -> dict[str, int]:
        monitors = self._sct.monitors
        if not 0 <= monitor < len(monitors):
            raise CaptureError(f"no monitor {monitor}; there are {len(monitors) - 1}")
        mon = monitors[monitor]
        if region is None:
            return {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        left, top, width, height = region
        if width <= 0 or height <= 0 or left < 0 or top < 0:
            raise ValueError(f"region {region} must have a non-negative origin and size > 0")
        if left + width > mon["width"] or top + height > mon["height"]:
            raise ValueError(f"region {region} is not inside monitor {monitor}")
        return {
            "left": int(mon["left"]) + left,
            "top": int(mon["top"]) + top,
            "width": width,
            "height": height,
        }

    def _public_grab(self) -> Picture:
        import mss

        try:
            shot = self._sct.grab(self._box)
        except mss.ScreenShotError as exc:
            raise CaptureError(f"cannot grab the screen: {exc}") from exc
        picture = np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)
        picture.flags.writeable = False
        return picture


class _ShmView:
    """mss 10.2's X11 MIT-SHM segment, read in place.

    Uses private members of ``mss.linux.xshmgetimage.MSSImplXShmGetImage``
    (``conn``, ``drawable``, ``_shmseg``, ``_buf``, ``shm_status``), which is
    why ``MssSource`` only tries it on releases listed in
    ``_MSS_ZERO_COPY_VERSIONS``. ``attach`` returns None whenever anything
    differs from what it expects, and the public path is used. The request is
    the one mss's own ``_grab_xshmgetimage`` makes; only mss's copy of the
    segment into a new bytearray is left out. tests/test_capture_xvfb.py
    checks both paths against a known picture.
    """

    def __init__(self, impl: Any, box: dict[str, int], picture: Picture) -> None:
        from mss import ScreenShotError
        from mss.linux.base import ALL_PLANES
        from mss.linux.xcbgen import ImageFormat, shm_get_image

        self._impl = impl
        self._picture = picture
        self._request = (
            impl.conn,
            impl.drawable,
            box["left"],
            box["top"],
            box["width"],
            box["height"],
            ALL_PLANES,
            ImageFormat.ZPixmap,
            impl._shmseg,
            0,
        )
        self._get_image = shm_get_image
        self._error = ScreenShotError

    @classmethod
    def attach(cls, sct: Any, box: dict[str, int]) -> _ShmView | None:
        impl = getattr(sct, "_impl", None)
        if type(impl).__name__ != "MSSImplXShmGetImage":
            return None
        try:
            from mss.linux.xshmgetimage import ShmStatus
        except ImportError:
            return None
        # The public grab in MssSource.__init__ has run, so a working segment
        # reports AVAILABLE; anything else means mss fell back to XGetImage.
        if getattr(impl, "shm_status", None) is not ShmStatus.AVAILABLE:
            return None
        buffer = getattr(impl, "_buf", None)
        needed = box["width"] * box["height"] * 4
        if buffer is None or getattr(impl, "_shmseg", None) is None or len(buffer) < needed:
            return None
        picture = np.frombuffer(buffer, np.uint8, count=needed)
        picture = picture.reshape(box["height"], box["width"], 4)
        return cls(impl, box, picture)

    def grab(self) -> Picture:
        try:
            self._get_image(*self._request)
        except self._error as exc:
            raise CaptureError(f"cannot grab the screen: {exc}") from exc
        return self._picture

    def detach(self) -> None:
        """Drop this view so mss can unmap the segment; if a caller still
        holds a picture, hand the mapping to that picture (it is unmapped
        when the last view of it is gone) instead of failing mss's close."""
        self._picture = np.empty((0, 0, 4), np.uint8)
        with contextlib.suppress(BufferError):
            self._impl._buf.close()
        self._impl._buf = None


def _as_picture(frame: Picture) -> Picture:
    if frame.ndim != 3 or frame.shape[2] != 4 or frame.dtype != np.uint8:
        raise ValueError(f"expected a (height, width, 4) uint8 picture, got {frame.shape}")
    return frame


class FakeSource(ScreenSource):
    """Plays the given pictures in order, then repeats the last one.

    Records every call in ``calls`` ("size", "grab", "close"). Like a real
    source, ``grab`` returns a read-only view of one reused buffer, so a
    caller that keeps a picture past the next ``grab`` sees it change.
    """

    def __init__(self, frames: Sequence[Picture]) -> None:
        if not frames:
            raise ValueError("FakeSource needs at least one picture")
        self._frames = [_as_picture(f) for f in frames]
        shape = self._frames[0].shape
        if any(f.shape != shape for f in self._frames):
            raise ValueError("all pictures of a FakeSource must have one size")
        self._buffer: Picture = np.empty(shape, np.uint8)
        self._next = 0
        self.calls: list[str] = []
        self.closed = False

    @property
    def size(self) -> tuple[int, int]:
        self.calls.append("size")
        height, width, _ = self._buffer.shape
        return width, height

    @property
    def grabs(self) -> int:
        """Number of ``grab`` calls so far."""
        return self.calls.count("grab")

    def grab(self) -> Picture:
        self.calls.append("grab")
        if self.closed:
            raise CaptureError("the screen source is closed")
        np.copyto(self._buffer, self._frames[min(self._next, len(self._frames) - 1)])
        self._next += 1
        view = self._buffer.view()
        view.flags.writeable = False
        return view

    def close(self) -> None:
        self.calls.append("close")
        self.closed = True
