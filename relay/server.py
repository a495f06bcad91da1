"""Run a relay process: open the store, build the app, serve it with uvicorn."""

from __future__ import annotations

import datetime
import logging
import socket
import sys
from pathlib import Path

import uvicorn

from protocol.wire import MAX_FRAME_MESSAGE
from relay.app import build_app
from relay.config import RelayConfig
from relay.context import RelayContext
from relay.database import open_database
from relay.store import SqliteStore
from relay.tls import default_names, ensure_self_signed

log = logging.getLogger("screenrelay.relay")


def make_context(config: RelayConfig) -> RelayContext:
    """Open (or create) the database under ``config.data_dir``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    conn = open_database(config.data_dir / "relay.sqlite")
    store = SqliteStore(conn)
    return RelayContext(config, store)


def tls_files(
    config: RelayConfig, now: datetime.datetime, hostname: str
) -> tuple[Path | None, Path | None]:
    """The certificate and key to serve; for ``--tls-self-signed``, made or reused and logged.

    The log says where the certificate is, its fingerprint and how clients
    trust it: a person running the relay reads these lines to tell others.
    """
    if not config.tls_self_signed:
        return config.tls_cert, config.tls_key
    directory = config.data_dir.absolute() / "tls"
    own = ensure_self_signed(
        directory, [*config.tls_names, *default_names(config.host, hostname)], now
    )
    if own.replaced:
        log.warning(
            "TLS: replaced the self-signed certificate because %s; its fingerprint changed, "
            "so clients need the new cert.pem or fingerprint",
            own.generated_because,
        )
    elif own.generated_because is not None:
        log.info("TLS: made a self-signed certificate (%s)", own.generated_because)
    log.info(
        "TLS: self-signed certificate %s (%s; valid until %s; names %s)",
        own.cert_path,
        "new" if own.generated_because is not None else "the same as before",
        f"{own.not_after:%Y-%m-%d}",
        ", ".join(own.names),
    )
    log.info("TLS: SHA-256 fingerprint %s", own.fingerprint)
    log.info(
        "TLS: clients use --cafile %s (or --tls-fingerprint %s); "
        "browsers: compare the SHA-256 fingerprint they show with this one",
        own.cert_path,
        own.fingerprint,
    )
    return own.cert_path, own.key_path


def run(config: RelayConfig) -> None:
    """Serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    ctx = make_context(config)
    app = build_app(ctx)
    cert, key = tls_files(config, datetime.datetime.now(datetime.UTC), socket.gethostname())
    scheme = "https" if cert else "http"
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
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        access_log=False,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(uv_config).run()
