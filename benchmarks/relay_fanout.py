"""Relay fan-out: one presenter, N viewers, the real relay vs a plain websockets relay.

    .venv/bin/python -m benchmarks.relay_fanout [--viewers 1 10 50 200] [--seconds 5]

For each server and each N, on loopback: a relay process
(``benchmarks.fanout_servers``: the product's relay with its participant cap
lifted, or the plain ``websockets`` baseline with the same queue rules), one
presenter process and N viewers spread over worker processes of at most
``--per-worker`` viewers each (``benchmarks.fanout_load``: the real protocol
and admission through the product's client connection). The presenter sends
sealed 100 KB frames, first at 30 frames/s, then as fast as the relay takes
them ("max"). Per window of ``--seconds``:

- delivered messages per second and MB/s (frames stamped by a viewer inside
  the window), and the share of the frames sent that reached every viewer;
- the relay's CPU (utime + stime from /proc/<pid>/stat) per delivered
  message, and what that makes per core: viewers at 30 fps of 100 KB, GB/s;
- latency from the presenter's stamp before ``send`` to the viewer's stamp
  after ``recv`` (median, p95, p99);
- the relay's RSS; before any viewer connects and with N idle viewers
  admitted (memory per idle viewer = the difference / N).

The ratio relay / baseline of CPU per delivered message is the framework's
cost: both forward the same bytes to the same viewers under the same rules.

Slow-viewer isolation: 10 viewers at 30 fps, one of them in its own process;
windows alternate between that process running and stopped (SIGSTOP); the
report compares the other nine's p99 latency (pooled over ``--rounds``).

Every process shares this machine's CPUs; each window records the load
generator's CPU and the machine's noise (other processes and steal), so a
figure limited by the load generator shows as such. Nothing here asserts a
speed. Prints tables on stdout and writes JSON to
benchmarks/results/relay_fanout.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from benchmarks.e2e_report import Figures, distribution
from benchmarks.eventproc import (
    CLOCK_TICKS,
    EventProcess,
    cpu_seconds,
    machine_seconds,
    working_directory,
)
from tests.procs import ORGANIZER, ORGANIZER_PASSWORD, Relay, free_port

REPO: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = REPO / "benchmarks" / "results" / "relay_fanout.json"
SERVERS: Final = ("relay", "baseline")
#: Message size of every frame: 16-byte header, ciphertext, 16-byte GCM tag.
FRAME_BYTES: Final = 100_000
#: Seconds after a window before the viewers report (the last frames land).
GRACE: Final = 0.5
#: Seconds to let the relay settle before reading its RSS.
SETTLE: Final = 1.0
#: Numbers the load processes' log files.
LOG_NUMBERS: Final = itertools.count(1)
#: Targets of issue 7, reported against, never asserted.
TARGET_VIEWERS_PER_CORE: Final = 300
TARGET_GBPS_PER_CORE: Final = 1.0
TARGET_CPU_RATIO: Final = 1.2
TARGET_P99_RATIO: Final = 1.10


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """What one run measures."""

    viewers: tuple[int, ...]
    seconds: float
    warmup: float
    fps: float
    per_worker: int
    isolation_viewers: int
    rounds: int
    #: Rounds of every server at every N (alternating, so noise shows).
    repeat: int
    servers: tuple[str, ...]


def env() -> dict[str, str]:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    return environ


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def system_seconds(pid: int) -> float:
    """Kernel-mode CPU seconds of ``pid`` so far (stime of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[12]) / CLOCK_TICKS


class BenchRelay(Relay):
    """The product's relay with lifted caps (``benchmarks.fanout_servers relay``)."""

    def env(self) -> dict[str, str]:
        return {**env(), "TMPDIR": str(self.tmp)}


@dataclasses.dataclass(frozen=True, slots=True)
class Server:
    kind: str
    url: str
    pid: int


#: With ``--profile DIR``: each server runs under cProfile and writes DIR/<kind>-<n>.prof.
PROFILE_DIR: list[Path] = []


