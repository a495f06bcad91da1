"""The relay's ASGI application: one WebSocket route and a few pages."""

from __future__ import annotations

import contextlib
import html
import logging
import time
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from protocol.version import SOFTWARE_VERSION
from relay import endpoint
from relay.context import RelayContext

log = logging.getLogger("screenrelay.relay")

#: Headers on every HTTP response: no referrer ever leaves a page (an
#: invitation's path names a session), no inline script, no framing.
SECURITY_HEADERS: dict[str, str] = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to HTTP responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_JOIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>screenrelay</title></head>
<body><h1>screenrelay {version}</h1>
<p>{body}</p></body></html>
"""


def build_app(ctx: RelayContext) -> Starlette:
    """The Starlette app serving ``ctx``'s relay."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ctx.audit.run)
            tg.start_soon(_ticker, ctx)
            yield
            tg.cancel_scope.cancel()
        ctx.audit.flush()

    async def ws(websocket: WebSocket) -> None:
        await endpoint.serve(websocket, ctx)

    async def healthz(_request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "version": SOFTWARE_VERSION, "sessions": len(ctx.directory.sessions)}
        )

    async def join_page(request: Request) -> Response:
        session = request.path_params.get("session", "")
        body = (
            "Browser joining is not available in this version. To join session "
            f"<b>{html.escape(session)}</b>, run <code>screenrelay join '&lt;this link&gt;'</code>."
        )
        return HTMLResponse(_JOIN_PAGE.format(version=SOFTWARE_VERSION, body=body))

    async def index(_request: Request) -> Response:
        body = "This is a screenrelay relay. Join a session with <code>screenrelay join</code>."
        return HTMLResponse(_JOIN_PAGE.format(version=SOFTWARE_VERSION, body=body))

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", ws),
            Route("/healthz", healthz),
            Route("/j", join_page),
            Route("/j/{session}", join_page),
            Route("/", index),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeaders)
    return app


async def _ticker(ctx: RelayContext) -> None:
    while True:
        await anyio.sleep(ctx.config.tick_interval)
        ctx.directory.tick(time.time())
