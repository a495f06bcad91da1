"""Admission: SPAKE2 with key confirmation, invitation secrets, failure lock.

The relay passes the PAKE messages between a joiner and the organizer's
client; it never learns the password and gets one online guess per attempt
(docs/protocol.md, "Admission"):

    joiner                      relay                   organizer's client
    JoinerHandshake.start  --Join-->  --JoinRequest-->  OrganizerHandshake.respond
    JoinerHandshake.finish <--PakeReply--            <--
                           --PakeConfirm-->             OrganizerHandshake.check
    verify_admit           <--Admit (or Reject)--       organizer_tag, pairwise_key

Rules:
  1. Each handshake object runs once, in the order above; calling a step out
     of order, twice, or after a failure is LocalProtocolError.
  2. Tags are compared in constant time. The joiner trusts nothing from the
     organizer before ``verify_admit`` succeeded; the organizer sends nothing
     derived from the key before ``check`` succeeded.
  3. Every attempt that does not confirm counts as a failure, including one
     that times out; after ``max_failures`` the AdmissionGuard locks and the
     organizer's client rejects every further join, even a correct one still
     in flight, so parallel attempts get no more guesses than serial ones.
"""

from __future__ import annotations

import base64
import enum
import math
import re
import struct
import unicodedata
import urllib.parse
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac
from spake2 import SPAKE2_A, SPAKE2_B
from spake2.ed25519_basic import NotOnCurve
from spake2.spake2 import SPAKEError

from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.keys import (
    KEY_SIZE,
    U16_MAX,
    Rng,
    check_joiner_id,
    check_key,
    check_session_id,
    derive_admission_keys,
    random_bytes,
)
from protocol.wire import DOMAIN, ORGANIZER_MEMBER

__all__ = [
    "LINK_SECRET_SIZE",
    "PASSWORD_ALPHABET",
    "AdmissionGuard",
    "JoinerHandshake",
    "OrganizerHandshake",
    "confirm_tag",
    "derive_admission_keys",
    "encode_link",
    "new_link_secret",
    "new_password",
    "normalize_password",
    "parse_link",
    "password_bits",
]

#: Size of the secret in an invitation link's #fragment.
LINK_SECRET_SIZE: Final = 32

#: 32 symbols, so each carries 5 random bits; no 0/o or 1/l to confuse.
PASSWORD_ALPHABET: Final = "23456789abcdefghijkmnpqrstuvwxyz"  # noqa: S105 (not a password)

#: A password is 3 groups of 4 symbols: 12 × 5 = 60 random bits.
_PASSWORD_GROUPS: Final = 3
_PASSWORD_GROUP_SIZE: Final = 4
_PASSWORD_BITS: Final = 5 * _PASSWORD_GROUPS * _PASSWORD_GROUP_SIZE

#: A SPAKE2 message: a side byte ("A" or "B") and an Ed25519 point.
SPAKE2_MESSAGE_SIZE: Final = 33

#: How long an attempt may stay unconfirmed before it counts as a failure.
DEFAULT_ATTEMPT_TIMEOUT: Final = 30.0

_JOINER_ID: Final = DOMAIN + b" joiner"
_ORGANIZER_ID: Final = DOMAIN + b" organizer"
_U32: Final = struct.Struct(">I")
_LINK_PATH: Final = "/j/"
_SESSION_DIGITS: Final = re.compile(r"[1-9][0-9]{8}")
_LINK_SECRET_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{43}")


# --- secrets a person types or clicks ------------------------------------


def normalize_password(text: str) -> bytes:
    """The password bytes both sides run SPAKE2 with.

    NFKC, surrounding whitespace stripped, lower-cased, dashes and spaces
    removed, UTF-8: "ABCD-efgh-ijkl " and "abcdefghijkl" are one password.
    """
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    secret = folded.replace("-", "").replace(" ", "").encode("utf-8")
    if not secret:
        raise LocalProtocolError("the password is empty")
    return secret


def password_bits(text: str) -> float:
    """A rough strength of a chosen session password, in bits.

    Counted on the normalized password (as SPAKE2 uses it): its length times
    log2 of the alphabet its characters come from (a-z: 26, digits: 10,
    other ASCII: 33, anything else: 100 more). Generous to long random-looking
    passwords and unkind to short ones; a generated password has 62.
    """
    try:
        secret = normalize_password(text).decode("utf-8")
    except LocalProtocolError:
        return 0.0
    pool = 0
    if any("a" <= c <= "z" for c in secret):
        pool += 26
    if any(c.isascii() and c.isdigit() for c in secret):
        pool += 10
    if any(c.isascii() and not c.isalnum() for c in secret):
        pool += 33
    if any(not c.isascii() for c in secret):
        pool += 100
    return len(secret) * math.log2(pool) if pool > 1 else 0.0


