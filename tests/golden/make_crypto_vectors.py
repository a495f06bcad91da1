"""Write tests/golden/crypto_vectors.json: known answers of the key schedule.

Run by hand from the repository root, only when the protocol changes on
purpose (tests/test_crypto_vectors.py then checks the code still agrees):

    PYTHONPATH=. .venv/bin/python tests/golden/make_crypto_vectors.py

Every input is in the file next to its outputs, with every random byte a
step consumed, so another implementation (the browser viewer's JavaScript)
can check itself against it without this code. Sealed frames and Input with a
large counter are computed straight from the formulas in docs/protocol.md,
which also cross-checks SenderCipher and InputSealer on the small ones. New
entries are appended; existing ones never change.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from spake2 import SPAKE2_A, SPAKE2_B

from protocol.input_events import (
    Button,
    InputBatch,
    Key,
    MouseButton,
    PointerMove,
    Scroll,
    encode_batch,
)
from protocol.keys import derive_admission_keys, hkdf, unwrap_epoch_key, wrap_epoch_key
from protocol.pake import (
    JoinerHandshake,
    OrganizerHandshake,
    confirm_tag,
    encode_link,
    new_password,
    normalize_password,
)
from protocol.sframe import InputSealer, SenderCipher, derive_sender_keys, input_keys
from protocol.wire import DOMAIN, FLAG_KEYFRAME, SEALED_HEADER, Tag

OUT = Path(__file__).with_name("crypto_vectors.json")


def stream(label: str, size: int) -> bytes:
    """Reproducible "random" bytes: SHA-256 of label and a block counter."""
    out = b""
    block = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{block}".encode()).digest()
        block += 1
    return out[:size]


class Scripted:
    """An Rng that hands out the given byte strings, one per call, in order."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def __call__(self, size: int) -> bytes:
        chunk = self.chunks.pop(0)
        assert len(chunk) == size, (len(chunk), size)
        return chunk


def hkdf_vectors() -> list[dict[str, Any]]:
    key = bytes(range(32))
    cases = [
        (DOMAIN + b" confirm" + struct.pack(">IH", 123456789, 2), 32),
        (DOMAIN + b" sframe salt" + struct.pack(">H", 1), 12),
        (b"", 32),
        (b"", 64),
    ]
    return [
        {"key": key.hex(), "info": info.hex(), "length": n, "okm": hkdf(key, info, n).hex()}
        for info, n in cases
    ]


def spake2_vectors() -> list[dict[str, Any]]:
    session_id, member_id = 123456789, 2
    id_a = DOMAIN + b" joiner" + struct.pack(">I", session_id)
    id_b = DOMAIN + b" organizer" + struct.pack(">I", session_id)
    cases = [
        ("password", normalize_password("ABCD-efgh-ijkl ")),
        ("link", stream("link secret", 32)),
    ]
    out = []
    for name, secret in cases:
        entropy_a = stream(f"{name}/joiner entropy", 64)
        entropy_b = stream(f"{name}/organizer entropy", 64)
        joiner = JoinerHandshake(session_id, secret, Scripted(entropy_a))
        organizer = OrganizerHandshake(session_id, member_id, secret, Scripted(entropy_b))
        msg_a = joiner.start()
        msg_b = organizer.respond(msg_a)
        joiner_tag = joiner.finish(member_id, msg_b)
        assert organizer.check(joiner_tag)
        organizer_tag = organizer.organizer_tag()
        pairwise = joiner.verify_admit(organizer_tag)
        # K is internal to the handshake; compute it with spake2 directly.
        side_a = SPAKE2_A(secret, idA=id_a, idB=id_b, entropy_f=Scripted(entropy_a))
        side_a.start()
        k = side_a.finish(msg_b)
        side_b = SPAKE2_B(secret, idA=id_a, idB=id_b, entropy_f=Scripted(entropy_b))
        side_b.start()
        assert side_b.finish(msg_a) == k
        confirm, pairwise_k = derive_admission_keys(k, session_id, member_id)
        assert pairwise_k == pairwise == organizer.pairwise_key
        out.append(
            {
                "credential": name,
                "secret": secret.hex(),
                "session_id": session_id,
                "member_id": member_id,
                "id_a": id_a.hex(),
                "id_b": id_b.hex(),
                "entropy_a": entropy_a.hex(),
                "entropy_b": entropy_b.hex(),
                "msg_a": msg_a.hex(),
                "msg_b": msg_b.hex(),
                "K": k.hex(),
                "confirm_key": confirm.hex(),
                "pairwise_key": pairwise.hex(),
                "joiner_tag": joiner_tag.hex(),
                "organizer_tag": organizer_tag.hex(),
            }
        )
    return out


