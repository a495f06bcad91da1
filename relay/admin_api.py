"""The admin API: live sessions for ``screenrelay admin session``, over HTTP(S).

Routes (JSON; relay/admin_session_cli.py is the client):
  GET  /admin/api/sessions            {"sessions": [session, ...]}, oldest first
  POST /admin/api/sessions/{id}/end   {"ended": id}; 404 {"error": ...} if not live

A session is ``{"session_id", "organizer", "started_at", "members": [{"member_id",
"role", "joined_at", "address"}, ...]}``: the metadata the console's Live
sessions page shows (relay/admin_pages.py ``live_sessions``), never content.

Rules:
  1. Every route answers 403 (and a JSON error) unless the request carries
     ``Authorization: Bearer <token>`` with the relay's admin token: made on
     first start in ``DATA/admin-token`` (32 random bytes, URL-safe base64,
     mode 0600), compared in constant time (relay/metrics.py ``authorized``).
     Whoever can read the data directory is an administrator, as for
     ``screenrelay admin`` itself.
  2. No cookie is ever read here, so a browser cannot be made to send the
     credential by another site: no CSRF token is needed (docs/security.md).
  3. Ending a session is audited as ``session_ended_by_admin`` with actor
     ``cli`` and ``via: admin_api``, besides the relay's own ``session_ended``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Final

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay import admin_pages, metrics
from relay.admin_common import CLI_ACTOR
from relay.context import RelayContext
from relay.store import AuditEvent

#: The admin token's file in the data directory.
TOKEN_FILE: Final = "admin-token"  # noqa: S105 (a file name, not a secret)

#: The ``via`` of audit rows written through this API.
VIA: Final = "admin_api"

#: The path prefix of the API (relay/admin_web.py mounts it with the console).
PREFIX: Final = "/admin/api"


def sessions_document(ctx: RelayContext) -> dict[str, Any]:
    """What ``GET /admin/api/sessions`` answers: every live session's metadata."""
    views = admin_pages.live_sessions(ctx.directory)
    return {"sessions": [dataclasses.asdict(view) for view in views]}


def routes(ctx: RelayContext) -> list[Route]:
    """The API's routes for ``ctx``'s relay."""

    def forbidden() -> Response:
        return JSONResponse(
            {"error": "the admin API needs the bearer token in DATA/admin-token"},
            status_code=403,
        )

    def allowed(request: Request) -> bool:
        return metrics.authorized(request.headers.get("authorization"), ctx.admin_token)

    async def list_sessions(request: Request) -> Response:
        if not allowed(request):
            return forbidden()
        return JSONResponse(sessions_document(ctx))

    async def end_session(request: Request) -> Response:
        if not allowed(request):
            return forbidden()
        text: str = request.path_params["session_id"]
        live = ctx.directory.sessions.get(int(text)) if text.isdigit() else None
        if live is None:
            return JSONResponse(
                {"error": "there is no live session with that ID; it may have ended already"},
                status_code=404,
            )
        now = time.time()
        ctx.directory.end_session(
            live, now, reason="ended by an administrator",
            text="An administrator of this relay ended the session.",
        )  # fmt: skip
        event = AuditEvent(
            at=now,
            actor=CLI_ACTOR,
            address=request.client.host if request.client else None,
            action="session_ended_by_admin",
            session_id=live.session_id,
            detail={"organizer": live.organizer_name, "via": VIA},
        )
        await anyio.to_thread.run_sync(ctx.store.append_audit, event, limiter=ctx.db_limiter)
        return JSONResponse({"ended": live.session_id})

    return [
        Route(f"{PREFIX}/sessions", list_sessions, methods=["GET"]),
        Route(f"{PREFIX}/sessions/{{session_id}}/end", end_session, methods=["POST"]),
    ]