def new_password(rng: Rng) -> str:
    """A fresh session password such as "k7wm-3xqa-ep9t" (60 random bits)."""
    bits = int.from_bytes(random_bytes(rng, 8), "big") >> (64 - _PASSWORD_BITS)
    symbols = []
    for shift in range(_PASSWORD_BITS - 5, -1, -5):
        symbols.append(PASSWORD_ALPHABET[(bits >> shift) & 0x1F])
    groups = [
        "".join(symbols[i : i + _PASSWORD_GROUP_SIZE])
        for i in range(0, len(symbols), _PASSWORD_GROUP_SIZE)
    ]
    return "-".join(groups)


def new_link_secret(rng: Rng) -> bytes:
    """A fresh 32-byte secret for an invitation link."""
    return random_bytes(rng, LINK_SECRET_SIZE)


def _check_relay_url(relay_url: str) -> None:
    parts = urllib.parse.urlsplit(relay_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the relay address must start with https:// or http://: {relay_url!r}")
    if "?" in relay_url or "#" in relay_url:
        raise ValueError(f"the relay address must not have a query or fragment: {relay_url!r}")


def encode_link(relay_url: str, session_id: int, secret: bytes) -> str:
    """The invitation link ``<relay_url>/j/<session id>#<secret>``.

    The secret travels in the #fragment, which browsers never send to the
    relay. ``relay_url`` is the relay's http(s) address, optionally with a
    path (a trailing slash is dropped).
    """
    check_session_id(session_id)
    if not isinstance(secret, bytes) or len(secret) != LINK_SECRET_SIZE:
        raise LocalProtocolError(f"a link secret is {LINK_SECRET_SIZE} bytes")
    base = relay_url.rstrip("/")
    try:
        _check_relay_url(base)
    except ValueError as exc:
        raise LocalProtocolError(str(exc)) from None
    fragment = base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii")
    return f"{base}{_LINK_PATH}{session_id}#{fragment}"


def parse_link(link: str) -> tuple[str, int, bytes]:
    """Split an invitation link into ``(relay_url, session_id, secret)``.

    A link is user input: anything that ``encode_link`` would not have
    produced raises ValueError with a sentence to show the person.
    """

    def refuse(why: str) -> ValueError:
        return ValueError(f"not a screenrelay invitation link ({why}): {link!r}")

    text = link.strip()
    base, hash_sign, fragment = text.partition("#")
    if not hash_sign:
        raise refuse("the secret after # is missing")
    relay_url, slash_j, digits = base.rpartition(_LINK_PATH)
    if not slash_j:
        raise refuse("no /j/ before the session ID")
    if not _SESSION_DIGITS.fullmatch(digits):
        raise refuse("the session ID must be 9 digits")
    try:
        _check_relay_url(relay_url)
    except ValueError as exc:
        raise refuse(str(exc)) from None
    if not _LINK_SECRET_TEXT.fullmatch(fragment):
        raise refuse("the secret after # is damaged")
    secret = base64.urlsafe_b64decode(fragment + "=")
    if base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii") != fragment:
        raise refuse("the secret after # is damaged")
    return relay_url, int(digits), secret


# --- the SPAKE2 handshake --------------------------------------------------


def _spake_ids(session_id: int) -> tuple[bytes, bytes]:
    suffix = _U32.pack(session_id)
    return _JOINER_ID + suffix, _ORGANIZER_ID + suffix


def confirm_tag(confirm_key: bytes, role: bytes) -> bytes:
    """``HMAC-SHA256(confirm_key, role)``; role is b"joiner" or b"organizer"."""
    mac = hmac.HMAC(confirm_key, hashes.SHA256())
    mac.update(role)
    return mac.finalize()


def _tag_matches(confirm_key: bytes, role: bytes, tag: bytes) -> bool:
    """Whether ``tag`` is the role's confirmation tag, in constant time."""
    mac = hmac.HMAC(confirm_key, hashes.SHA256())
    mac.update(role)
    try:
        mac.verify(bytes(tag))
    except InvalidSignature:
        return False
    return True


def _check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes) or not secret:
        raise LocalProtocolError("the PAKE secret must be non-empty bytes")
    return secret


