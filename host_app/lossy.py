"""Whether the host may send lossy (JPEG) rects: the user asks, the relay's policy allows.

Rules:
  1. Lossless unless the user asked for lossy (``screenrelay host --lossy``).
  2. Lossy only if the relay's Welcome policy says ``"lossy": true``. A
     policy without the key, or with anything but ``true``, forbids it (an
     older relay, or an administrator who wants exact pictures), and the
     host says so and stays lossless.
  3. The decision is taken once, from the Welcome, when sharing starts; the
     encoder never changes its mind mid-stream.

Even when lossy, text and UI stay lossless (host_app/encoder.py sends only
photo-like areas as JPEG).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

#: The Welcome policy key that allows lossy rects (docs/protocol.md).
POLICY_KEY: Final = "lossy"


@dataclasses.dataclass(frozen=True, slots=True)
class LossyDecision:
    """What the encoder will do, and what to tell the user."""

    #: Photo-like areas may be sent as JPEG.
    lossy: bool
    #: A sentence for the user, or None when there is nothing to say (lossless
    #: was asked for and is what happens).
    message: str | None


def decide_lossy(asked: bool, policy: Mapping[str, Any]) -> LossyDecision:
    """The encoder's ``lossy`` setting for a host that ``asked`` for it, under
    the relay's Welcome ``policy``."""
    if not asked:
        return LossyDecision(False, None)
    if policy.get(POLICY_KEY, False) is True:
        return LossyDecision(
            True, "Lossy encoding on: photo-like areas are sent as JPEG; text stays lossless."
        )
    return LossyDecision(
        False,
        "This relay's policy forbids lossy encoding (JPEG); the picture is sent lossless.",
    )
