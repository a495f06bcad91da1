"""Remote-control latency (issue 4): input, revoke, and their baselines, in one run.

    .venv/bin/python -m benchmarks.control_latency [--moves 300] [--rate 30] [--revokes 20]

On a private 1280x720 Xvfb, a real relay (``python -m relay relay``), a real
``host --share --json`` (consent answered on its stdin) and a real ``join
--no-window --commands --json`` (the controller, driven on its stdin) share
the screen. A window on it (tests/input_target.py) records every pointer
motion and key it receives with the wall-clock time. Phases, in order:

1. Baseline (nobody in control yet): a separate process
   (``benchmarks.inject_baseline``) sets pynput's ``mouse.Controller().position``
   ``--moves`` times at ``--rate``, as the host's injector does for a move:
   the time per call (XTEST fake motion + XSync round trip), and from the
   call to the target window receiving the motion.
2. Input: the presenter accepts, the controller sends ``--warmup-moves`` +
   ``--moves`` pointer moves (``{"cmd": "move"}``) at ``--rate``; the warm-up
   moves are left out of the figures. Per move:
   - sent -> injected: the host's "input" event's ``latency_ms`` (host clock
     after the injection minus the batch's ``sent_ns``, stamped by the viewer);
   - written -> delivered: this script's ``time.time_ns()`` right before it
     wrote the command to the viewer's stdin, to the target window's time;
   - injected -> delivered, bounded: neither the viewer nor the host prints an
     absolute time per move, so the injection time is only known to lie
     between (written + sent->injected) and the moment this script read the
     host's "input" line. The lower bound is delivered - host line read, the
     upper bound delivered - written - sent->injected; the bound's width is the
     viewer's stdin-to-send time plus the host's report-to-read time.
   Moves and the host's "input" events are matched in order (one move per
   command, one Input message per command), the target's records by position.
3. Revoke, ``--revokes`` times: first a baseline press, ``xdotool key shift``
   (time.time_ns() right before starting xdotool, to the target window
   receiving Shift_L; and xdotool's wall time), then a grant (request,
   accept), then ``xdotool key ctrl+F12`` timed the same way:
   (a) press -> gate closed = the host's "control_revoked" ``gate_closed_ns``
       minus the time before xdotool started; raw, and minus the same
       repetition's shift baseline (what xdotool's start and X delivery cost);
       the target also receives the same F12 press, so "F12 at the target ->
       gate closed" is the same difference without a second keystroke;
   (b) gate closed -> controller told = the viewer's "control" event
       (reason revoked_hotkey) ``at_ns`` minus ``gate_closed_ns``.

xdotool's ``key`` waits about half its ``--delay`` (default 12 ms) after each
key event it sends, so "press -> gate closed" includes the wait between its
Ctrl and its F12; the target's Control_L and F12 times show that gap.

All timestamps are CLOCK_REALTIME on one machine. Noise: each phase records
how many CPUs processes outside this benchmark and the hypervisor (steal)
took meanwhile; a phase above ``--quiet-noise`` is measured again
(``--retries``) if that still fits in ``--budget`` seconds, and the quietest
attempt is reported (the others are kept in the JSON).

Prints tables on stdout and writes JSON to benchmarks/results/control_latency.json.
A measurement: nothing here asserts how fast anything must be.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from benchmarks.e2e_latency import Launcher
from benchmarks.e2e_report import Figures, _num, _table, distribution
from benchmarks.eventproc import (
    Event,
    EventProcess,
    ProcessFailed,
    add_run_arguments,
    machine_seconds,
    working_directory,
)
from benchmarks.inject_baseline import position
from tests import scenes
from tests.procs import ORGANIZER, ORGANIZER_PASSWORD, Relay
from tests.xvfb import running_xvfb

SCREEN: Final = (1280, 720)
REPO: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = REPO / "benchmarks" / "results" / "control_latency.json"
TARGET_SCRIPT: Final = REPO / "tests" / "input_target.py"
#: The target window (left, top, width, height): all measured moves land inside it.
TARGET_BOX: Final = (100, 100, 600, 400)
#: Top-left of the controller's moves, and of the pynput baseline's (disjoint rows).
RELAY_MOVES_AT: Final = (150, 150)
BASELINE_MOVES_AT: Final = (150, 320)
#: Seconds to wait for the last input to be reported and delivered.
GRACE: Final = 5.0
BACKGROUND_SEED: Final = 11


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    moves: int
    warmup_moves: int
    rate: float
    revokes: int
    #: Seconds between a grant and the next hotkey press, and after each revoke.
    settle: float
    #: A phase is "quiet" if other processes and the hypervisor took at most this many CPUs.
    quiet_noise: float
    #: How many times a noisy phase may be measured again.
    retries: int
    #: Seconds the whole run should stay within; retries are made only if they fit.
    budget: float

    def planned_seconds(self, phase: str) -> float:
        """Rough seconds one attempt at ``phase`` takes."""
        if phase == "baseline":
            return 2.0 + self.moves / self.rate
        if phase == "input":
            return 2.0 + (self.moves + self.warmup_moves) / self.rate
        return self.revokes * (2 * self.settle + 0.4)


# -- processes ----------------------------------------------------------------


class TargetWindow:
    """tests/input_target.py on the display; reads its JSON-lines log as it grows."""

    def __init__(self, display: str, log: Path) -> None:
        self.log = log
        self.rows: list[dict[str, Any]] = []
        self._offset = 0
        self._partial = b""
        self.proc = subprocess.Popen(
            [sys.executable, str(TARGET_SCRIPT), str(log), *map(str, TARGET_BOX)],
            env={**os.environ, "DISPLAY": display},
        )
        self.wait(lambda: bool(self.of_kind("ready")), timeout=20, what="the target window")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> list[dict[str, Any]]:
        """Every record so far (new complete lines are read from the log)."""
        if self.log.exists():
            with self.log.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            self._offset += len(chunk)
            data = self._partial + chunk
            *lines, self._partial = data.split(b"\n")
            self.rows += [json.loads(line) for line in lines if line.strip()]
        return self.rows

    def of_kind(self, kind: str, since_s: float = 0.0) -> list[dict[str, Any]]:
        return [r for r in self.poll() if r["kind"] == kind and r["t"] >= since_s]

    def wait(self, condition: Callable[[], bool], *, timeout: float, what: str) -> bool:
        """Poll until ``condition``; False on timeout, or raise if ``what`` is required."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                if self.proc.poll() is not None or what == "the target window":
                    raise ProcessFailed(f"timed out waiting for {what}")
                return False
            time.sleep(0.005)
        return True

    def key_after(self, keysym: str, since_ns: int, timeout: float = 5.0) -> int | None:
        """Time (ns) the first ``keysym`` press at or after ``since_ns`` reached the window."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [r for r in self.of_kind("key", since_ns / 1e9) if r["keysym"] == keysym]
            return bool(found)

        self.wait(seen, timeout=timeout, what=f"{keysym} at the target")
        return round(found[0]["t"] * 1e9) if found else None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    relay: Relay
    host: EventProcess
    viewer: EventProcess


def start(launcher: Launcher, kind: str, args: list[str], stdin_text: str) -> EventProcess:
    """A child on the benchmark's display whose stdin stays open and whose events are stamped."""
    log = launcher.workdir / f"{kind}.log"
    return EventProcess([sys.executable, *args], env=launcher.env(), log=log,
                        stdin_text=stdin_text, keep_stdin=True, stamp=True)  # fmt: skip