def admission_vector() -> dict[str, Any]:
    k = bytes(range(0x40, 0x60))
    session_id, member_id = 987654321, 0x1234
    confirm, pairwise = derive_admission_keys(k, session_id, member_id)
    return {
        "K": k.hex(),
        "session_id": session_id,
        "member_id": member_id,
        "confirm_key": confirm.hex(),
        "pairwise_key": pairwise.hex(),
        "joiner_tag": confirm_tag(confirm, b"joiner").hex(),
        "organizer_tag": confirm_tag(confirm, b"organizer").hex(),
    }


def password_vectors() -> dict[str, Any]:
    rng_bytes = [bytes(8), b"\xff" * 8, stream("password", 8)]
    return {
        "new_password": [
            {"rng": r.hex(), "password": new_password(Scripted(r))} for r in rng_bytes
        ],
        "normalize": [
            {"input": text, "secret": normalize_password(text).hex()}
            for text in ["ABCD-efgh-ijkl ", " k7wm 3xqa-EP9T\t", "Ｋ７ＷＭ-ß"]
        ],
    }


def link_vector() -> dict[str, Any]:
    secret = stream("link secret", 32)
    relay_url, session_id = "https://relay.example.org", 123456789
    return {
        "relay_url": relay_url,
        "session_id": session_id,
        "secret": secret.hex(),
        "link": encode_link(relay_url, session_id, secret),
    }


def wrap_vector(pairwise: bytes) -> dict[str, Any]:
    session_id, member_id, epoch = 123456789, 2, 7
    epoch_key = stream("epoch key", 32)
    nonce = stream("wrap nonce", 12)
    wrapped = wrap_epoch_key(pairwise, session_id, member_id, epoch, epoch_key, Scripted(nonce))
    assert unwrap_epoch_key(pairwise, session_id, member_id, epoch, wrapped) == epoch_key
    return {
        "pairwise_key": pairwise.hex(),
        "session_id": session_id,
        "member_id": member_id,
        "epoch": epoch,
        "epoch_key": epoch_key.hex(),
        "nonce": nonce.hex(),
        "wrapped": wrapped.hex(),
    }


def seal_by_formula(
    session_id: int,
    key: bytes,
    salt: bytes,
    header: tuple[int, int, int, int, int],
    body: bytes,
    nonce_high: bytes = bytes(4),
) -> bytes:
    """docs/protocol.md "Sealed messages", written out independently.

    ``nonce_high`` is the nonce's first four bytes before the XOR: zero for
    frames, the grant (u32) for Input.
    """
    packed = SEALED_HEADER.pack(*header)
    counter = header[3]
    nonce = bytes(a ^ b for a, b in zip(salt, nonce_high + counter.to_bytes(8, "big"), strict=True))
    aad = DOMAIN + struct.pack(">I", session_id) + packed
    return packed + AESGCM(key).encrypt(nonce, body, aad)


