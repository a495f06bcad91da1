"""protocol.input_events: the Input plaintext, its golden file, and the promise.

The promise: any bytes given to `parse_batch` yield one InputBatch or raise
`RemoteProtocolError`, never another exception; and what parses re-encodes
to the same bytes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.input_events import (
    KEY_NAMES,
    MAX_BATCH_SIZE,
    MAX_EVENTS,
    MAX_KEY_BYTES,
    Button,
    EventKind,
    InputBatch,
    InputEvent,
    Key,
    MouseButton,
    PointerMove,
    Scroll,
    encode_batch,
    key_problem,
    parse_batch,
)
from protocol.messages import MAX_INPUT_CIPHERTEXT, MIN_CIPHERTEXT

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

#: tests/golden/input_batch.bin, written from docs/protocol.md by hand (not by
#: the code under test).
GOLDEN_HEX = (
    "0102030405060708"  # sent_ns
    "0009"  # count
    "01" "ffff" "0001"  # pointer move to 65535, 1
    "02" "01" "01" "000a" "0014"  # left button down at 10, 20
    "02" "03" "00" "012c" "0190"  # right button up at 300, 400
    "02" "02" "01" "0000" "0000"  # middle button down at 0, 0
    "03" "80" "7f" "0005" "0006"  # scroll -128, +127 at 5, 6
    "04" "01" "07" "73686966745f6c"  # shift_l down
    "04" "00" "01" "61"  # "a" up
    "04" "01" "02" "c3a9"  # "é" down
    "04" "00" "04" "f09f9880"  # U+1F600 up
)  # fmt: skip


def _golden_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_input_golden", GOLDEN_DIR / "make_input_golden.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BATCH: InputBatch = _golden_module().BATCH
GOLDEN = (GOLDEN_DIR / "input_batch.bin").read_bytes()


def parse_or_refuse(data: bytes) -> InputBatch | None:
    try:
        return parse_batch(data)
    except RemoteProtocolError as exc:
        error = exc
    assert error.code is ErrorCode.BAD_MESSAGE
    assert error.text
    return None


def refused(data: bytes) -> RemoteProtocolError:
    with pytest.raises(RemoteProtocolError) as info:
        parse_batch(data)
    return info.value


def batch_bytes(*events: bytes, sent_ns: int = 1, count: int | None = None) -> bytes:
    n = len(events) if count is None else count
    return struct.pack(">QH", sent_ns, n) + b"".join(events)


def key_event(raw: bytes, pressed: int = 1) -> bytes:
    return bytes([EventKind.KEY, pressed, len(raw)]) + raw


# -- strategies -----------------------------------------------------------------

u16s = st.integers(0, 0xFFFF)
i8s = st.integers(-128, 127)
characters = st.characters(codec="utf-8").filter(lambda c: key_problem(c) is None)
keys = st.sampled_from(sorted(KEY_NAMES)) | characters
events: st.SearchStrategy[InputEvent] = st.one_of(
    st.builds(PointerMove, u16s, u16s),
    st.builds(Button, st.sampled_from(MouseButton), st.booleans(), u16s, u16s),
    st.builds(Scroll, i8s, i8s, u16s, u16s),
    st.builds(Key, st.booleans(), keys),
)
batches = st.builds(
    InputBatch,
    st.integers(0, 2**64 - 1),
    st.lists(events, min_size=1, max_size=40).map(tuple),
)


# -- golden file, both ways -------------------------------------------------------


def test_golden_file_matches_the_hand_written_bytes() -> None:
    assert GOLDEN.hex() == GOLDEN_HEX


def test_golden_file_parses_to_the_batch() -> None:
    assert parse_batch(GOLDEN) == BATCH
    for buffer in (bytearray(GOLDEN), memoryview(GOLDEN), memoryview(b"xx" + GOLDEN)[2:]):
        assert parse_batch(buffer) == BATCH


def test_the_batch_encodes_to_the_golden_file() -> None:
    assert encode_batch(BATCH) == GOLDEN


def test_parsed_enums_are_enum_members() -> None:
    button = parse_batch(GOLDEN).events[1]
    assert isinstance(button, Button)
    assert type(button.button) is MouseButton
    assert button.pressed is True


# -- round trips and the promise ------------------------------------------------------


# No deadline: timing is not under test, and a loaded machine trips the default.
@settings(deadline=None)
@given(batches)
@example(InputBatch(2**64 - 1, (Key(True, "\U0001f600"),) * MAX_EVENTS))
@example(InputBatch(0, (Scroll(-128, -128, 0, 0), Scroll(127, 127, 0xFFFF, 0xFFFF))))
def test_round_trip(batch: InputBatch) -> None:
    data = encode_batch(batch)
    assert len(data) <= MAX_BATCH_SIZE
    assert parse_batch(data) == batch
    assert encode_batch(parse_batch(data)) == data


def _mutations() -> st.SearchStrategy[bytes]:
    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(encode_batch(draw(batches)))
        for _ in range(draw(st.integers(0, 3))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data[: draw(st.integers(0, len(data) + 1))])

    return mutated()


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=120)
    | st.binary(max_size=40).map(lambda b: struct.pack(">QH", 0, 1) + b)
    | _mutations()
)
def test_arbitrary_bytes_parse_or_refuse(data: bytes) -> None:
    batch = parse_or_refuse(data)
    if batch is not None:
        assert encode_batch(batch) == data  # the encoding is canonical


def test_every_truncation_is_refused() -> None:
    for length in range(len(GOLDEN)):
        refused(GOLDEN[:length])


def test_every_flipped_byte_parses_or_refuses() -> None:
    for pos in range(len(GOLDEN)):
        for mask in (0x01, 0x80, 0xFF):
            mutated = bytearray(GOLDEN)
            mutated[pos] ^= mask
            batch = parse_or_refuse(bytes(mutated))
            if batch is not None:
                assert encode_batch(batch) == bytes(mutated)


def test_trailing_bytes_are_refused() -> None:
    assert "trailing" in refused(GOLDEN + b"\x00").text


# -- sizes and counts -------------------------------------------------------------------


def test_largest_batch_fits_in_an_input_message() -> None:
    longest = max(KEY_NAMES, key=len)
    assert len(longest) <= MAX_KEY_BYTES
    batch = InputBatch(2**64 - 1, (Key(True, longest),) * MAX_EVENTS)
    assert len(encode_batch(batch)) <= MAX_BATCH_SIZE
    # The cap leaves room for a key of MAX_KEY_BYTES in every event.
    assert MAX_BATCH_SIZE == 10 + MAX_EVENTS * (3 + MAX_KEY_BYTES)
    assert MAX_BATCH_SIZE + MIN_CIPHERTEXT <= MAX_INPUT_CIPHERTEXT


def test_oversized_data_is_refused_before_parsing() -> None:
    error = refused(bytes(MAX_BATCH_SIZE + 1))
    assert str(MAX_BATCH_SIZE) in error.text


@pytest.mark.parametrize("count", [0, MAX_EVENTS + 1, 0xFFFF])
def test_count_out_of_range_is_refused(count: int) -> None:
    move = bytes([EventKind.POINTER_MOVE, 0, 1, 0, 2])
    error = refused(batch_bytes(*[move] * min(count, MAX_EVENTS + 1), count=count))
    assert "count" in error.text
    with pytest.raises(LocalProtocolError):
        InputBatch(0, (PointerMove(1, 2),) * count)


def test_count_is_checked_against_the_events_present() -> None:
    move = bytes([EventKind.POINTER_MOVE, 0, 1, 0, 2])
    refused(batch_bytes(move, count=2))
    assert parse_batch(batch_bytes(move, move)) == InputBatch(1, (PointerMove(1, 2),) * 2)


# -- fields on the wire -------------------------------------------------------------


@pytest.mark.parametrize("kind", [0, 5, 0x80, 0xFF])
def test_unknown_event_kind_is_refused(kind: int) -> None:
    assert "kind" in refused(batch_bytes(bytes([kind, 0, 0, 0, 0]))).text


@pytest.mark.parametrize("button", [0, 4, 0xFF])
def test_unknown_button_is_refused(button: int) -> None:
    refused(batch_bytes(bytes([EventKind.BUTTON, button, 1, 0, 0, 0, 0])))
    with pytest.raises(LocalProtocolError):
        Button(button, True, 0, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("pressed", [2, 0x80, 0xFF])
def test_pressed_is_0_or_1(pressed: int) -> None:
    refused(batch_bytes(bytes([EventKind.BUTTON, 1, pressed, 0, 0, 0, 0])))
    refused(batch_bytes(key_event(b"a", pressed)))


def test_scroll_deltas_are_signed() -> None:
    data = batch_bytes(bytes([EventKind.SCROLL, 0xFF, 0x01, 0, 9, 0, 8]))
    assert parse_batch(data) == InputBatch(1, (Scroll(-1, 1, 9, 8),))


# -- keys ---------------------------------------------------------------------------------


def test_key_names() -> None:
    assert {f"f{n}" for n in range(1, 13)} <= KEY_NAMES
    assert "f13" not in KEY_NAMES
    named = (
        "alt alt_l alt_r backspace caps_lock cmd ctrl ctrl_l ctrl_r delete down end enter esc "
        "home insert left menu page_down page_up right shift shift_l shift_r space tab up"
    )
    assert {*named.split(), *(f"f{n}" for n in range(1, 13))} == KEY_NAMES
    assert all(len(name) >= 2 and name.isascii() for name in KEY_NAMES)


def test_key_names_are_pynput_key_members() -> None:
    """Every name is a member of pynput.keyboard.Key (checked in a child process).

    The dummy backend needs no display, and the child keeps pynput out of
    this process, where host tests choose their own backend.
    """
    code = "import json, pynput.keyboard as k; print(json.dumps(sorted(k.Key.__members__)))"
    env = {**os.environ, "PYNPUT_BACKEND": "dummy"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    members = set(json.loads(result.stdout))
    assert members >= KEY_NAMES, sorted(KEY_NAMES - members)


@pytest.mark.parametrize(
    "key", [*sorted(KEY_NAMES), "a", "Z", "0", " ", "é", "€", "ß", "\U0001f600"]
)
def test_good_keys(key: str) -> None:
    event = Key(True, key)
    assert event.key == key
    assert parse_batch(encode_batch(InputBatch(0, (event,)))) == InputBatch(0, (event,))


@pytest.mark.parametrize(
    "key",
    [
        "",
        "ab",
        "F1",
        "f13",
        "Enter",
        "enter ",
        "print_screen",
        "media_play_pause",
        "alt_gr",
        "\x00",
        "\n",
        "\t",
        "\x7f",
        "\x85",
        "\u200b",  # zero width space (format)
        "\u202e",  # right-to-left override (format)
        "\u2028",  # line separator
        "\ue000",  # private use
        "\U000e0001",  # language tag (format)
        "\u0378",  # unassigned
        "\u0958",  # NFC expands it to two code points
    ],
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(LocalProtocolError):
        Key(True, key)
    raw = key.encode("utf-8", "surrogatepass")
    if 1 <= len(raw) <= MAX_KEY_BYTES:
        refused(batch_bytes(key_event(raw)))


def test_keys_are_stored_in_nfc_and_must_arrive_in_nfc() -> None:
    assert Key(True, "e\u0301").key == "é"
    assert Key(True, "\u212b").key == "\u00c5"  # angstrom sign -> A with ring
    # On the wire only the canonical form parses, so encodings stay canonical.
    refused(batch_bytes(key_event("e\u0301".encode())))
    refused(batch_bytes(key_event("\u212b".encode())))
    assert parse_batch(batch_bytes(key_event("é".encode()))).events == (Key(True, "é"),)


@pytest.mark.parametrize(
    "raw", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"a\x80"], ids=["ff", "cut", "surrogate", "stray"]
)
def test_invalid_utf8_keys_are_refused(raw: bytes) -> None:
    assert "UTF-8" in refused(batch_bytes(key_event(raw))).text


@pytest.mark.parametrize("size", [0, MAX_KEY_BYTES + 1, 0xFF])
def test_key_length_is_checked_on_the_prefix(size: int) -> None:
    data = batch_bytes(bytes([EventKind.KEY, 1, size]) + b"a" * size)
    assert "a key is" in refused(data).text


def test_key_longer_than_the_data_is_refused() -> None:
    refused(batch_bytes(bytes([EventKind.KEY, 1, 5]) + b"abc"))


# -- construction by our own code ------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (PointerMove, (-1, 0)),
        (PointerMove, (0, 0x10000)),
        (PointerMove, (1.0, 0)),
        (PointerMove, (True, 0)),
        (Button, (MouseButton.LEFT, 1, 0, 0)),
        (Button, (True, True, 0, 0)),
        (Button, ("left", True, 0, 0)),
        (Scroll, (-129, 0, 0, 0)),
        (Scroll, (0, 128, 0, 0)),
        (Key, (1, "a")),
        (Key, (True, b"a")),
        (Key, (True, None)),
        (InputBatch, (-1, (PointerMove(0, 0),))),
        (InputBatch, (2**64, (PointerMove(0, 0),))),
        (InputBatch, (0, ())),
        (InputBatch, (0, PointerMove(0, 0))),
        (InputBatch, (0, (PointerMove(0, 0), "move"))),
        (InputBatch, (0, iter([PointerMove(0, 0)]))),
    ],
)
def test_invalid_construction_raises_local_protocol_error(
    cls: type[Any], args: tuple[Any, ...]
) -> None:
    with pytest.raises(LocalProtocolError):
        cls(*args)


def test_a_list_of_events_is_stored_as_a_tuple() -> None:
    batch = InputBatch(0, [PointerMove(1, 2)])  # type: ignore[arg-type]
    assert batch.events == (PointerMove(1, 2),)
    assert hash(batch) == hash(InputBatch(0, (PointerMove(1, 2),)))


def test_button_takes_a_plain_int() -> None:
    assert Button(3, False, 0, 0).button is MouseButton.RIGHT  # type: ignore[arg-type]


@pytest.mark.parametrize("event", [*BATCH.events, BATCH], ids=lambda e: type(e).__name__)
def test_events_are_frozen_and_slotted(event: object) -> None:
    assert not hasattr(event, "__dict__")
    for f in dataclasses.fields(event):  # type: ignore[arg-type]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, f.name, getattr(event, f.name))


def test_encode_refuses_non_batches() -> None:
    with pytest.raises(LocalProtocolError):
        encode_batch((PointerMove(0, 0),))  # type: ignore[arg-type]


def test_refusals_name_the_event_and_field() -> None:
    move = bytes([EventKind.POINTER_MOVE, 0, 1, 0, 2])
    error = refused(batch_bytes(move, key_event(b"F1")))
    assert "events[1].key" in error.text
    assert "KEY_NAMES" in error.text
    assert "events[1].pressed" in refused(batch_bytes(move, key_event(b"a", 2))).text
