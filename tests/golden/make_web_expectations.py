"""Regenerate what the browser viewer's tests (viewer_app/web/test/) expect of the golden files.

Writes two JSON files next to the golden ``.bin`` files, from the examples
that made them (make_golden.py, make_frame_golden.py) and from what this
package's parsers say, so the JavaScript client is held to the Python rules:

- ``messages.json``: each golden message's type, tag and fields (name in
  camelCase as the JS client spells it, wire kind, value: ints as numbers,
  u64 as decimal strings, str as strings, blob and rest as hex, json as the
  object), and `protocol.messages.parse`'s verdict on every mutation of the
  file (below).
- ``frame_payload.json``: the golden frame payload's header, rects, pixels
  and composed picture, and a viewer's verdict on every mutation of it: the
  checks of ``viewer_app.receiver.FrameReceiver`` (sealed key frame flag
  agreement, status frames), then ``Canvas.apply`` on a canvas that already
  shows the golden picture. The sealed header's key frame flag is taken to
  agree with the mutated payload's flag byte.

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
import re
from collections.abc import Callable
from pathlib import Path
from typing import Final

from protocol.codec import Kind
from protocol.errors import RemoteProtocolError
from protocol.frames import FLAG_KEYFRAME, frame_is_keyframe, frame_status, parse_frame
from protocol.messages import LAYOUTS, encode, parse
from tests.golden import make_frame_golden
from tests.golden.make_golden import EXAMPLES
from viewer_app.decoder import Canvas

GOLDEN_DIR: Final = Path(__file__).resolve().parent
MESSAGES_PATH: Final = GOLDEN_DIR / "messages.json"
FRAME_PATH: Final = GOLDEN_DIR / "frame_payload.json"

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


def _golden_canvas() -> Canvas:
    canvas = Canvas()
    canvas.apply(make_frame_golden.payload())
    return canvas


def _picture(canvas: Canvas) -> bytes:
    picture = canvas.picture
    assert picture is not None
    return picture.tobytes()


def frame_verdict(data: bytes) -> Verdict:
    """What a viewer showing the golden picture makes of payload *data*."""
    canvas = _golden_canvas()
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


def build_frame() -> Json:
    data = (GOLDEN_DIR / "frame_payload.bin").read_bytes()
    header = make_frame_golden.HEADER
    offset = 0
    rects = []
    for r in make_frame_golden.RECTS:
        rects.append(
            {
                "x": r.x,
                "y": r.y,
                "w": r.w,
                "h": r.h,
                "encoding": int(r.encoding),
                "offset": offset,
                "length": r.length,
            }
        )
        offset += r.length
    verdicts, changed = mutations(data, frame_verdict)
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
        "pixels": make_frame_golden.PIXELS.hex(),
        "picture": _picture(_golden_canvas()).hex(),
        "mutations": verdicts,
        "changed": changed,
    }


def render(value: Json) -> str:
    """The file text: stable, one field per line, ASCII."""
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def main() -> None:
    MESSAGES_PATH.write_text(render(build_messages()), encoding="ascii")
    FRAME_PATH.write_text(render(build_frame()), encoding="ascii")
    print(f"wrote {MESSAGES_PATH} and {FRAME_PATH}")


if __name__ == "__main__":
    main()
