"""Account passwords: argon2id hashing, strength rules, sign-in throttling.

Pure logic: no I/O, and time comes in as ``now`` (seconds, any monotonic or
wall clock, as long as one throttle always gets the same kind).

Password rules for organizer and admin accounts (:func:`check_password_strength`):
  1. 12 to 1024 characters.
  2. At least two kinds of character and six different characters.
  3. Not the account's name, nor containing it (names of four or more
     characters), nor the name reversed.
  4. Not a common password: ``COMMON_PASSWORDS``, compared without case and
     without the digits and symbols people add at the end ("Password2024!").

Hashing is slow on purpose (tens of milliseconds and 64 MiB per call with the
default parameters): run it through ``anyio.to_thread`` and cap how many run at
once (e.g. an ``anyio.CapacityLimiter``), or a burst of sign-ins allocates
64 MiB each.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

#: argon2id with RFC 9106's second recommended option (section 4) but one
#: lane: time_cost=3 passes over memory_cost=64 MiB. One lane because the relay
#: may run on two cores and should not give all of them to one sign-in;
#: parallelism changes the wall time, not the attacker's cost per guess.
DEFAULT_HASHER: Final = PasswordHasher(
    time_cost=3,  # passes over memory
    memory_cost=64 * 1024,  # KiB, i.e. 64 MiB
    parallelism=1,  # lanes (threads)
    hash_len=32,  # bytes of output
    salt_len=16,  # bytes of random salt, new for every hash
    type=Type.ID,  # argon2id: resists both side channels and GPU trade-offs
)

#: Fewest characters in an organizer's or admin's password.
MIN_PASSWORD_CHARS: Final = 12

#: Most characters: the wire format caps a string at 1024 bytes anyway, and a
#: password we accept must be one the user can send.
MAX_PASSWORD_CHARS: Final = 1024

#: Fewest different characters, so "aaaaaaaaaaa1" and "abababababab" fail.
MIN_DISTINCT_CHARS: Final = 6


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """The argon2id hash of ``password`` in PHC string format, fresh salt."""
    return hasher.hash(password)


def verify_password(
    password_hash: str | None, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """True when ``password`` matches ``password_hash``; never raises for a
    wrong password.

    A hash that does not parse also gives False (nobody can sign in with it).
    ``password_hash=None`` (no such account) spends the same time on a dummy
    hash and gives False, so the answer's timing does not tell which account
    names exist.
    """
    if password_hash is None:
        password_hash = _dummy_hash(hasher)
        result = False
    else:
        result = True
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return result


def needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when the hash was made with other parameters than ``hasher``'s:
    after a successful sign-in, store ``hash_password(password)`` instead."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("screenrelay: no such account")


#: Passwords (case folded, trailing digits and symbols removed) that rule 4
#: refuses: the most common bases of long passwords in public breach lists,
#: plus this product's own words. Short ones already fail rule 1 alone but
#: come back with digits added ("password1234").
COMMON_PASSWORDS: Final = frozenset(
    {
        "",
        "password",
        "passw",
        "passwd",
        "passwort",
        "motdepasse",
        "contraseña",
        "qwerty",
        "qwertyuiop",
        "qwertz",
        "azerty",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
        "qazwsx",
        "abc",
        "abcdef",
        "abcdefgh",
        "letmein",
        "welcome",
        "iloveyou",
        "admin",
        "administrator",
        "root",
        "changeme",
        "changeit",
        "default",
        "secret",
        "trustno",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "master",
        "shadow",
        "superman",
        "starwars",
        "whatever",
        "login",
        "summer",
        "winter",
        "spring",
        "autumn",
        "p@ssw0rd",
        "p@ssword",
        "passw0rd",
        "pa$$word",
        "passwordpassword",
        "organizer",
        "screenrelay",
        "screenshare",
        "relay",
        "1q2w3e4r5t",
        "1q2w3e4r",
        "q1w2e3r4t5",
        "1qaz2wsx",
        "zaq1zaq1",
    }
)


def check_password_strength(password: str, name: str | None = None) -> str | None:
    """None when ``password`` is acceptable for an organizer or admin
    account called ``name``, else one sentence saying what is wrong (rules
    in the module docstring)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return (
            f"The password must have at least {MIN_PASSWORD_CHARS} characters; "
            f"this one has {len(password)}."
        )
    if len(password) > MAX_PASSWORD_CHARS:
        return f"The password must have at most {MAX_PASSWORD_CHARS} characters."
    classes = {_character_class(c) for c in password}
    if len(classes) < 2:
        (only,) = classes
        return (
            f"The password has only {only}; mix in another kind "
            "(lowercase or uppercase letters, digits, symbols or spaces)."
        )
    if len(set(password)) < MIN_DISTINCT_CHARS:
        return (
            f"The password must have at least {MIN_DISTINCT_CHARS} different characters, "
            "not a few repeated."
        )
    folded = password.casefold()
    if name:
        folded_name = name.casefold()
        if folded in (folded_name, folded_name[::-1]) or (
            len(folded_name) >= MIN_NAME_IN_PASSWORD and folded_name in folded
        ):
            return "The password must not be or contain the account's name."
    if _common_base(folded) in COMMON_PASSWORDS or folded in COMMON_PASSWORDS:
        return (
            "The password is too common (a well-known password with a few characters"
            " added); choose another, e.g. a few unrelated words."
        )
    return None


#: Shortest account name that rule 3 looks for inside a password; shorter
#: names ("al") occur in good passwords by chance.
MIN_NAME_IN_PASSWORD: Final = 4


def _common_base(folded: str) -> str:
    """The password without the digits and symbols at its end (and start)."""
    return folded.rstrip("0123456789!@#$%^&*()-_=+.,;:?/~ ").lstrip("0123456789!@#$%^&*. ")


