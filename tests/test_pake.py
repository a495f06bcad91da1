"""protocol.pake: SPAKE2 admission, invitation secrets, the failure lock."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spake2 import SPAKE2_B

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.keys import Rng, derive_admission_keys
from protocol.pake import (
    PASSWORD_ALPHABET,
    AdmissionGuard,
    JoinerHandshake,
    OrganizerHandshake,
    confirm_tag,
    encode_link,
    new_link_secret,
    new_password,
    normalize_password,
    parse_link,
)

SESSION = 123456789
MEMBER = 4
PASSWORD = normalize_password("abcd-efgh-ijkl")


def det_rng(seed: str) -> Rng:
    """Reproducible bytes: SHA-256 of the seed and a call counter."""
    calls = itertools.count()

    def rng(size: int) -> bytes:
        call = next(calls)
        out = b"".join(
            hashlib.sha256(f"{seed}/{call}/{block}".encode()).digest()
            for block in range(size // 32 + 1)
        )
        return out[:size]

    return rng


def run(
    joiner_secret: bytes,
    organizer_secret: bytes,
    *,
    joiner_session: int = SESSION,
    organizer_session: int = SESSION,
    joiner_member: int = MEMBER,
    organizer_member: int = MEMBER,
) -> tuple[JoinerHandshake, OrganizerHandshake, bool]:
    """Run a handshake up to the organizer's check; return both sides and its result."""
    joiner = JoinerHandshake(joiner_session, joiner_secret, det_rng("joiner"))
    organizer = OrganizerHandshake(
        organizer_session, organizer_member, organizer_secret, det_rng("organizer")
    )
    reply = organizer.respond(joiner.start())
    return joiner, organizer, organizer.check(joiner.finish(joiner_member, reply))


# --- handshake -----------------------------------------------------------


def test_right_password_agrees() -> None:
    joiner, organizer, ok = run(
        normalize_password("ABCD-efgh-ijkl "), normalize_password("abcdefghijkl")
    )
    assert ok
    pairwise = joiner.verify_admit(organizer.organizer_tag())
    assert pairwise == organizer.pairwise_key
    assert len(pairwise) == 32


def test_link_secret_agrees() -> None:
    secret = new_link_secret(det_rng("link"))
    joiner, organizer, ok = run(secret, secret)
    assert ok
    assert joiner.verify_admit(organizer.organizer_tag()) == organizer.pairwise_key


def test_keys_differ_between_runs() -> None:
    _, a_organizer, _ = run(PASSWORD, PASSWORD)
    b_joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("other joiner"))
    b_organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("other organizer"))
    reply = b_organizer.respond(b_joiner.start())
    assert b_organizer.check(b_joiner.finish(MEMBER, reply))
    assert b_organizer.pairwise_key != a_organizer.pairwise_key


@pytest.mark.parametrize(
    ("joiner_secret", "organizer_secret"),
    [
        (normalize_password("abcd-efgh-ijkm"), PASSWORD),
        (PASSWORD, normalize_password("abcd-efgh-ijkm")),
        (bytes(32), PASSWORD),
    ],
)
def test_wrong_secret_fails_the_organizers_check(
    joiner_secret: bytes, organizer_secret: bytes
) -> None:
    _, organizer, ok = run(joiner_secret, organizer_secret)
    assert not ok
    with pytest.raises(LocalProtocolError):
        organizer.organizer_tag()
    with pytest.raises(LocalProtocolError):
        _ = organizer.pairwise_key


def test_wrong_password_fails_the_joiners_check() -> None:
    # A relay (or impostor) guessing the password plays the organizer.
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    joiner_msg = joiner.start()
    impostor = OrganizerHandshake(SESSION, MEMBER, b"guess", det_rng("impostor"))
    joiner.finish(MEMBER, impostor.respond(joiner_msg))
    # It can compute a tag from its own key, which is not the joiner's.
    spake = SPAKE2_B(
        b"guess2",
        idA=b"screenrelay/1 joiner" + SESSION.to_bytes(4, "big"),
        idB=b"screenrelay/1 organizer" + SESSION.to_bytes(4, "big"),
    )
    spake.start()
    confirm, _ = derive_admission_keys(spake.finish(joiner_msg), SESSION, MEMBER)
    with pytest.raises(RemoteProtocolError) as info:
        joiner.verify_admit(confirm_tag(confirm, b"organizer"))
    assert info.value.code == ErrorCode.ADMISSION_FAILED