def server_command(kind: str) -> list[str]:
    """How to start a server: the kind and its options follow."""
    return [sys.executable, "-m", "benchmarks.fanout_servers"]


def profile_args(kind: str) -> list[str]:
    if not PROFILE_DIR:
        return []
    PROFILE_DIR[0].mkdir(parents=True, exist_ok=True)
    return ["--profile", str(PROFILE_DIR[0] / f"{kind}-{time.monotonic_ns()}.prof")]


@contextlib.contextmanager
def running_server(kind: str, workdir: Path) -> Iterator[Server]:
    if kind == "relay":
        relay = BenchRelay(
            workdir / f"relay-{time.monotonic_ns()}",
            command=server_command(kind),
            args=tuple(profile_args(kind)),
        )
        relay.add_organizer()
        relay.start()
        assert relay.proc is not None
        try:
            yield Server(kind, relay.url, relay.proc.pid)
        finally:
            relay.stop()
        return
    port = free_port()
    proc = EventProcess(
        [*server_command(kind), "baseline", "--listen", f"127.0.0.1:{port}",
         *profile_args(kind)],
        env=env(), log=workdir / f"baseline-{port}.log",
    )  # fmt: skip
    try:
        proc.wait_for("listening")
        yield Server(kind, f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.stop()


class Load:
    """The presenter and the viewer processes of one server."""

    def __init__(self, server: Server, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.baseline = ["--baseline"] if server.kind == "baseline" else []
        self.presenter = self._start(
            "presenter",
            ["presenter", "--relay", server.url, "--user", ORGANIZER, *self.baseline],
            ORGANIZER_PASSWORD + "\n",
        )
        session = self.presenter.wait_for("session")
        self.session_id = int(session["session_id"])
        self.password = str(session["password"])
        #: Viewer processes and the index of each one's first viewer.
        self.workers: list[tuple[EventProcess, int, int]] = []
        self._runs = 0

    def _start(self, name: str, args: list[str], stdin_text: str) -> EventProcess:
        return EventProcess(
            [sys.executable, "-m", "benchmarks.fanout_load", *args],
            env=env(),
            log=self.workdir / f"{name}-{next(LOG_NUMBERS)}.log",
            stdin_text=stdin_text,
            keep_stdin=True,
        )

    def add_viewers(self, count: int, per_worker: int) -> list[EventProcess]:
        """Start ``count`` viewers in processes of ``per_worker``; wait until all are in."""
        started = []
        first = sum(n for _, _, n in self.workers)
        for offset in range(0, count, per_worker):
            n = min(per_worker, count - offset)
            proc = self._start(
                "viewers",
                ["viewers", "--relay", self.server.url, "--session", str(self.session_id),
                 "--count", str(n), "--first", str(first + offset), *self.baseline],
                self.password + "\n",
            )  # fmt: skip
            self.workers.append((proc, first + offset, n))
            started.append(proc)
        for proc in started:
            proc.wait_for("ready", timeout=60 + count * 0.5)
        return started

    @property
    def viewer_count(self) -> int:
        return sum(n for _, _, n in self.workers)

    def stop(self) -> None:
        for proc, _, _ in self.workers:
            os.kill(proc.pid, signal.SIGCONT)
            proc.stop()
        self.presenter.stop()

    def window(
        self, settings: Settings, fps: float, stopped: frozenset[int] = frozenset()
    ) -> Figures:
        """Frames at ``fps`` (0: as fast as possible); the measured window's figures.

        Worker processes whose pids are in ``stopped`` are not asked for receipts.
        """
        self._runs += 1
        out = self.workdir / f"run-{self._runs}"
        seconds = settings.warmup + settings.seconds + 0.2
        self.presenter.write_line(
            json.dumps(
                {"cmd": "run", "fps": fps, "seconds": seconds, "size": FRAME_BYTES,
                 "out": f"{out}-sent.npz"}
            )
        )  # fmt: skip
        time.sleep(settings.warmup)
        pids = {"relay": self.server.pid, "presenter": self.presenter.pid}
        pids.update({f"viewers{i}": p.pid for i, (p, _, _) in enumerate(self.workers)})
        before = {role: cpu_seconds(pid) for role, pid in pids.items()}
        kernel0 = system_seconds(self.server.pid)
        busy0, stolen0 = machine_seconds()
        t0 = time.time_ns()
        time.sleep(settings.seconds)
        t1 = time.time_ns()
        after = {role: cpu_seconds(pid) for role, pid in pids.items()}
        kernel1 = system_seconds(self.server.pid)
        busy1, stolen1 = machine_seconds()
        rss = rss_bytes(self.server.pid)
        ran = self.presenter.wait_for("ran", timeout=seconds + 30)
        time.sleep(GRACE)
        parts = []
        for i, (proc, _, _) in enumerate(self.workers):
            if proc.pid in stopped:
                continue
            path = f"{out}-recv{i}.npz"
            proc.write_line(json.dumps({"cmd": "dump", "out": path}))
            proc.wait_for("dumped", timeout=30)
            parts.append(np.load(path))
        sent = np.load(f"{out}-sent.npz")
        cpu = {role: after[role] - before[role] for role in before}
        wall = (t1 - t0) / 1e9
        noise = max(0.0, (busy1 - busy0) - sum(cpu.values())) + (stolen1 - stolen0)
        return {
            "fps": fps,
            "seconds": wall,
            "t0": t0,
            "t1": t1,
            "cpu": cpu,
            "relay_system_cpu": kernel1 - kernel0,
            "noise_cpus": noise / wall,
            "relay_rss_bytes": rss,
            "keyframe_requests": ran["keyframe_requests"],
            "_sent": sent,
            "_recv": _concat(parts),
        }


def _concat(parts: list[Any]) -> dict[str, np.ndarray[Any, Any]]:
    keys = ("viewer", "counter", "recv_ns")
    if not parts:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def summarize(raw: Figures, viewers: int, only: set[int] | None = None) -> Figures:
    """Figures of one window; ``only``: the viewer indices that count."""
    sent, recv = raw["_sent"], raw["_recv"]
    t0, t1, wall = raw["t0"], raw["t1"], raw["seconds"]
    order = np.argsort(sent["counter"])
    counters, send_ns = sent["counter"][order], sent["send_ns"][order]
    keep = np.isin(recv["counter"], counters)
    if only is not None:
        keep &= np.isin(recv["viewer"], list(only))
        viewers = len(only)
    counter, recv_ns = recv["counter"][keep], recv["recv_ns"][keep]
    sent_at = send_ns[np.searchsorted(counters, counter)]
    inside = (recv_ns >= t0) & (recv_ns < t1)
    delivered = int(inside.sum())
    latency_ms = (recv_ns[inside] - sent_at[inside]) / 1e6
    sent_inside = (send_ns >= t0) & (send_ns < t1)
    frames_sent = int(sent_inside.sum())
    reached = int(np.isin(counter, counters[sent_inside]).sum())
    relay_cpu = raw["cpu"]["relay"]
    cpu_per_msg = relay_cpu / delivered if delivered else None
    load_cpu = sum(v for k, v in raw["cpu"].items() if k != "relay")
    figures: Figures = {
        "viewers": viewers,
        "fps_requested": raw["fps"],
        "frames_sent_per_s": frames_sent / wall,
        "keyframes_sent": int(sent["keyframe"][sent_inside].sum()),
        "delivered": delivered,
        "delivered_per_s": delivered / wall,
        "mb_per_s": delivered * FRAME_BYTES / wall / 1e6,
        "reached_share": reached / (frames_sent * viewers) if frames_sent and viewers else None,
        "relay_cpu_seconds": relay_cpu,
        "relay_cpus": relay_cpu / wall,
        "relay_system_share": raw["relay_system_cpu"] / relay_cpu if relay_cpu else None,
        "load_generator_cpus": load_cpu / wall,
        "noise_cpus": raw["noise_cpus"],
        "relay_cpu_us_per_msg": cpu_per_msg * 1e6 if cpu_per_msg else None,
        "viewers_30fps_per_core": 1 / (cpu_per_msg * 30) if cpu_per_msg else None,
        "gb_per_s_per_core": FRAME_BYTES / cpu_per_msg / 1e9 if cpu_per_msg else None,
        "latency_ms": distribution(latency_ms.tolist()),
        "relay_rss_bytes": raw["relay_rss_bytes"],
        "keyframe_requests_total": raw["keyframe_requests"],
    }
    return figures


def measure_fanout(
    settings: Settings, kind: str, viewers: int, round_: int, workdir: Path
) -> Figures:
    with running_server(kind, workdir) as server:
        load = Load(server, workdir)
        try:
            time.sleep(SETTLE)
            rss_empty = rss_bytes(server.pid)
            load.add_viewers(viewers, settings.per_worker)
            time.sleep(SETTLE)
            rss_idle = rss_bytes(server.pid)
            windows = {}
            for mode, fps in (("30fps", settings.fps), ("max", 0.0)):
                figures = summarize(load.window(settings, fps), viewers)
                windows[mode] = figures
                progress(kind, mode, figures)
        finally:
            load.stop()
    return {
        "server": kind,
        "viewers": viewers,
        "round": round_,
        "rss_before_viewers_bytes": rss_empty,
        "rss_idle_viewers_bytes": rss_idle,
        "idle_bytes_per_viewer": (rss_idle - rss_empty) / viewers,
        "windows": windows,
    }


def measure_isolation(settings: Settings, kind: str, workdir: Path) -> Figures:
    """Healthy viewers' latency with one viewer's process running, then stopped."""
    healthy_count = settings.isolation_viewers - 1
    pooled: dict[str, list[Figures]] = {"running": [], "stopped": []}
    with running_server(kind, workdir) as server:
        load = Load(server, workdir)
        try:
            load.add_viewers(healthy_count, settings.per_worker)
            (slow,) = load.add_viewers(1, 1)
            healthy = set(range(healthy_count))
            for _ in range(settings.rounds):
                for state in ("running", "stopped"):
                    if state == "stopped":
                        os.kill(slow.pid, signal.SIGSTOP)
                    try:
                        stopped = frozenset({slow.pid}) if state == "stopped" else frozenset()
                        raw = load.window(settings, settings.fps, stopped)
                    finally:
                        os.kill(slow.pid, signal.SIGCONT)
                    pooled[state].append(raw)
                    progress(kind, f"isolation {state}", summarize(raw, healthy_count, healthy))
                    time.sleep(SETTLE)  # the resumed viewer catches up before the next window
                    slow.drain()
        finally:
            load.stop()
    result: Figures = {"server": kind, "viewers": settings.isolation_viewers}
    for state, raws in pooled.items():
        latencies = []
        for raw in raws:
            figures = summarize(raw, healthy_count, healthy)
            latencies.append(figures)
        result[state] = {
            "windows": latencies,
            "latency_ms": _pooled_latency(raws, healthy),
        }
    running, stopped = result["running"]["latency_ms"], result["stopped"]["latency_ms"]
    result["p99_ratio"] = (
        stopped["p99"] / running["p99"] if running["p99"] and stopped["p99"] else None
    )
    result["median_ratio"] = (
        stopped["median"] / running["median"] if running["median"] and stopped["median"] else None
    )
    return result


def _pooled_latency(raws: list[Figures], only: set[int]) -> Figures:
    values: list[float] = []
    for raw in raws:
        sent, recv = raw["_sent"], raw["_recv"]
        order = np.argsort(sent["counter"])
        counters, send_ns = sent["counter"][order], sent["send_ns"][order]
        keep = np.isin(recv["counter"], counters) & np.isin(recv["viewer"], list(only))
        keep &= (recv["recv_ns"] >= raw["t0"]) & (recv["recv_ns"] < raw["t1"])
        sent_at = send_ns[np.searchsorted(counters, recv["counter"][keep])]
        values += ((recv["recv_ns"][keep] - sent_at) / 1e6).tolist()
    return distribution(values)


def progress(kind: str, mode: str, f: Figures) -> None:
    lat = f["latency_ms"]
    print(
        f"  {kind:>8} N={f['viewers']:<4} {mode:<18} {f['delivered_per_s']:8.0f} msg/s "
        f"{f['mb_per_s']:7.1f} MB/s  reached {_pct(f['reached_share'])}  "
        f"relay {f['relay_cpus']:.2f} CPUs, {_num(f['relay_cpu_us_per_msg'], 1)} us/msg  "
        f"p50/p99 {_num(lat['median'], 2)}/{_num(lat['p99'], 2)} ms  "
        f"load {f['load_generator_cpus']:.2f} noise {f['noise_cpus']:.2f}",
        file=sys.stderr,
        flush=True,
    )


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def format_report(report: Figures) -> str:
    lines = [
        f"Relay fan-out: {FRAME_BYTES} B sealed frames, {report['config']['seconds']} s windows; "
        f"{report['machine']['cpus']} CPUs ({report['machine']['cpu_model']})",
        "",
        "| server | viewers | round | rate | frames/s sent | delivered msg/s | MB/s | reached | "
        "relay CPUs | relay CPU/msg (kernel) | latency p50 / p95 / p99 | relay RSS | "
        "load gen CPUs | noise CPUs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["fanout"]:
        for mode, f in run["windows"].items():
            lat = f["latency_ms"]
            lines.append(
                f"| {run['server']} | {run['viewers']} | {run['round']} | {mode} | "
                f"{f['frames_sent_per_s']:.1f} | "
                f"{f['delivered_per_s']:.0f} | {f['mb_per_s']:.0f} | "
                f"{_pct(f['reached_share'])} | {f['relay_cpus']:.2f} | "
                f"{_num(f['relay_cpu_us_per_msg'], 1)} us ({_pct(f['relay_system_share'])}) | "
                f"{_num(lat['median'], 2)} / {_num(lat['p95'], 2)} / {_num(lat['p99'], 2)} ms | "
                f"{f['relay_rss_bytes'] / 2**20:.0f} MiB | {f['load_generator_cpus']:.2f} | "
                f"{f['noise_cpus']:.2f} |"
            )
    lines += ["", "Pooled over rounds:", "",
              "| viewers | rate | relay CPU/msg | baseline CPU/msg | relay / baseline | "
              "relay: viewers at 30 fps per core (target >= 300) | "
              "relay: GB/s per core (target >= 1) |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in report["comparison"]:
        lines.append(
            f"| {row['viewers']} | {row['mode']} | {_num(row['relay_cpu_us_per_msg'], 1)} us | "
            f"{_num(row['baseline_cpu_us_per_msg'], 1)} us | {_num(row['cpu_ratio'], 2)}x "
            f"(target <= {TARGET_CPU_RATIO}) | {_num(row['viewers_30fps_per_core'], 0)} | "
            f"{_num(row['gb_per_s_per_core'], 2)} |"
        )
    lines += [
        "",
        "| server | viewers | round | memory per idle viewer (RSS delta / N) |",
        "|---|---|---|---|",
    ]
    for run in report["fanout"]:
        lines.append(
            f"| {run['server']} | {run['viewers']} | {run['round']} | "
            f"{run['idle_bytes_per_viewer'] / 1024:.1f} KiB |"
        )
    for iso in report["isolation"]:
        run_, stop_ = iso["running"]["latency_ms"], iso["stopped"]["latency_ms"]
        lines += [
            "",
            f"Slow-viewer isolation ({iso['server']}, {iso['viewers']} viewers at 30 fps, one "
            "stopped with SIGSTOP): the other viewers' latency",
            "| | median | p95 | p99 | n |",
            "|---|---|---|---|---|",
            f"| all running | {_num(run_['median'], 2)} ms | {_num(run_['p95'], 2)} ms | "
            f"{_num(run_['p99'], 2)} ms | {run_['n']} |",
            f"| one stopped | {_num(stop_['median'], 2)} ms | {_num(stop_['p95'], 2)} ms | "
            f"{_num(stop_['p99'], 2)} ms | {stop_['n']} |",
            f"| ratio | {_num(iso['median_ratio'], 2)} | | {_num(iso['p99_ratio'], 2)} "
            f"(target <= {TARGET_P99_RATIO}) | |",
        ]
    return "\n".join(lines)


def compare(fanout: list[Figures]) -> list[Figures]:
    """Per N and rate: CPU per delivered message pooled over rounds, relay vs baseline."""
    pooled: dict[tuple[str, int, str], list[float]] = {}
    for run in fanout:
        for mode, f in run["windows"].items():
            cpu_and_count = pooled.setdefault((run["server"], run["viewers"], mode), [0.0, 0.0])
            cpu_and_count[0] += f["relay_cpu_seconds"]
            cpu_and_count[1] += f["delivered"]

    def per_msg(server: str, viewers: int, mode: str) -> float | None:
        cpu, count = pooled.get((server, viewers, mode), [0.0, 0.0])
        return cpu / count if count and cpu else None

    rows = []
    for server, viewers, mode in sorted(pooled, key=lambda k: (k[1], k[2])):
        if server != "relay":
            continue
        ours, theirs = per_msg("relay", viewers, mode), per_msg("baseline", viewers, mode)
        rows.append(
            {
                "viewers": viewers,
                "mode": mode,
                "relay_cpu_us_per_msg": ours * 1e6 if ours else None,
                "baseline_cpu_us_per_msg": theirs * 1e6 if theirs else None,
                "cpu_ratio": ours / theirs if ours and theirs else None,
                "viewers_30fps_per_core": 1 / (ours * 30) if ours else None,
                "gb_per_s_per_core": FRAME_BYTES / ours / 1e9 if ours else None,
            }
        )
    return rows


def strip_raw(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_raw(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_raw(v) for v in value]
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 10, 50, 200])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per window")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds sent before a window")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--per-worker", type=int, default=50, help="viewers per process")
    parser.add_argument("--isolation-viewers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="isolation rounds")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds of relay-then-baseline at each N"
    )
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="run the servers under cProfile into DIR"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    settings = Settings(
        viewers=tuple(args.viewers),
        seconds=args.seconds,
        warmup=args.warmup,
        fps=args.fps,
        per_worker=args.per_worker,
        isolation_viewers=args.isolation_viewers,
        rounds=args.rounds,
        repeat=args.repeat,
        servers=tuple(args.servers),
    )
    if args.profile is not None:
        PROFILE_DIR.append(args.profile)
    fanout, isolation = [], []
    with working_directory("screenrelay-fanout-", keep=args.keep_logs) as workdir:
        for viewers in settings.viewers:
            for round_ in range(1, settings.repeat + 1):
                for kind in settings.servers:
                    fanout.append(measure_fanout(settings, kind, viewers, round_, workdir))
        if settings.isolation_viewers > 1 and settings.rounds > 0:
            for kind in settings.servers:
                isolation.append(measure_isolation(settings, kind, workdir))
    report = strip_raw(
        {
            "benchmark": "relay_fanout",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": {**dataclasses.asdict(settings), "frame_bytes": FRAME_BYTES},
            "machine": {
                "cpus": os.cpu_count(),
                "cpu_model": cpu_model(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "targets": {
                "viewers_30fps_per_core": TARGET_VIEWERS_PER_CORE,
                "gb_per_s_per_core": TARGET_GBPS_PER_CORE,
                "cpu_ratio": TARGET_CPU_RATIO,
                "p99_ratio": TARGET_P99_RATIO,
            },
            "fanout": fanout,
            "comparison": compare(fanout),
            "isolation": isolation,
        }
    )
    print(format_report(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {args.output}")


if __name__ == "__main__":
    main()
