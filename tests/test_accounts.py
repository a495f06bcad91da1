"""relay/accounts.py: argon2id passwords, strength rules, sign-in throttle."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type
from hypothesis import given
from hypothesis import strategies as st

from relay.accounts import (
    DEFAULT_HASHER,
    FAILURE_WINDOW,
    MAX_FAILURES,
    SignInThrottle,
    ThrottleStatistics,
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)

#: Cheap parameters so tests run fast; production uses DEFAULT_HASHER.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)

ADDR = "192.0.2.1"
OTHER_ADDR = "198.51.100.2"


# -- hashing --


def test_hash_and_verify() -> None:
    h = hash_password("correct horse 42", CHEAP)
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse 42", CHEAP)
    assert not verify_password(h, "correct horse 43", CHEAP)
    assert not verify_password(h, "", CHEAP)
    assert hash_password("correct horse 42", CHEAP) != h  # fresh salt each time


def test_verify_never_raises_for_bad_input() -> None:
    assert not verify_password("not a hash at all", "pw", CHEAP)
    assert not verify_password("$argon2id$v=19$m=8,t=1,p=1$garbage", "pw", CHEAP)
    assert not verify_password(None, "pw", CHEAP)  # unknown account: dummy work, False
    assert not verify_password(None, "screenrelay: no such account", CHEAP)


def test_default_parameters_are_argon2id_64mib_t3_p1() -> None:
    assert DEFAULT_HASHER.type is Type.ID
    assert DEFAULT_HASHER.time_cost == 3
    assert DEFAULT_HASHER.memory_cost == 64 * 1024
    assert DEFAULT_HASHER.parallelism == 1
    h = hash_password("correct horse 42")  # one real hash, ~0.1 s
    assert h.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert verify_password(h, "correct horse 42")
    assert not needs_rehash(h)


def test_needs_rehash() -> None:
    cheap_hash = hash_password("correct horse 42", CHEAP)
    assert needs_rehash(cheap_hash)  # against DEFAULT_HASHER
    assert not needs_rehash(cheap_hash, CHEAP)
    assert needs_rehash("not a hash", CHEAP)


# -- strength --


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "at least 12 characters; this one has 0."),
        ("Sh0rt!pass", "at least 12 characters; this one has 10."),
        ("alllowercaseletters", "only lowercase letters"),
        ("ALLUPPERCASELETTERS", "only uppercase letters"),
        ("123456789012", "only digits"),
        ("!@#$%^&*()-+", "only symbols, spaces or other characters"),
        ("aAaAaAaAaAaA", "at least 6 different characters"),
        ("x1" * 513, "at most 1024 characters"),
    ],
)
def test_weak_passwords_get_a_sentence(password: str, problem: str) -> None:
    message = check_password_strength(password)
    assert message is not None
    assert problem in message
    assert message.startswith("The password ")
    assert message.endswith(".")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "Tr0ub4dor&3xyz", "zwölf Zeichen lang", "a1b2c3d4e5f6"],
)
def test_good_passwords_pass(password: str) -> None:
    assert check_password_strength(password) is None


# -- throttle --


def fail_times(throttle: SignInThrottle, name: str, address: str, now: float, n: int) -> None:
    for _ in range(n):
        assert throttle.check(name, address, now) == 0.0
        throttle.failed(name, address, now)


def test_throttle_per_account_across_addresses() -> None:
    t = SignInThrottle()
    now = 1000.0
    for i in range(MAX_FAILURES):
        assert t.check("ada", f"192.0.2.{i}", now) == 0.0
        t.failed("ada", f"192.0.2.{i}", now)
        now += 10
    # Failures at 1000, 1010, ... 1040: locked until 1000 + window.
    assert t.check("ADA", "203.0.113.9", now) == pytest.approx(1000 + FAILURE_WINDOW - now)
    assert t.check("grace", "203.0.113.9", now) == 0.0  # other accounts unaffected
    now = 1000 + FAILURE_WINDOW
    assert t.check("ada", "203.0.113.9", now) == 0.0  # the oldest failure left the window
    t.failed("ada", "203.0.113.9", now)
    # Five failures again within the window (1010 .. 1900): wait for 1010's.
    assert t.check("ada", "203.0.113.9", now) == pytest.approx(10.0)


def test_throttle_per_address_across_accounts() -> None:
    t = SignInThrottle()
    for i in range(MAX_FAILURES):
        t.failed(f"user{i}", ADDR, 50.0)
    assert t.check("someone-else", ADDR, 60.0) == pytest.approx(FAILURE_WINDOW - 10.0)
    assert t.check("someone-else", OTHER_ADDR, 60.0) == 0.0
    assert t.check("someone-else", ADDR, 50.0 + FAILURE_WINDOW) == 0.0


def test_fewer_failures_than_the_limit_are_allowed() -> None:
    t = SignInThrottle()
    fail_times(t, "ada", ADDR, 0.0, MAX_FAILURES - 1)
    assert t.check("ada", ADDR, 0.0) == 0.0


def test_success_clears_the_account_but_not_the_address() -> None:
    t = SignInThrottle()
    fail_times(t, "ada", ADDR, 0.0, MAX_FAILURES - 1)
    t.succeeded("ada", ADDR)
    fail_times(t, "ada", OTHER_ADDR, 1.0, MAX_FAILURES - 1)  # the account starts afresh
    # The address keeps its four failures: one more locks it.
    t.failed("grace", ADDR, 2.0)
    assert t.check("mallory", ADDR, 2.0) > 0.0


def test_ipv6_addresses_count_per_64() -> None:
    t = SignInThrottle()
    for i in range(MAX_FAILURES):
        t.failed(f"user{i}", f"2001:db8:1:2::{i + 1:x}", 0.0)
    assert t.check("x", "2001:db8:1:2:ffff::1", 0.0) > 0.0
    assert t.check("x", "2001:db8:1:3::1", 0.0) == 0.0
    fail_times(t, "y", "::ffff:192.0.2.55", 0.0, MAX_FAILURES)
    assert t.check("z", "192.0.2.55", 0.0) > 0.0  # IPv4-mapped is the IPv4 address


def test_memory_is_bounded() -> None:
    t = SignInThrottle(max_keys=10)
    for i in range(100):
        t.failed(f"user{i}", f"host{i}", float(i))
    assert t.statistics() == ThrottleStatistics(tracked_keys=10, max_keys=10, evicted_keys=190)


def test_expired_keys_are_forgotten() -> None:
    t = SignInThrottle()
    t.failed("ada", ADDR, 0.0)
    assert t.statistics().tracked_keys == 2
    assert t.check("ada", ADDR, FAILURE_WINDOW) == 0.0
    assert t.statistics().tracked_keys == 0


def test_throttle_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="max_failures"):
        SignInThrottle(max_failures=0)
    with pytest.raises(ValueError, match="window"):
        SignInThrottle(window=0)


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=400.0), min_size=1, max_size=60),
    addresses=st.lists(st.sampled_from([ADDR, OTHER_ADDR, "::1"]), min_size=60, max_size=60),
)
def test_never_more_than_max_failures_in_any_window(
    gaps: list[float], addresses: list[str]
) -> None:
    """Rule: an attacker who always fails, and tries whenever allowed, gets at
    most MAX_FAILURES tries at one account in any FAILURE_WINDOW seconds."""
    t = SignInThrottle()
    now = 0.0
    tried: list[float] = []
    for gap, address in zip(gaps, addresses, strict=False):
        now += gap
        wait = t.check("ada", address, now)
        assert wait >= 0.0
        if wait == 0.0:
            t.failed("ada", address, now)
            tried.append(now)
    for i, start in enumerate(tried):
        in_window = [x for x in tried[i:] if x < start + FAILURE_WINDOW]
        assert len(in_window) <= MAX_FAILURES
