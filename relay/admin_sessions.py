"""Signed-in administrators of the admin console: server-side sessions in memory.

Rules:
  1. A session is opened only after an admin account's password was checked
     (relay/admin_web.py). Its cookie value is ``token(32)``: 32 random bytes
     from ``secrets``, URL-safe base64. Nothing in the cookie means anything
     by itself; it only names a session held here.
  2. Sessions are keyed by the SHA-256 of the cookie value, so looking one up
     takes no time that depends on how much of a guessed value is right, and
     the table never holds a usable cookie.
  3. A session ends ``IDLE_TIMEOUT`` seconds after its last request, and
     ``ABSOLUTE_TIMEOUT`` seconds after it was opened, whatever happens in
     between; on sign-out; and when its account is disabled or loses the admin
     role (the web layer checks the account on every request).
  4. Every session has its own CSRF token, 32 random bytes too, compared in
     constant time (:func:`csrf_matches`).
  5. At most ``MAX_SESSIONS`` are held; opening one more ends the one used
     longest ago. A relay restart ends them all (they are never stored).

Pure: no I/O; time comes in as ``now`` (wall-clock seconds), randomness as
``token``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

#: Seconds without a request before a session ends: 30 minutes.
IDLE_TIMEOUT: Final = 30 * 60.0

#: Seconds after sign-in when a session ends however busy it is: 12 hours.
ABSOLUTE_TIMEOUT: Final = 12 * 3600.0

#: Most sessions held at once. A relay has a handful of administrators; the
#: cap only bounds memory if someone signs in in a loop with a stolen password.
MAX_SESSIONS: Final = 1000

#: Random bytes in a cookie value and in a CSRF token.
TOKEN_BYTES: Final = 32

#: Longest cookie value looked up (token_urlsafe(32) is 43 characters).
MAX_COOKIE_CHARS: Final = 128


@dataclasses.dataclass(slots=True)
class AdminSession:
    """One signed-in administrator."""

    #: The admin account's name.
    account: str
    #: The token every POST form carries (rule 4).
    csrf: str
    #: When the password was checked (wall-clock seconds).
    opened_at: float
    #: The last request's time.
    last_seen: float


@dataclasses.dataclass(frozen=True, slots=True)
class AdminSessionStatistics:
    """What an AdminSessions holds."""

    sessions: int
    max_sessions: int
    #: Sessions ended early because the cap was reached, since creation.
    evicted: int


class AdminSessions:
    """The console's sessions (rules in the module docstring)."""

    def __init__(
        self,
        *,
        token: Callable[[int], str] = secrets.token_urlsafe,
        idle_timeout: float = IDLE_TIMEOUT,
        absolute_timeout: float = ABSOLUTE_TIMEOUT,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        if idle_timeout <= 0 or absolute_timeout <= 0 or max_sessions < 1:
            raise ValueError("timeouts > 0 and max_sessions >= 1 are required")
        self._token = token
        self._idle = idle_timeout
        self._absolute = absolute_timeout
        self._max = max_sessions
        self._evicted = 0
        # sha256(cookie) -> session, least recently used first.
        self._sessions: OrderedDict[bytes, AdminSession] = OrderedDict()

    def open(self, account: str, now: float) -> tuple[str, AdminSession]:
        """A new session for ``account``; its cookie value and the session."""
        self.expire(now)
        cookie = self._token(TOKEN_BYTES)
        session = AdminSession(account, self._token(TOKEN_BYTES), now, now)
        self._sessions[_key(cookie)] = session
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
            self._evicted += 1
        return cookie, session

    def get(self, cookie: str | None, now: float) -> AdminSession | None:
        """The live session this cookie names, marked used at ``now``; else None."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        key = _key(cookie)
        session = self._sessions.get(key)
        if session is None:
            return None
        if self._expired(session, now):
            del self._sessions[key]
            return None
        session.last_seen = now
        self._sessions.move_to_end(key)
        return session

    def close(self, cookie: str | None) -> None:
        """Sign out: forget the session this cookie names, if any."""
        if cookie and len(cookie) <= MAX_COOKIE_CHARS:
            self._sessions.pop(_key(cookie), None)

    def close_account(self, account: str) -> int:
        """End every session of ``account`` (disabled, or no longer an admin); how many."""
        folded = account.casefold()
        keys = [k for k, s in self._sessions.items() if s.account.casefold() == folded]
        for key in keys:
            del self._sessions[key]
        return len(keys)

    def expire(self, now: float) -> None:
        """Forget every session past a timeout."""
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]

    def statistics(self) -> AdminSessionStatistics:
        return AdminSessionStatistics(len(self._sessions), self._max, self._evicted)

    def _expired(self, session: AdminSession, now: float) -> bool:
        return now - session.last_seen >= self._idle or now - session.opened_at >= self._absolute


def csrf_matches(session: AdminSession, submitted: str | None) -> bool:
    """Whether a form's CSRF field is this session's token (constant time)."""
    if submitted is None:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode("utf-8", "replace"))


def _key(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode("utf-8", "replace")).digest()
