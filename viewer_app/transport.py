"""A client's one WebSocket to the relay, speaking protocol/ messages.

Library errors are translated here, once: a refused or lost connection
becomes a ClientError carrying the sentence to show and the exit status.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError, ScreenrelayError
from protocol.version import SOFTWARE_VERSION
from protocol.wire import MAX_FRAME_MESSAGE, PROTOCOL_VERSION, Tag

#: Exit status when the relay refuses us (admission, sign-in, version, policy).
EXIT_REFUSED: Final = 3
#: Exit status when the relay cannot be reached or the connection is lost.
EXIT_CONNECTION: Final = 4
#: Seconds to wait for the relay to accept a connection.
CONNECT_TIMEOUT: Final = 10.0


class ClientError(ScreenrelayError):
    """Something the user must be told, with the process's exit status."""

    def __init__(self, text: str, status: int, code: ErrorCode | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
        self.code = code


def parse_fingerprint(text: str) -> bytes:
    """The 32 bytes of a SHA-256 fingerprint written as hex, colons and case ignored."""
    digits = "".join(text.split()).replace(":", "")
    try:
        digest = bytes.fromhex(digits)
    except ValueError:
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits, colons allowed)")
    return digest


def format_fingerprint(digest: bytes) -> str:
    """``AB:CD:...``, as the relay logs it and browsers show it."""
    return ":".join(f"{byte:02X}" for byte in digest)


def tls_context(cafile: str | None = None, fingerprint: str | None = None) -> ssl.SSLContext:
    """How a client checks the relay's certificate.

    By default (or with ``cafile``): a CA and the host name, as browsers do.
    With ``fingerprint``: the certificate must have exactly this SHA-256,
    checked inside the TLS handshake so that nothing is sent to an impostor;
    its CA and names are then not checked (the pin says more than they do).
    """
    if fingerprint is None:
        return ssl.create_default_context(cafile=cafile)
    if cafile is not None:
        raise ValueError("a certificate is trusted by cafile or by fingerprint, not both")
    expected = parse_fingerprint(fingerprint)

    def check_pin(der: bytes | None) -> None:
        actual = hashlib.sha256(der or b"").digest()
        if not hmac.compare_digest(actual, expected):
            raise ssl.SSLCertVerificationError(
                ssl.SSL_ERROR_SSL,
                f"the relay's certificate has SHA-256 fingerprint "
                f"{format_fingerprint(actual)}, not the {format_fingerprint(expected)} "
                "given with --tls-fingerprint (this may not be your relay)",
            )

    class PinnedSSLObject(ssl.SSLObject):
        """Fails its handshake, as a certificate error, unless the pin matches
        (asyncio's streams: the WebSocket)."""

        def do_handshake(self) -> None:
            super().do_handshake()
            check_pin(self.getpeercert(binary_form=True))

    class PinnedSSLSocket(ssl.SSLSocket):
        """The same for blocking sockets (urllib: ``screenrelay admin session``)."""

        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            check_pin(self.getpeercert(binary_form=True))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.sslobject_class = PinnedSSLObject
    context.sslsocket_class = PinnedSSLSocket
    return context


def websocket_url(relay_url: str) -> str:
    """``http://host:port`` -> ``ws://host:port/ws`` (https -> wss)."""
    parts = urlsplit(relay_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ClientError(f"{relay_url!r} is not a relay address; expected http(s)://host:port", 2)
    return urlunsplit((scheme, parts.netloc, parts.path + "/ws", "", ""))


class RelayConnection:
    """An open, greeted connection to a relay."""

    def __init__(self, ws: ClientConnection, policy: dict[str, Any]) -> None:
        self._ws = ws
        #: The policy the relay said applies to this client.
        self.policy = policy

    @classmethod
    async def open(
        cls, relay_url: str, *, cafile: str | None = None, tls_fingerprint: str | None = None
    ) -> RelayConnection:
        """Connect, say Hello, and wait for Welcome (or the relay's refusal).

        ``cafile`` or ``tls_fingerprint`` says which certificate to trust
        (see :func:`tls_context`).
        """
        url = websocket_url(relay_url)
        context: ssl.SSLContext | None = None
        if url.startswith("wss:"):
            try:
                context = tls_context(cafile, tls_fingerprint)
            except OSError as exc:
                raise ClientError(f"Cannot read the CA file {cafile}: {exc}", 2) from exc
            except ValueError as exc:
                raise ClientError(f"Cannot use the TLS settings: {exc}", 2) from exc
        elif tls_fingerprint is not None:
            raise ClientError(
                f"--tls-fingerprint needs an https:// relay address, not {relay_url}", 2
            )
        try:
            ws = await connect(
                url,
                compression=None,
                max_size=MAX_FRAME_MESSAGE + 1024,
                open_timeout=CONNECT_TIMEOUT,
                ssl=context,
                ping_interval=20,
                ping_timeout=20,
                max_queue=4,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise ClientError(
                f"Cannot reach the relay at {relay_url}: {exc}", EXIT_CONNECTION
            ) from exc
        conn = cls(ws, {})
        await conn.send(messages.Hello(PROTOCOL_VERSION, SOFTWARE_VERSION))
        welcome, _ = await conn.recv()
        if not isinstance(welcome, messages.Welcome):
            raise ClientError("The relay did not answer as a screenrelay relay.", EXIT_CONNECTION)
        conn.policy = welcome.policy
        return conn

    async def send(self, message: messages.Message) -> None:
        await self.send_bytes(messages.encode(message))

    async def send_bytes(self, data: bytes | bytearray) -> None:
        try:
            await self._ws.send(data)
        except ConnectionClosed as exc:
            raise _lost(exc) from exc

    async def recv(self) -> tuple[messages.Message | messages.SealedHeader, bytes]:
        """The next message and its bytes; an Error from the relay raises ClientError.

        A sealed frame comes back as its header only (the body is for the
        cipher, which reads ``bytes``): no copy of a frame is made here.
        """
        try:
            data = await self._ws.recv(decode=False)
        except ConnectionClosed as exc:
            raise _lost(exc) from exc
        if isinstance(data, str):
            raise ClientError("The relay sent text; this is not a screenrelay relay.", 1)
        try:
            if data[:1] == bytes([Tag.FRAME]):
                return messages.parse_sealed_header(data), data
            message = messages.parse(data)
        except RemoteProtocolError as exc:
            raise ClientError(f"The relay sent a malformed message: {exc.text}", 1) from exc
        if isinstance(message, messages.Error):
            status = EXIT_CONNECTION if message.code == ErrorCode.INTERNAL else EXIT_REFUSED
            raise ClientError(message.text, status, message.code)
        return message, data

    async def close(self) -> None:
        await self._ws.close()

    async def __aenter__(self) -> RelayConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _lost(exc: ConnectionClosed) -> ClientError:
    return ClientError(
        "Lost the connection to the relay (it stopped or the network failed); "
        "the session is over for this client.",
        EXIT_CONNECTION,
    )
