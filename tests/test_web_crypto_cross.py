"""The browser viewer's crypto (viewer_app/web/src) against protocol/, both ways.

The JavaScript modules run under Node through viewer_app/web/tools/cross_cli.js,
a line-oriented JSON driver (one request, one answer per line; bytes as hex).
Each test plays one side in Python and the other in JavaScript: SPAKE2 both
ways, the whole admission, wrapped epoch keys, sealed frames both ways, sealed
Input, and the tables copied into the JavaScript (M/N/S, key names) plus the
user-input rules (password normalization, links, keys) on many inputs.

Needs ``node`` (20 or newer) on PATH and ``npm ci`` run in viewer_app/web;
without them the tests fail, they are never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spake2 import SPAKE2_A, SPAKE2_B
from spake2.parameters.ed25519 import ParamsEd25519

from protocol.errors import ErrorCode, ReplayError
from protocol.input_events import (
    KEY_NAMES,
    Button,
    InputBatch,
    Key,
    MouseButton,
    PointerMove,
    Scroll,
    encode_batch,
    key_problem,
    parse_batch,
)
from protocol.keys import EpochRing, wrap_epoch_key
from protocol.pake import (
    OrganizerHandshake,
    encode_link,
    normalize_password,
    parse_link,
)
from protocol.sframe import InputOpener, ReceiverCipher, SenderCipher
from protocol.wire import DOMAIN, FLAG_KEYFRAME, Tag

WEB = Path(__file__).resolve().parent.parent / "viewer_app" / "web"
CLI = WEB / "tools" / "cross_cli.js"
SESSION = 123456789
ID_A = DOMAIN + b" joiner" + struct.pack(">I", SESSION)
ID_B = DOMAIN + b" organizer" + struct.pack(">I", SESSION)


class JsError(Exception):
    """The JavaScript side threw; ``error`` is its class name, ``code`` its ErrorCode."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(f"{answer['error']}: {answer['message']}")
        self.error: str = answer["error"]
        self.code: int | None = answer["code"]
        self.message: str = answer["message"]


