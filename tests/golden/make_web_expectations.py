"""Regenerate what the browser viewer's tests (viewer_app/web/test/) expect of the golden files.

Writes JSON files next to the golden ``.bin`` files, from the examples
that made them (make_golden.py, make_frame_golden.py) and from what this
package's parsers say, so the JavaScript client is held to the Python rules:

- ``messages.json``: each golden message's type, tag and fields (name in
  camelCase as the JS client spells it, wire kind, value: ints as numbers,
  u64 as decimal strings, str as strings, blob and rest as hex, json as the
  object), and `protocol.messages.parse`'s verdict on every mutation of the
  file (below).
- ``messages.json`` also holds ``json_cases``: random JSON texts (valid,
  non-canonical, broken, duplicate keys, deep), each with the verdict of
  parsing it as a Welcome's policy and, when accepted, its canonical
  re-encoding; that is null where JavaScript numbers cannot say it (an
  integral float, which JS writes as an int, or an int beyond 2**53).
- ``frame_payload.json``: the golden frame payload's header, rects, pixels
  and composed picture, and a viewer's verdict on every mutation of it: the
  checks of ``viewer_app.receiver.FrameReceiver`` (sealed key frame flag
  agreement, status frames), then ``Canvas.apply`` on a canvas that already
  shows the golden picture. The sealed header's key frame flag is taken to
  agree with the mutated payload's flag byte.
- ``frame_move_payload.json``: the same for the move payload (a delta with
  copy rects), applied on the golden picture; copy rects carry their source
  as ``srcX``, ``srcY``.
- ``frame_palette_payload.json``: the same for the palette payload (a key
  frame of another size: palette rects of every index width, a raw rect, a
  delta rect),
  its mutations judged on a viewer already showing its own picture.
- ``frame_jpeg_payload.json``: the same for the JPEG payload (a JPEG rect, a
  copy reading it, a raw rect), plus ``jpegRgba``, Pillow's decoding of its
  JPEG as RGBA, from which ``picture`` is composed. Its mutations are judged
  with every JPEG rect "decoded" to grey (``JPEG_STUB``) once its header
  checks out (``jpeg_size``): the browser decodes JPEG with its own library,
  whose output and leniency with corrupt scan data differ from Pillow's, so
  the verdicts hold the rules both viewers share, not the JPEG decoder's.

Mutations, each a string with one character per case: ``truncated`` (every
proper prefix, by length), ``extended`` (one zero byte appended), and for
every byte position ``set00``, ``setff``, ``xor01``, ``xor80``. Characters:
``.`` accepted (re-encoded to the same bytes / picture unchanged), ``~``
accepted otherwise (``changed["<mutation>:<index>"]`` holds the re-encoding /
the BGRX picture as hex), ``s`` a status frame, else the ErrorCode in base 36.

Run from the repository root when a golden file or a parsing rule changes::

    PYTHONPATH=. .venv/bin/python tests/golden/make_web_expectations.py

tests/test_web_golden.py checks that both files are up to date.
"""

from __future__ import annotations

import json
import random
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from protocol.codec import Kind
from protocol.errors import RemoteProtocolError
from protocol.frames import (
    COPY_SOURCE,
    Encoding,
    FrameHeader,
    Rect,
    frame_is_keyframe,
    frame_status,
    parse_frame,
)
from protocol.messages import LAYOUTS, Welcome, encode, parse
from protocol.wire import FLAG_KEYFRAME, PROTOCOL_VERSION
from tests.golden import make_frame_golden
from tests.golden.make_golden import EXAMPLES
from viewer_app import decoder
from viewer_app.decoder import Canvas

GOLDEN_DIR: Final = Path(__file__).resolve().parent
MESSAGES_PATH: Final = GOLDEN_DIR / "messages.json"
FRAME_PATH: Final = GOLDEN_DIR / "frame_payload.json"
FRAME_MOVE_PATH: Final = GOLDEN_DIR / "frame_move_payload.json"
FRAME_JPEG_PATH: Final = GOLDEN_DIR / "frame_jpeg_payload.json"
FRAME_PALETTE_PATH: Final = GOLDEN_DIR / "frame_palette_payload.json"
#: What a JPEG rect "decodes" to when judging mutations: BGRX grey, X 255.
JPEG_STUB: Final = (0x80, 0x80, 0x80, 0xFF)

