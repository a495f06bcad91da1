"""What every window showing a presenter's picture shares: its notices and its size."""

from __future__ import annotations

from typing import Final

from PIL import Image

#: Largest share of the screen a new picture window takes; bigger pictures are
#: scaled down to fit, smaller ones are shown at 100 % (crisp text).
SCREEN_SHARE: Final = 0.95


def status_notice(*, paused: bool, hidden: bool) -> str:
    """The sentence shown while the presenter pauses or hides ("" otherwise)."""
    if hidden:
        return "The presenter has hidden their screen."
    if paused:
        return "The presenter paused the picture."
    return ""


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` scaled down to fit ``width`` x ``height``; never scaled up."""
    scale = min(1.0, width / image.width, height / image.height)
    if scale >= 1.0:
        return image
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)