@contextlib.contextmanager
def running_session(launcher: Launcher, relay: Relay) -> Iterator[Session]:
    """A host sharing the whole screen and a controller-to-be, past the first frame."""
    host = start(
        launcher,
        "host",
        ["-m", "relay", "host", "--relay", relay.url, "--user", ORGANIZER, "--password-stdin",
         "--json", "--share", "--consent-timeout", "60"],
        ORGANIZER_PASSWORD + "\n",
    )  # fmt: skip
    viewer: EventProcess | None = None
    try:
        started = host.wait_for("session_started")
        viewer = start(
            launcher,
            "viewer",
            ["-m", "relay", "join", started["session_id"], "--relay", relay.url,
             "--password-stdin", "--no-window", "--commands", "--json"],
            started["password"] + "\n",
        )  # fmt: skip
        viewer.wait_for("frame")
        warnings = [e for _, e in host.arrivals if e.get("event") == "warning"]
        if warnings:
            raise ProcessFailed(f"the host warned: {warnings}")
        yield Session(relay, host, viewer)
    finally:
        if viewer is not None:
            viewer.stop()
        host.stop()


def grant(session: Session) -> int:
    """Ask for control from the viewer and accept on the host; the grant number."""
    session.viewer.write_line('{"cmd": "request_control"}')
    asked = session.host.wait_for("consent_asked")
    session.host.write_line(f"accept {asked['id']}")
    state = session.viewer.wait_for("control")
    if not (state["mine"] and state["reason"] == "granted"):
        raise ProcessFailed(f"control was not granted: {state}")
    return int(state["grant"])


