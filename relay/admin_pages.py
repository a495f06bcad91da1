"""The admin console's HTML: one function per page, server-rendered, no script.

Every value from outside (account names, addresses, audit details, policy
text) goes through ``html.escape`` (:func:`_e`) and nothing else reaches the
page unescaped. Forms work without JavaScript; every POST form carries the
session's CSRF token (:func:`_csrf`). Style comes from ``/admin/static/admin.css``
only: the relay's Content-Security-Policy allows no inline script or style.

The pages set ``<meta name="referrer" content="same-origin">``: the relay's
``Referrer-Policy: no-referrer`` would make browsers send ``Origin: null`` with
the console's form posts, and the console checks that Origin is its own.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from relay.admin_sessions import AdminSession
from relay.audit_export import iso_time
from relay.sessions import Directory, JoinState
from relay.store import Account, AuditHead, AuditRow, AuditVerification, canonical_json

#: Navigation: path -> label, in order.
NAV = (
    ("/admin/sessions", "Live sessions"),
    ("/admin/accounts", "Accounts"),
    ("/admin/policy", "Policy"),
    ("/admin/audit", "Audit"),
)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _csrf(session: AdminSession) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(session.csrf)}">'


def _time(at: float) -> str:
    return _e(iso_time(at).replace("T", " ")[:19] + " UTC")


def session_label(session_id: int) -> str:
    """``123 456 789``, as clients show session IDs."""
    text = f"{session_id:09d}"
    return f"{text[:3]} {text[3:6]} {text[6:]}"


def page(title: str, body: str, session: AdminSession | None = None, current: str = "") -> str:
    """The whole document around ``body`` (already HTML)."""
    nav = ""
    if session is not None:
        links = "".join(
            f'<a href="{path}"{" aria-current=page" if path == current else ""}>{label}</a>'
            for path, label in NAV
        )
        nav = (
            f'<nav>{links}<span class="who">Signed in as <b id="admin-name">'
            f"{_e(session.account)}</b></span>"
            f'<form method="post" action="/admin/sign-out" class="inline">{_csrf(session)}'
            '<button type="submit" id="sign-out">Sign out</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="referrer" content="same-origin">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · screenrelay admin</title>"
        '<link rel="stylesheet" href="/admin/static/admin.css"></head>'
        f"<body><header><h1>screenrelay admin</h1>{nav}</header>"
        f"<main><h2>{_e(title)}</h2>{body}</main></body></html>"
    )


def _notice(text: str | None) -> str:
    return f'<p class="notice" id="notice" role="status">{_e(text)}</p>' if text else ""


def _error(text: str | None, ident: str = "error") -> str:
    return f'<p class="error" id="{ident}" role="alert">{_e(text)}</p>' if text else ""


# -- sign-in ------------------------------------------------------------------


def sign_in_page(error: str | None = None, name: str = "") -> str:
    body = (
        f"{_error(error)}"
        '<form method="post" action="/admin/sign-in" class="stack" id="sign-in">'
        '<label>User name <input name="name" autocomplete="username" required '
        f'value="{_e(name)}"></label>'
        '<label>Password <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        '<button type="submit">Sign in</button></form>'
        '<p class="hint">Only administrator accounts sign in here. Organizers start sessions'
        " with <code>screenrelay host</code>.</p>"
    )
    return page("Sign in", body)


def forbidden_page() -> str:
    body = (
        "<p>This page is for signed-in administrators. Your session may have ended "
        '(30 minutes without a request, or 12 hours after signing in).</p><p><a href="/admin">'
        "Sign in</a></p>"
    )
    return page("Forbidden", body)


def message_page(title: str, text: str, session: AdminSession | None, back: str) -> str:
    return page(title, f'<p>{_e(text)}</p><p><a href="{_e(back)}">Back</a></p>', session)


# -- live sessions ------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class MemberView:
    member_id: int
    #: "organizer", "presenter", "participant" or "joining".
    role: str
    joined_at: float
    address: str


@dataclasses.dataclass(frozen=True, slots=True)
class SessionView:
    """Metadata of one live session: who and when, never content."""

    session_id: int
    organizer: str
    started_at: float
    members: tuple[MemberView, ...]


def live_sessions(directory: Directory) -> list[SessionView]:
    """A snapshot of the directory's sessions, oldest first."""
    views = []
    for live in directory.sessions.values():
        presenter = live.presenter_id
        organizer_role = "organizer, presenter" if presenter == 1 else "organizer"
        members = [MemberView(1, organizer_role, live.started_at, live.organizer.address)]
        for member in sorted(live.members.values(), key=lambda m: m.member_id):
            if member.state is not JoinState.ADMITTED:
                role = "joining"
            elif member.member_id == presenter:
                role = "presenter"
            else:
                role = "participant"
            members.append(
                MemberView(member.member_id, role, member.joined_at, member.peer.address)
            )
        views.append(SessionView(live.session_id, live.organizer_name, live.started_at,
                                 tuple(members)))  # fmt: skip
    return sorted(views, key=lambda v: v.started_at)