_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"

#: A verdict character and, for "~", what changed (hex).
Verdict = tuple[str, str | None]
Json = dict[str, object]


def camel(name: str) -> str:
    """``client_version`` -> ``clientVersion``."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _field_value(kind: Kind, value: object) -> object:
    if kind in (Kind.BLOB, Kind.REST):
        assert isinstance(value, bytes)
        return value.hex()
    if kind is Kind.U64:
        assert isinstance(value, int)
        return str(value)
    if kind in (Kind.U8, Kind.U16, Kind.U32):
        assert isinstance(value, int)
        return int(value)
    return value


def mutations(data: bytes, judge: Callable[[bytes], Verdict]) -> tuple[Json, dict[str, str]]:
    """The verdict strings of every mutation of *data*, and the changed map."""
    verdicts: Json = {}
    changed: dict[str, str] = {}

    def run(name: str, cases: list[bytes]) -> None:
        chars = []
        for index, case in enumerate(cases):
            char, change = judge(case)
            chars.append(char)
            if change is not None:
                changed[f"{name}:{index}"] = change
        verdicts[name] = "".join(chars)

    run("truncated", [data[:n] for n in range(len(data))])
    run("extended", [data + b"\x00"])
    edits: dict[str, Callable[[int], int]] = {
        "set00": lambda _b: 0x00,
        "setff": lambda _b: 0xFF,
        "xor01": lambda b: b ^ 0x01,
        "xor80": lambda b: b ^ 0x80,
    }
    for name, edit in edits.items():
        cases = []
        for i in range(len(data)):
            mutated = bytearray(data)
            mutated[i] = edit(mutated[i])
            cases.append(bytes(mutated))
        run(name, cases)
    return verdicts, changed


def message_verdict(data: bytes) -> Verdict:
    try:
        msg = parse(data)
    except RemoteProtocolError as exc:
        return _BASE36[exc.code], None
    again = encode(msg)
    return (".", None) if again == data else ("~", again.hex())


def build_messages() -> Json:
    out: Json = {}
    for stem, msg in EXAMPLES.items():
        tag, layout = LAYOUTS[type(msg)]
        data = encode(msg)
        verdicts, changed = mutations(data, message_verdict)
        out[stem] = {
            "type": type(msg).__name__,
            "tag": int(tag),
            "fields": [
                {
                    "name": camel(name),
                    "kind": kind.value,
                    "value": _field_value(kind, getattr(msg, name)),
                }
                for name, kind in layout
            ],
            "hex": data.hex(),
            "mutations": verdicts,
            "changed": changed,
        }
    return out


#: Characters random JSON strings and keys are made of: ASCII, escapes,
#: controls, non-ASCII, an astral character, a lone surrogate.
_STRING_ALPHABET: Final = 'ab"\\/\n\t\x01\x7f\u00e9\u2028\uffff\U0001f600\ud800'
_NOISE_ALPHABET: Final = '{}[]:,"\\ u0123456789aeEfnlrtsu.-+\t\n\u00e9'


def _random_value(rng: random.Random, depth: int) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(
            [0, 1, -1, 7, 2**53, -(2**53) - 1, 10**30, rng.randrange(-(10**6), 10**6)]
        )
    if kind == 1:
        value: float = struct.unpack(">d", rng.randbytes(8))[0]
        while value != value or value in (float("inf"), float("-inf")):
            value = struct.unpack(">d", rng.randbytes(8))[0]
        return rng.choice([value, rng.uniform(-1e6, 1e6), rng.choice([0.1, 1e-7, 1e16, 2.5, -0.0])])
    if kind == 2:
        return "".join(rng.choice(_STRING_ALPHABET) for _ in range(rng.randrange(6)))
    if kind in (3, 4, 5):
        return rng.choice([True, False, None])
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        "".join(rng.choice(_STRING_ALPHABET) for _ in range(rng.randrange(4))): _random_value(
            rng, depth + 1
        )
        for _ in range(rng.randrange(4))
    }


def _random_json_text(rng: random.Random) -> str:
    choice = rng.randrange(10)
    if choice == 0:
        return "".join(rng.choice(_NOISE_ALPHABET) for _ in range(rng.randrange(30)))
    if choice == 1:
        depth = rng.choice([3, 10, 40])
        return '{"a":' * depth + "1" + "}" * depth
    if choice == 2:
        key = rng.choice(['"a"', '"\\u0061"', '"b"'])
        return '{"a":1,' + key + ":2}"
    value = {"k": _random_value(rng, 0)} if choice < 8 else _random_value(rng, 0)
    text = json.dumps(
        value,
        ensure_ascii=rng.random() < 0.5,
        sort_keys=rng.random() < 0.5,
        indent=rng.choice([None, None, 0, 2, "\t"]),
        separators=rng.choice([None, (",", ":"), (" , ", " : ")]),
    )
    if rng.random() < 0.3 and text:
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(_NOISE_ALPHABET) + text[at + 1 :]
    return text


def _js_cannot_say(value: object) -> bool:
    """Whether JS numbers lose the exact canonical form of something in *value*."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and abs(item) > 2**53 - 1:
            return True
        integral = isinstance(item, float) and item.is_integer() and abs(item) < 2**53
        if integral and str(item) != "-0.0":
            return True
        if isinstance(item, list):
            todo.extend(item)
        if isinstance(item, dict):
            todo.extend(item.values())
    return False


