"""``screenrelay host``: start a session as an organizer and share the screen."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from host_app.host import HostOptions, start
from host_app.prompt import open_prompt
from host_app.remote_control import CONSENT_TIMEOUT
from protocol.wire import SESSION_ID_MAX, SESSION_ID_MIN
from viewer_app.cli import add_tls_arguments
from viewer_app.events import EventSink
from viewer_app.running import run_client


def _region(text: str) -> tuple[int, int, int, int]:
    try:
        left, top, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LEFT,TOP,WIDTH,HEIGHT") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError("region width and height must be positive")
    return left, top, width, height


def _session_id(text: str) -> int:
    digits = text.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not SESSION_ID_MIN <= int(digits) <= SESSION_ID_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} is not a 9-digit session ID")
    return int(digits)


def add_parser(sub: Any) -> None:
    host = sub.add_parser("host", help="start a session as its organizer")
    host.add_argument(
        "--relay", required=True, metavar="URL", help="relay address, http(s)://host:port"
    )
    host.add_argument("--user", required=True, help="organizer account name")
    host.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the account password from the first line of standard input",
    )
    host.add_argument(
        "--session-id",
        type=_session_id,
        metavar="ID",
        help="choose the 9-digit session ID (where the relay's policy allows it)",
    )
    host.add_argument(
        "--session-password-stdin",
        action="store_true",
        help="choose the session password: read it from the next line of standard input "
        "(after the account password); the relay's policy may forbid it or ask for a "
        "stronger one",
    )
    host.add_argument("--share", action="store_true", help="share the screen at once")
    host.add_argument("--monitor", type=int, default=1, help="monitor to share (1 = first)")
    host.add_argument("--region", type=_region, metavar="L,T,W,H", help="share only this region")
    host.add_argument("--fps", type=float, default=30.0, help="most pictures per second")
    host.add_argument(
        "--lossy",
        action="store_true",
        help="send photo-like areas as JPEG (text stays lossless); only where the relay's "
        "policy allows lossy encoding, else the picture stays lossless and the host says so",
    )
    add_tls_arguments(host)
    host.add_argument("--json", action="store_true", help="one JSON object per line per event")
    host.add_argument(
        "--prompt",
        choices=["window", "terminal"],
        help="where consent is asked: a window (default), or the terminal (default with "
        "--json): answer 'accept ID' or 'decline ID'; 'revoke' takes control back",
    )
    host.add_argument(
        "--consent-timeout",
        type=float,
        default=CONSENT_TIMEOUT,
        metavar="SECONDS",
        help=f"an unanswered consent prompt declines after this long (default {CONSENT_TIMEOUT:g})",
    )
    host.add_argument(
        "--save",
        type=Path,
        metavar="DIR",
        help="write the screen of a participant who presents as PNGs in DIR",
    )
    host.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from relay.cli import read_secret

    password = read_secret(f"Password for {args.user}: ", from_stdin=args.password_stdin)
    session_password = None
    if args.session_password_stdin:
        session_password = read_secret("Session password: ", from_stdin=True)
    options = HostOptions(
        relay_url=args.relay,
        user=args.user,
        password=password,
        share=args.share,
        monitor=args.monitor,
        region=args.region,
        fps=args.fps,
        cafile=args.cafile,
        tls_fingerprint=args.tls_fingerprint,
        consent_timeout=args.consent_timeout,
        save=args.save,
        session_id=args.session_id or 0,
        session_password=session_password,
        lossy=args.lossy,
    )
    sink = EventSink(json_mode=args.json)
    terminal = args.prompt == "terminal" or (args.prompt is None and args.json)

    async def main() -> None:
        with open_prompt(terminal=terminal) as prompt:
            host = await start(options, sink, prompt)
            await host.run()

    return run_client(main, sink)