def sessions_page(session: AdminSession, views: list[SessionView], notice: str | None) -> str:
    if not views:
        body = '<p id="no-sessions">No session is running.</p>'
    else:
        parts = []
        for view in views:
            rows = "".join(
                f"<tr><td>{m.member_id}</td><td>{_e(m.role)}</td><td>{_time(m.joined_at)}</td>"
                f"<td>{_e(m.address)}</td></tr>"
                for m in view.members
            )
            parts.append(
                f'<section class="live" data-session="{view.session_id}">'
                f"<h3>Session {session_label(view.session_id)}</h3>"
                f"<p>Organizer <b>{_e(view.organizer)}</b>, started {_time(view.started_at)}, "
                f"{len(view.members)} connected.</p>"
                "<table><thead><tr><th>Member</th><th>Role</th><th>Joined</th>"
                f"<th>Address</th></tr></thead><tbody>{rows}</tbody></table>"
                '<form method="post" action="/admin/sessions/end">'
                f'{_csrf(session)}<input type="hidden" name="session_id" '
                f'value="{view.session_id}"><button type="submit" class="danger">'
                "End session</button></form></section>"
            )
        body = "".join(parts)
    hint = (
        '<p class="hint">Metadata only: the relay cannot see what is shared. Ending a session'
        " tells every client at once.</p>"
    )
    return page("Live sessions", _notice(notice) + hint + body, session, "/admin/sessions")


# -- accounts -----------------------------------------------------------------


