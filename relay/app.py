"""The relay's ASGI application: one WebSocket route and a few pages."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from protocol.version import SOFTWARE_VERSION
from relay import admin_web, endpoint, metrics, web
from relay.context import RelayContext
from relay.database import DatabaseError

log = logging.getLogger("screenrelay.relay")

#: Headers on every HTTP response: no referrer ever leaves a page (an
#: invitation's path names a session), no inline script, no framing. Scripts
#: come from the relay's own origin only; 'wasm-unsafe-eval' lets them compile
#: WebAssembly (the join page's zstd decoder, /static/zstd.wasm) and allows no
#: JavaScript eval or Function (docs/security.md).
SECURITY_HEADERS: dict[str, str] = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self';"
        " img-src 'self' data: blob:;"
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

    async def index(_request: Request) -> Response:
        return RedirectResponse("/j", status_code=307)

    async def ws(websocket: WebSocket) -> None:
        await endpoint.serve(websocket, ctx)

    async def healthz(_request: Request) -> Response:
        return JSONResponse(
            {
                "ok": True,
                "version": SOFTWARE_VERSION,
                "sessions": len(ctx.directory.sessions),
                "policy_revision": ctx.policy_revision,
            }
        )

    async def metrics_page(request: Request) -> Response:
        if not metrics.authorized(request.headers.get("authorization"), ctx.metrics_token):
            return Response(
                "Forbidden: /metrics needs the bearer token in DATA/metrics-token.\n",
                status_code=403,
                media_type="text/plain",
            )
        snapshots = [s.statistics() for s in ctx.directory.sessions.values()]
        return Response(metrics.render(snapshots, ctx.connections), media_type=metrics.CONTENT_TYPE)

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", ws),
            Route("/healthz", healthz),
            Route("/metrics", metrics_page),
            *web.ROUTES,
            *admin_web.routes(ctx),
            Route("/", index),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeaders)
    return app


async def _ticker(ctx: RelayContext) -> None:
    """Every tick: a newly stored policy, sessions of disabled organizers,
    admission timeouts, session limits; once a day, audit retention."""
    while True:
        await anyio.sleep(ctx.config.tick_interval)
        try:
            await ctx.refresh_policy(time.time())
            await ctx.end_disabled_organizers(time.time())
            await ctx.prune_audit(time.time())
        except DatabaseError as exc:  # the store is busy or broken: keep serving, say so
            log.error("could not read the policy or prune the audit trail: %s", exc)
        ctx.directory.tick(time.time())