def sframe_vector() -> dict[str, Any]:
    session_id, epoch, sender = 123456789, 7, 1
    epoch_key = stream("epoch key", 32)
    key, salt = derive_sender_keys(epoch_key, sender)
    cipher = SenderCipher(session_id, epoch, epoch_key, sender)
    plaintexts = [(FLAG_KEYFRAME, b""), (0, b"hello, viewer"), (0, stream("frame", 100))]
    frames = []
    for counter, (flags, body) in enumerate(plaintexts):
        message = bytes(cipher.seal(Tag.FRAME, flags, body))
        header = (Tag.FRAME.value, epoch, sender, counter, flags)
        assert message == seal_by_formula(session_id, key, salt, header, body)
        frames.append({"counter": counter, "flags": flags, "plaintext": body.hex()})
        frames[-1]["message"] = message.hex()
    for counter in (2**40 + 5, 2**64 - 2):
        body = b"late frame"
        header = (Tag.FRAME.value, epoch, sender, counter, 0)
        message = seal_by_formula(session_id, key, salt, header, body)
        frames.append(
            {"counter": counter, "flags": 0, "plaintext": body.hex(), "message": message.hex()}
        )
    return {
        "session_id": session_id,
        "epoch": epoch,
        "sender": sender,
        "tag": Tag.FRAME.value,
        "epoch_key": epoch_key.hex(),
        "sender_key": key.hex(),
        "sender_salt": salt.hex(),
        "frames": frames,
    }


def input_vector(pairwise: bytes) -> dict[str, Any]:
    """Sealed Input of controller 2: keys from its pairwise key, the grant in the nonce."""
    session_id, sender = 123456789, 2
    info_key = DOMAIN + b" input key" + struct.pack(">H", sender)
    info_salt = DOMAIN + b" input salt" + struct.pack(">H", sender)
    key, salt = hkdf(pairwise, info_key, 32), hkdf(pairwise, info_salt, 12)
    assert (key, salt) == input_keys(pairwise, sender)
    batches = [
        InputBatch(1_700_000_000_123_456_789, (PointerMove(640, 360),)),
        InputBatch(
            1_700_000_000_223_456_789,
            (
                Button(MouseButton.LEFT, True, 640, 360),
                Button(MouseButton.LEFT, False, 641, 360),
                Scroll(-1, 3, 641, 360),
                Key(True, "ctrl_l"),
                Key(True, "é"),
                Key(False, "é"),
                Key(False, "ctrl_l"),
            ),
        ),
        InputBatch(0, (Key(True, "€"), Key(False, "€"))),
    ]
    # (grant, counter) of each message: a grant's counters start at 0, and
    # counter 0 of grant 2 must not repeat the nonce of counter 0 of grant 1.
    steps = [(1, 0), (1, 1), (2, 0)]
    sealer = InputSealer(session_id, pairwise, sender)
    messages = []
    for (grant, counter), batch in zip(steps, batches, strict=True):
        body = encode_batch(batch)
        header = (Tag.INPUT.value, grant, sender, counter, 0)
        message = seal_by_formula(session_id, key, salt, header, body, struct.pack(">I", grant))
        assert bytes(sealer.seal(grant, body)) == message
        messages.append(
            {"grant": grant, "counter": counter, "plaintext": body.hex(), "message": message.hex()}
        )
    for grant, counter in ((7, 2**40 + 5), (2**32 - 1, 2**64 - 2)):
        body = encode_batch(InputBatch(1, (PointerMove(0, 0),)))
        header = (Tag.INPUT.value, grant, sender, counter, 0)
        message = seal_by_formula(session_id, key, salt, header, body, struct.pack(">I", grant))
        messages.append(
            {"grant": grant, "counter": counter, "plaintext": body.hex(), "message": message.hex()}
        )
    return {
        "session_id": session_id,
        "sender": sender,
        "tag": Tag.INPUT.value,
        "pairwise_key": pairwise.hex(),
        "input_key": key.hex(),
        "input_salt": salt.hex(),
        "messages": messages,
    }


def build() -> dict[str, Any]:
    spake2 = spake2_vectors()
    return {
        "about": "Known answers for docs/protocol.md (screenrelay/1). Bytes are hex; "
        "integers are numbers. Made by tests/golden/make_crypto_vectors.py.",
        "hkdf": hkdf_vectors(),
        "spake2": spake2,
        "admission": admission_vector(),
        "password": password_vectors(),
        "link": link_vector(),
        "wrap": wrap_vector(bytes.fromhex(spake2[0]["pairwise_key"])),
        "sframe": sframe_vector(),
        "input": input_vector(bytes.fromhex(spake2[0]["pairwise_key"])),
    }


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