# -- noise ----------------------------------------------------------------------


def cpu_with_children(pid: int) -> float:
    """utime + stime, and the same of its waited-for children (xdotool), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """CPU used during a phase by this benchmark's processes, the rest of the machine, steal."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._before = self._snapshot()
        self._started = time.monotonic()

    def _snapshot(self) -> dict[str, float]:
        snapshot = {role: cpu_with_children(pid) for role, pid in self.pids.items()}
        snapshot["machine"], snapshot["stolen"] = machine_seconds()
        return snapshot

    def stop(self, quiet_limit: float) -> Figures:
        after, seconds = self._snapshot(), time.monotonic() - self._started
        used = {role: after[role] - self._before[role] for role in after}
        machine, stolen = used.pop("machine"), used.pop("stolen")
        others = max(0.0, machine - sum(used.values())) / seconds
        noise = others + stolen / seconds
        return {
            "seconds": round(seconds, 3),
            "cpu_seconds": {role: round(s, 3) for role, s in used.items()},
            "machine_busy_cpus": round(machine / seconds, 2),
            "other_busy_cpus": round(others, 2),
            "stolen_cpus": round(stolen / seconds, 2),
            "noise_cpus": round(noise, 2),
            "quiet": noise <= quiet_limit,
        }


def our_pids(session: Session, launcher: Launcher, target: TargetWindow) -> dict[str, int]:
    assert session.relay.proc is not None
    return {
        "driver": os.getpid(),
        "relay": session.relay.proc.pid,
        "host": session.host.pid,
        "viewer": session.viewer.pid,
        "target": target.pid,
        **launcher.xvfb_pids(),
    }


# -- phases -----------------------------------------------------------------------


def paced(count: int, rate: float) -> Iterator[int]:
    """0 .. count-1, each yielded at its slot of a fixed ``rate`` schedule."""
    period = 1.0 / rate
    next_at = time.monotonic()
    for i in range(count):
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_at += period
        yield i


def delivered_at(target: TargetWindow, since_s: float) -> dict[tuple[int, int], int]:
    """Position -> time (ns) the target first received a motion there, since ``since_s``."""
    seen: dict[tuple[int, int], int] = {}
    for r in target.of_kind("motion", since_s):
        seen.setdefault((r["x"], r["y"]), round(r["t"] * 1e9))
    return seen


def measure_injection_baseline(
    session: Session, launcher: Launcher, target: TargetWindow, settings: Settings
) -> Figures:
    """Phase 1: pynput's own cost of one pointer move on this display."""
    x0, y0 = BASELINE_MOVES_AT
    proc = start(
        launcher,
        "inject-baseline",
        ["-m", "benchmarks.inject_baseline", "--count", str(settings.moves),
         "--rate", str(settings.rate), "--x", str(x0), "--y", str(y0)],
        "",
    )  # fmt: skip
    try:
        proc.wait_for("ready")
        since = time.time()
        watch = CpuWatch({**our_pids(session, launcher, target), "baseline": proc.pid})
        moves = proc.wait_for("done", timeout=30 + settings.moves / settings.rate)["moves"]
        noise = watch.stop(settings.quiet_noise)
    finally:
        proc.stop()
    wanted = {(x, y) for x, y, _, _ in moves}
    target.wait(lambda: wanted <= delivered_at(target, since).keys(), timeout=GRACE,
                what="baseline moves at the target")  # fmt: skip
    seen = delivered_at(target, since)
    hits = [(seen[(x, y)], start_ns, end_ns) for x, y, start_ns, end_ns in moves if (x, y) in seen]
    return {
        "noise": noise,
        "moves": len(moves),
        "not_delivered": len(moves) - len(hits),
        "call_ms": distribution([(end - start) / 1e6 for _, _, start, end in moves]),
        "call_start_to_delivered_ms": distribution([(d - s) / 1e6 for d, s, _ in hits]),
        "call_end_to_delivered_ms": distribution([(d - e) / 1e6 for d, _, e in hits]),
    }