class Js:
    """One `node cross_cli.js serve` process, called one JSON line at a time."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc

    def __call__(self, op: str, **fields: Any) -> dict[str, Any]:
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps({"op": op, **fields}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"cross_cli.js exited (status {self._proc.poll()}); see its stderr")
        answer: dict[str, Any] = json.loads(line)
        if not answer["ok"]:
            raise JsError(answer)
        return answer


@pytest.fixture(scope="module")
def js() -> Iterator[Js]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("these tests need Node.js 20+ on PATH (`node`); install it, then npm ci")
    if not (WEB / "node_modules" / "@noble" / "curves").is_dir():
        pytest.fail(f"run `npm ci` in {WEB} first: node_modules is missing")
    proc = subprocess.Popen(
        [node, str(CLI), "serve"],
        cwd=WEB,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # inherited: pytest captures it per test
        text=True,
        encoding="utf-8",
    )
    try:
        yield Js(proc)
    finally:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def js_error(js: Js, op: str, **fields: Any) -> JsError:
    """Call ``op``, which must throw in JavaScript; return what it threw."""
    with pytest.raises(JsError) as info:
        js(op, **fields)
    return info.value


# --- tables copied into the JavaScript ------------------------------------------


def test_spake2_params_are_python_spake2s(js: Js) -> None:
    params = js("params")
    assert params["M"] == ParamsEd25519.M.to_bytes().hex()
    assert params["N"] == ParamsEd25519.N.to_bytes().hex()
    assert params["S"] == ParamsEd25519.S.to_bytes().hex()


def test_key_names_are_pythons(js: Js) -> None:
    assert js("key_names")["names"] == sorted(KEY_NAMES)


# --- SPAKE2 both ways ------------------------------------------------------------


@pytest.mark.parametrize(("js_password", "py_password"), [(b"pw", b"pw"), (b"pw", b"pX")])
def test_spake2_js_a_against_python_b(js: Js, js_password: bytes, py_password: bytes) -> None:
    a = js("spake_new", side="A", password=js_password.hex(), id_a=ID_A.hex(), id_b=ID_B.hex())
    msg_a = bytes.fromhex(js("spake_start", h=a["h"])["msg"])
    b = SPAKE2_B(py_password, idA=ID_A, idB=ID_B)
    msg_b = b.start()
    key_b = b.finish(msg_a)
    key_a = bytes.fromhex(js("spake_finish", h=a["h"], msg=msg_b.hex())["key"])
    assert (key_a == key_b) == (js_password == py_password)


@pytest.mark.parametrize(("js_password", "py_password"), [(b"pw", b"pw"), (b"pw", b"pX")])
def test_spake2_python_a_against_js_b(js: Js, js_password: bytes, py_password: bytes) -> None:
    a = SPAKE2_A(py_password, idA=ID_A, idB=ID_B)
    msg_a = a.start()
    b = js("spake_new", side="B", password=js_password.hex(), id_a=ID_A.hex(), id_b=ID_B.hex())
    msg_b = bytes.fromhex(js("spake_start", h=b["h"])["msg"])
    key_b = bytes.fromhex(js("spake_finish", h=b["h"], msg=msg_a.hex())["key"])
    key_a = a.finish(msg_b)
    assert (key_a == key_b) == (js_password == py_password)


def test_spake2_with_scripted_entropy_gives_python_s_exact_bytes(js: Js) -> None:
    entropy_a, entropy_b = bytes(range(64)), bytes(range(64, 128))
    a = js(
        "spake_new",
        side="A",
        password=b"pw".hex(),
        id_a=ID_A.hex(),
        id_b=ID_B.hex(),
        entropy=[entropy_a.hex()],
    )
    py_a = SPAKE2_A(b"pw", idA=ID_A, idB=ID_B, entropy_f=lambda n: entropy_a[:n])
    assert js("spake_start", h=a["h"])["msg"] == py_a.start().hex()
    py_b = SPAKE2_B(b"pw", idA=ID_A, idB=ID_B, entropy_f=lambda n: entropy_b[:n])
    msg_b = py_b.start()
    assert js("spake_finish", h=a["h"], msg=msg_b.hex())["key"] == py_a.finish(msg_b).hex()


def test_spake2_js_refuses_wrong_side_and_reflection(js: Js) -> None:
    py_a = SPAKE2_A(b"pw", idA=ID_A, idB=ID_B)
    a = js("spake_new", side="A", password=b"pw".hex(), id_a=ID_A.hex(), id_b=ID_B.hex())
    js("spake_start", h=a["h"])
    err = js_error(js, "spake_finish", h=a["h"], msg=py_a.start().hex())
    assert err.code == ErrorCode.ADMISSION_FAILED
    assert "own side" in err.message

    b = js("spake_new", side="B", password=b"pw".hex(), id_a=ID_A.hex(), id_b=ID_B.hex())
    mine = bytes.fromhex(js("spake_start", h=b["h"])["msg"])
    err = js_error(js, "spake_finish", h=b["h"], msg=(b"A" + mine[1:]).hex())
    assert err.code == ErrorCode.ADMISSION_FAILED
    assert "reflected" in err.message


# --- the whole admission: JS joiner, Python organizer ----------------------------------


@pytest.mark.parametrize("secret", [normalize_password("k7wm-3xqa-ep9t"), os.urandom(32)])
def test_admission_js_joiner_python_organizer(js: Js, secret: bytes) -> None:
    joiner = js("joiner_new", session_id=SESSION, secret=secret.hex())
    msg_a = bytes.fromhex(js("joiner_start", h=joiner["h"])["msg"])
    organizer = OrganizerHandshake(SESSION, 5, secret, os.urandom)
    reply = organizer.respond(msg_a)
    tag = bytes.fromhex(js("joiner_finish", h=joiner["h"], member_id=5, msg=reply.hex())["tag"])
    assert organizer.check(tag)
    pairwise = js("joiner_verify", h=joiner["h"], tag=organizer.organizer_tag().hex())["pairwise"]
    assert bytes.fromhex(pairwise) == organizer.pairwise_key


def test_admission_with_a_wrong_password_fails_on_both_sides(js: Js) -> None:
    joiner = js("joiner_new", session_id=SESSION, secret=normalize_password("abcd-efgh").hex())
    msg_a = bytes.fromhex(js("joiner_start", h=joiner["h"])["msg"])
    organizer = OrganizerHandshake(SESSION, 5, normalize_password("abcd-efgx"), os.urandom)
    reply = organizer.respond(msg_a)
    tag = bytes.fromhex(js("joiner_finish", h=joiner["h"], member_id=5, msg=reply.hex())["tag"])
    assert not organizer.check(tag)
    err = js_error(js, "joiner_verify", h=joiner["h"], tag=os.urandom(32).hex())
    assert err.code == ErrorCode.ADMISSION_FAILED


# --- keys and sealed messages ------------------------------------------------------------


def test_js_unwraps_a_python_wrapped_epoch_key(js: Js) -> None:
    pairwise, epoch_key = os.urandom(32), os.urandom(32)
    wrapped = wrap_epoch_key(pairwise, SESSION, 7, 3, epoch_key, os.urandom)
    fields = {"pairwise": pairwise.hex(), "session_id": SESSION, "member_id": 7, "epoch": 3}
    assert js("unwrap", wrapped=wrapped.hex(), **fields)["key"] == epoch_key.hex()
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    assert js_error(js, "unwrap", wrapped=tampered.hex(), **fields).error == "DecryptError"
    fields["epoch"] = 4
    assert js_error(js, "unwrap", wrapped=wrapped.hex(), **fields).error == "DecryptError"


def test_js_opens_frames_python_sealed(js: Js) -> None:
    epoch_key = os.urandom(32)
    sender = SenderCipher(SESSION, 9, epoch_key, 1)
    receiver = js("receiver_new", session_id=SESSION)
    js("ring_install", h=receiver["h"], epoch=9, key=epoch_key.hex())
    bodies = [(FLAG_KEYFRAME, os.urandom(1 << 20)), (0, b""), (0, b"small")]
    messages = [bytes(sender.seal(Tag.FRAME, flags, body)) for flags, body in bodies]
    for counter, ((flags, body), message) in enumerate(zip(bodies, messages, strict=True)):
        opened = js("receiver_open", h=receiver["h"], message=message.hex())
        assert opened["plaintext"] == body.hex()
        assert opened["header"] == {
            "tag": Tag.FRAME,
            "epoch": 9,
            "sender": 1,
            "counter": str(counter),
            "flags": flags,
        }
    assert js_error(js, "receiver_open", h=receiver["h"], message=messages[1].hex()).error == (
        "ReplayError"
    )
    tampered = bytearray(SenderCipher(SESSION, 9, epoch_key, 2).seal(Tag.FRAME, 0, b"x"))
    tampered[20] ^= 1
    assert js_error(js, "receiver_open", h=receiver["h"], message=tampered.hex()).error == (
        "DecryptError"
    )


def test_python_opens_frames_js_sealed(js: Js) -> None:
    key_1, key_2 = os.urandom(32), os.urandom(32)
    sender = js("sender_new", session_id=SESSION, epoch=4, key=key_1.hex(), sender=3)
    ring = EpochRing()
    ring.install(4, key_1)
    receiver = ReceiverCipher(SESSION, ring)
    for counter, body in enumerate([b"", b"frame", os.urandom(300_000)]):
        flags = FLAG_KEYFRAME if counter == 0 else 0
        sealed = js("sender_seal", h=sender["h"], tag=Tag.FRAME, flags=flags, plaintext=body.hex())
        header, plaintext = receiver.open(bytes.fromhex(sealed["message"]))
        assert plaintext == body
        assert (header.tag, header.epoch, header.sender, header.counter, header.flags) == (
            Tag.FRAME,
            4,
            3,
            counter,
            flags,
        )
    js("sender_rekey", h=sender["h"], epoch=5, key=key_2.hex())
    ring.install(5, key_2)
    sealed = js("sender_seal", h=sender["h"], tag=Tag.FRAME, flags=0, plaintext="00")
    message = bytes.fromhex(sealed["message"])
    header, plaintext = receiver.open(message)
    assert (header.epoch, header.counter, plaintext) == (5, 0, b"\x00")
    with pytest.raises(ReplayError):
        receiver.open(message)


def test_python_opens_input_js_sealed(js: Js) -> None:
    pairwise = os.urandom(32)
    batch = InputBatch(
        1_700_000_000_000_000_001,
        (
            PointerMove(65535, 0),
            Button(MouseButton.RIGHT, True, 10, 20),
            Scroll(-128, 127, 3, 4),
            Key(True, "page_down"),
            Key(False, "é"),
            Key(True, "\U0001f600"),
        ),
    )
    events = [
        {"kind": "move", "x": 65535, "y": 0},
        {"kind": "button", "button": 3, "pressed": True, "x": 10, "y": 20},
        {"kind": "scroll", "dx": -128, "dy": 127, "x": 3, "y": 4},
        {"kind": "key", "pressed": True, "key": "page_down"},
        {"kind": "key", "pressed": False, "key": "e\u0301"},  # JS writes it in NFC
        {"kind": "key", "pressed": True, "key": "\U0001f600"},
    ]
    body = bytes.fromhex(js("encode_batch", sent_ns=str(batch.sent_ns), events=events)["batch"])
    assert body == encode_batch(batch)
    parsed = js("parse_batch", batch=body.hex())
    assert parsed["sent_ns"] == str(batch.sent_ns)
    assert parsed["events"][4] == {"kind": "key", "pressed": False, "key": "é"}

    sealer = js("input_sealer_new", session_id=SESSION, pairwise=pairwise.hex(), sender=4)
    opener = InputOpener(SESSION, pairwise, 4)
    for grant, counter in [(1, 0), (1, 1), (3, 0), (3, 1)]:
        sealed = js("input_seal", h=sealer["h"], grant=grant, plaintext=body.hex())
        header, plaintext = opener.open(bytes.fromhex(sealed["message"]))
        assert (header.tag, header.epoch, header.sender, header.counter, header.flags) == (
            Tag.INPUT,
            grant,
            4,
            counter,
            0,
        )
        assert parse_batch(plaintext) == batch
    assert (
        "older than grant 3"
        in js_error(js, "input_seal", h=sealer["h"], grant=2, plaintext="00").message
    )


# --- user input: the same rules on many inputs ---------------------------------------------


def _assigned_code_points() -> list[str]:
    """Every code point assigned in Python's Unicode version, surrogates excluded.

    Characters assigned only in the newer Unicode of Node's ICU are left out:
    there the two sides may disagree, and no password or key the protocol
    makes uses them.
    """
    return [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) not in ("Cn", "Cs")
    ]


def _py_normalize(text: str) -> str | None:
    try:
        return normalize_password(text).hex()
    except Exception:
        return None


def test_normalize_password_agrees_on_every_character_and_samples(js: Js) -> None:
    samples = [
        "ABCD-efgh-ijkl ",
        " k7wm 3xqa-EP9T\t",
        "Ｋ７ＷＭ-ß",
        "\u3000ａｂ\u3000",
        "\x1c\x1d ab \x85\xa0",
        "\ufeffab",
        "ΟΔΟΣ-ΣΑΣ",
        "İstanbul",
        "ﬁ-ﬂ",
        "x\u0307\u0130",
        "- -",
        "",
        "\u2028\u2029",
        "ab\ud800",
        "\udc00ab",
    ]
    chars = _assigned_code_points()
    texts = samples + chars + [f"A{c}Σ" for c in chars[::97]]
    expected = [_py_normalize(t) for t in texts]
    got = js("normalize", texts=texts)["results"]
    differing = [
        (hex(ord(t)) if len(t) == 1 else t, e, g)
        for t, e, g in zip(texts, expected, got, strict=True)
        if e != g
    ]
    assert differing == []


def test_key_problem_agrees_on_every_character(js: Js) -> None:
    keys = [*_assigned_code_points(), *sorted(KEY_NAMES), "", "ab", "F1", "e\u0301", "f13"]
    expected = [key_problem(k) is None for k in keys]
    got = js("key_problems", keys=keys)["valid"]
    differing = [k for k, e, g in zip(keys, expected, got, strict=True) if e != g]
    assert differing == []


def test_parse_link_agrees_with_python(js: Js) -> None:
    secret = bytes(range(32))
    good = encode_link("https://relay.example.org", SESSION, secret)
    fragment = good.partition("#")[2]
    links = [
        good,
        f"  {good}\t\n",
        encode_link("http://10.0.0.1:8080/screen/", SESSION, secret),
        f"HTTPS://Relay.Example.org/j/{SESSION}#{fragment}",
        f"https://[::1]:8443/j/{SESSION}#{fragment}",
        f"https://[1.2.3.4]/j/{SESSION}#{fragment}",
        f"https://[::1/j/{SESSION}#{fragment}",
        f"https://[v1.x]/j/{SESSION}#{fragment}",
        f"https://[vz.x]/j/{SESSION}#{fragment}",
        f"https://relay/a/j/b/j/{SESSION}#{fragment}",
        f"https://relay.example.org/j/{SESSION}",
        f"https://relay.example.org/j/{SESSION}#",
        f"https://relay.example.org/j/{SESSION}#{fragment}#",
        f"https://relay.example.org/j/0{SESSION}#{fragment}",
        f"https://relay.example.org/j/{SESSION}0#{fragment}",
        f"https://relay.example.org/j/{SESSION // 10}#{fragment}",
        f"https://relay.example.org/j/１２３４５６７８９#{fragment}",
        f"https://relay.example.org/x/{SESSION}#{fragment}",
        f"ftp://relay.example.org/j/{SESSION}#{fragment}",
        f"relay.example.org/j/{SESSION}#{fragment}",
        f"https:relay.example.org/j/{SESSION}#{fragment}",
        f"https:///j/{SESSION}#{fragment}",
        f"https://relay.example.org?x=1/j/{SESSION}#{fragment}",
        f"\x01https://relay.example.org/j/{SESSION}#{fragment}",
        f"ht\ttps://relay.example.org/j/{SESSION}#{fragment}",
        f"https://relay.example.org/j/{SESSION}#{fragment[:-1]}",
        f"https://relay.example.org/j/{SESSION}#{fragment}A",
        f"https://relay.example.org/j/{SESSION}#{fragment[:-1]}B",
        f"https://relay.example.org/j/{SESSION}#{fragment[:-1]}+",
        f"https://relay.example.org/j/{SESSION}#{fragment}=",
        f"\u3000{good}\u3000",
        f"\ufeff{good}",
    ]

    def py(link: str) -> list[Any] | None:
        try:
            relay, session_id, parsed = parse_link(link)
        except ValueError:
            return None
        return [relay, session_id, parsed.hex()]

    expected = [py(link) for link in links]
    assert expected[0] == ["https://relay.example.org", SESSION, secret.hex()]
    got = js("parse_links", links=links)["results"]
    differing = [(link, e, g) for link, e, g in zip(links, expected, got, strict=True) if e != g]
    assert differing == []
    assert js("parse_fragment", fragment="#" + fragment)["secret"] == secret.hex()
