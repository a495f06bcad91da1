"""``screenrelay admin session``: the running relay's live sessions, over HTTP(S).

Commands (the console's Live sessions page, from the command line):
  session list --relay URL [--json]   every live session: ID, organizer, start,
                                      and each member's id, role, join time, address
  session end ID --relay URL          end it for everyone (they are told an
                                      administrator ended it)

Both take ``--cafile F`` or ``--tls-fingerprint SHA256`` for an https:// relay
(as ``screenrelay host`` does). Rules: the relay must run with the same data
directory as ``--data``: the commands show it the token in ``DATA/admin-token``
(relay/admin_api.py), which the relay wrote on its first start. Listing writes
nothing; ending is audited by the relay (``session_ended_by_admin``, actor
``cli``, ``via: admin_api``).
"""

from __future__ import annotations

import argparse
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final

from relay import admin_api
from relay.admin_common import BAD_INPUT, OK, fail

#: Seconds to wait for the relay's answer.
TIMEOUT: Final = 15.0


class _Refused(Exception):
    """The relay answered with an error, or could not be reached: a sentence."""


def add_parser(admin_sub: Any) -> None:
    session = admin_sub.add_parser(
        "session", help="list or end the running relay's live sessions (over HTTP)"
    ).add_subparsers(dest="session_command", required=True)
    listing = session.add_parser("list", help="live sessions: ID, organizer, members")
    _relay_options(listing)
    listing.add_argument("--json", action="store_true", help="print the relay's JSON answer")
    listing.set_defaults(run=_list)
    end = session.add_parser("end", help="end a live session for everyone")
    end.add_argument("session_id", metavar="ID", help="the 9-digit session ID")
    _relay_options(end)
    end.set_defaults(run=_end)


def _relay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relay", required=True, metavar="URL", help="http(s)://host:port")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--cafile", help="CA certificate(s) to trust for an https relay")
    trust.add_argument(
        "--tls-fingerprint", metavar="SHA256", help="trust exactly this server certificate"
    )


def _list(args: argparse.Namespace) -> int:
    try:
        document = _call(args, "GET", "/sessions")
    except _Refused as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(document, indent=2))
        return OK
    sessions = document.get("sessions", [])
    if not sessions:
        print("No session is running.")
    for view in sessions:
        members = view["members"]
        print(
            f"{view['session_id']:09d}\torganizer {view['organizer']}\t"
            f"started {_time(view['started_at'])}\t{len(members)} connected"
        )
        for member in members:
            print(
                f"  member {member['member_id']}\t{member['role']}\t"
                f"joined {_time(member['joined_at'])}\t{member['address']}"
            )
    return OK


def _end(args: argparse.Namespace) -> int:
    digits = args.session_id.replace(" ", "")
    if not digits.isdigit() or len(digits) != 9:
        return fail(f"{args.session_id!r} is not a 9-digit session ID", BAD_INPUT)
    try:
        answer = _call(args, "POST", f"/sessions/{digits}/end")
    except _Refused as exc:
        return fail(str(exc))
    print(f"Ended session {answer['ended']:09d}; everyone was told.")
    return OK


def _call(args: argparse.Namespace, method: str, path: str) -> dict[str, Any]:
    """One request to the relay's admin API with the data directory's token."""
    token = _token(args)
    url = args.relay.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise _Refused(f"{args.relay!r} is not a relay address; expected http(s)://host:port")
    context: ssl.SSLContext | None = None
    if url.startswith("https://"):
        from viewer_app.transport import tls_context

        try:
            context = tls_context(args.cafile, args.tls_fingerprint)
        except (OSError, ValueError) as exc:
            raise _Refused(f"cannot use the TLS settings: {exc}") from exc
    elif args.tls_fingerprint is not None or args.cafile is not None:
        raise _Refused(f"--cafile and --tls-fingerprint need an https:// relay, not {url}")
    request = urllib.request.Request(  # noqa: S310 (http(s) checked above)
        f"{url}{admin_api.PREFIX}{path}",
        method=method,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        data=b"" if method == "POST" else None,
    )
    try:
        opened = urllib.request.urlopen(request, timeout=TIMEOUT, context=context)  # noqa: S310
        with opened as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise _Refused(_refusal(exc)) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _Refused(f"cannot reach the relay at {url}: {reason}") from exc


def _token(args: argparse.Namespace) -> str:
    from relay.cli import default_data_dir

    data: Path = args.data or default_data_dir()
    path = data / admin_api.TOKEN_FILE
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(
            f"cannot read the admin token {path} ({exc.__class__.__name__}); the relay writes it"
            " when it starts: give --data the relay's data directory"
        ) from exc
    if not token:
        raise _Refused(f"{path} is empty; delete it and restart the relay to have one made")
    return token


def _refusal(error: urllib.error.HTTPError) -> str:
    try:
        text = str(json.loads(error.read()).get("error", ""))
    except (ValueError, AttributeError, OSError):
        text = ""
    if error.code == 403:
        return (
            "the relay refused the admin token (is --data the data directory of the relay at"
            " this address?)"
        )
    return text or f"the relay answered {error.code} {error.reason}"


def _time(at: float) -> str:
    from relay.audit_export import iso_time

    return iso_time(at).replace("T", " ")[:19] + " UTC"