def measure_input(
    session: Session, launcher: Launcher, target: TargetWindow, settings: Settings
) -> Figures:
    """Phase 2: the controller's pointer moves through viewer, relay and host."""
    host, viewer = session.host, session.viewer
    total = settings.warmup_moves + settings.moves
    grant_number = grant(session)
    time.sleep(settings.settle)
    mark = len(host.arrivals)
    since = time.time()
    written: list[int] = []
    watch = CpuWatch(our_pids(session, launcher, target))
    for i in paced(total, settings.rate):
        x, y = position(i, *RELAY_MOVES_AT)
        written.append(viewer.write_line(json.dumps({"cmd": "move", "x": x, "y": y})))

    def inputs() -> list[tuple[int, Event]]:
        return [(t, e) for t, e in host.arrivals[mark:] if e.get("event") == "input"]

    deadline = time.monotonic() + GRACE
    while len(inputs()) < total and time.monotonic() < deadline:
        time.sleep(0.01)
    noise = watch.stop(settings.quiet_noise)
    viewer.write_line('{"cmd": "release_control"}')  # each revoke below grants anew
    if (released := viewer.wait_for("control"))["reason"] != "released":
        raise ProcessFailed(f"control was not released: {released}")
    positions = [position(i, *RELAY_MOVES_AT) for i in range(total)]
    target.wait(lambda: set(positions) <= delivered_at(target, since).keys(), timeout=GRACE,
                what="controller moves at the target")  # fmt: skip
    seen = delivered_at(target, since)
    reported = inputs()
    aligned = len(reported) == total and all(
        e["injected"] == 1 and e["refused"] == 0 for _, e in reported
    )
    measured = range(settings.warmup_moves, total)
    figures: Figures = {
        "grant": grant_number,
        "noise": noise,
        "moves_sent": total,
        "warmup_moves": settings.warmup_moves,
        "host_input_events": len(reported),
        "injected": sum(e["injected"] for _, e in reported),
        "refused": sum(e["refused"] for _, e in reported),
        "aligned": aligned,
        "not_delivered": sum(1 for i in measured if positions[i] not in seen),
        "sent_to_injected_ms": distribution(
            [e["latency_ms"] for _, e in reported[settings.warmup_moves :] if e["injected"]]
        ),
        "written_to_delivered_ms": distribution(
            [(seen[positions[i]] - written[i]) / 1e6 for i in measured if positions[i] in seen]
        ),
    }
    if not aligned:
        return figures  # injected -> delivered needs one host event per move
    rows = []
    for i in measured:
        read_ns, event = reported[i]
        latency = float(event["latency_ms"])
        row: Figures = {
            "x": positions[i][0],
            "y": positions[i][1],
            "written_ns": written[i],
            "host_read_ns": read_ns,
            "sent_to_injected_ms": latency,
            "delivered_ns": seen.get(positions[i]),
        }
        rows.append(row)
    with_delivery = [r for r in rows if r["delivered_ns"] is not None]
    figures |= {
        "injected_to_delivered_lower_ms": distribution(
            [(r["delivered_ns"] - r["host_read_ns"]) / 1e6 for r in with_delivery]
        ),
        "injected_to_delivered_upper_ms": distribution(
            [
                (r["delivered_ns"] - r["written_ns"]) / 1e6 - r["sent_to_injected_ms"]
                for r in with_delivery
            ]
        ),
        "bound_width_ms": distribution(
            [(r["host_read_ns"] - r["written_ns"]) / 1e6 - r["sent_to_injected_ms"] for r in rows]
        ),
        "per_move": rows,
    }
    return figures


def xdotool_key(display: str, key: str) -> tuple[int, int]:
    """(time.time_ns() right before starting ``xdotool key KEY``, right after it exited)."""
    env = {**os.environ, "DISPLAY": display}
    before = time.time_ns()
    subprocess.run(["xdotool", "key", key], env=env, check=True)
    return before, time.time_ns()


