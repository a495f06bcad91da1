"""Version of this relay and the parsing of client versions."""

from __future__ import annotations

import re
from typing import Final

#: The version of this screenrelay build; clients and relay share it.
SOFTWARE_VERSION: Final = "0.1.0"

_VERSION = re.compile(r"(\d{1,6})\.(\d{1,6})\.(\d{1,6})")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``"1.2.3"`` -> ``(1, 2, 3)``; anything else -> None."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch
