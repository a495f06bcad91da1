"""The gate every remote-control input event passes on the presenter's machine.

Rules (DESIGN.md, Keys, item 6; MISSION.md rule 7):

Rule 1. An event is injected only while the gate is open for exactly the
        controller and grant it came with, and no consent prompt is showing.
Rule 2. ``close()`` is synchronous: when it returns, no injection is in
        progress and none starts until the next ``open()``. It runs first, in
        the process, before anyone is told about a revoke; events still in
        flight are then refused.
Rule 3. Whatever the controller left pressed (keys, buttons) is released when
        the gate closes or pauses, so no Ctrl stays stuck after a revoke.
Rule 4. ``pause()`` works like ``close()`` without ending the grant; while a
        consent prompt shows, the caller keeps the gate paused, so a
        controller can never click Accept on a prompt. Pauses nest.

One ``threading.Lock`` guards the state and is held while events are
injected, which is what makes Rule 2 hold against any thread (the hotkey
listener, the event loop, a worker). A closer first raises a flag that makes
a running ``inject`` stop before its next event, so a revoke waits for at
most one event, not a whole batch.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

from host_app.injector import Injector
from protocol.errors import LocalProtocolError
from protocol.input_events import InputEvent

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class GateStatistics:
    """Counters since the gate was made."""

    #: Events handed to an injector.
    injected: int
    #: Events refused: gate closed or paused, wrong controller or grant, or
    #: cut off by a close or pause in the middle of their batch.
    refused: int
    #: Times the gate opened for a grant.
    opened: int
    #: Times an open gate closed (``close()``, or a new grant replacing one).
    closed: int
    #: ``release_all`` calls that raised (logged; the gate closed regardless).
    release_failures: int


class InputGate:
    """Lets input through only for the current grant; see the module rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (controller, grant) the gate is open for; None while closed.
        self._holder: tuple[int, int] | None = None
        self._pauses = 0
        #: Injectors used during the current grant, to release what they hold.
        self._used: list[Injector] = []
        #: Set (without the lock) by close/pause: a running inject stops at
        #: its next event. A single attribute store is atomic in CPython.
        self._interrupt = False
        self._injected = 0
        self._refused = 0
        self._opened = 0
        self._closed = 0
        self._release_failures = 0

    @property
    def holder(self) -> tuple[int, int] | None:
        """(controller, grant) the gate is open for, or None."""
        return self._holder

    @property
    def paused(self) -> bool:
        return self._pauses > 0

    def open(self, controller: int, grant: int) -> None:
        """Let ``controller``'s input for ``grant`` through (a new grant
        replaces the previous one, releasing what that one held)."""
        if controller <= 0 or grant <= 0:
            raise LocalProtocolError(
                f"cannot open the gate for controller {controller} grant {grant}"
            )
        self._interrupt = True
        with self._lock:
            self._interrupt = False
            if self._holder == (controller, grant):
                return
            if self._holder is not None:
                self._closed += 1
                self._release_held()
                self._used.clear()
            self._holder = (controller, grant)
            self._opened += 1

    def close(self) -> bool:
        """Shut the gate at once; True if it was open. Never raises for a
        failed release (that is logged and counted)."""
        self._interrupt = True
        with self._lock:
            self._interrupt = False
            was_open = self._holder is not None
            self._holder = None
            if was_open:
                self._closed += 1
            self._release_held()
            self._used.clear()
        return was_open

    def pause(self) -> None:
        """Inject nothing until the matching ``resume()`` (a prompt shows)."""
        self._interrupt = True
        with self._lock:
            self._interrupt = False
            self._pauses += 1
            self._release_held()

    def resume(self) -> None:
        with self._lock:
            if self._pauses == 0:
                raise LocalProtocolError("resume() without pause()")
            self._pauses -= 1

    def inject(
        self,
        controller: int,
        grant: int,
        events: Sequence[InputEvent],
        injector: Injector,
        *,
        origin: tuple[int, int],
        size: tuple[int, int],
    ) -> int:
        """Inject ``events`` if the gate is open for this controller and grant
        and not paused; the number injected (0 if refused).

        ``origin`` (left, top) and ``size`` (width, height) are the shared
        area on the screen, into which the picture coordinates are mapped. An
        exception from the injector propagates after the events before it
        were counted.
        """
        with self._lock:
            if self._holder != (controller, grant) or self._pauses:
                self._refused += len(events)
                return 0
            if not any(used is injector for used in self._used):
                self._used.append(injector)
            done = 0
            try:
                for event in events:
                    if self._interrupt:
                        break
                    injector.apply(event, origin, size)
                    done += 1
            finally:
                self._injected += done
                self._refused += len(events) - done
            return done

    def statistics(self) -> GateStatistics:
        with self._lock:
            return GateStatistics(
                injected=self._injected,
                refused=self._refused,
                opened=self._opened,
                closed=self._closed,
                release_failures=self._release_failures,
            )

    def _release_held(self) -> None:
        """Release what the current grant's injectors hold; lock held."""
        for injector in self._used:
            try:
                injector.release_all()
            except Exception:
                self._release_failures += 1
                _log.exception("releasing the controller's keys and buttons failed")
