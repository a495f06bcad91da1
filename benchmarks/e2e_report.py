"""Figures and tables of ``benchmarks.e2e_latency``: from events to numbers.

``summarize_window`` turns one measured window (the events of one scene on
one path) into a JSON-ready dict; ``compare_paths`` pools the rounds and
states what the relay adds; ``format_report`` prints it all as text tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np

from benchmarks.eventproc import Event

Figures = dict[str, Any]

#: Consecutive stamps of one frame on the direct path (benchmarks.direct_pipeline),
#: as (stage name, stamp where it starts, stamp where it ends).
STAGES: Final = (
    ("grab", "capture_ns", "grabbed_ns"),
    ("diff+encode", "grabbed_ns", "encoded_ns"),
    ("worker->loop", "encoded_ns", "resumed_ns"),
    ("seal", "resumed_ns", "sealed_ns"),
    ("send->recv", "sealed_ns", "received_ns"),
    ("parse", "received_ns", "parsed_ns"),
    ("loop->thread", "parsed_ns", "thread_ns"),
    ("open", "thread_ns", "opened_ns"),
    ("apply", "opened_ns", "decoded_ns"),
)
#: Overlaps "send->recv": how long the host's ``await ws.send`` took.
SEND_CALL: Final = ("ws.send call", "sealed_ns", "sent_ns")


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """The events of one scene on one path during the measured seconds."""

    round: int
    path: str
    scene: str
    #: 1 for the first measurement of this scene in this round, 2 for a retry...
    attempt: int
    seconds: float
    #: Host "frame_sent" events of frames captured in the window.
    sent: list[Event]
    #: Viewer "frame" events of those frames.
    received: list[Event]
    #: CPU seconds each process (host, viewer, relay, xvfb, scene) used in the window.
    cpu: dict[str, float]
    #: CPU seconds all processes of the machine used in the window.
    machine_busy: float
    #: CPU seconds the hypervisor took from this (virtual) machine in the window.
    stolen: float

    @property
    def others_cpus(self) -> float:
        """CPUs kept busy, on average, by processes not part of this benchmark."""
        return max(0.0, self.machine_busy - sum(self.cpu.values())) / self.seconds

    @property
    def noise_cpus(self) -> float:
        """CPUs taken from the benchmark: other processes' and stolen."""
        return self.others_cpus + self.stolen / self.seconds

    def quiet(self, limit: float) -> bool:
        """Whether this window was left alone enough to trust its tail."""
        return self.noise_cpus <= limit