def _spake_finish(side: Any, peer_msg: bytes) -> bytes:
    """Finish SPAKE2 with the peer's message, translating its errors once."""
    peer_msg = bytes(peer_msg)
    if len(peer_msg) != SPAKE2_MESSAGE_SIZE:
        raise RemoteProtocolError("malformed PAKE message", ErrorCode.ADMISSION_FAILED)
    try:
        key = side.finish(peer_msg)
    except (SPAKEError, NotOnCurve, ValueError):
        raise RemoteProtocolError("malformed PAKE message", ErrorCode.ADMISSION_FAILED) from None
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:  # pragma: no cover
        raise LocalProtocolError("spake2 returned a key of an unexpected size")
    return key


class _Joiner(enum.Enum):
    #: Created; ``start`` comes next.
    NEW = enum.auto()
    #: Join sent; waiting for PakeReply.
    STARTED = enum.auto()
    #: PakeConfirm sent; waiting for Admit.
    FINISHED = enum.auto()
    #: The organizer proved it knows the secret; the pairwise key is out.
    ADMITTED = enum.auto()
    #: Something failed; the object is spent.
    FAILED = enum.auto()


_JOINER_STEPS: Final = {
    (_Joiner.NEW, "start"): _Joiner.STARTED,
    (_Joiner.STARTED, "finish"): _Joiner.FINISHED,
    (_Joiner.FINISHED, "verify_admit"): _Joiner.ADMITTED,
}


class JoinerHandshake:
    """The joiner's side: SPAKE2_A, then its tag, then the organizer's tag.

    ``secret`` is ``normalize_password(...)`` or the link's 32-byte secret.
    """

    def __init__(self, session_id: int, secret: bytes, rng: Rng) -> None:
        check_session_id(session_id)
        id_a, id_b = _spake_ids(session_id)
        self._session_id = session_id
        self._spake: Any = SPAKE2_A(
            _check_secret(secret), idA=id_a, idB=id_b, entropy_f=lambda n: random_bytes(rng, n)
        )
        self._state = _Joiner.NEW
        self._confirm = b""
        self._pairwise = b""

    def _step(self, op: str) -> None:
        next_state = _JOINER_STEPS.get((self._state, op))
        if next_state is None:
            raise LocalProtocolError(f"JoinerHandshake cannot {op} in state {self._state.name}")
        self._state = next_state

    def start(self) -> bytes:
        """The PAKE message for Join."""
        self._step("start")
        try:
            message: bytes = self._spake.start()
        except Exception:
            self._state = _Joiner.FAILED
            raise
        return message

    def finish(self, member_id: int, peer_msg: bytes) -> bytes:
        """Take PakeReply; return the tag for PakeConfirm.

        ``member_id`` is the joiner's own id, as the relay put it in PakeReply.
        """
        self._step("finish")
        try:
            if not ORGANIZER_MEMBER < member_id <= U16_MAX:
                raise RemoteProtocolError(
                    f"member id {member_id} is not a joiner's", ErrorCode.ADMISSION_FAILED
                )
            k = _spake_finish(self._spake, peer_msg)
        except Exception:
            self._state = _Joiner.FAILED
            raise
        finally:
            self._spake = None
        self._confirm, self._pairwise = derive_admission_keys(k, self._session_id, member_id)
        return confirm_tag(self._confirm, b"joiner")

    def verify_admit(self, tag: bytes) -> bytes:
        """Check Admit's tag; return the pairwise key, or raise ADMISSION_FAILED."""
        self._step("verify_admit")
        confirm, self._confirm = self._confirm, b""
        if not _tag_matches(confirm, b"organizer", tag):
            self._state = _Joiner.FAILED
            self._pairwise = b""
            raise RemoteProtocolError(
                "the organizer did not prove it knows the secret", ErrorCode.ADMISSION_FAILED
            )
        return self._pairwise


class _Organizer(enum.Enum):
    #: Created from a JoinRequest; ``respond`` comes next.
    NEW = enum.auto()
    #: PakeReply sent; waiting for PakeConfirm.
    RESPONDED = enum.auto()
    #: The joiner's tag was right: admit it.
    CONFIRMED = enum.auto()
    #: Malformed message or wrong tag: reject it.
    FAILED = enum.auto()


