"""Run a relay process: open the store, build the app, serve it with uvicorn."""

from __future__ import annotations

import datetime
import logging
import socket
import sys
from pathlib import Path

import uvicorn

from protocol.wire import MAX_FRAME_MESSAGE
from relay import admin_api
from relay.app import build_app
from relay.config import RelayConfig
from relay.context import RelayContext
from relay.database import open_database
from relay.metrics import ensure_token
from relay.store import SqliteStore
from relay.tls import RENEW_BEFORE, VALIDITY, default_names, ensure_self_signed

log = logging.getLogger("screenrelay.relay")


def make_context(config: RelayConfig) -> RelayContext:
    """Open (or create) the database under ``config.data_dir``."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    conn = open_database(config.data_dir / "relay.sqlite")
    store = SqliteStore(conn)
    token_path, token = ensure_token(config.data_dir)
    log.info("metrics: GET /metrics with the bearer token in %s", token_path.absolute())
    admin_path, admin_token = ensure_token(config.data_dir, admin_api.TOKEN_FILE)
    log.info(
        "admin: screenrelay admin --data %s session ... uses the token in %s",
        config.data_dir,
        admin_path.absolute(),
    )
    return RelayContext(config, store, metrics_token=token, admin_token=admin_token)


def tls_files(
    config: RelayConfig, now: datetime.datetime, hostname: str
) -> tuple[Path | None, Path | None]:
    """The certificate and key to serve; for ``--tls-self-signed``, made or reused and logged.

    The log says what was made and why, where the local CA is, both
    fingerprints and how clients trust them: a person running the relay reads
    these lines to tell others.
    """
    if not config.tls_self_signed:
        return config.tls_cert, config.tls_key
    directory = config.data_dir.absolute() / "tls"
    own = ensure_self_signed(
        directory,
        [*config.tls_names, *default_names(config.host, hostname)],
        now,
        hostname=hostname,
    )
    ca = own.ca
    if ca.replaced:
        log.warning(
            "TLS: made a new local CA because %s; everyone who trusted the old one must be "
            "given the new %s (clients' --cafile, browsers' imported authority)",
            ca.generated_because,
            ca.cert_path,
        )
    elif ca.generated_because is not None:
        log.info("TLS: made a local CA (%s)", ca.generated_because)
    if own.migrated:
        log.warning(
            "TLS: replaced the self-signed certificate of an earlier version (%s, an authority "
            "serving as server certificate, which Firefox refuses) with one issued by the "
            "local CA; clients now use --cafile %s instead of --cafile %s, browsers import "
            "ca.pem instead, and the fingerprint changed",
            own.cert_path,
            ca.cert_path,
            own.cert_path,
        )
    elif own.replaced:
        log.warning(
            "TLS: issued a new server certificate because %s; its fingerprint changed, so "
            "--tls-fingerprint pins need the new one (whoever trusts %s notices nothing)",
            own.generated_because,
            ca.cert_path,
        )
    elif own.generated_because is not None:
        log.info("TLS: issued a server certificate (%s)", own.generated_because)
    log.info(
        "TLS: local CA %s (%s; valid until %s; SHA-256 fingerprint %s, kept when the server "
        "certificate is reissued)",
        ca.cert_path,
        "new" if ca.generated_because is not None else "the same as before",
        f"{ca.not_after:%Y-%m-%d}",
        ca.fingerprint,
    )
    if ca.not_after - now < VALIDITY:
        log.warning(
            "TLS: the local CA expires on %s; %d days before, a new one is made and everyone "
            "must be given the new %s",
            f"{ca.not_after:%Y-%m-%d}",
            RENEW_BEFORE.days,
            ca.cert_path,
        )
    log.info(
        "TLS: server certificate %s (%s; issued by the local CA; valid until %s; names %s)",
        own.cert_path,
        "new" if own.generated_because is not None else "the same as before",
        f"{own.not_after:%Y-%m-%d}",
        ", ".join(own.names),
    )
    log.info(
        "TLS: server certificate SHA-256 fingerprint %s (changes when it is reissued)",
        own.fingerprint,
    )
    log.info(
        "TLS: clients: --cafile %s (or --tls-fingerprint %s); browsers: import %s as a trusted "
        "authority, or compare the server certificate's fingerprint they show with this one",
        ca.cert_path,
        own.fingerprint,
        ca.cert_path,
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