def distribution(values: Sequence[float]) -> Figures:
    """n, median, p95, p99 and max of ``values`` (None when empty)."""
    if not values:
        return {"n": 0, "median": None, "p95": None, "p99": None, "max": None}
    data = np.asarray(values, dtype=np.float64)
    median, p95, p99 = np.percentile(data, [50, 95, 99])
    return {
        "n": len(values),
        "median": round(float(median), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "max": round(float(data.max()), 3),
    }


def median(values: Sequence[float]) -> float | None:
    return None if not values else round(float(np.median(np.asarray(values, np.float64))), 3)


def deltas(received: Sequence[Event]) -> list[Event]:
    """The frames that are not key frames."""
    return [e for e in received if not e["keyframe"]]


def stage_breakdown(sent: Sequence[Event], received: Sequence[Event]) -> Figures:
    """The distribution of each stage's milliseconds, for frames stamped at both ends."""
    by_seq = {e["seq"]: e for e in sent if "capture_ns" in e}
    frames = [{**by_seq[e["seq"]], **e} for e in received if e["seq"] in by_seq]
    return {
        name: distribution([(f[end] - f[start]) / 1e6 for f in frames if end in f])
        for name, start, end in (*STAGES, SEND_CALL)
    }


def summarize_window(window: Window, quiet_limit: float) -> Figures:
    """The figures of one window, ready for JSON."""
    frames = deltas(window.received)
    sent = len(window.sent)
    figures: Figures = {
        "round": window.round,
        "path": window.path,
        "scene": window.scene,
        "attempt": window.attempt,
        "seconds": round(window.seconds, 3),
        "latency_ms": distribution([e["latency_ms"] for e in frames]),
        "bytes_median": median([e["bytes"] for e in frames]),
        "rects_median": median([e["rects"] for e in frames]),
        "pixels_median": median([e["pixels"] for e in frames]),
        "frames_sent": sent,
        "frames_received": len(window.received),
        "keyframes_received": len(window.received) - len(frames),
        "frames_lost": sent - len(window.received),
        "cpu_seconds": {role: round(s, 3) for role, s in window.cpu.items()},
        "cpu_ms_per_frame": {
            role: round(1000 * s / sent, 3) if sent else None for role, s in window.cpu.items()
        },
        "host_cpu_percent": round(100 * window.cpu["host"] / window.seconds, 1),
        "machine_busy_cpus": round(window.machine_busy / window.seconds, 2),
        "other_busy_cpus": round(window.others_cpus, 2),
        "stolen_cpus": round(window.stolen / window.seconds, 2),
        "noise_cpus": round(window.noise_cpus, 2),
        "quiet": window.quiet(quiet_limit),
    }
    figures["latencies_ms"] = [e["latency_ms"] for e in frames]
    if window.path == "direct":
        figures["stages_ms"] = stage_breakdown(window.sent, frames)
    return figures


def pooled_latencies(windows: Iterable[Window], path: str, scene: str) -> list[float]:
    return [
        e["latency_ms"]
        for w in windows
        if w.path == path and w.scene == scene
        for e in deltas(w.received)
    ]


def compare_paths(windows: Sequence[Window], scenes: Sequence[str]) -> Figures:
    """Per scene, all rounds pooled: both paths' latency and what the relay adds."""
    comparison: Figures = {}
    for scene in scenes:
        relay = distribution(pooled_latencies(windows, "relay", scene))
        direct = distribution(pooled_latencies(windows, "direct", scene))
        entry: Figures = {"relay": relay, "direct": direct}
        for stat in ("median", "p95"):
            r, d = relay[stat], direct[stat]
            usable = r is not None and d is not None
            entry[f"relay_added_{stat}_ms"] = round(r - d, 3) if usable else None
            entry[f"relay_ratio_{stat}"] = round(r / d, 3) if usable and d > 0 else None
        comparison[scene] = entry
    return comparison


# -- text ---------------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(r) for r in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines


def latency_rows(windows: Sequence[Figures]) -> list[str]:
    header = [
        "round", "path", "scene", "try", "n", "median", "p95", "p99", "max",
        "bytes/upd", "rects", "sent", "lost", "noise CPUs",
    ]  # fmt: skip
    rows = []
    for w in windows:
        lat = w["latency_ms"]
        rows.append([
            str(w["round"]), w["path"], w["scene"], str(w["attempt"]), str(lat["n"]),
            _num(lat["median"]),
            _num(lat["p95"]), _num(lat["p99"]), _num(lat["max"]), _num(w["bytes_median"], 0),
            _num(w["rects_median"], 0), str(w["frames_sent"]), str(w["frames_lost"]),
            _num(w["noise_cpus"]) + ("" if w["quiet"] else " (noisy)"),
        ])  # fmt: skip
    return _table(header, rows)


def cpu_rows(windows: Sequence[Figures]) -> list[str]:
    roles = ("host", "viewer", "relay", "xvfb", "scene")
    header = [
        "round", "path", "scene", *(f"{r} ms/frm" for r in roles), "host %CPU",
        "busy CPUs", "others' CPUs", "stolen CPUs",
    ]  # fmt: skip
    rows = []
    for w in windows:
        per_frame = w["cpu_ms_per_frame"]
        rows.append([
            str(w["round"]), w["path"], w["scene"], *(_num(per_frame.get(r)) for r in roles),
            _num(w["host_cpu_percent"], 1), _num(w["machine_busy_cpus"]),
            _num(w["other_busy_cpus"]), _num(w["stolen_cpus"]),
        ])  # fmt: skip
    return _table(header, rows)


def comparison_rows(comparison: Figures) -> list[str]:
    header = [
        "scene", "relay med", "direct med", "added med", "ratio med",
        "relay p95", "direct p95", "added p95", "ratio p95", "n relay", "n direct",
    ]  # fmt: skip
    rows = []
    for scene, c in comparison.items():
        relay, direct = c["relay"], c["direct"]
        rows.append([
            scene, _num(relay["median"]), _num(direct["median"]),
            _num(c["relay_added_median_ms"]), _num(c["relay_ratio_median"]),
            _num(relay["p95"]), _num(direct["p95"]), _num(c["relay_added_p95_ms"]),
            _num(c["relay_ratio_p95"]), str(relay["n"]), str(direct["n"]),
        ])  # fmt: skip
    return _table(header, rows)


def stage_rows(windows: Sequence[Figures]) -> list[str]:
    names = [name for name, _, _ in (*STAGES, SEND_CALL)]
    header = ["round", "scene", "stat", *names]
    rows = [
        [str(w["round"]), w["scene"], stat, *(_num(w["stages_ms"][n][stat]) for n in names)]
        for w in windows
        if "stages_ms" in w
        for stat in ("median", "p95")
    ]
    return _table(header, rows)


def format_report(report: Figures) -> str:
    config, baseline = report["config"], report["baseline"]
    copy = baseline["numpy_copy_ms"]
    lines = [
        f"screenrelay end-to-end latency: {config['width']}x{config['height']} Xvfb, "
        f"host polls at {config['fps']:g} fps, {config['seconds']:g} s per scene and path, "
        f"{config['rounds']} round(s), {report['machine']['cpus']} CPUs",
        f"scenes: typing = one character changes {config['typing_rate']:g}/s; "
        f"fullscreen = whole screen alternates {config['fullscreen_rate']:g}/s",
        "",
        "Capture-to-decoded latency (ms, key frames excluded), bytes per update (median); "
        "noise CPUs = CPUs taken by other processes and the hypervisor (steal):",
        *latency_rows(report["windows"]),
        f"({len(report['noisy_attempts_set_aside'])} noisy attempt(s) measured again and set "
        "aside; each row is the quietest attempt; all are in the JSON)",
        "",
        "CPU ms per frame sent (utime+stime over the window / frames the host sent); "
        "busy CPUs = the whole machine's, others' = not this benchmark's processes, "
        "stolen = taken by the hypervisor:",
        *cpu_rows(report["windows"]),
        "",
        "What the relay adds (rounds pooled; added = relay - direct, ratio = relay / direct),",
        "all windows:",
        *comparison_rows(report["comparison"]["all"]),
        f"quiet windows only (noise CPUs <= {config['quiet_noise']:g}):",
        *comparison_rows(report["comparison"]["quiet"]),
        "",
        "Direct path, ms per stage (stages add up to the latency; "
        "'ws.send call' overlaps 'send->recv'):",
        *stage_rows(report["windows"]),
        "",
        "Not included above: the wait for the next poll after a change (0 to 1/fps, "
        f"{500 / config['fps']:.1f} ms on average at {config['fps']:g} fps).",
        f"Baseline: numpy copy of one {config['width']}x{config['height']}x4 frame into a "
        f"preallocated buffer: median {copy['median']:.2f} ms, p95 {copy['p95']:.2f} ms "
        f"(n={copy['n']})",
    ]
    return "\n".join(lines)