def generate_password(token: Callable[[int], str] = secrets.token_urlsafe) -> str:
    """A strong password: 20 characters of ``token(15)`` (120 random bits),
    drawn again in the rare case it breaks a rule (e.g. only letters)."""
    while True:
        password = token(15)
        if check_password_strength(password) is None:
            return password


#: Most groups one account belongs to: groups name teams, not every project.
MAX_GROUPS: Final = 64

#: Longest group name, in characters.
MAX_GROUP_CHARS: Final = 64


def parse_groups(values: str | Iterable[str]) -> tuple[str, ...]:
    """An account's groups from ``"a,b"`` or a list of names: trimmed, in the
    order given, duplicates (ignoring case) dropped.

    Raises ValueError with a sentence: a name must be 1 to MAX_GROUP_CHARS
    printable characters without a comma; at most MAX_GROUPS names. An empty
    string is no groups.
    """
    names = values.split(",") if isinstance(values, str) else list(values)
    if isinstance(values, str) and not values.strip():
        names = []
    groups: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name or len(name) > MAX_GROUP_CHARS or not name.isprintable() or "," in name:
            raise ValueError(
                f"A group name must be 1 to {MAX_GROUP_CHARS} printable characters without a"
                f" comma, not {raw!r}."
            )
        if name.casefold() not in seen:
            seen.add(name.casefold())
            groups.append(name)
    if len(groups) > MAX_GROUPS:
        raise ValueError(f"An account may be in at most {MAX_GROUPS} groups.")
    return tuple(groups)


def _character_class(c: str) -> str:
    if c.islower():
        return "lowercase letters"
    if c.isupper():
        return "uppercase letters"
    if c.isdigit():
        return "digits"
    return "symbols, spaces or other characters"


#: Failed sign-ins allowed per account and per address within FAILURE_WINDOW.
MAX_FAILURES: Final = 5

#: Seconds over which failures count: 15 minutes.
FAILURE_WINDOW: Final = 15 * 60.0

#: Most accounts plus addresses tracked at once. Names and addresses cost an
#: attacker nothing to vary, so without a cap the table grows with every
#: guess; with it, memory stays bounded (a key holds at most MAX_FAILURES
#: floats, so 10,000 keys take a few MiB). The key that failed longest ago is
#: forgotten first: it is the closest to expiring anyway.
MAX_TRACKED_KEYS: Final = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class ThrottleStatistics:
    """What a SignInThrottle holds."""

    #: Accounts plus addresses with recent failures.
    tracked_keys: int
    #: The cap on tracked_keys.
    max_keys: int
    #: Keys forgotten early because the cap was reached, since creation.
    evicted_keys: int


class SignInThrottle:
    """Limits failed sign-ins per account and per address.

    Rule: for each account name (ignoring case) and each address, at most
    ``max_failures`` failed sign-ins in any ``window`` seconds. Once a key has
    that many in the window, :meth:`check` answers how long to wait until the
    oldest of them leaves the window. Refused attempts are not failures (the
    password was never tried), so waiting is enough to be let in again.

    IPv6 addresses count per /64, since one host commonly holds a whole /64.

    The account limit lets anyone lock an account for ``window`` seconds by
    failing on purpose; that is the price of bounding guesses spread over many
    addresses.

    Use: ``wait = check(name, address, now)``; if ``wait > 0`` refuse without
    trying the password; else verify it, then call :meth:`failed` or
    :meth:`succeeded`.
    """

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        if max_failures < 1 or window <= 0 or max_keys < 2:
            raise ValueError("max_failures >= 1, window > 0 and max_keys >= 2 are required")
        self._max_failures = max_failures
        self._window = window
        self._max_keys = max_keys
        self._evicted = 0
        # key -> times of its recent failures, oldest first. Ordered by the
        # latest failure, least recent first: that is the eviction order.
        self._failures: collections.OrderedDict[tuple[str, str], collections.deque[float]] = (
            collections.OrderedDict()
        )

    def check(self, name: str, address: str, now: float) -> float:
        """Seconds to wait before this sign-in may be tried; 0.0 if now."""
        wait = 0.0
        for key in self._keys(name, address):
            times = self._failures.get(key)
            if times is None:
                continue
            self._expire(key, times, now)
            if len(times) >= self._max_failures:
                wait = max(wait, times[0] + self._window - now)
        return wait

    def failed(self, name: str, address: str, now: float) -> None:
        """Record a failed sign-in (wrong password, unknown or disabled account)."""
        for key in self._keys(name, address):
            times = self._failures.get(key)
            if times is None:
                times = self._failures[key] = collections.deque(maxlen=self._max_failures)
            else:
                self._failures.move_to_end(key)
                self._expire(key, times, now)
                self._failures[key] = times  # _expire may have removed it
            times.append(now)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)
            self._evicted += 1

    def succeeded(self, name: str, address: str) -> None:
        """Forget the account's failures after a good password.

        The address's failures stay: otherwise an attacker holding one
        account could sign in to it between guesses at others and never be
        throttled.
        """
        account_key, _ = self._keys(name, address)
        self._failures.pop(account_key, None)

    def statistics(self) -> ThrottleStatistics:
        return ThrottleStatistics(
            tracked_keys=len(self._failures), max_keys=self._max_keys, evicted_keys=self._evicted
        )

    def _expire(self, key: tuple[str, str], times: collections.deque[float], now: float) -> None:
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", name.casefold()), ("address", _address_key(address))


def _address_key(address: str) -> str:
    """The address itself, or its /64 for IPv6 (IPv4-mapped: the IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a test client, a Unix socket): as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