@pytest.mark.parametrize("tag", [b"", bytes(32), bytes(31), bytes(33), b"x" * 4096])
def test_joiner_refuses_a_bad_admit_tag(tag: bytes) -> None:
    joiner, _, ok = run(PASSWORD, PASSWORD)
    assert ok
    with pytest.raises(RemoteProtocolError) as info:
        joiner.verify_admit(tag)
    assert info.value.code == ErrorCode.ADMISSION_FAILED
    with pytest.raises(LocalProtocolError):
        joiner.verify_admit(tag)


def test_joiner_tag_is_not_the_organizer_tag() -> None:
    # A relay reflecting the joiner's own tag back must not pass.
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("organizer"))
    joiner_tag = joiner.finish(MEMBER, organizer.respond(joiner.start()))
    with pytest.raises(RemoteProtocolError):
        joiner.verify_admit(joiner_tag)


@pytest.mark.parametrize(
    "overrides",
    [
        {"joiner_member": MEMBER + 1},
        {"organizer_member": MEMBER + 1},
        {"joiner_session": SESSION + 1},
    ],
)
def test_context_mismatch_fails(overrides: dict[str, int]) -> None:
    _, _, ok = run(PASSWORD, PASSWORD, **overrides)
    assert not ok


@pytest.mark.parametrize("bad", [0, 1, 0x10000])
def test_joiner_refuses_a_non_joiner_member_id(bad: int) -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("organizer"))
    reply = organizer.respond(joiner.start())
    with pytest.raises(RemoteProtocolError) as info:
        joiner.finish(bad, reply)
    assert info.value.code == ErrorCode.ADMISSION_FAILED


def _malformed_messages() -> list[bytes]:
    joiner_msg = JoinerHandshake(SESSION, PASSWORD, det_rng("j")).start()
    reply = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("o")).respond(joiner_msg)
    return [
        b"",
        reply[:-1],
        reply + b"\x00",
        b"A" + reply[1:],  # from the same side
        b"C" + reply[1:],  # from no side
        b"B" + bytes(32),  # the zero point
        b"B" + b"\x01" + bytes(31),  # the identity: not in the prime-order group
        b"B" + b"\xff" * 32,  # not on the curve
    ]


@pytest.mark.parametrize("peer_msg", _malformed_messages())
def test_joiner_refuses_malformed_replies(peer_msg: bytes) -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    joiner.start()
    with pytest.raises(RemoteProtocolError) as info:
        joiner.finish(MEMBER, peer_msg)
    assert info.value.code == ErrorCode.ADMISSION_FAILED
    with pytest.raises(LocalProtocolError):
        joiner.verify_admit(bytes(32))


def test_joiner_refuses_its_own_message_reflected() -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    message = joiner.start()
    with pytest.raises(RemoteProtocolError):
        joiner.finish(MEMBER, b"B" + message[1:])


def _malformed_joins() -> list[bytes]:
    joiner_msg = JoinerHandshake(SESSION, PASSWORD, det_rng("j")).start()
    return [
        b"",
        joiner_msg[:-1],
        joiner_msg + b"\x00",
        b"B" + joiner_msg[1:],  # from the same side
        b"S" + joiner_msg[1:],  # from no side
        b"A" + bytes(32),
        b"A" + b"\x01" + bytes(31),
        b"A" + b"\xff" * 32,
    ]


@pytest.mark.parametrize("joiner_msg", _malformed_joins())
def test_organizer_refuses_malformed_joins(joiner_msg: bytes) -> None:
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("organizer"))
    with pytest.raises(RemoteProtocolError) as info:
        organizer.respond(joiner_msg)
    assert info.value.code == ErrorCode.ADMISSION_FAILED
    with pytest.raises(LocalProtocolError):
        organizer.check(bytes(32))


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.sampled_from([b"A", b"B"]))
def test_any_peer_message_gives_a_tag_or_remote_protocol_error(point: bytes, side: bytes) -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    joiner.start()
    try:
        tag = joiner.finish(MEMBER, side + point)
    except RemoteProtocolError:
        return
    assert len(tag) == 32


