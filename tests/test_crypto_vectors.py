"""The key schedule still gives the known answers in golden/crypto_vectors.json.

The file is made by golden/make_crypto_vectors.py; this test recomputes every
output from the inputs stored next to it, through the public API only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spake2 import SPAKE2_A, SPAKE2_B

from protocol.errors import ReplayError
from protocol.input_events import encode_batch, parse_batch
from protocol.keys import EpochRing, derive_admission_keys, hkdf, unwrap_epoch_key, wrap_epoch_key
from protocol.pake import (
    JoinerHandshake,
    OrganizerHandshake,
    confirm_tag,
    encode_link,
    new_password,
    normalize_password,
    parse_link,
)
from protocol.sframe import (
    InputOpener,
    InputSealer,
    ReceiverCipher,
    SenderCipher,
    derive_sender_keys,
    input_keys,
)
from protocol.wire import Tag

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "golden" / "crypto_vectors.json").read_text(encoding="utf-8")
)


class Scripted:
    """An Rng that hands out the given byte strings, one per call, in order."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    def __call__(self, size: int) -> bytes:
        chunk = self.chunks.pop(0)
        assert len(chunk) == size
        return chunk


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize("case", VECTORS["hkdf"])
def test_hkdf(case: dict[str, Any]) -> None:
    assert hkdf(h(case["key"]), h(case["info"]), case["length"]) == h(case["okm"])


@pytest.mark.parametrize("case", VECTORS["spake2"], ids=lambda c: c["credential"])
def test_spake2_transcript(case: dict[str, Any]) -> None:
    secret, session_id, member_id = h(case["secret"]), case["session_id"], case["member_id"]
    if case["credential"] == "password":
        assert normalize_password(secret.decode()) == secret
    joiner = JoinerHandshake(session_id, secret, Scripted(h(case["entropy_a"])))
    organizer = OrganizerHandshake(session_id, member_id, secret, Scripted(h(case["entropy_b"])))
    assert joiner.start() == h(case["msg_a"])
    assert organizer.respond(h(case["msg_a"])) == h(case["msg_b"])
    assert joiner.finish(member_id, h(case["msg_b"])) == h(case["joiner_tag"])
    assert organizer.check(h(case["joiner_tag"]))
    assert organizer.organizer_tag() == h(case["organizer_tag"])
    assert joiner.verify_admit(h(case["organizer_tag"])) == h(case["pairwise_key"])
    assert organizer.pairwise_key == h(case["pairwise_key"])

    # The raw SPAKE2 key, with the identities spelled out in the file.
    side_a = SPAKE2_A(
        secret, idA=h(case["id_a"]), idB=h(case["id_b"]), entropy_f=Scripted(h(case["entropy_a"]))
    )
    assert side_a.start() == h(case["msg_a"])
    assert side_a.finish(h(case["msg_b"])) == h(case["K"])
    side_b = SPAKE2_B(
        secret, idA=h(case["id_a"]), idB=h(case["id_b"]), entropy_f=Scripted(h(case["entropy_b"]))
    )
    assert side_b.start() == h(case["msg_b"])
    assert side_b.finish(h(case["msg_a"])) == h(case["K"])
    confirm, pairwise = derive_admission_keys(h(case["K"]), session_id, member_id)
    assert confirm == h(case["confirm_key"])
    assert pairwise == h(case["pairwise_key"])


def test_admission_keys_from_a_fixed_k() -> None:
    case = VECTORS["admission"]
    confirm, pairwise = derive_admission_keys(h(case["K"]), case["session_id"], case["member_id"])
    assert confirm == h(case["confirm_key"])
    assert pairwise == h(case["pairwise_key"])
    assert confirm_tag(confirm, b"joiner") == h(case["joiner_tag"])
    assert confirm_tag(confirm, b"organizer") == h(case["organizer_tag"])


def test_passwords() -> None:
    for case in VECTORS["password"]["new_password"]:
        assert new_password(Scripted(h(case["rng"]))) == case["password"]
    for case in VECTORS["password"]["normalize"]:
        assert normalize_password(case["input"]) == h(case["secret"])


def test_link() -> None:
    case = VECTORS["link"]
    link = encode_link(case["relay_url"], case["session_id"], h(case["secret"]))
    assert link == case["link"]
    assert parse_link(case["link"]) == (case["relay_url"], case["session_id"], h(case["secret"]))


def test_wrapped_epoch_key() -> None:
    case = VECTORS["wrap"]
    context = (h(case["pairwise_key"]), case["session_id"], case["member_id"], case["epoch"])
    wrapped = wrap_epoch_key(*context, h(case["epoch_key"]), Scripted(h(case["nonce"])))
    assert wrapped == h(case["wrapped"])
    assert unwrap_epoch_key(*context, h(case["wrapped"])) == h(case["epoch_key"])


def test_sealed_frames() -> None:
    case = VECTORS["sframe"]
    epoch_key = h(case["epoch_key"])
    key, salt = derive_sender_keys(epoch_key, case["sender"])
    assert key == h(case["sender_key"])
    assert salt == h(case["sender_salt"])

    sender = SenderCipher(case["session_id"], case["epoch"], epoch_key, case["sender"])
    ring = EpochRing()
    ring.install(case["epoch"], epoch_key)
    receiver = ReceiverCipher(case["session_id"], ring)
    for frame in case["frames"]:
        if frame["counter"] == sender.counter:
            sealed = sender.seal(Tag(case["tag"]), frame["flags"], h(frame["plaintext"]))
            assert sealed == h(frame["message"])
        header, plaintext = receiver.open(h(frame["message"]))
        assert plaintext == h(frame["plaintext"])
        assert (header.tag, header.epoch, header.sender, header.counter, header.flags) == (
            case["tag"],
            case["epoch"],
            case["sender"],
            frame["counter"],
            frame["flags"],
        )
    assert sender.counter == sum(1 for f in case["frames"] if f["counter"] < 2**32)
    with pytest.raises(ReplayError):
        receiver.open(h(case["frames"][0]["message"]))


def test_sealed_input() -> None:
    case = VECTORS["input"]
    pairwise, session_id, sender_id = h(case["pairwise_key"]), case["session_id"], case["sender"]
    assert input_keys(pairwise, sender_id) == (h(case["input_key"]), h(case["input_salt"]))
    # The vector's pairwise key is the one the SPAKE2 transcript ends with.
    assert case["pairwise_key"] == VECTORS["spake2"][0]["pairwise_key"]

    sealer = InputSealer(session_id, pairwise, sender_id)
    opener = InputOpener(session_id, pairwise, sender_id)
    for message in case["messages"]:
        grant, counter = message["grant"], message["counter"]
        plaintext = h(message["plaintext"])
        if counter == (sealer.counter if grant == sealer.grant else 0):
            assert sealer.seal(grant, plaintext) == h(message["message"])
        header, opened = opener.open(h(message["message"]))
        assert opened == plaintext
        assert encode_batch(parse_batch(opened)) == plaintext
        assert (header.tag, header.epoch, header.sender, header.counter, header.flags) == (
            case["tag"],
            grant,
            sender_id,
            counter,
            0,
        )
    assert sealer.grant == 2
    with pytest.raises(ReplayError):
        opener.open(h(case["messages"][0]["message"]))
