"""Run a relay process: open the store, build the app, serve it with uvicorn."""

from __future__ import annotations

import logging
import sys

import uvicorn

from protocol.wire import MAX_FRAME_MESSAGE
from relay.app import build_app
from relay.config import RelayConfig
from relay.context import RelayContext
from relay.database import open_database
from relay.store import SqliteStore

log = logging.getLogger("screenrelay.relay")


def make_context(config: RelayConfig) -> RelayContext:
    """Open (or create) the database under ``config.data_dir``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    conn = open_database(config.data_dir / "relay.sqlite")
    store = SqliteStore(conn)
    return RelayContext(config, store)


def run(config: RelayConfig) -> None:
    """Serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    ctx = make_context(config)
    app = build_app(ctx)
    scheme = "https" if config.tls_cert else "http"
    log.info(
        "screenrelay relay on %s://%s:%d (data in %s)",
        scheme,
        config.host,
        config.port,
        config.data_dir,
    )
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        # Enforced again per message in protocol/ (the cap per type).
        ws_max_size=MAX_FRAME_MESSAGE + 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ssl_certfile=str(config.tls_cert) if config.tls_cert else None,
        ssl_keyfile=str(config.tls_key) if config.tls_key else None,
        access_log=False,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(uv_config).run()