def measure_revokes(
    session: Session,
    launcher: Launcher,
    target: TargetWindow,
    display: str,
    settings: Settings,
) -> Figures:
    """Phase 3: grant, then Ctrl+F12 on the presenter's display, ``settings.revokes`` times."""
    host, viewer = session.host, session.viewer
    reps: list[Figures] = []
    watch = CpuWatch(our_pids(session, launcher, target))
    for rep in range(settings.revokes):
        shift_before, shift_after = xdotool_key(display, "shift")
        shift_at = target.key_after("Shift_L", shift_before)
        grant(session)
        time.sleep(settings.settle)
        press_before, press_after = xdotool_key(display, "ctrl+F12")
        revoked = host.wait_for("control_revoked", timeout=10)
        told = viewer.wait_for("control", timeout=10)
        if revoked["how"] != "hotkey" or told["reason"] != "revoked_hotkey" or told["mine"]:
            raise ProcessFailed(f"repetition {rep}: not a hotkey revoke: {revoked} / {told}")
        ctrl_at = target.key_after("Control_L", press_before)
        f12_at = target.key_after("F12", press_before)
        closed = int(revoked["gate_closed_ns"])
        reps.append({
            "shift_before_ns": shift_before,
            "shift_xdotool_ms": (shift_after - shift_before) / 1e6,
            "shift_delivered_ms": None if shift_at is None else (shift_at - shift_before) / 1e6,
            "press_before_ns": press_before,
            "press_xdotool_ms": (press_after - press_before) / 1e6,
            "ctrl_delivered_ms": None if ctrl_at is None else (ctrl_at - press_before) / 1e6,
            "f12_delivered_ms": None if f12_at is None else (f12_at - press_before) / 1e6,
            "gate_closed_ns": closed,
            "controller_told_ns": int(told["at_ns"]),
            "press_to_gate_closed_ms": (closed - press_before) / 1e6,
            "gate_closed_to_told_ms": (int(told["at_ns"]) - closed) / 1e6,
            "press_to_told_ms": (int(told["at_ns"]) - press_before) / 1e6,
        })  # fmt: skip
        time.sleep(settings.settle)
    noise = watch.stop(settings.quiet_noise)

    def dist(key: str) -> Figures:
        return distribution([r[key] for r in reps if r[key] is not None])

    def diff(a: str, b: str) -> Figures:
        return distribution([r[a] - r[b] for r in reps if r[a] is not None and r[b] is not None])

    return {
        "noise": noise,
        "repetitions": len(reps),
        "press_to_gate_closed_ms": dist("press_to_gate_closed_ms"),
        "press_to_gate_closed_minus_shift_baseline_ms": diff(
            "press_to_gate_closed_ms", "shift_delivered_ms"
        ),
        "f12_at_target_to_gate_closed_ms": diff("press_to_gate_closed_ms", "f12_delivered_ms"),
        "gate_closed_to_told_ms": dist("gate_closed_to_told_ms"),
        "press_to_told_ms": dist("press_to_told_ms"),
        "shift_delivered_ms": dist("shift_delivered_ms"),
        "shift_xdotool_ms": dist("shift_xdotool_ms"),
        "ctrl_delivered_ms": dist("ctrl_delivered_ms"),
        "ctrl_to_f12_at_target_ms": diff("f12_delivered_ms", "ctrl_delivered_ms"),
        "f12_delivered_ms": dist("f12_delivered_ms"),
        "press_xdotool_ms": dist("press_xdotool_ms"),
        "per_repetition": reps,
    }


class Budget:
    """Seconds left for measuring noisy phases again, within the run's budget."""

    def __init__(self, settings: Settings, started: float) -> None:
        self.settings = settings
        self.started = started

    def affords(self, seconds: float) -> bool:
        return time.monotonic() - self.started + seconds <= self.settings.budget


def summary(phase: str, figures: Figures) -> str:
    """A few figures of one attempt, for the progress lines."""
    if phase == "baseline":
        d, what = figures["call_ms"], "pynput call"
    elif phase == "input":
        d, what = figures["sent_to_injected_ms"], "sent->injected"
    else:
        d, what = figures["press_to_gate_closed_ms"], "press->gate closed"
    return f"{what} n={d['n']} median={d['median']} ms p95={d['p95']} ms"


