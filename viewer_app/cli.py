"""``screenrelay join``: join a session by ID and password, or by link."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal

from protocol.pake import normalize_password, parse_link
from protocol.wire import SESSION_ID_MAX, SESSION_ID_MIN, Credential
from viewer_app.events import EventSink
from viewer_app.presenting import PRESENT_TIMEOUT
from viewer_app.receiver import FrameSink, PngSaver
from viewer_app.running import run_client
from viewer_app.session import JoinTarget, ViewerOptions, join
from viewer_app.stdin_lines import StdinLines
from viewer_app.transport import ClientError, format_fingerprint, parse_fingerprint


def add_parser(sub: Any) -> None:
    joiner = sub.add_parser("join", help="join a session by ID and password, or by link")
    joiner.add_argument(
        "target", metavar="ID_OR_LINK", help="9-digit session ID, or the invitation link"
    )
    joiner.add_argument(
        "--relay", metavar="URL", help="relay address (taken from a link if omitted)"
    )
    joiner.add_argument(
        "--user",
        metavar="NAME",
        help="sign in with this account before joining (where the relay's policy admits "
        "only accounts)",
    )
    joiner.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the session password from the first line of standard input; with "
        "--user, the account password from the first line and the session password "
        "from the second",
    )
    joiner.add_argument(
        "--save",
        type=Path,
        metavar="DIR",
        help="write each picture as a PNG in DIR instead of opening a window",
    )
    joiner.add_argument("--frames", type=int, metavar="N", help="leave after N pictures")
    joiner.add_argument("--no-window", action="store_true", help="show nothing (with --json)")
    joiner.add_argument(
        "--request-control",
        action="store_true",
        help="ask the presenter for remote control once joined",
    )
    joiner.add_argument(
        "--commands",
        action="store_true",
        help="read scripted commands, one JSON object per line, from stdin",
    )
    add_tls_arguments(joiner)
    joiner.add_argument(
        "--consent-timeout",
        type=float,
        default=PRESENT_TIMEOUT,
        metavar="SECONDS",
        help="an unanswered request to present or to control declines after this long "
        f"(default {PRESENT_TIMEOUT:g})",
    )
    joiner.add_argument("--json", action="store_true", help="one JSON object per line per event")
    joiner.set_defaults(run=run)


def _fingerprint(text: str) -> str:
    try:
        return format_fingerprint(parse_fingerprint(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cafile`` or ``--tls-fingerprint``: how a client trusts an https:// relay."""
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--cafile",
        help="CA certificate file for a relay with a private certificate "
        "(for a relay run with --tls-self-signed: its DATA/tls/ca.pem)",
    )
    trust.add_argument(
        "--tls-fingerprint",
        type=_fingerprint,
        metavar="SHA256",
        help="trust the relay's certificate only if its SHA-256 fingerprint is this "
        "(as the relay logs it; colons and case do not matter); its CA and names are "
        "then not checked",
    )


def resolve_target(args: argparse.Namespace) -> JoinTarget:
    """Turn ID_OR_LINK (and a password if needed) into what to join."""
    from relay.cli import read_secret

    text: str = args.target.strip()
    if "/j/" in text:
        try:
            relay_url, session_id, secret = parse_link(text)
        except ValueError as exc:
            raise ClientError(str(exc), 2) from exc
        return JoinTarget(args.relay or relay_url, session_id, Credential.LINK, secret)
    digits = re.sub(r"[\s-]", "", text)
    if not digits.isdigit() or not SESSION_ID_MIN <= int(digits) <= SESSION_ID_MAX:
        raise ClientError(f"{text!r} is neither a 9-digit session ID nor an invitation link.", 2)
    if not args.relay:
        raise ClientError("Joining by session ID needs --relay URL.", 2)
    password = read_secret("Session password: ", from_stdin=args.password_stdin)
    try:
        secret = normalize_password(password)
    except Exception as exc:
        raise ClientError("The session password is empty.", 2) from exc
    return JoinTarget(args.relay, int(digits), Credential.PASSWORD, secret)


def run(args: argparse.Namespace) -> int:
    from relay.cli import read_secret

    sink = EventSink(json_mode=args.json)
    account = None
    if args.user:
        secret = read_secret(f"Password for {args.user}: ", from_stdin=args.password_stdin)
        account = (args.user, secret)
    try:
        target = resolve_target(args)
    except ClientError as exc:
        from viewer_app.running import report

        return report(sink, exc)
    if not (args.consent_timeout > 0):
        from viewer_app.running import report

        return report(sink, ClientError("--consent-timeout must be a positive number.", 2))
    options = ViewerOptions(
        max_frames=args.frames,
        cafile=args.cafile,
        tls_fingerprint=args.tls_fingerprint,
        request_control=args.request_control,
        consent_timeout=args.consent_timeout,
        account=account,
    )
    if args.save is not None or args.no_window:
        frames: FrameSink | None = PngSaver(args.save) if args.save is not None else None

        async def main() -> None:
            viewer = await join(
                target,
                sink,
                cafile=options.cafile,
                tls_fingerprint=options.tls_fingerprint,
                consent_timeout=options.consent_timeout,
                account=options.account,
            )
            try:
                if not args.commands:
                    await viewer.run(frames, options)
                    return
                async with BlockingPortal() as portal:
                    stdin = StdinLines()
                    stdin.start(portal)
                    await viewer.run(frames, options, stdin.lines)
            finally:
                await viewer.close()

        return run_client(main, sink)
    from viewer_app.window import run_with_window

    return run_with_window(target, sink, options)
