"""The join page as a real relay serves it: headers, no inline script, only its assets."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from email.message import Message
from html.parser import HTMLParser

import pytest

from tests.procs import Relay

pytestmark = pytest.mark.e2e


def get(url: str) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.inline_handlers += [name for name, _ in attrs if name.startswith("on")]


#: Every directive but script-src, as the relay has always sent them.
STRICT = {
    "default-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
}


def directives(csp: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}, each directive once."""
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        assert name not in parsed, name
        parsed[name] = sources
    return parsed


@pytest.mark.parametrize("path", ["/j", "/j/123456789"])
def test_the_join_page_has_strict_headers_and_no_inline_script(relay: Relay, path: str) -> None:
    status, headers, body = get(relay.url + path)
    assert status == 200
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = directives(headers["Content-Security-Policy"])
    # Scripts from the relay only; WebAssembly may be compiled, JavaScript never eval'd.
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert csp == {**STRICT, "script-src": csp["script-src"]}
    page = Scripts()
    page.feed(body.decode())
    assert page.scripts == [{"type": "module", "src": "/static/join.js"}]
    assert page.inline_handlers == []
    version = re.search(rb'name="screenrelay-version" content="([^"]+)"', body)
    assert version is not None and version.group(1) == relay.health()["version"].encode()


def test_only_the_named_assets_are_served(relay: Relay) -> None:
    status, headers, body = get(relay.url + "/static/join.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"JoinSession" in body or len(body) > 10_000
    status, headers, _ = get(relay.url + "/static/join.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    status, headers, body = get(relay.url + "/static/zstd.wasm")
    assert status == 200 and headers["Content-Type"] == "application/wasm"
    assert body.startswith(b"\0asm") and headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    for path in [
        "/static/join.js.map",
        "/static/..%2Frelay.sqlite",
        "/static/package.json",
        "/static/zstd.js",
        "/static/dist%2Fzstd.wasm",
    ]:
        assert get(relay.url + path)[0] == 404, path


def test_the_root_leads_to_the_join_page(relay: Relay) -> None:
    status, _, body = get(relay.url + "/")
    assert status == 200 and b'id="join-form"' in body
