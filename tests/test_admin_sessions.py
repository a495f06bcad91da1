"""The admin console's sessions: expiry, sign-out, eviction, CSRF (pure, time as numbers)."""

from __future__ import annotations

import itertools

import pytest

from relay.admin_sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    TOKEN_BYTES,
    AdminSessions,
    csrf_matches,
)


def counting_tokens() -> AdminSessions:
    counter = itertools.count()
    return AdminSessions(token=lambda n: f"token-{n}-{next(counter)}")


def test_a_session_lives_while_used_and_ends_after_30_idle_minutes() -> None:
    sessions = AdminSessions()
    cookie, opened = sessions.open("root", 1000.0)
    assert len(cookie) >= 43 and len(opened.csrf) >= 43 and cookie != opened.csrf
    now = 1000.0
    for _ in range(5):
        now += IDLE_TIMEOUT - 1
        assert sessions.get(cookie, now) is opened
    assert sessions.get(cookie, now + IDLE_TIMEOUT) is None
    assert sessions.get(cookie, now) is None  # gone for good


def test_a_busy_session_still_ends_12_hours_after_sign_in() -> None:
    sessions = AdminSessions()
    cookie, _ = sessions.open("root", 0.0)
    now = 0.0
    while now + 600 < ABSOLUTE_TIMEOUT:
        now += 600
        assert sessions.get(cookie, now) is not None
    assert sessions.get(cookie, ABSOLUTE_TIMEOUT) is None


def test_sign_out_and_disabling_the_account_end_sessions() -> None:
    sessions = counting_tokens()
    a, _ = sessions.open("root", 0.0)
    b, _ = sessions.open("ROOT", 0.0)
    c, _ = sessions.open("other", 0.0)
    sessions.close(a)
    assert sessions.get(a, 1.0) is None and sessions.get(b, 1.0) is not None
    assert sessions.close_account("Root") == 1
    assert sessions.get(b, 1.0) is None and sessions.get(c, 1.0) is not None


@pytest.mark.parametrize("cookie", [None, "", "token-32-0x", "x" * 5000])
def test_unknown_or_absurd_cookies_name_no_session(cookie: str | None) -> None:
    sessions = counting_tokens()
    sessions.open("root", 0.0)
    assert sessions.get(cookie, 1.0) is None
    sessions.close(cookie)
    assert sessions.statistics().sessions == 1


def test_the_table_is_bounded_and_the_least_recently_used_goes_first() -> None:
    sessions = AdminSessions(max_sessions=2)
    first, _ = sessions.open("a", 0.0)
    second, _ = sessions.open("b", 1.0)
    assert sessions.get(first, 2.0) is not None  # first is now the most recent
    sessions.open("c", 3.0)
    assert sessions.get(second, 4.0) is None and sessions.get(first, 4.0) is not None
    stats = sessions.statistics()
    assert (stats.sessions, stats.max_sessions, stats.evicted) == (2, 2, 1)


def test_csrf_tokens_match_only_their_own_session() -> None:
    sessions = AdminSessions()
    _, one = sessions.open("root", 0.0)
    _, two = sessions.open("root", 0.0)
    assert csrf_matches(one, one.csrf)
    assert not csrf_matches(one, two.csrf)
    assert not csrf_matches(one, None) and not csrf_matches(one, "")
    assert not csrf_matches(one, one.csrf[:-1]) and not csrf_matches(one, "é" * 43)


def test_tokens_are_32_random_bytes() -> None:
    asked: list[int] = []

    def token(n: int) -> str:
        asked.append(n)
        return "t" * 43

    AdminSessions(token=token).open("root", 0.0)
    assert asked == [TOKEN_BYTES, TOKEN_BYTES] and TOKEN_BYTES == 32
