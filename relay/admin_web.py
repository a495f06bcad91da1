"""The admin console: web pages on the relay for accounts with the admin role.

Routes (all under ``/admin``; pages in relay/admin_pages.py):
  GET  /admin                      sign-in form (signed in: to /admin/sessions)
  POST /admin/sign-in              name + password -> session cookie
  GET  /admin/static/{name}        the console's style sheet (``ASSETS`` only)
  POST /admin/sign-out
  GET  /admin/sessions             live sessions: members, roles, join times
  POST /admin/sessions/end         session_id -> everyone is told it ended
  GET  /admin/accounts             accounts with role and state
  POST /admin/accounts/add         name, role, email, groups, password (empty: generated)
  POST /admin/accounts/groups      name, groups ("a,b"; empty: none)
  POST /admin/accounts/disable     name
  POST /admin/accounts/enable      name
  POST /admin/accounts/reset-password  name -> a new password, shown once
  GET  /admin/policy               the policy document in a form
  POST /admin/policy               document, revision -> validated, stored, in force
  GET  /admin/audit                verify result, filters, a page of rows
  GET  /admin/audit/export         the filtered rows as JSON lines or CSV
  GET  /admin/api/...              the admin API (relay/admin_api.py): bearer
                                   token only, never this cookie

Rules:
  1. Every route but the first three (``PUBLIC_ROUTES``) answers 403 unless
     the request carries the cookie of a live console session
     (relay/admin_sessions.py) whose account is, at this request, an enabled
     admin. Organizers cannot sign in here at all. (The admin API's routes,
     ``/admin/api/...``, read no cookie: they answer 403 without the bearer
     token, see relay/admin_api.py.)
  2. Sign-in gives one answer for a wrong name, a wrong password, a disabled
     account and a non-admin account, and goes through the relay's sign-in
     throttle (relay/accounts.py), shared with ``screenrelay host``.
  3. The cookie is HttpOnly, SameSite=Strict, Path=/admin, and Secure over
     TLS and on loopback (where browsers keep Secure cookies over http).
  4. Every POST must carry the session's CSRF token in the ``csrf`` field,
     and an Origin header, if present, must be the relay's own origin; else
     403 and nothing changes. Sign-in checks the Origin too.
  5. Every change is audited with the admin as actor and ``via:
     admin_console`` in the detail, in the same worker-thread call as the
     change, so the audit row never goes missing.
  6. Forms are read by :func:`read_form`: url-encoded only, at most
     ``MAX_FORM_BYTES``.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from relay import admin_api, admin_pages, audit_export
from relay.accounts import (
    check_password_strength,
    generate_password,
    hash_password,
    parse_groups,
)
from relay.admin_sessions import ABSOLUTE_TIMEOUT, AdminSession, AdminSessions, csrf_matches
from relay.context import RelayContext
from relay.policy import Policy, PolicyError, changed_keys, parse_policy
from relay.store import ROLES, AccountExists, AuditEvent, DetailValue, UnknownAccount

log = logging.getLogger("screenrelay.admin")

#: The console's session cookie.
COOKIE: Final = "screenrelay_admin"

#: Largest form body read: a policy document with long allowlists fits.
MAX_FORM_BYTES: Final = 256 * 1024

#: Most fields in one form (ours have at most six).
MAX_FORM_FIELDS: Final = 32

#: Audit rows per page.
AUDIT_PAGE_ROWS: Final = 100

#: (method, path) of the routes anyone may use: sign-in and its style sheet.
PUBLIC_ROUTES: Final = frozenset(
    {("GET", "/admin"), ("POST", "/admin/sign-in"), ("GET", "/admin/static/{name}")}
)

#: URL name -> (file under relay/admin_static, media type). Nothing else is served.
STATIC_DIR: Final = Path(__file__).resolve().parent / "admin_static"
ASSETS: Final = {"admin.css": ("admin.css", "text/css; charset=utf-8")}

#: Host names whose http:// origin browsers treat as secure (rule 3).
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

#: The sentence for every failed sign-in (rule 2), as ``screenrelay host`` says it.
WRONG: Final = "Wrong user name or password."

VIA: Final = "admin_console"

_T = TypeVar("_T")

Page = Callable[[Request, AdminSession], Awaitable[Response]]
Action = Callable[[Request, AdminSession, dict[str, str]], Awaitable[Response]]


async def read_form(request: Request) -> dict[str, str] | None:
    """The url-encoded form in the body (first value of each field); None if
    the body is not one, or is too large."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def same_origin(request: Request) -> bool:
    """False when the request names an Origin other than the relay's own (rule 4)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or (request.url.hostname or "") in LOOPBACK_HOSTS


def _forget_cookie(request: Request, response: Response) -> None:
    """Tell the browser to drop the cookie (with the attributes it was set with)."""
    response.delete_cookie(
        COOKIE, path="/admin", secure=_secure(request), httponly=True, samesite="strict"
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


class Console:
    """The admin console of one relay: its sessions and its routes."""

    def __init__(self, ctx: RelayContext, sessions: AdminSessions | None = None) -> None:
        self.ctx = ctx
        self.sessions = sessions or AdminSessions()

    def routes(self) -> list[Route]:
        get, post = self._page, self._action
        return [
            Route("/admin", self.home, methods=["GET"]),
            Route("/admin/sign-in", self.sign_in, methods=["POST"]),
            Route("/admin/static/{name}", self.asset, methods=["GET"]),
            Route("/admin/sign-out", post(self.sign_out), methods=["POST"]),
            Route("/admin/sessions", get(self.live_sessions), methods=["GET"]),
            Route("/admin/sessions/end", post(self.end_session), methods=["POST"]),
            Route("/admin/accounts", get(self.accounts), methods=["GET"]),
            Route("/admin/accounts/add", post(self.add_account), methods=["POST"]),
            Route("/admin/accounts/groups", post(self.set_groups), methods=["POST"]),
            Route("/admin/accounts/disable", post(self.disable), methods=["POST"]),
            Route("/admin/accounts/enable", post(self.enable), methods=["POST"]),
            Route("/admin/accounts/reset-password", post(self.reset_password), methods=["POST"]),
            Route("/admin/policy", get(self.policy), methods=["GET"]),
            Route("/admin/policy", post(self.save_policy), methods=["POST"]),
            Route("/admin/audit", get(self.audit), methods=["GET"]),
            Route("/admin/audit/export", get(self.export), methods=["GET"]),
        ]

    # -- the gate (rules 1 and 4) -------------------------------------------

    async def _db(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        call = functools.partial(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self.ctx.db_limiter)

    async def _signed_in(self, request: Request) -> AdminSession | None:
        session = self.sessions.get(request.cookies.get(COOKIE), time.time())
        if session is None:
            return None
        account = await self._db(self.ctx.store.get_account, session.account)
        if account is None or account.disabled or account.role != "admin":
            self.sessions.close_account(session.account)
            return None
        return session

    def _forbidden(self, request: Request) -> Response:
        response = _html(admin_pages.forbidden_page(), 403)
        if COOKIE in request.cookies:
            _forget_cookie(request, response)
        return response

    def _page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await self._signed_in(request)
            if session is None:
                return self._forbidden(request)
            return await handler(request, session)

        return endpoint

    def _action(self, handler: Action) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await self._signed_in(request)
            if session is None or not same_origin(request):
                return self._forbidden(request)
            form = await read_form(request)
            if form is None or not csrf_matches(session, form.get("csrf")):
                return self._forbidden(request)
            return await handler(request, session, form)

        return endpoint

    def _audit(
        self,
        action: str,
        session: AdminSession | None,
        request: Request,
        *,
        actor: str | None = None,
        session_id: int | None = None,
        **detail: DetailValue,
    ) -> int:
        """Append one audit row now (call it in the worker thread, rule 5)."""
        return self.ctx.store.append_audit(
            AuditEvent(
                at=time.time(),
                actor=actor if session is None else session.account,
                address=_address(request),
                action=action,
                session_id=session_id,
                detail={**detail, "via": VIA},
            )
        )

    # -- sign-in (rule 2) ---------------------------------------------------

    async def home(self, request: Request) -> Response:
        if await self._signed_in(request) is not None:
            return RedirectResponse("/admin/sessions", status_code=303)
        return _html(admin_pages.sign_in_page())

    async def asset(self, request: Request) -> Response:
        entry = ASSETS.get(request.path_params["name"])
        if entry is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        path, media_type = entry
        return Response((STATIC_DIR / path).read_bytes(), media_type=media_type)

    async def sign_in(self, request: Request) -> Response:
        if not same_origin(request):
            return self._forbidden(request)
        form = await read_form(request) or {}
        name, password = form.get("name", ""), form.get("password", "")
        address, now = _address(request), time.time()
        throttle = self.ctx.throttle
        wait = throttle.check(name, address, now)
        if wait > 0:
            await self._db(self._audit, "sign_in_refused", None, request, actor=name,
                           reason="throttled")  # fmt: skip
            text = f"Too many failed sign-ins; try again in {int(wait) + 1} s."
            return _html(admin_pages.sign_in_page(text, name), 429)
        account = await self.ctx.verify_account(name, password)
        if account is None or account.role != "admin":
            throttle.failed(name, address, now)
            await self._db(self._audit, "sign_in_failed", None, request, actor=name)
            return _html(admin_pages.sign_in_page(WRONG, name), 403)
        throttle.succeeded(name, address)
        self.sessions.close(request.cookies.get(COOKIE))  # never keep a session id across
        cookie, session = self.sessions.open(account.name, now)
        await self._db(self._audit, "signed_in", session, request)
        response = RedirectResponse("/admin/sessions", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(ABSOLUTE_TIMEOUT),
            path="/admin",
            secure=_secure(request),
            httponly=True,
            samesite="strict",
        )
        return response

    async def sign_out(self, request: Request, session: AdminSession, _form: Any) -> Response:
        self.sessions.close(request.cookies.get(COOKIE))
        await self._db(self._audit, "signed_out", session, request)
        response = RedirectResponse("/admin", status_code=303)
        _forget_cookie(request, response)
        return response

    # -- live sessions ------------------------------------------------------

    async def live_sessions(self, _request: Request, session: AdminSession) -> Response:
        views = admin_pages.live_sessions(self.ctx.directory)
        return _html(admin_pages.sessions_page(session, views, None))

    async def end_session(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        text = form.get("session_id", "")
        live = self.ctx.directory.sessions.get(int(text)) if text.isdigit() else None
        if live is None:
            message = "There is no live session with that ID; it may have ended already."
            page = admin_pages.message_page("No such session", message, session, "/admin/sessions")
            return _html(page, 404)
        self.ctx.directory.end_session(
            live, time.time(), reason="ended by an administrator",
            text="An administrator of this relay ended the session.",
        )  # fmt: skip
        await self._db(self._audit, "session_ended_by_admin", session, request,
                       session_id=live.session_id, organizer=live.organizer_name)  # fmt: skip
        notice = f"Ended session {admin_pages.session_label(live.session_id)}; everyone was told."
        views = admin_pages.live_sessions(self.ctx.directory)
        return _html(admin_pages.sessions_page(session, views, notice))

    # -- accounts -----------------------------------------------------------

    async def accounts(self, _request: Request, session: AdminSession) -> Response:
        accounts = await self._db(self.ctx.store.list_accounts)
        return _html(admin_pages.accounts_page(session, accounts))

    async def _accounts(self, session: AdminSession, status: int = 200, **kw: Any) -> Response:
        accounts = await self._db(self.ctx.store.list_accounts)
        return _html(admin_pages.accounts_page(session, accounts, **kw), status)

    async def add_account(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        name, role = form.get("name", "").strip(), form.get("role", "")
        email = form.get("email", "").strip() or None
        password = form.get("password", "")
        problem = None
        groups: tuple[str, ...] = ()
        try:
            groups = parse_groups(form.get("groups", ""))
        except ValueError as exc:
            problem = str(exc)
        if not name or len(name) > 64 or not name.isprintable():
            problem = "The user name must be 1 to 64 printable characters."
        elif role not in ROLES:
            problem = f"The role must be one of {', '.join(sorted(ROLES))}."
        elif password and problem is None:
            problem = check_password_strength(password, name)
        if problem is not None:
            return await self._accounts(session, 400, error=problem, form=form)
        generated = not password
        if generated:
            password = generate_password()

        def add() -> None:
            password_hash = hash_password(password)
            self.ctx.store.add_account(name, role, password_hash, time.time(), email, groups)  # type: ignore[arg-type]
            self._audit("account_added", session, request, account=name, role=role,
                        groups=",".join(groups))  # fmt: skip

        try:
            await self._db(add)
        except AccountExists as exc:
            return await self._accounts(session, 409, error=f"{str(exc).capitalize()}.", form=form)
        shown = (name, password) if generated else None
        return await self._accounts(
            session, notice=f"Created {role} account {name}.", new_password=shown
        )

    async def set_groups(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        name = form.get("name", "")
        try:
            groups = parse_groups(form.get("groups", ""))
        except ValueError as exc:
            return await self._accounts(session, 400, error=str(exc))

        def change() -> None:
            self.ctx.store.set_groups(name, groups)
            self._audit("account_groups_changed", session, request, account=name,
                        groups=",".join(groups))  # fmt: skip

        try:
            await self._db(change)
        except UnknownAccount as exc:
            return await self._accounts(session, 404, error=f"{str(exc).capitalize()}.")
        shown = ", ".join(groups) if groups else "no groups"
        return await self._accounts(
            session, notice=f"{name} is now in {shown}; it applies at its next sign-in."
        )

    async def disable(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        name = form.get("name", "")
        if name.casefold() == session.account.casefold():
            return await self._accounts(
                session, 400, error="You cannot disable the account you are signed in with."
            )
        return await self._set_disabled(request, session, name, disabled=True)

    async def enable(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        return await self._set_disabled(request, session, form.get("name", ""), disabled=False)

    async def _set_disabled(
        self, request: Request, session: AdminSession, name: str, *, disabled: bool
    ) -> Response:
        def change() -> None:
            self.ctx.store.set_disabled(name, disabled)
            action = "account_disabled" if disabled else "account_enabled"
            self._audit(action, session, request, account=name)

        try:
            await self._db(change)
        except UnknownAccount as exc:
            return await self._accounts(session, 404, error=f"{str(exc).capitalize()}.")
        if disabled:
            self.sessions.close_account(name)
            notice = f"Disabled {name}: it can no longer sign in (a session it runs goes on)."
        else:
            notice = f"Enabled {name}: it can sign in again."
        return await self._accounts(session, notice=notice)

    async def reset_password(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        name = form.get("name", "")
        password = generate_password()

        def reset() -> None:
            self.ctx.store.set_password_hash(name, hash_password(password))
            self._audit("password_reset", session, request, account=name, generated=True)

        try:
            await self._db(reset)
        except UnknownAccount as exc:
            return await self._accounts(session, 404, error=f"{str(exc).capitalize()}.")
        return await self._accounts(
            session, notice=f"Changed the password of {name}.", new_password=(name, password)
        )

    # -- policy -------------------------------------------------------------

    async def policy(self, _request: Request, session: AdminSession) -> Response:
        row = await self._db(self.ctx.store.current_policy)
        if row is None:
            return _html(admin_pages.policy_page(session, _text(Policy()), 0))
        changed = f", saved by {row.changed_by} at {audit_export.iso_time(row.changed_at)[:19]}"
        try:
            text = _text(parse_policy(row.document))
        except PolicyError as exc:  # stored by an older version, or by hand
            error = f"The stored policy is not valid: {exc}"
            page = admin_pages.policy_page(
                session, row.document, row.revision, changed=changed, error=error
            )
            return _html(page)
        return _html(admin_pages.policy_page(session, text, row.revision, changed=changed))

    async def save_policy(
        self, request: Request, session: AdminSession, form: dict[str, str]
    ) -> Response:
        text, seen = form.get("document", ""), form.get("revision", "")
        try:
            policy = parse_policy(text)
        except PolicyError as exc:
            page = admin_pages.policy_page(session, text, int(seen) if seen.isdigit() else 0,
                                           error=str(exc))  # fmt: skip
            return _html(page, 400)
        document = json.dumps(policy.to_document(), sort_keys=True)  # as the CLI stores it

        def store() -> tuple[int, list[str]] | int:
            row = self.ctx.store.current_policy()
            current = row.revision if row is not None else 0
            if str(current) != seen:
                return current
            try:
                old = parse_policy(row.document) if row is not None else Policy()
            except PolicyError:
                old = Policy()
            changed = changed_keys(old, policy)
            revision = self.ctx.store.store_policy(document, session.account, time.time())
            self._audit("policy_changed", session, request, revision=revision,
                        changed=",".join(changed) or "(nothing)", reset=False)  # fmt: skip
            return revision, changed

        outcome = await self._db(store)
        if isinstance(outcome, int):
            error = (
                f"Someone saved revision {outcome} after you opened this page; nothing was"
                " saved. Open the Policy page again to see it, then make your change."
            )
            return _html(admin_pages.policy_page(session, text, outcome, error=error), 409)
        revision, changed = outcome
        await self.ctx.refresh_policy(time.time())
        summary = ", ".join(changed) if changed else "nothing changed"
        notice = f"Saved revision {revision} ({summary}); it is in force now."
        changed_by = f", saved by {session.account}"
        page = admin_pages.policy_page(
            session, _text(policy), revision, changed=changed_by, notice=notice
        )
        return _html(page)

    # -- audit --------------------------------------------------------------

    async def audit(self, request: Request, session: AdminSession) -> Response:
        filters, where, errors = _audit_filter(request)
        after_text = request.query_params.get("after", "0")
        after = int(after_text) if after_text.isdigit() else 0

        def read() -> tuple[Any, Any, list[Any]]:
            store = self.ctx.store
            rows = []
            if where is not None:
                for row in store.audit_rows(after_id=after, session_id=where.session_id):
                    if where.matches(row):
                        rows.append(row)
                        if len(rows) > AUDIT_PAGE_ROWS:
                            break
            return store.verify_audit(), store.audit_head(), rows

        verification, head, rows = await self._db(read)
        more = len(rows) > AUDIT_PAGE_ROWS
        rows = rows[:AUDIT_PAGE_ROWS]
        page = admin_pages.audit_page(
            session,
            verification=verification,
            head=head,
            filters=filters,
            errors=errors,
            rows=rows,
            next_after=rows[-1].id if more else None,
        )
        return _html(page, 400 if errors else 200)

    async def export(self, request: Request, _session: AdminSession) -> Response:
        _filters, where, errors = _audit_filter(request)
        fmt = request.query_params.get("format")
        if where is None or (fmt != "jsonl" and fmt != "csv"):
            problems = [*errors.values()] or ["format must be jsonl or csv"]
            return Response("; ".join(problems), status_code=400, media_type="text/plain")
        chosen: audit_export.Format = "jsonl" if fmt == "jsonl" else "csv"

        def write() -> str:
            out = io.StringIO(newline="")
            audit_export.write(audit_export.select(self.ctx.store, where), out, chosen)
            return out.getvalue()

        body = await self._db(write)
        media = "application/x-ndjson" if chosen == "jsonl" else "text/csv"
        return Response(
            body,
            media_type=f"{media}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit.{chosen}"'},
        )


def _text(policy: Policy) -> str:
    return admin_pages.policy_text(policy.to_document())


def _audit_filter(
    request: Request,
) -> tuple[dict[str, str], audit_export.AuditFilter | None, dict[str, str]]:
    """The filter fields as typed, the filter (None on an error) and the errors by field."""
    params = request.query_params
    filters = {name: params.get(name, "").strip() for name, _ in admin_pages.AUDIT_FILTERS}
    errors: dict[str, str] = {}
    times: dict[str, float | None] = {}
    for name in ("since", "until"):
        try:
            times[name] = audit_export.parse_time(filters[name]) if filters[name] else None
        except ValueError as exc:
            errors[name] = str(exc)
    session_text = filters["session"].replace(" ", "")
    if session_text and not session_text.isdigit():
        errors["session"] = "A session ID is 9 digits."
    if errors:
        return filters, None, errors
    since, until = times["since"], times["until"]
    if since is not None and until is not None and since >= until:
        return filters, None, {"until": "Until must be after since."}
    where = audit_export.AuditFilter(
        since=since,
        until=until,
        session_id=int(session_text) if session_text else None,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
    )
    return filters, where, errors


def routes(ctx: RelayContext) -> list[Route]:
    """The console's routes for ``ctx``'s relay, and the admin API's
    (relay/admin_api.py; relay/app.py mounts them)."""
    return [*admin_api.routes(ctx), *Console(ctx).routes()]