def test_joiner_calls_out_of_order() -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    with pytest.raises(LocalProtocolError):
        joiner.finish(MEMBER, b"B" + bytes(32))
    with pytest.raises(LocalProtocolError):
        joiner.verify_admit(bytes(32))
    joiner.start()
    with pytest.raises(LocalProtocolError):
        joiner.start()
    with pytest.raises(LocalProtocolError):
        joiner.verify_admit(bytes(32))


def test_joiner_is_spent_after_success() -> None:
    joiner, organizer, _ = run(PASSWORD, PASSWORD)
    tag = organizer.organizer_tag()
    joiner.verify_admit(tag)
    for call in (joiner.start, lambda: joiner.verify_admit(tag)):
        with pytest.raises(LocalProtocolError):
            call()


def test_organizer_calls_out_of_order() -> None:
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("organizer"))
    with pytest.raises(LocalProtocolError):
        organizer.check(bytes(32))
    with pytest.raises(LocalProtocolError):
        organizer.organizer_tag()
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    joiner_msg = joiner.start()
    reply = organizer.respond(joiner_msg)
    with pytest.raises(LocalProtocolError):
        organizer.respond(joiner_msg)
    with pytest.raises(LocalProtocolError):
        organizer.organizer_tag()
    with pytest.raises(LocalProtocolError):
        _ = organizer.pairwise_key
    tag = joiner.finish(MEMBER, reply)
    assert organizer.check(tag)
    with pytest.raises(LocalProtocolError):
        organizer.check(tag)  # one check per attempt
    assert organizer.organizer_tag() == organizer.organizer_tag()


def test_a_failed_check_cannot_be_retried() -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner"))
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, det_rng("organizer"))
    tag = joiner.finish(MEMBER, organizer.respond(joiner.start()))
    assert not organizer.check(bytes(32))
    with pytest.raises(LocalProtocolError):
        organizer.check(tag)


@pytest.mark.parametrize(
    ("session_id", "member_id", "secret"),
    [(1, MEMBER, PASSWORD), (SESSION, 1, PASSWORD), (SESSION, 0, PASSWORD), (SESSION, MEMBER, b"")],
)
def test_handshakes_refuse_bad_arguments(session_id: int, member_id: int, secret: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        OrganizerHandshake(session_id, member_id, secret, det_rng("o"))
    if member_id == MEMBER:
        with pytest.raises(LocalProtocolError):
            JoinerHandshake(session_id, secret, det_rng("j"))


def test_handshake_is_deterministic_given_the_rng() -> None:
    first = JoinerHandshake(SESSION, PASSWORD, det_rng("same")).start()
    again = JoinerHandshake(SESSION, PASSWORD, det_rng("same")).start()
    other = JoinerHandshake(SESSION, PASSWORD, det_rng("other")).start()
    assert first == again != other
    assert len(first) == 33
    assert first[:1] == b"A"


# --- passwords and links -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ABCD-efgh-ijkl ", b"abcdefghijkl"),
        ("abcdefghijkl", b"abcdefghijkl"),
        ("  abcd efgh ijkl\n", b"abcdefghijkl"),
        ("abcd\tefgh", b"abcd\tefgh"),  # only spaces go, as in the spec
        ("ＡＢＣＤ－ｅｆｇｈ", b"abcdefgh"),  # full-width forms fold under NFKC
        ("abcd\u00a0efgh", b"abcdefgh"),  # no-break space is a space under NFKC
        ("Größe", "größe".encode()),
    ],
)
def test_normalize_password(text: str, expected: bytes) -> None:
    assert normalize_password(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "- - -", "\t-\n"])