def measure_phase(
    phase: str,
    measure: Callable[[], Figures],
    settings: Settings,
    budget: Budget,
    later: Sequence[str],
) -> Figures:
    """Measure ``phase``, and again while it was noisy and a retry still fits the
    budget (with the ``later`` phases); the quietest attempt, the others inside it."""
    attempts: list[Figures] = []
    while True:
        started = time.monotonic()
        figures = measure()
        cost = time.monotonic() - started
        figures["attempt"] = len(attempts) + 1
        attempts.append(figures)
        noise = figures["noise"]
        progress(
            f"{phase} try {figures['attempt']}: {summary(phase, figures)} "
            f"noise CPUs={noise['noise_cpus']:.2f}{'' if noise['quiet'] else ' (noisy)'}"
        )
        if noise["quiet"] or len(attempts) > settings.retries:
            break
        if not budget.affords(cost + sum(settings.planned_seconds(p) for p in later)):
            break
    best = min(attempts, key=lambda a: float(a["noise"]["noise_cpus"]))
    best["noisy_attempts_set_aside"] = [a for a in attempts if a is not best]
    return best


def measure_all(settings: Settings, workdir: Path, budget: Budget) -> Figures:
    with running_xvfb(*SCREEN) as display:
        scenes.show(display, scenes.desktop_picture(*SCREEN, BACKGROUND_SEED), workdir / "bg.png")
        launcher = Launcher(display, workdir)
        target = TargetWindow(display, workdir / "target.jsonl")
        relay = Relay(workdir)
        try:
            relay.add_organizer()
            relay.start()
            with running_session(launcher, relay) as s:
                progress("session up")
                baseline = measure_phase(
                    "baseline",
                    lambda: measure_injection_baseline(s, launcher, target, settings),
                    settings, budget, ("input", "revoke"),
                )  # fmt: skip
                moves = measure_phase(
                    "input",
                    lambda: measure_input(s, launcher, target, settings),
                    settings, budget, ("revoke",),
                )  # fmt: skip
                revokes = measure_phase(
                    "revoke",
                    lambda: measure_revokes(s, launcher, target, display, settings),
                    settings, budget, (),
                )  # fmt: skip
        finally:
            relay.stop()
            target.stop()
    return {"injection_baseline": baseline, "input": moves, "revoke": revokes}


# -- report -------------------------------------------------------------------------


def _added(relayed: Figures, alone: Figures, stat: str) -> float | None:
    a, b = relayed[stat], alone[stat]
    return None if a is None or b is None else round(a - b, 3)