def json_case(text: str) -> list[object]:
    """[text, verdict, canonical re-encoding or None] of *text* as a policy."""
    raw = text.encode("utf-8", "surrogatepass")
    head = encode(Welcome(PROTOCOL_VERSION, "r", {}))
    data = head[: -len(b"{}") - 4] + len(raw).to_bytes(4, "big") + raw
    try:
        msg = parse(data)
    except RemoteProtocolError as exc:
        return [text, _BASE36[exc.code], None]
    assert isinstance(msg, Welcome)
    if _js_cannot_say(msg.policy):
        return [text, ".", None]
    return [text, ".", encode(msg)[len(head) - 2 :].decode("ascii")]


def build_json_cases() -> list[list[object]]:
    rng = random.Random(20260101)
    # The JS client refuses nesting over 512 (Python's limit is about 1000).
    deep = '{"a":' * 500 + "1" + "}" * 500
    return [json_case(_random_json_text(rng)) for _ in range(1200)] + [json_case(deep)]


def _golden_canvas(start: bytes | None = None) -> Canvas:
    """A canvas showing the golden key frame (or the key frame ``start``)."""
    canvas = Canvas()
    canvas.apply(make_frame_golden.payload() if start is None else start)
    return canvas


def _picture(canvas: Canvas) -> bytes:
    picture = canvas.picture
    assert picture is not None
    return picture.tobytes()


def frame_verdict(data: bytes, start: bytes | None = None) -> Verdict:
    """What a viewer showing the golden picture (or key frame ``start``'s)
    makes of payload *data*."""
    canvas = _golden_canvas(start)
    before = _picture(canvas)
    sealed_keyframe = bool(data[1] & FLAG_KEYFRAME) if len(data) > 1 else True
    try:
        if sealed_keyframe != frame_is_keyframe(data):
            raise RemoteProtocolError("key frame flags of header and payload disagree")
        if frame_status(data) or (sealed_keyframe and not parse_frame(data)[1]):
            parse_frame(data)
            return "s", None
        canvas.apply(data)
    except RemoteProtocolError as exc:
        return _BASE36[exc.code], None
    after = _picture(canvas)
    return (".", None) if after == before else ("~", after.hex())