def accounts_page(
    session: AdminSession,
    accounts: Iterable[Account],
    *,
    notice: str | None = None,
    error: str | None = None,
    new_password: tuple[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> str:
    shown = ""
    if new_password is not None:
        name, password = new_password
        shown = (
            f'<div class="secret" role="status"><p>New password for <b>{_e(name)}</b>, shown '
            f'this once:</p><p><code id="new-password">{_e(password)}</code></p></div>'
        )
    rows = []
    for account in accounts:
        state = "disabled" if account.disabled else "enabled"
        toggle = "enable" if account.disabled else "disable"
        rows.append(
            f'<tr data-account="{_e(account.name)}"><td>{_e(account.name)}</td>'
            f"<td>{_e(account.role)}</td><td>{_e(account.email)}</td>"
            f'<td class="state">{state}</td><td>{_time(account.created_at)}</td>'
            '<td><form method="post" action="/admin/accounts/groups" class="inline groups">'
            f'{_csrf(session)}<input type="hidden" name="name" value="{_e(account.name)}">'
            f'<input name="groups" value="{_e(",".join(account.groups))}" '
            f'aria-label="Groups of {_e(account.name)} (comma-separated)">'
            '<button type="submit">Set groups</button></form></td><td>'
            f'<form method="post" action="/admin/accounts/{toggle}" class="inline">'
            f'{_csrf(session)}<input type="hidden" name="name" value="{_e(account.name)}">'
            f'<button type="submit">{toggle.capitalize()}</button></form> '
            '<form method="post" action="/admin/accounts/reset-password" class="inline">'
            f'{_csrf(session)}<input type="hidden" name="name" value="{_e(account.name)}">'
            '<button type="submit">Reset password</button></form></td></tr>'
        )
    form = form or {}
    role = form.get("role", "organizer")
    options = "".join(
        f'<option value="{r}"{" selected" if r == role else ""}>{r}</option>'
        for r in ("organizer", "admin", "member")
    )
    add = (
        '<h3>Add an account</h3><form method="post" action="/admin/accounts/add" '
        f'class="stack" id="add-account">{_csrf(session)}'
        f'<label>User name <input name="name" required value="{_e(form.get("name"))}"></label>'
        f'<label>Role <select name="role">{options}</select></label>'
        f'<label>E-mail (optional) <input name="email" type="email" '
        f'value="{_e(form.get("email"))}"></label>'
        f'<label>Groups (optional, comma-separated) <input name="groups" '
        f'value="{_e(form.get("groups"))}"></label>'
        '<label>Password (leave empty to generate one) <input name="password" '
        'type="password" autocomplete="new-password"></label>'
        '<button type="submit">Add</button></form>'
    )
    table = (
        '<table id="accounts"><thead><tr><th>Name</th><th>Role</th><th>E-mail</th>'
        "<th>State</th><th>Created</th><th>Groups</th><th></th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    body = _notice(notice) + _error(error) + shown + table + add
    return page("Accounts", body, session, "/admin/accounts")


# -- policy -------------------------------------------------------------------


def policy_page(
    session: AdminSession,
    text: str,
    revision: int,
    *,
    changed: str | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> str:
    origin = f"Revision {revision}{changed}" if revision else "No policy stored: the defaults"
    body = (
        f'{_notice(notice)}<p id="policy-revision">{_e(origin)}.</p>'
        '<form method="post" action="/admin/policy" class="stack" id="policy-form">'
        f'{_csrf(session)}<input type="hidden" name="revision" value="{revision}">'
        '<label for="policy-document">Policy document (JSON; every field and default is in'
        " docs/operations.md, Policy)</label>"
        f'<textarea id="policy-document" name="document" rows="30" spellcheck="false"'
        f"{' aria-invalid=true' if error else ''}>{_e(text)}</textarea>"
        f"{_error(error, 'policy-error')}"
        '<button type="submit" id="save-policy">Save</button></form>'
        '<p class="hint">Saved policies apply at once: restrictions also to running sessions,'
        " grants to new ones.</p>"
    )
    return page("Policy", body, session, "/admin/policy")


def policy_text(document: Mapping[str, object]) -> str:
    return json.dumps(document, indent=2)


# -- audit --------------------------------------------------------------------

#: The audit filter fields, in the form's order: name -> label.
AUDIT_FILTERS = (
    ("since", "Since (ISO, UTC unless a zone is given)"),
    ("until", "Until"),
    ("actor", "Actor"),
    ("action", "Action"),
    ("session", "Session ID"),
)


def audit_page(
    session: AdminSession,
    *,
    verification: AuditVerification,
    head: AuditHead | None,
    filters: Mapping[str, str],
    errors: Mapping[str, str],
    rows: list[AuditRow],
    next_after: int | None,
) -> str:
    if verification.ok:
        at = f"{head.id}:{head.hash}" if head is not None else "none (the trail is empty)"
        start = (
            f" after pruned row {verification.starts_after}" if verification.starts_after else ""
        )
        status = (
            f'<div class="verify ok" id="verify"><p><b>Verified: OK.</b> {verification.rows} '
            f'rows checked{start}, no problems.</p><p>Head <code id="audit-head">{_e(at)}</code>'
            "; keep it somewhere else to check later that nothing before it was rewritten.</p>"
            "</div>"
        )
    else:
        problems = "".join(f"<li>{_e(p)}</li>" for p in verification.problems)
        status = (
            f'<div class="verify broken" id="verify"><p><b>Verification FAILED:</b> '
            f"{len(verification.problems)} problem(s) in {verification.rows} rows.</p>"
            f"<ul>{problems}</ul></div>"
        )
    fields = "".join(
        f'<label>{_e(label)} <input name="{name}" value="{_e(filters.get(name))}"'
        f"{' aria-invalid=true' if name in errors else ''}></label>"
        f"{_error(errors.get(name), f'{name}-error')}"
        for name, label in AUDIT_FILTERS
    )
    query = {k: v for k, v in filters.items() if v}
    exports = " ".join(
        f'<a href="/admin/audit/export?{_e(urlencode({**query, "format": fmt}))}" '
        f'id="export-{fmt}" download>{label}</a>'
        for fmt, label in (("jsonl", "Export JSON lines"), ("csv", "Export CSV"))
    )
    table_rows = "".join(
        f"<tr><td>{r.id}</td><td>{_time(r.at)}</td><td>{_e(r.actor)}</td><td>{_e(r.address)}"
        f"</td><td>{_e(r.action)}</td><td>{_e(r.session_id)}</td>"
        f"<td><code>{_e(canonical_json(dict(r.detail)))}</code></td></tr>"
        for r in rows
    )
    more = ""
    if next_after is not None:
        more = (
            f'<p><a id="next-page" href="/admin/audit?'
            f'{_e(urlencode({**query, "after": next_after}))}">Next page</a></p>'
        )
    body = (
        f"{status}"
        f'<form method="get" action="/admin/audit" class="filters" id="audit-filters">'
        f'{fields}<button type="submit">Filter</button></form><p class="exports">{exports}</p>'
        '<table id="audit"><thead><tr><th>ID</th><th>Time</th><th>Actor</th><th>Address</th>'
        "<th>Action</th><th>Session</th><th>Detail</th></tr></thead>"
        f"<tbody>{table_rows}</tbody></table>{more}"
    )
    return page("Audit", body, session, "/admin/audit")