def build_report(settings: Settings, measured: Figures) -> Figures:
    path = measured["input"]["sent_to_injected_ms"]
    call = measured["injection_baseline"]["call_ms"]
    return {
        "benchmark": "control_latency",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {
            "width": SCREEN[0],
            "height": SCREEN[1],
            **dataclasses.asdict(settings),
            "target_box": TARGET_BOX,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **measured,
        "relay_path_adds_over_injection_ms": {
            "median": _added(path, call, "median"),
            "p95": _added(path, call, "p95"),
        },
    }


def _row(label: str, d: Figures | None, *, p99: bool = True) -> list[str]:
    if d is None:
        return [label, "0", "-", "-", *(["-"] if p99 else []), "-"]
    cells = [label, str(d["n"]), _num(d["median"]), _num(d["p95"])]
    return [*cells, *([_num(d["p99"])] if p99 else []), _num(d["max"])]


def _noise(name: str, phase: Figures) -> str:
    noise, aside = phase["noise"], len(phase["noisy_attempts_set_aside"])
    flag = "" if noise["quiet"] else " (noisy)"
    tries = f"try {phase['attempt']}, {aside} noisier attempt(s) set aside"
    return (
        f"  {name} ({tries}): noise CPUs {noise['noise_cpus']:.2f}{flag} "
        f"(others' {noise['other_busy_cpus']:.2f}, stolen {noise['stolen_cpus']:.2f}, "
        f"machine busy {noise['machine_busy_cpus']:.2f}) "
        f"over {noise['seconds']:.1f} s"
    )


def format_report(report: Figures) -> str:
    config, base, inp, rev = (
        report["config"], report["injection_baseline"], report["input"], report["revoke"]
    )  # fmt: skip
    header = ["ms", "n", "median", "p95", "p99", "max"]
    input_rows = [
        _row("sent -> injected (host latency_ms)", inp["sent_to_injected_ms"]),
        _row("written to viewer stdin -> delivered to X client", inp["written_to_delivered_ms"]),
        _row("injected -> delivered, lower bound", inp.get("injected_to_delivered_lower_ms")),
        _row("injected -> delivered, upper bound", inp.get("injected_to_delivered_upper_ms")),
        _row("  (bound width: viewer stdin->send + host report)", inp.get("bound_width_ms")),
        _row("baseline: pynput move call (XTEST + XSync)", base["call_ms"]),
        _row("baseline: pynput call start -> delivered", base["call_start_to_delivered_ms"]),
        _row("baseline: pynput call end -> delivered", base["call_end_to_delivered_ms"]),
    ]
    adds = report["relay_path_adds_over_injection_ms"]
    rev_header = ["ms", "n", "median", "p95", "max"]
    revoke_rows = [
        _row("(a) press -> gate closed, raw", rev["press_to_gate_closed_ms"], p99=False),
        _row("(a) minus shift baseline (same repetition)",
             rev["press_to_gate_closed_minus_shift_baseline_ms"], p99=False),
        _row("(a) F12 at target window -> gate closed (same press)",
             rev["f12_at_target_to_gate_closed_ms"], p99=False),
        _row("(b) gate closed -> controller told", rev["gate_closed_to_told_ms"], p99=False),
        _row("press -> controller told, raw", rev["press_to_told_ms"], p99=False),
        _row("baseline: xdotool key shift -> at target", rev["shift_delivered_ms"], p99=False),
        _row("baseline: xdotool key shift, process wall", rev["shift_xdotool_ms"], p99=False),
        _row("xdotool key ctrl+F12 -> Ctrl at target", rev["ctrl_delivered_ms"], p99=False),
        _row("  Ctrl at target -> F12 at target (same press)", rev["ctrl_to_f12_at_target_ms"],
             p99=False),
        _row("xdotool key ctrl+F12 -> F12 at target", rev["f12_delivered_ms"], p99=False),
        _row("xdotool key ctrl+F12, process wall", rev["press_xdotool_ms"], p99=False),
    ]  # fmt: skip
    aligned_note = (
        "host events matched to moves one to one"
        if inp["aligned"]
        else "host events did NOT match the moves one to one: injected -> delivered not reported"
    )
    lines = [
        f"screenrelay remote-control latency: {config['width']}x{config['height']} Xvfb, real "
        f"relay, host and viewer, {report['machine']['cpus']} CPUs",
        "",
        f"Input: {config['moves']} pointer moves at {config['rate']:g}/s "
        f"(+{config['warmup_moves']} warm-up left out); {inp['host_input_events']} host input "
        f"events, {inp['injected']} injected, {inp['refused']} refused, "
        f"{inp['not_delivered']} not seen by the target window; {aligned_note}:",
        *_table(header, input_rows),
        f"relay+crypto+decode path over the injection call itself (sent->injected - pynput "
        f"call): median {_num(adds['median'])} ms, p95 {_num(adds['p95'])} ms "
        "(differences of percentiles)",
        "",
        f"Revoke with Ctrl+F12 (xdotool on the host's display), {rev['repetitions']} "
        "repetitions, grant before each:",
        *_table(rev_header, revoke_rows),
        "xdotool waits ~delay/2 (default --delay 12 ms) after each key event: the raw and "
        "shift-subtracted rows include its Ctrl -> F12 gap; 'F12 at target window -> gate "
        "closed' does not.",
        "",
        "Noise per phase (CPUs taken by processes outside this benchmark and by steal):",
        _noise("pynput baseline", base),
        _noise("input", inp),
        _noise("revoke", rev),
        "Each phase shown is its quietest attempt; all attempts are in the JSON.",
    ]
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300, help="measured pointer moves")
    parser.add_argument("--warmup-moves", type=int, default=5, help="moves sent first, not counted")
    parser.add_argument("--rate", type=float, default=30.0, help="pointer moves per second")
    parser.add_argument("--revokes", type=int, default=20, help="grant-then-revoke repetitions")
    parser.add_argument("--settle", type=float, default=0.2, help="seconds around each revoke")
    add_run_arguments(parser, budget=110.0, results=RESULTS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    settings = Settings(
        moves=args.moves,
        warmup_moves=args.warmup_moves,
        rate=args.rate,
        revokes=args.revokes,
        settle=args.settle,
        quiet_noise=args.quiet_noise,
        retries=args.retries,
        budget=args.budget,
    )
    started = time.monotonic()
    with working_directory("screenrelay-control-", keep=args.keep_logs) as workdir:
        measured = measure_all(settings, workdir, Budget(settings, started))
    report = build_report(settings, measured)
    report["run_seconds"] = round(time.monotonic() - started, 1)
    print(format_report(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.output} (run took {report['run_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