def _stub_jpeg(data: bytes, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Grey in place of ``data``'s picture (see ``JPEG_STUB``)."""
    out = np.empty((height, width, 4), np.uint8)
    out[...] = JPEG_STUB
    return out


def jpeg_frame_verdict(data: bytes) -> Verdict:
    """``frame_verdict`` with every JPEG rect decoded to ``JPEG_STUB``."""
    real = decoder.decode_jpeg
    decoder.decode_jpeg = _stub_jpeg
    try:
        return frame_verdict(data)
    finally:
        decoder.decode_jpeg = real


def _frame_json(
    name: str,
    header: FrameHeader,
    rect_list: tuple[Rect, ...],
    content: bytes,
    judge: Callable[[bytes], Verdict] = frame_verdict,
) -> Json:
    data = (GOLDEN_DIR / name).read_bytes()
    offset = 0
    rects = []
    for r in rect_list:
        rect: Json = {
            "x": r.x,
            "y": r.y,
            "w": r.w,
            "h": r.h,
            "encoding": int(r.encoding),
            "offset": offset,
            "length": r.length,
        }
        if r.encoding == Encoding.COPY:
            rect["srcX"], rect["srcY"] = COPY_SOURCE.unpack_from(content, offset)
        rects.append(rect)
        offset += r.length
    verdicts, changed = mutations(data, judge)
    canvas = _golden_canvas()
    canvas.apply(data)
    return {
        "hex": data.hex(),
        "header": {
            "flags": header.flags,
            "seq": str(header.seq),
            "captureNs": str(header.capture_ns),
            "width": header.width,
            "height": header.height,
        },
        "rects": rects,
        "pixels": content.hex(),
        "picture": _picture(canvas).hex(),
        "mutations": verdicts,
        "changed": changed,
    }


def build_frame() -> Json:
    """The content of frame_payload.json."""
    golden = make_frame_golden
    return _frame_json("frame_payload.bin", golden.HEADER, golden.RECTS, golden.PIXELS)


def build_move_frame() -> Json:
    """The content of frame_move_payload.json."""
    golden = make_frame_golden
    return _frame_json(
        "frame_move_payload.bin", golden.MOVE_HEADER, golden.MOVE_RECTS, golden.MOVE_DATA
    )


def build_jpeg_frame() -> Json:
    """The content of frame_jpeg_payload.json."""
    golden = make_frame_golden
    jpeg = golden.jpeg_in_file()
    out = _frame_json(
        "frame_jpeg_payload.bin",
        golden.JPEG_HEADER,
        golden.jpeg_rects(jpeg),
        golden.jpeg_data(jpeg),
        jpeg_frame_verdict,
    )
    bgrx = decoder.decode_jpeg(jpeg, 4, 3)
    out["jpegRgba"] = np.ascontiguousarray(bgrx[..., [2, 1, 0, 3]]).tobytes().hex()
    out["jpegStub"] = list(JPEG_STUB)
    return out


def palette_frame_verdict(data: bytes) -> Verdict:
    """``frame_verdict`` on a viewer already showing the palette key frame's
    picture (so a mutation that changes no pixel is ``.``)."""
    return frame_verdict(data, make_frame_golden.palette_payload())


def build_palette_frame() -> Json:
    """The content of frame_palette_payload.json."""
    golden = make_frame_golden
    return _frame_json(
        "frame_palette_payload.bin",
        golden.PALETTE_HEADER,
        golden.PALETTE_RECTS,
        golden.PALETTE_DATA,
        palette_frame_verdict,
    )


def build_all_messages() -> Json:
    """The content of messages.json."""
    return {"messages": build_messages(), "json_cases": build_json_cases()}


def render(value: Json) -> str:
    """The file text: stable, one field per line, ASCII."""
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def main() -> None:
    MESSAGES_PATH.write_text(render(build_all_messages()), encoding="ascii")
    FRAME_PATH.write_text(render(build_frame()), encoding="ascii")
    FRAME_MOVE_PATH.write_text(render(build_move_frame()), encoding="ascii")
    FRAME_JPEG_PATH.write_text(render(build_jpeg_frame()), encoding="ascii")
    FRAME_PALETTE_PATH.write_text(render(build_palette_frame()), encoding="ascii")
    print(f"wrote {MESSAGES_PATH}, {FRAME_PATH}, {FRAME_MOVE_PATH}, {FRAME_JPEG_PATH}")
    print(f"and {FRAME_PALETTE_PATH}")


if __name__ == "__main__":
    main()
