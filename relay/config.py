"""The relay's settings, as one frozen record. Only entry points read argv or env."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from relay.sessions import DirectoryConfig


@dataclasses.dataclass(frozen=True, slots=True)
class RelayConfig:
    """Everything a relay process needs to know at start."""

    #: Directory of the SQLite database (accounts, audit). Created if missing.
    data_dir: Path
    #: Address to listen on.
    host: str = "127.0.0.1"
    #: TCP port to listen on (443 in production, behind no proxy).
    port: int = 8080
    #: PEM certificate chain for HTTPS/WSS; None serves plain HTTP.
    tls_cert: Path | None = None
    #: PEM private key matching ``tls_cert``.
    tls_key: Path | None = None
    #: Serve HTTPS/WSS with a certificate the relay makes itself and keeps in
    #: ``data_dir/tls`` (see relay/tls.py); excludes ``tls_cert``.
    tls_self_signed: bool = False
    #: DNS names or IP addresses the self-signed certificate covers besides
    #: the listen host, localhost, 127.0.0.1, ::1 and the machine's hostname.
    tls_names: tuple[str, ...] = ()
    #: Oldest client version allowed to connect ("major.minor.patch").
    min_client_version: str = "0.1.0"
    #: Extra origins (scheme://host[:port]) allowed to open the WebSocket,
    #: besides the relay's own.
    allowed_origins: tuple[str, ...] = ()
    #: Limits of live sessions.
    directory: DirectoryConfig = dataclasses.field(default_factory=DirectoryConfig)
    #: Seconds between housekeeping ticks (admission timeouts).
    tick_interval: float = 1.0

    def __post_init__(self) -> None:
        if self.tls_self_signed and (self.tls_cert is not None or self.tls_key is not None):
            raise ValueError("tls_self_signed excludes tls_cert and tls_key")
        if self.tls_names and not self.tls_self_signed:
            raise ValueError("tls_names apply to tls_self_signed only")

    @property
    def serves_tls(self) -> bool:
        """Whether the relay serves HTTPS/WSS itself (a given or its own certificate)."""
        return self.tls_cert is not None or self.tls_self_signed
