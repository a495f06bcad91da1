"""The admin console end to end: a real relay process, its real SQLite store,
real ``screenrelay host``/``join`` processes, and headless chromium.

HTTP tests carry the session cookie by hand: it is Secure, and a plain HTTP
client (rightly) keeps Secure cookies off http:// URLs, while chromium
accepts them on loopback, as the last test shows.
"""

from __future__ import annotations

import csv
import html
import http.cookies
import io
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from starlette.routing import Route

from relay.accounts import MAX_FAILURES
from relay.app import build_app
from relay.config import RelayConfig
from relay.context import RelayContext
from relay.database import open_database
from relay.store import SqliteStore
from tests import scenes
from tests.conftest import SCREEN
from tests.procs import ORGANIZER, ORGANIZER_PASSWORD, Processes, Relay
from tests.test_e2e_accounts import sign_in as host_sign_in
from tests.test_e2e_control import wait_until

pytestmark = pytest.mark.e2e

ADMIN = "root"
ADMIN_PASSWORD = "violet harbour 7 lanterns"
COOKIE = "screenrelay_admin"
WRONG = "Wrong user name or password."

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_admin(relay: Relay, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    done = relay.admin("user", "add", name, "--role", "admin", "--password-stdin",
                       stdin_text=password + "\n")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def audit_rows(relay: Relay) -> list[dict[str, Any]]:
    done = relay.admin("audit", "export", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


class Console:
    """One administrator's HTTP client: the cookie and CSRF token by hand."""

    def __init__(self, relay: Relay) -> None:
        self.url = relay.url
        self.cookie: str | None = None
        self.csrf: str | None = None

    def sign_in(self, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> httpx.Response:
        response = httpx.post(
            f"{self.url}/admin/sign-in", data={"name": name, "password": password}
        )
        if response.status_code == 303:
            jar = http.cookies.SimpleCookie(response.headers["set-cookie"])
            self.cookie = jar[COOKIE].value
            self.get("/admin/sessions")  # for the CSRF token
        return response

    def headers(self, cookie: str | None = None) -> dict[str, str]:
        value = cookie if cookie is not None else self.cookie
        return {} if value is None else {"cookie": f"{COOKIE}={value}"}

    def get(self, path: str, **params: str) -> httpx.Response:
        response = httpx.get(f"{self.url}{path}", params=params, headers=self.headers())
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found[1]
        return response

    def post(
        self, path: str, data: dict[str, str], *, csrf: str | None = "", **headers: str
    ) -> httpx.Response:
        """POST with the session's token (``csrf=None``: none; a string: that one)."""
        form = dict(data)
        if csrf == "":
            assert self.csrf is not None
            form["csrf"] = self.csrf
        elif csrf is not None:
            form["csrf"] = csrf
        response = httpx.post(f"{self.url}{path}", data=form, headers={**self.headers(), **headers})
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found[1]
        return response


@pytest.fixture
def console(relay: Relay) -> Console:
    add_admin(relay)
    return Console(relay)


def admin_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path) of every /admin route of the relay's real app, from its router."""
    ctx = RelayContext(RelayConfig(data_dir=tmp_path), SqliteStore(open_database(None)))
    try:
        app = build_app(ctx)
        return [
            (method, route.path)
            for route in app.routes
            if isinstance(route, Route) and route.path.startswith("/admin")
            for method in sorted(route.methods or ())
            if method != "HEAD"
        ]
    finally:
        ctx.audit._send.close()
        ctx.audit._receive.close()


def concrete(path: str) -> str:
    return path.replace("{name}", "admin.css").replace("{session_id}", "123456789")


def is_api(path: str) -> bool:
    """The admin API (relay/admin_api.py): a bearer token only, never the cookie."""
    return path.startswith("/admin/api/")


# -- sign-in, cookie, 403s, CSRF ------------------------------------------------


def test_an_admin_signs_in_and_gets_a_strict_session_cookie(relay: Relay, console: Console) -> None:
    page = httpx.get(f"{relay.url}/admin")
    assert page.status_code == 200 and 'action="/admin/sign-in"' in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "<script" not in page.text and "style=" not in page.text
    css = httpx.get(f"{relay.url}/admin/static/admin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{relay.url}/admin/static/..%2Frelay.sqlite").status_code == 404
    response = console.sign_in()
    assert response.status_code == 303 and response.headers["location"] == "/admin/sessions"
    cookie = http.cookies.SimpleCookie(response.headers["set-cookie"])[COOKIE]
    assert len(cookie.value) >= 43  # 32 random bytes
    assert cookie["httponly"] is True and cookie["secure"] is True  # loopback
    assert cookie["samesite"] == "strict" and cookie["path"] == "/admin"
    assert int(cookie["max-age"]) == 12 * 3600
    home = console.get("/admin/sessions")
    assert home.status_code == 200 and f'<b id="admin-name">{ADMIN}</b>' in home.text
    # Signing out ends the session on the relay: the old cookie is worthless.
    old = console.cookie
    out = console.post("/admin/sign-out", {})
    assert out.status_code == 303 and out.headers["location"] == "/admin"
    assert httpx.get(f"{relay.url}/admin/sessions", headers=console.headers(old)).status_code == 403
    actions = [(r["actor"], r["action"], r["detail"].get("via")) for r in audit_rows(relay)]
    assert actions[-2:] == [(ADMIN, "signed_in", "admin_console"),
                            (ADMIN, "signed_out", "admin_console")]  # fmt: skip


def test_wrong_password_unknown_name_disabled_and_organizer_get_one_answer(
    relay: Relay, console: Console
) -> None:
    add_admin(relay, "root2", "amber quarry 3 whistles")
    assert relay.admin("user", "disable", "root2").returncode == 0
    attempts = [
        (ADMIN, "not the password 1"),
        ("nobody", ADMIN_PASSWORD),
        ("root2", "amber quarry 3 whistles"),  # right password, disabled
        (ORGANIZER, ORGANIZER_PASSWORD),  # right password, not an admin
    ]
    for name, password in attempts:
        response = console.sign_in(name, password)
        assert response.status_code == 403, name
        assert WRONG in response.text and "set-cookie" not in response.headers
    assert console.cookie is None
    failed = [r["actor"] for r in audit_rows(relay) if r["action"] == "sign_in_failed"]
    assert failed == [ADMIN, "nobody", "root2", ORGANIZER]


def test_console_sign_ins_share_the_relays_throttle(relay: Relay, console: Console) -> None:
    for n in range(MAX_FAILURES):
        assert console.sign_in(ADMIN, f"wrong password {n}").status_code == 403
    # The right password is not even tried now, here or in `screenrelay host`.
    throttled = console.sign_in()
    assert throttled.status_code == 429
    assert "Too many failed sign-ins; try again in " in throttled.text
    assert console.cookie is None
    refused = [r for r in audit_rows(relay) if r["action"] == "sign_in_refused"]
    assert [(r["actor"], r["detail"]["reason"]) for r in refused] == [(ADMIN, "throttled")]


def test_every_admin_route_refuses_anyone_but_a_signed_in_admin(
    relay: Relay, console: Console, tmp_path: Path
) -> None:
    routes = admin_routes(tmp_path)
    public = {("GET", "/admin"), ("POST", "/admin/sign-in"), ("GET", "/admin/static/{name}")}
    assert public < set(routes)
    guarded = [r for r in routes if r not in public]
    assert len(guarded) >= 12
    api = [r for r in guarded if is_api(r[1])]
    assert sorted(api) == [("GET", "/admin/api/sessions"),
                           ("POST", "/admin/api/sessions/{session_id}/end")]  # fmt: skip
    # A valid session for an organizer cannot exist (it cannot sign in), so
    # the ways in are: no cookie, a forged one, an ended one.
    console.sign_in()
    ended = console.cookie
    console.post("/admin/sign-out", {})
    console.sign_in()
    for cookie in (None, "forged" + "A" * 40, ended, "x" * 5000):
        for method, path in guarded:
            headers = {} if cookie is None else {"cookie": f"{COOKIE}={cookie}"}
            data = {"csrf": console.csrf or "", "name": ORGANIZER, "session_id": "1"}
            response = httpx.request(
                method, f"{relay.url}{concrete(path)}", headers=headers,
                data=data if method == "POST" else None,
            )  # fmt: skip
            assert response.status_code == 403, (method, path, cookie)
    # With a valid admin session: every POST needs the session's CSRF token
    # and, when an Origin is given, the relay's own.
    other = Console(relay)
    other.sign_in()
    for method, path in guarded:
        if is_api(path):  # the console's own cookie and token open nothing there
            response = httpx.request(method, f"{relay.url}{concrete(path)}",
                                     headers=console.headers())  # fmt: skip
            assert response.status_code == 403, path
            assert "admin-token" in response.json()["error"]
            if method == "POST":
                assert console.post(concrete(path), {}).status_code == 403, path
            continue
        if method != "POST":
            assert console.get(concrete(path)).status_code in (200, 400), path
            continue
        data = {"name": ORGANIZER, "session_id": "1", "document": "{}", "revision": "0"}
        assert console.post(path, data, csrf=None).status_code == 403, path
        assert console.post(path, data, csrf="wrong" * 9).status_code == 403, path
        assert console.post(path, data, csrf=other.csrf).status_code == 403, path
        evil = console.post(path, data, origin="http://evil.example")
        assert evil.status_code == 403, path
    assert console.post("/admin/sign-in", {}, origin="http://evil.example").status_code == 403
    # Nothing was changed by any of them.
    assert "disabled" not in relay.admin("user", "list").stdout
    assert relay.health()["policy_revision"] == 0
    assert console.get("/admin/sessions").status_code == 200  # still signed in


def test_a_disabled_admins_console_session_ends_at_once(relay: Relay, console: Console) -> None:
    add_admin(relay, "root2", "amber quarry 3 whistles")
    second = Console(relay)
    assert second.sign_in("root2", "amber quarry 3 whistles").status_code == 303
    assert relay.admin("user", "disable", "root2").returncode == 0
    assert second.get("/admin/accounts").status_code == 403


# -- accounts -----------------------------------------------------------------


def test_disabling_an_organizer_in_the_console_stops_it_hosting(
    procs: Processes, console: Console
) -> None:
    relay = procs.relay
    assert host_sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["event"] == "session_started"
    console.sign_in()
    page = console.post("/admin/accounts/disable", {"name": ORGANIZER})
    assert page.status_code == 200 and f"Disabled {ORGANIZER}" in page.text
    row = re.search(rf'<tr data-account="{ORGANIZER}">.*?</tr>', page.text)
    assert row is not None and '<td class="state">disabled</td>' in row[0]
    refused = host_sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)
    assert (refused["event"], refused["code"], refused["message"]) == (
        "error", "sign_in_failed", WRONG,
    )  # fmt: skip
    assert console.post("/admin/accounts/enable", {"name": ORGANIZER}).status_code == 200
    assert host_sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["event"] == "session_started"
    console_rows = [
        (r["actor"], r["action"], r["detail"]["account"])
        for r in audit_rows(relay)
        if r["detail"].get("via") == "admin_console" and "account" in r["detail"]
    ]
    assert console_rows == [(ADMIN, "account_disabled", ORGANIZER),
                            (ADMIN, "account_enabled", ORGANIZER)]  # fmt: skip
    # An admin cannot lock themself out.
    assert console.post("/admin/accounts/disable", {"name": ADMIN}).status_code == 400


def test_accounts_are_added_and_reset_with_the_password_shown_once(
    procs: Processes, console: Console
) -> None:
    console.sign_in()
    weak = console.post("/admin/accounts/add", {"name": "bob", "role": "organizer",
                                                 "password": "password2024"})  # fmt: skip
    assert weak.status_code == 400 and "too common" in weak.text
    form = {"name": "bob", "role": "organizer", "email": "bob@example.com", "password": ""}
    added = console.post("/admin/accounts/add", form)
    assert added.status_code == 200, added.text
    shown = re.search(r'<code id="new-password">([^<]+)</code>', added.text)
    assert shown is not None
    assert host_sign_in(procs, "bob", shown[1])["event"] == "session_started"
    again = console.post("/admin/accounts/add", {"name": "BOB", "role": "member"})
    assert again.status_code == 409 and "already exists" in again.text
    listing = console.get("/admin/accounts")
    assert 'id="new-password"' not in listing.text  # shown once, never again
    assert re.search(r'<tr data-account="bob"><td>bob</td><td>organizer</td>', listing.text)
    reset = console.post("/admin/accounts/reset-password", {"name": ORGANIZER})
    new = re.search(r'<code id="new-password">([^<]+)</code>', reset.text)
    assert new is not None
    assert host_sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["code"] == "sign_in_failed"
    assert host_sign_in(procs, ORGANIZER, new[1])["event"] == "session_started"
    rows = audit_rows(procs.relay)
    assert all(shown[1] not in json.dumps(r) and new[1] not in json.dumps(r) for r in rows)
    mine = [(r["action"], r["detail"]["account"]) for r in rows if r["actor"] == ADMIN
            and r["action"] in ("account_added", "password_reset")]  # fmt: skip
    assert mine == [("account_added", "bob"), ("password_reset", ORGANIZER)]


def test_account_groups_are_shown_and_edited_in_the_console(
    procs: Processes, console: Console
) -> None:
    console.sign_in()
    form = {"name": "olga", "role": "organizer", "groups": "hosts, EMEA", "password": ""}
    added = console.post("/admin/accounts/add", form)
    assert added.status_code == 200, added.text
    row = re.search(r'<tr data-account="olga">.*?</tr>', added.text)
    assert row is not None and 'name="groups" value="hosts,EMEA"' in row[0]
    bad = console.post("/admin/accounts/groups", {"name": ORGANIZER, "groups": "a,,b"})
    assert bad.status_code == 400 and "A group name must be" in bad.text
    set_groups = console.post("/admin/accounts/groups", {"name": ORGANIZER, "groups": "hosts"})
    assert set_groups.status_code == 200 and f"{ORGANIZER} is now in hosts" in set_groups.text
    row = re.search(rf'<tr data-account="{ORGANIZER}">.*?</tr>', set_groups.text)
    assert row is not None and 'name="groups" value="hosts"' in row[0]
    assert console.post("/admin/accounts/groups", {"name": "nobody"}).status_code == 404
    listing = procs.relay.admin("user", "list").stdout.splitlines()
    assert f"{ORGANIZER}\torganizer\tenabled\thosts" in listing
    assert "olga\torganizer\tenabled\thosts,EMEA" in listing
    # The relay enforces a group allowlist with the groups set here.
    assert procs.relay.set_policy({"organize": {"who": "allowlist", "groups": ["hosts"]}}) == 1
    assert host_sign_in(procs, ORGANIZER, ORGANIZER_PASSWORD)["event"] == "session_started"
    rows = [(r["actor"], r["action"], r["detail"].get("groups"), r["detail"].get("via"))
            for r in audit_rows(procs.relay) if r["detail"].get("account") in ("olga", ORGANIZER)
            and r["actor"] == ADMIN]  # fmt: skip
    assert rows == [
        (ADMIN, "account_added", "hosts,EMEA", "admin_console"),
        (ADMIN, "account_groups_changed", "hosts", "admin_console"),
    ]


# -- audit --------------------------------------------------------------------


def test_the_audit_page_verifies_filters_pages_and_exports(relay: Relay, console: Console) -> None:
    console.sign_in()
    for n in range(3):
        console.sign_in(ADMIN, f"wrong password {n}")
    page = console.get("/admin/audit")
    assert page.status_code == 200
    head = relay.admin("audit", "verify")
    head_line = head.stdout.split("Head: ")[1].split()[0]
    assert "Verified: OK." in page.text and f'<code id="audit-head">{head_line}</code>' in page.text
    failed = console.get("/admin/audit", action="sign_in_failed", actor="ROOT")
    assert failed.text.count("<td>sign_in_failed</td>") == 3
    bad = console.get("/admin/audit", since="yesterday")
    assert bad.status_code == 400 and 'id="since-error"' in bad.text
    jsonl = console.get("/admin/audit/export", format="jsonl", action="sign_in_failed")
    assert jsonl.headers["content-disposition"] == 'attachment; filename="audit.jsonl"'
    records = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [r["action"] for r in records] == ["sign_in_failed"] * 3
    exported = console.get("/admin/audit/export", format="csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["hash"] for r in table] == [r["hash"] for r in audit_rows(relay)]
    assert console.get("/admin/audit/export", format="xml").status_code == 400
    # Someone with the file rewrites a row: the page says which.
    with sqlite3.connect(relay.data / "relay.sqlite") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'mallory' WHERE id = 2")
    broken = console.get("/admin/audit")
    assert "Verification FAILED" in broken.text
    problems = re.search(r'<div class="verify broken" id="verify">(.*?)</div>', broken.text)
    assert problems is not None
    assert "<li>row 2: its contents do not match its hash (row edited)</li>" in problems[1]


def test_the_audit_page_pages_through_many_rows(relay: Relay, console: Console) -> None:
    console.sign_in()
    for _ in range(110):
        console.post("/admin/accounts/enable", {"name": ORGANIZER})
    first = console.get("/admin/audit", action="account_enabled")
    assert first.text.count("<td>account_enabled</td>") == 100
    link = re.search(r'id="next-page" href="/admin/audit\?([^"]+)"', first.text)
    assert link is not None
    query = dict(p.split("=") for p in link[1].replace("&amp;", "&").split("&"))
    second = console.get("/admin/audit", **query)
    assert second.text.count("<td>account_enabled</td>") == 10
    assert 'id="next-page"' not in second.text


# -- policy -------------------------------------------------------------------


def test_the_policy_editor_validates_stores_and_audits(relay: Relay, console: Console) -> None:
    console.sign_in()
    page = console.get("/admin/policy")
    text = re.search(r'<textarea id="policy-document" name="document"[^>]*>(.*?)</textarea>',
                     page.text, re.S)  # fmt: skip
    assert text is not None
    document = json.loads(html.unescape(text[1]))
    assert document["features"]["remote_control"] is True
    bad = console.post("/admin/policy", {"document": '{"sessions": {"max_participants": -2}}',
                                         "revision": "0"})  # fmt: skip
    assert bad.status_code == 400
    error = re.search(r'id="policy-error"[^>]*>([^<]*)<', bad.text)
    assert error is not None and "sessions.max_participants" in error[1]
    document["features"]["remote_control"] = False
    saved = console.post("/admin/policy", {"document": json.dumps(document), "revision": "0"})
    assert saved.status_code == 200 and "Saved revision 1 (features.remote_control)" in saved.text
    assert relay.health()["policy_revision"] == 1  # in force before the answer
    stale = console.post("/admin/policy", {"document": "{}", "revision": "0"})
    assert stale.status_code == 409 and "revision 1" in stale.text
    shown = json.loads(relay.admin("policy", "show").stdout)
    assert shown["features"]["remote_control"] is False
    changed = [r for r in audit_rows(relay) if r["action"] == "policy_changed"]
    assert [(r["actor"], r["detail"]["revision"], r["detail"]["changed"]) for r in changed] == [
        (ADMIN, 1, "features.remote_control")
    ]


# -- live sessions ------------------------------------------------------------


def test_ending_a_live_session_from_the_console_tells_everyone(
    procs: Processes, console: Console
) -> None:
    host = procs.host(keep_stdin=True)
    started = host.wait_for("session_started")
    viewer = procs.join(started["session_id"], "--no-window", password=started["password"])
    viewer.wait_for("joined")
    console.sign_in()
    page = console.get("/admin/sessions")
    sid = int(started["session_id"])
    section = re.search(rf'<section class="live" data-session="{sid}">(.*?)</section>',
                        page.text, re.S)  # fmt: skip
    assert section is not None
    assert f"Organizer <b>{ORGANIZER}</b>" in section[1]
    members = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>[^<]+</td><td>([^<]+)</td>",
                         section[1])  # fmt: skip
    assert members == [
        ("1", "organizer, presenter", "127.0.0.1"),
        ("2", "participant", "127.0.0.1"),
    ]
    assert console.post("/admin/sessions/end", {"session_id": "123"}).status_code == 404
    ended = console.post("/admin/sessions/end", {"session_id": str(sid)})
    assert ended.status_code == 200 and 'id="no-sessions"' in ended.text
    reason = "An administrator of this relay ended the session."
    assert host.wait_for("session_ended")["reason"] == reason
    assert viewer.wait_for("session_ended")["reason"] == reason
    wait_until(lambda: any(r["action"] == "session_ended" for r in audit_rows(procs.relay)),
               what="session_ended row")  # fmt: skip
    rows = audit_rows(procs.relay)
    by_admin = [r for r in rows if r["action"] == "session_ended_by_admin"]
    assert [(r["actor"], r["session_id"]) for r in by_admin] == [(ADMIN, sid)]
    ended_row = next(r for r in rows if r["action"] == "session_ended")
    assert ended_row["detail"]["reason"] == "ended by an administrator"


# -- in a browser -------------------------------------------------------------


def test_an_admin_bans_remote_control_in_the_browser_and_a_new_session_refuses_it(
    procs: Processes, console: Console, page: Page, display: str, tmp_path: Path
) -> None:
    relay = procs.relay
    page.goto(f"{relay.url}/admin")
    page.get_by_label("User name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#admin-name")).to_have_text(ADMIN)
    assert page.url.endswith("/admin/sessions")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: not for scripts
    page.get_by_role("link", name="Policy").click()
    editor = page.locator("#policy-document")
    document = json.loads(editor.input_value())
    document["features"]["remote_control"] = False
    editor.fill("{not json")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#policy-error")).to_contain_text("is not JSON")
    page.locator("#policy-document").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Saved revision 1 (features.remote_control)")
    assert relay.health()["policy_revision"] == 1
    # A new session: the viewer is told control is off, and the presenter is never asked.
    scenes.show(display, scenes.desktop_picture(*SCREEN, seed=61), tmp_path / "s.png")
    host = procs.host("--share", "--consent-timeout", "3", keep_stdin=True)
    started = host.wait_for("session_started")
    viewer = procs.join(started["session_id"], "--no-window", "--commands",
                        password=started["password"], keep_stdin=True)  # fmt: skip
    viewer.wait_for("frame")
    viewer.write_line('{"cmd": "request_control"}')
    assert "disabled by this relay's policy" in viewer.wait_for("command_error")["message"]
    time.sleep(0.5)
    assert host.events_named("consent_asked") == []
    # The admin signs out in the browser; the page's session is gone.
    page.locator("#sign-out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.goto(f"{relay.url}/admin/policy").status == 403  # type: ignore[union-attr]
    changed = [r for r in audit_rows(relay) if r["action"] == "policy_changed"]
    assert [(r["actor"], r["detail"]["changed"]) for r in changed] == [
        (ADMIN, "features.remote_control")
    ]