class OrganizerHandshake:
    """The organizer client's side of one join attempt (SPAKE2_B)."""

    def __init__(self, session_id: int, member_id: int, secret: bytes, rng: Rng) -> None:
        check_session_id(session_id)
        check_joiner_id(member_id)
        id_a, id_b = _spake_ids(session_id)
        self._session_id = session_id
        self._member_id = member_id
        self._spake: Any = SPAKE2_B(
            _check_secret(secret), idA=id_a, idB=id_b, entropy_f=lambda n: random_bytes(rng, n)
        )
        self._state = _Organizer.NEW
        self._confirm = b""
        self._pairwise = b""

    def _expect(self, state: _Organizer, op: str) -> None:
        if self._state is not state:
            raise LocalProtocolError(f"OrganizerHandshake cannot {op} in state {self._state.name}")

    def respond(self, joiner_msg: bytes) -> bytes:
        """Take JoinRequest's PAKE message; return the one for PakeReply."""
        self._expect(_Organizer.NEW, "respond")
        spake, self._spake = self._spake, None
        try:
            reply: bytes = spake.start()
            k = _spake_finish(spake, joiner_msg)
        except Exception:
            self._state = _Organizer.FAILED
            raise
        self._confirm, self._pairwise = derive_admission_keys(k, self._session_id, self._member_id)
        self._state = _Organizer.RESPONDED
        return reply

    def check(self, joiner_tag: bytes) -> bool:
        """Whether PakeConfirm's tag is right (constant time). Only once."""
        self._expect(_Organizer.RESPONDED, "check")
        if _tag_matches(self._confirm, b"joiner", joiner_tag):
            self._state = _Organizer.CONFIRMED
            return True
        self._state = _Organizer.FAILED
        self._confirm = self._pairwise = b""
        return False

    def organizer_tag(self) -> bytes:
        """The tag for Admit; only after ``check`` returned True."""
        self._expect(_Organizer.CONFIRMED, "organizer_tag")
        return confirm_tag(self._confirm, b"organizer")

    @property
    def pairwise_key(self) -> bytes:
        """The key epoch keys are wrapped under; only after a successful check."""
        self._expect(_Organizer.CONFIRMED, "pairwise_key")
        check_key("pairwise key", self._pairwise)
        return self._pairwise


# --- counting failures -------------------------------------------------------


class AdmissionGuard:
    """The organizer's client's count of failed join attempts in one session.

    Pure bookkeeping with time passed in (seconds from any monotonic clock).
    For each JoinRequest: if ``locked``, Reject (reason 1); else ``begin``.
    Then exactly one of ``succeeded`` (admit only if it returns True),
    ``failed``, or ``expire`` returning the id (Reject it) ends the attempt.
    """

    __slots__ = ("_failures", "_max_failures", "_pending")

    def __init__(self, max_failures: int = 5) -> None:
        if max_failures < 1:
            raise LocalProtocolError("max_failures must be at least 1")
        self._max_failures = max_failures
        self._failures = 0
        #: member id -> when its attempt began, in order of beginning.
        self._pending: dict[int, float] = {}

    @property
    def locked(self) -> bool:
        """True once ``max_failures`` attempts failed; it never unlocks."""
        return self._failures >= self._max_failures

    @property
    def failures(self) -> int:
        """Attempts that failed or expired so far."""
        return self._failures

    @property
    def pending(self) -> int:
        """Attempts begun and not yet ended."""
        return len(self._pending)

    def begin(self, member_id: int, now: float) -> None:
        """An attempt by ``member_id`` starts (JoinRequest arrived)."""
        if self.locked:
            raise LocalProtocolError("the session is locked; reject the join instead")
        if member_id in self._pending:
            raise LocalProtocolError(f"member {member_id} already has an attempt pending")
        if member_id == ORGANIZER_MEMBER:
            raise LocalProtocolError("the organizer does not join its own session")
        self._pending[member_id] = now

    def _end(self, member_id: int) -> None:
        if self._pending.pop(member_id, None) is None:
            raise LocalProtocolError(f"member {member_id} has no attempt pending")

    def succeeded(self, member_id: int) -> bool:
        """The joiner's tag was right. Return whether to admit it.

        False once the session is locked (by other attempts meanwhile): then
        Reject with reason 1, as for any join after the lock.
        """
        self._end(member_id)
        return not self.locked

    def failed(self, member_id: int) -> None:
        """The attempt did not confirm: wrong tag, malformed, or the joiner left."""
        self._end(member_id)
        self._failures += 1

    def expire(self, now: float, timeout: float = DEFAULT_ATTEMPT_TIMEOUT) -> list[int]:
        """End attempts pending ``timeout`` seconds or more as failures; return their ids."""
        expired = [m for m, began in self._pending.items() if now - began >= timeout]
        for member_id in expired:
            del self._pending[member_id]
        self._failures += len(expired)
        return expired

    def deadline(self, timeout: float = DEFAULT_ATTEMPT_TIMEOUT) -> float | None:
        """When ``expire`` next has something to do, or None if nothing is pending."""
        if not self._pending:
            return None
        return min(self._pending.values()) + timeout
