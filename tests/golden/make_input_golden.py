"""Regenerate tests/golden/input_batch.bin: one Input plaintext (an InputBatch).

Run by hand, from the repository root, only when the Input plaintext format
changes on purpose (then say so in the commit)::

    PYTHONPATH=. .venv/bin/python tests/golden/make_input_golden.py

tests/test_input_events.py checks the file both ways against ``BATCH``, and
its bytes against a hex string written from docs/protocol.md by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from protocol.input_events import (
    Button,
    InputBatch,
    Key,
    MouseButton,
    PointerMove,
    Scroll,
    encode_batch,
)

PATH: Final = Path(__file__).resolve().parent / "input_batch.bin"

#: One event of each kind and button, negative and positive scroll, a key
#: name, an ASCII, a two-byte and a four-byte character, coordinates near
#: the top of u16.
BATCH: Final = InputBatch(
    0x0102030405060708,
    (
        PointerMove(65_535, 1),
        Button(MouseButton.LEFT, True, 10, 20),
        Button(MouseButton.RIGHT, False, 300, 400),
        Button(MouseButton.MIDDLE, True, 0, 0),
        Scroll(-128, 127, 5, 6),
        Key(True, "shift_l"),
        Key(False, "a"),
        Key(True, "é"),
        Key(False, "\U0001f600"),
    ),
)


if __name__ == "__main__":
    PATH.write_bytes(encode_batch(BATCH))
    print(f"wrote {PATH} ({PATH.stat().st_size} bytes)")