def test_empty_password_is_refused(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        normalize_password(text)


def test_new_password_format() -> None:
    rng = det_rng("passwords")
    seen: set[str] = set()
    for _ in range(200):
        password = new_password(rng)
        assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
        assert set(password.replace("-", "")) <= set(PASSWORD_ALPHABET)
        assert normalize_password(password) == password.replace("-", "").encode()
        seen.update(password.replace("-", ""))
    assert seen == set(PASSWORD_ALPHABET)


def test_password_alphabet() -> None:
    assert len(PASSWORD_ALPHABET) == len(set(PASSWORD_ALPHABET)) == 32
    assert not set("01lo") & set(PASSWORD_ALPHABET)


def test_new_password_maps_bits_without_rejection() -> None:
    assert new_password(lambda n: bytes(n)) == "2222-2222-2222"
    assert new_password(lambda n: b"\xff" * n) == "zzzz-zzzz-zzzz"
    # The first 60 bits are used, 5 per symbol, most significant first.
    assert new_password(lambda n: b"\x08" + bytes(n - 1)) == "3222-2222-2222"
    assert new_password(lambda n: bytes(n - 1) + b"\x10") == "2222-2222-2223"
    assert new_password(lambda n: bytes(n - 1) + b"\x0f") == "2222-2222-2222"


def test_new_link_secret() -> None:
    assert len(new_link_secret(det_rng("a"))) == 32
    assert new_link_secret(det_rng("a")) != new_link_secret(det_rng("b"))


@pytest.mark.parametrize(
    "relay_url",
    ["https://relay.example.org", "https://relay.example.org/", "http://localhost:8443/sr"],
)
def test_link_round_trip(relay_url: str) -> None:
    secret = new_link_secret(det_rng(relay_url))
    link = encode_link(relay_url, SESSION, secret)
    assert re.fullmatch(r"https?://.+/j/123456789#[A-Za-z0-9_-]{43}", link)
    assert parse_link(link) == (relay_url.rstrip("/"), SESSION, secret)
    assert parse_link(f"  {link}\n") == (relay_url.rstrip("/"), SESSION, secret)


@given(st.binary(min_size=32, max_size=32), st.integers(100_000_000, 999_999_999))
def test_link_round_trip_any_secret(secret: bytes, session_id: int) -> None:
    link = encode_link("https://r.example", session_id, secret)
    assert parse_link(link) == ("https://r.example", session_id, secret)


_SECRET_TEXT = encode_link("https://r.example", SESSION, bytes(range(32))).split("#")[1]


@pytest.mark.parametrize(
    "link",
    [
        "",
        "123456789",
        f"https://r.example/j/123456789{_SECRET_TEXT}",
        f"https://r.example/123456789#{_SECRET_TEXT}",
        f"https://r.example/j/12345678#{_SECRET_TEXT}",
        f"https://r.example/j/1234567890#{_SECRET_TEXT}",
        f"https://r.example/j/023456789#{_SECRET_TEXT}",
        f"https://r.example/j/12345678x#{_SECRET_TEXT}",
        f"https://r.example/j/１２３４５６７８９#{_SECRET_TEXT}",
        f"https://r.example/j/123456789/#{_SECRET_TEXT}",
        f"ftp://r.example/j/123456789#{_SECRET_TEXT}",
        f"r.example/j/123456789#{_SECRET_TEXT}",
        f"https:///j/123456789#{_SECRET_TEXT}",
        f"https://r.example/?x=1/j/123456789#{_SECRET_TEXT}",
        "https://r.example/j/123456789#",
        f"https://r.example/j/123456789#{_SECRET_TEXT[:-1]}",
        f"https://r.example/j/123456789#{_SECRET_TEXT}A",
        f"https://r.example/j/123456789#{_SECRET_TEXT}=",
        f"https://r.example/j/123456789#{_SECRET_TEXT[:-1]}+",
        f"https://r.example/j/123456789#{_SECRET_TEXT[:-1]}B",  # non-canonical last symbol
        f"https://r.example/j/123456789#{_SECRET_TEXT}#",
    ],
)
def test_bad_links_are_refused(link: str) -> None:
    with pytest.raises(ValueError, match="not a screenrelay invitation link"):
        parse_link(link)


@given(st.text(max_size=120))
def test_parse_link_gives_a_link_or_value_error(text: str) -> None:
    try:
        relay_url, session_id, secret = parse_link(text)
    except ValueError:
        return
    assert len(secret) == 32
    assert encode_link(relay_url, session_id, secret) == text.strip()


@pytest.mark.parametrize(
    ("relay_url", "session_id", "secret"),
    [
        ("https://r.example", SESSION, bytes(31)),
        ("https://r.example", 12345, bytes(32)),
        ("wss://r.example", SESSION, bytes(32)),
        ("https://r.example/#x", SESSION, bytes(32)),
        ("r.example", SESSION, bytes(32)),
    ],
)
def test_encode_link_refuses_bad_arguments(relay_url: str, session_id: int, secret: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        encode_link(relay_url, session_id, secret)


# --- the failure lock ------------------------------------------------------


def test_guard_locks_after_five_failures() -> None:
    guard = AdmissionGuard()
    for member in range(2, 6):
        guard.begin(member, now=0.0)
        guard.failed(member)
        assert not guard.locked
    guard.begin(6, now=0.0)
    guard.failed(6)
    assert guard.locked
    assert guard.failures == 5
    with pytest.raises(LocalProtocolError):
        guard.begin(7, now=0.0)


def test_successes_do_not_count() -> None:
    guard = AdmissionGuard(max_failures=2)
    for member in range(2, 12):
        guard.begin(member, now=float(member))
        assert guard.succeeded(member)
    assert not guard.locked
    assert guard.failures == 0


def test_expired_attempts_count_as_failures() -> None:
    guard = AdmissionGuard()
    for member in range(2, 7):
        guard.begin(member, now=float(member))
    assert guard.pending == 5
    assert guard.deadline() == 32.0
    assert guard.expire(now=31.9) == []
    assert guard.expire(now=33.0) == [2, 3]
    assert guard.failures == 2
    assert guard.pending == 3
    assert not guard.locked
    assert guard.expire(now=100.0, timeout=30.0) == [4, 5, 6]
    assert guard.locked
    assert guard.deadline() is None


def test_failures_and_expiry_add_up() -> None:
    guard = AdmissionGuard()
    for member in (2, 3, 4):
        guard.begin(member, now=0.0)
        guard.failed(member)
    guard.begin(5, now=10.0)
    guard.begin(6, now=20.0)
    assert guard.expire(now=45.0) == [5]
    assert not guard.locked
    assert guard.expire(now=50.0) == [6]
    assert guard.locked


def test_a_correct_confirmation_after_the_lock_is_not_admitted() -> None:
    guard = AdmissionGuard(max_failures=2)
    guard.begin(2, now=0.0)
    guard.begin(3, now=0.0)
    guard.begin(4, now=0.0)
    guard.failed(2)
    guard.failed(3)
    assert guard.locked
    assert not guard.succeeded(4)


def test_guard_refuses_misuse() -> None:
    guard = AdmissionGuard()
    with pytest.raises(LocalProtocolError):
        guard.succeeded(2)
    with pytest.raises(LocalProtocolError):
        guard.failed(2)
    guard.begin(2, now=0.0)
    with pytest.raises(LocalProtocolError):
        guard.begin(2, now=1.0)
    with pytest.raises(LocalProtocolError):
        guard.begin(1, now=1.0)
    guard.failed(2)
    with pytest.raises(LocalProtocolError):
        guard.failed(2)  # each attempt ends once
    assert guard.failures == 1
    guard.begin(3, now=0.0)
    assert guard.expire(now=30.0) == [3]
    with pytest.raises(LocalProtocolError):
        guard.succeeded(3)  # too late: it already counted as a failure
    with pytest.raises(LocalProtocolError):
        AdmissionGuard(max_failures=0)


def test_guard_with_real_handshakes() -> None:
    guard = AdmissionGuard()
    admitted = []
    guesses = [b"guess%d" % i for i in range(5)] + [PASSWORD]
    for member, guess in enumerate(guesses, start=2):
        if guard.locked:
            break
        guard.begin(member, now=0.0)
        _, _, ok = run(guess, PASSWORD, joiner_member=member, organizer_member=member)
        if ok and guard.succeeded(member):
            admitted.append(member)
        elif not ok:
            guard.failed(member)
    assert guard.locked
    assert admitted == []


def test_a_broken_rng_spends_the_handshake() -> None:
    joiner = JoinerHandshake(SESSION, PASSWORD, lambda n: b"short")
    with pytest.raises(LocalProtocolError):
        joiner.start()
    with pytest.raises(LocalProtocolError, match="state FAILED"):
        joiner.start()
    organizer = OrganizerHandshake(SESSION, MEMBER, PASSWORD, lambda n: b"short")
    joiner_msg = JoinerHandshake(SESSION, PASSWORD, det_rng("joiner")).start()
    with pytest.raises(LocalProtocolError):
        organizer.respond(joiner_msg)
    with pytest.raises(LocalProtocolError, match="state FAILED"):
        organizer.respond(joiner_msg)
