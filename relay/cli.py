"""``screenrelay``: the one command line (relay, admin, host, join).

Only this module and the subcommand modules it calls read argv, stdin and the
environment; everything below them takes frozen configuration.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from protocol.version import SOFTWARE_VERSION


def default_data_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/screenrelay``, else ``~/.local/share/screenrelay``."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "screenrelay"


def read_secret(prompt: str, *, from_stdin: bool, confirm: bool = False) -> str:
    """A password from one line of stdin, or typed at a prompt without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise SystemExit("screenrelay: expected a password on standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != first:
        raise SystemExit("screenrelay: the two passwords differ")
    return first


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_tls_name(text: str) -> str:
    from relay.tls import parse_name

    try:
        return parse_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from host_app import cli as host_cli
    from relay import admin_cli
    from viewer_app import cli as viewer_cli

    parser = argparse.ArgumentParser(
        prog="screenrelay",
        description=(
            "Self-hosted screen sharing with consent; the relay cannot read what it forwards."
        ),
    )
    parser.add_argument("--version", action="version", version=f"screenrelay {SOFTWARE_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    relay = sub.add_parser("relay", help="run a relay")
    relay.add_argument("--data", type=Path, default=None, help="data directory (SQLite store)")
    relay.add_argument(
        "--listen",
        type=parse_listen,
        default=("127.0.0.1", 8080),
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:8080)",
    )
    relay.add_argument("--tls-cert", type=Path, help="PEM certificate chain for HTTPS")
    relay.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    relay.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a certificate issued by a local CA that the relay makes on "
        "first use and keeps in DATA/tls (both SHA-256 fingerprints are logged at start; "
        "clients pass --cafile DATA/tls/ca.pem or --tls-fingerprint, browsers import "
        "DATA/tls/ca.pem)",
    )
    relay.add_argument(
        "--tls-name",
        action="append",
        default=[],
        type=parse_tls_name,
        metavar="NAME",
        help="with --tls-self-signed: a DNS name or IP address clients use to reach the relay "
        "(repeatable; the listen host, localhost, 127.0.0.1, ::1 and this machine's "
        "hostname are always covered)",
    )
    relay.add_argument(
        "--min-client-version",
        default=SOFTWARE_VERSION,
        help="oldest client version allowed (default: this version)",
    )
    relay.set_defaults(run=_run_relay)

    admin_cli.add_parser(sub)
    host_cli.add_parser(sub)
    viewer_cli.add_parser(sub)
    return parser


def _run_relay(args: argparse.Namespace) -> int:
    from relay.config import RelayConfig
    from relay.server import run

    if (args.tls_cert is None) != (args.tls_key is None):
        raise SystemExit("screenrelay: --tls-cert and --tls-key go together")
    if args.tls_self_signed and args.tls_cert is not None:
        raise SystemExit(
            "screenrelay: --tls-self-signed and --tls-cert/--tls-key exclude each other: "
            "the relay either makes its own certificate or serves the one given"
        )
    if args.tls_name and not args.tls_self_signed:
        raise SystemExit(
            "screenrelay: --tls-name goes with --tls-self-signed "
            "(a given certificate already names its hosts)"
        )
    host, port = args.listen
    run(
        RelayConfig(
            data_dir=args.data or default_data_dir(),
            host=host,
            port=port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_self_signed=args.tls_self_signed,
            tls_names=tuple(args.tls_name),
            min_client_version=args.min_client_version,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.run(args))
