"""The browser viewer's cost per update, next to the Python viewer on the same stream.

    .venv/bin/python -m benchmarks.browser_decode [--seconds 8]

One relay, one host sharing a private 1920x1080 Xvfb, and two viewers of the
same session: the Python viewer (``join --no-window --json``) and the join
page in Debian's chromium (headless, driven by Playwright). Each scene of
``benchmarks.scene`` runs in turn ("typing": one character changes 10 times a
second; "fullscreen": the whole screen alternates 4 times a second).

The page runs once per zstd decoder (``--decoders``, default both, in turn
on the same session): "wasm", libzstd in WebAssembly (the page's choice), and
"fzstd", the pure JavaScript fallback (the page is given no WebAssembly). The
page reports which it uses in ``<body data-zstd>``, checked here.

The page measures itself (viewer_app/web/src/view.js ``stats.updates``):
decrypt (WebCrypto AES-GCM), decode (payload parse + zstd),
compose (BGRX -> RGBA into the picture buffer), draw (putImageData of the
changed rects), and capture-to-drawn latency. The Python viewer reports per
frame its open + decode + compose time (``decode_ms``) and capture-to-decoded
latency. The baseline is the Python viewer on the same frames; "x" is the
browser's median over Python's. Key frames are excluded from the scene rows
and reported on their own row (both viewers receive the same ones).

Playwright itself slows a page's WebSocket traffic, so the latencies here are
upper bounds for a real browser; the per-stage timings are measured inside
the page and are not affected. Prints a table, writes JSON to
benchmarks/results/browser_decode.json. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from benchmarks.e2e_latency import Launcher, join_args
from benchmarks.e2e_report import distribution
from benchmarks.eventproc import working_directory
from tests import scenes
from tests.browser import launch
from tests.procs import Relay, running_relay
from tests.xvfb import running_xvfb

SCREEN: Final = (1920, 1080)
REPO: Final = Path(__file__).resolve().parent.parent
RESULTS: Final = REPO / "benchmarks" / "results" / "browser_decode.json"
SCENES: Final = {"typing": 10.0, "fullscreen": 4.0}
STAGES: Final = ("decryptMs", "decodeMs", "composeMs", "drawMs")


def page_updates(page: Any) -> list[dict[str, float]]:
    updates: list[dict[str, float]] = page.evaluate("() => screenrelay.stats.updates.splice(0)")
    return updates


def summarize(browser: list[dict[str, float]], python: list[dict[str, Any]]) -> dict[str, Any]:
    """Distributions of the browser's stages and totals and the Python viewer's."""
    total = [sum(u[s] for s in STAGES) for u in browser]
    figures: dict[str, Any] = {s: distribution([u[s] for u in browser]) for s in STAGES}
    figures["browser_total"] = distribution(total)
    figures["browser_latency"] = distribution([u["latencyMs"] for u in browser])
    figures["browser_bytes"] = distribution([u["bytes"] for u in browser])
    figures["python_total"] = distribution([float(e["decode_ms"]) for e in python])
    figures["python_latency"] = distribution([float(e["latency_ms"]) for e in python])
    b, p = figures["browser_total"]["median"], figures["python_total"]["median"]
    figures["ratio"] = round(b / p, 2) if b and p else None
    return figures


@contextlib.contextmanager
def session_member(launcher: Launcher, relay: Relay, link: str) -> Iterator[None]:
    """One more Python viewer, joined by link, until its first picture."""
    member = launcher.start("member", ["-m", "relay", "join", link, "--no-window", "--json"])
    try:
        member.wait_for("frame")
        yield
    finally:
        member.stop()


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    report: dict[str, Any] = {"screen": list(SCREEN), "seconds": args.seconds, "decoders": {}}
    with running_xvfb(*SCREEN) as display, launch() as chromium:
        scenes.show(display, scenes.desktop_picture(*SCREEN, seed=1), workdir / "bg.png")
        report["machine"] = {"platform": platform.platform(), "python": sys.version.split()[0],
                             "chromium": chromium.version}  # fmt: skip
        launcher = Launcher(display, workdir)
        with (
            running_relay(workdir / "relay") as relay,
            launcher.hosted(relay, join_args(relay)) as (_host, viewer, started),
        ):
            for decoder in args.decoders:
                context = chromium.new_context(viewport={"width": 1920, "height": 1200})
                if decoder == "fzstd":
                    context.add_init_script("delete globalThis.WebAssembly")
                page = context.new_page()
                report["decoders"][decoder] = measure_page(
                    args, page, launcher, relay, str(started["link"]), viewer
                )
                if page.get_attribute("body", "data-zstd") != decoder:
                    raise RuntimeError(f"the page did not use {decoder}")
                context.close()
    return report


def measure_page(
    args: argparse.Namespace, page: Any, launcher: Launcher, relay: Relay, link: str, viewer: Any
) -> dict[str, Any]:
    """The scenes and key frames, as one page and the Python viewer saw them."""
    report: dict[str, Any] = {}
    page.goto(link)
    page.wait_for_selector("body[data-state=watching]", timeout=30_000)
    time.sleep(1.0)
    keyframes_b: list[dict[str, float]] = []
    keyframes_p: list[dict[str, Any]] = []
    for scene, rate in SCENES.items():
        player = launcher.start(
            f"scene-{scene}", ["-m", "benchmarks.scene", scene, "--rate", str(rate)]
        )
        try:
            player.wait_for("ready")
            time.sleep(args.warmup)
            page_updates(page)
            viewer.drain()
            time.sleep(args.seconds)
            browser = page_updates(page)
            python = [e for e in viewer.drain() if e.get("event") == "frame"]
        finally:
            player.stop()
        keyframes_b += [u for u in browser if u["keyframe"]]
        keyframes_p += [e for e in python if e["keyframe"]]
        report[scene] = summarize(
            [u for u in browser if not u["keyframe"]],
            [e for e in python if not e["keyframe"]],
        )
        time.sleep(0.5)
    # Key frames: each new member's admission makes the host send one to all.
    page_updates(page)
    viewer.drain()
    for _ in range(args.keyframes):
        with session_member(launcher, relay, link):
            pass
        time.sleep(0.3)
    keyframes_b += [u for u in page_updates(page) if u["keyframe"]]
    keyframes_p += [e for e in viewer.drain() if e.get("event") == "frame"
                    and e["keyframe"]]  # fmt: skip
    report["key frame"] = summarize(keyframes_b, keyframes_p)
    return report


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_report(report: dict[str, Any]) -> str:
    head = ("decoder", "scene", "n", "decrypt", "decode", "compose", "draw", "browser total",
            "python total", "x", "browser latency", "python latency")  # fmt: skip
    lines = [
        "Browser viewer vs Python viewer, same stream: median (p95) ms per update",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    rows = [(d, scene, f) for d, found in report["decoders"].items() for scene, f in found.items()]
    for decoder, scene, f in rows:

        def cell(key: str, f: dict[str, Any] = f) -> str:
            return f"{_num(f[key]['median'])} ({_num(f[key]['p95'])})"

        lines.append(
            "| " + " | ".join([
                decoder, scene, str(f["browser_total"]["n"]), cell("decryptMs"), cell("decodeMs"),
                cell("composeMs"), cell("drawMs"), cell("browser_total"), cell("python_total"),
                _num(f["ratio"]), cell("browser_latency"), cell("python_latency"),
            ]) + " |"
        )  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser_decode")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds measured per scene")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds before measuring")
    parser.add_argument("--keyframes", type=int, default=6, help="key frames to measure")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--decoders",
        type=lambda text: text.split(","),
        default=["wasm", "fzstd"],
        help="zstd decoders of the page, in turn (wasm,fzstd)",
    )
    args = parser.parse_args(argv)
    with working_directory("screenrelay-browser-bench-", keep=args.keep_logs) as workdir:
        report = measure(args, workdir)
    print(format_report(report), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"JSON: {args.output}", flush=True)


if __name__ == "__main__":
    main()
