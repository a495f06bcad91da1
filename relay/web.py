"""The pages the relay serves to browsers: the join page and its three assets.

The join page is the browser viewer (viewer_app/web/). Its script, style and
zstd decoder (libzstd in WebAssembly, from the pinned npm package
@bokuweb/zstd-wasm) are built at install time by scripts/setup.sh (npm ci,
esbuild, a copy of the ``.wasm``) into ``viewer_app/web/dist``; nothing is
fetched from a CDN at run time. The relay serves exactly the files named in
``ASSETS``, so no request path ever reaches the file system; the WebAssembly
module is served as ``application/wasm``, which streaming compilation needs.
The page's own HTML carries the relay's version in a meta tag (the page says
it first in Hello) and no inline script: the relay's Content-Security-Policy
allows scripts from its own origin only, and WebAssembly compilation but no
JavaScript eval (relay/app.py).

An invitation link is ``/j/<ID>#<secret>``: the secret is in the fragment,
which browsers never send, so the relay sees only the session ID in the path.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import viewer_app
from protocol.version import SOFTWARE_VERSION

#: Where the browser client lives: sources, and ``dist/`` once built.
WEB_DIR: Final = Path(viewer_app.__file__).resolve().parent / "web"

#: URL name -> (file under WEB_DIR, media type). Nothing else is served.
ASSETS: Final = {
    "join.js": ("dist/join.js", "text/javascript; charset=utf-8"),
    "join.css": ("join.css", "text/css; charset=utf-8"),
    "zstd.wasm": ("dist/zstd.wasm", "application/wasm"),
}

_NOT_BUILT: Final = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>screenrelay</title>"
    "</head><body><h1>The browser client is not installed on this relay</h1>"
    "<p>Its administrator runs <code>scripts/setup.sh</code> (it needs Node.js and npm) "
    "and restarts the relay. Until then, join with <code>screenrelay join</code>.</p>"
    "</body></html>"
)


def _page(template: Path) -> str:
    return template.read_text(encoding="utf-8").replace(
        "{{VERSION}}", html.escape(SOFTWARE_VERSION)
    )


def _built() -> bool:
    return all((WEB_DIR / path).is_file() for path, _ in ASSETS.values())


async def join_page(_request: Request) -> Response:
    """``/j`` and ``/j/<ID>``: the browser viewer (the ID comes from the path)."""
    if not _built():
        return HTMLResponse(_NOT_BUILT, status_code=503)
    return HTMLResponse(_page(WEB_DIR / "join.html"))


async def asset(request: Request) -> Response:
    """``/static/<name>`` for the names in ASSETS; 404 for anything else."""
    entry = ASSETS.get(request.path_params["name"])
    if entry is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    path, media_type = entry
    try:
        body = (WEB_DIR / path).read_bytes()
    except OSError:
        return Response("Not built", status_code=503, media_type="text/plain")
    return Response(body, media_type=media_type)


ROUTES: Final = [
    Route("/j", join_page),
    Route("/j/{session}", join_page),
    Route("/static/{name}", asset),
]
