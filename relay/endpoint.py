"""The relay's WebSocket endpoint: the wire protocol as the relay speaks it.

One WebSocket per client, binary messages (docs/protocol.md). A connection:

    client  Hello(proto, version)      relay  Welcome(policy)  or  Error(VERSION_REFUSED), close
  organizer:
    SignIn(user, password)             SignedIn              or  Error(SIGN_IN_FAILED), close
    CreateSession(requested_id)        SessionCreated(id, member 1)  or  Error(NOT_ALLOWED)
    PakeReply / Admit / Reject / KeyUpdate   routed to the joiner they name
    Frame                              fanned out to admitted members
    EndSession                         SessionEnded to all, close all
    ControlState                       recorded, forwarded to every member
    ControlRequest, ControlRelease, Input   while a participant presents: to it
  joiner:
    [SignIn(user, password)            SignedIn: where policy admits only accounts]
    Join(id, credential, pake)         (forwarded to the organizer as JoinRequest)
                                       or Error(NOT_ALLOWED) naming the policy's rule
    PakeConfirm(tag)                   (forwarded); later Admit, or Error(ADMISSION_FAILED)
    then receives KeyUpdate, Frame, ControlState, SessionEnded, and may send
    ControlRequest, ControlRelease     forwarded to the presenter (or refused)
    ControlState                       from the presenting member: recorded, to everyone
    Input                              forwarded to the presenter from the controller only

Any message that does not parse, or comes in the wrong state, is answered with
Error(code, sentence) and the connection is closed. The clock is read once per
message. Two tasks per connection, in one task group: this receiver, and a
sender that drains the peer's outbox (so a slow reader only ever slows itself).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Final

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.version import SOFTWARE_VERSION, parse_version
from protocol.wire import MAX_FRAME_MESSAGE, ORGANIZER_MEMBER, PROTOCOL_VERSION, Tag
from relay.context import RelayContext
from relay.peer import Peer
from relay.sessions import Decoy, LiveSession, Member
from relay.store import Account

#: Account roles that may start sessions (members only join).
ORGANIZING_ROLES: Final = frozenset({"organizer", "admin"})

log = logging.getLogger("screenrelay.relay")

#: WebSocket close code sent with an Error: policy violation (RFC 6455 1008).
CLOSE_POLICY: Final = 1008
#: WebSocket close code of a normal close.
CLOSE_NORMAL: Final = 1000


class Wakeup:
    """A re-armable event: the domain sets it, the sender waits on it.

    Re-arming makes a new event after every wait: once per message per viewer
    at 30 frames/s. ``anyio.Event()`` looks up the running backend on every
    call, so the backend's own event class, learnt from the first event,
    makes the later ones (about 1 us of CPU less per wake-up; see
    docs/performance.md, "Relay fan-out").
    """

    def __init__(self) -> None:
        self._event = anyio.Event()
        self._new_event: type[anyio.Event] = type(self._event)

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = self._new_event()


@dataclasses.dataclass(slots=True)
class _Conn:
    """What the endpoint knows about one connection as it progresses."""

    peer: Peer
    greeted: bool = False
    #: The signed-in account, if any (organizers; joiners where policy asks).
    account: Account | None = None
    session: LiveSession | None = None
    #: Set for joiners; None for the organizer.
    member: Member | None = None
    #: Set for a joiner of an unknown session, led on until it fails.
    decoy: Decoy | None = None


def origin_allowed(websocket: WebSocket, extra: tuple[str, ...]) -> bool:
    """Browsers send Origin: it must be the relay's own or one configured.

    Clients that are not browsers send none, and cannot be tricked by a page
    into connecting, so a missing Origin is allowed.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin in (f"{scheme}://{host}", *extra)


async def serve(websocket: WebSocket, ctx: RelayContext) -> None:
    """Run one client connection to its end."""
    if not origin_allowed(websocket, ctx.config.allowed_origins):
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept()
    client = websocket.client
    wakeup = Wakeup()
    conn = _Conn(Peer(client.host if client else "unknown", wakeup.set))
    ctx.connections += 1
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_send_loop, websocket, conn.peer, wakeup, tg.cancel_scope)
            await _receive_loop(websocket, conn, ctx)
            tg.cancel_scope.cancel()
    finally:
        ctx.connections -= 1
        if conn.session is not None:
            ctx.directory.leave(conn.session, conn.member, time.time())
        ctx.directory.forget_decoy(conn.peer)


async def _send_loop(
    websocket: WebSocket, peer: Peer, wakeup: Wakeup, scope: anyio.CancelScope
) -> None:
    try:
        while True:
            data = peer.outbox.pop()
            if data is not None:
                await websocket.send_bytes(data)
                continue
            request = peer.close_request
            if request is not None:
                delay = request.not_before - time.time()
                if delay > 0:
                    await anyio.sleep(delay)
                code = CLOSE_NORMAL
                if request.code is not None:
                    await websocket.send_bytes(
                        messages.encode(messages.Error(request.code, request.text))
                    )
                    code = CLOSE_POLICY
                await websocket.close(code=code)
                break
            await wakeup.wait()
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away; the receiver sees it too
    scope.cancel()


async def _receive_loop(websocket: WebSocket, conn: _Conn, ctx: RelayContext) -> None:
    while conn.peer.close_request is None:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return
        data = event.get("bytes")
        now = time.time()
        try:
            if data is None:
                raise RemoteProtocolError("text messages are not part of this protocol")
            await _dispatch(bytes(data), conn, ctx, now)
        except RemoteProtocolError as exc:
            log.info("closing %s: %s (%s)", conn.peer.address, exc.text, exc.code.name)
            conn.peer.close(exc.code, exc.text)
    # Wait for the sender to deliver the final message and close; the
    # receiver keeps reading so a client's close handshake completes.
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return


async def _dispatch(data: bytes, conn: _Conn, ctx: RelayContext, now: float) -> None:
    if data and data[0] == Tag.INPUT:
        if conn.session is None or conn.decoy is not None:
            raise RemoteProtocolError("only a controller sends input", ErrorCode.NOT_ALLOWED)
        header = messages.parse_sealed_header(data, Tag.INPUT)
        ctx.directory.forward_input(conn.session, conn.member, header, data, now)
        return
    if data and data[0] == Tag.FRAME:
        if conn.session is None or conn.decoy is not None:
            raise RemoteProtocolError("only the presenter sends frames", ErrorCode.NOT_ALLOWED)
        if len(data) > MAX_FRAME_MESSAGE:
            raise RemoteProtocolError("frame too large", ErrorCode.MESSAGE_TOO_LARGE)
        header = messages.parse_sealed_header(data)
        sender = conn.member.member_id if conn.member is not None else ORGANIZER_MEMBER
        ctx.directory.forward_frame(conn.session, sender, header, data, now)
        return
    message = messages.parse(data)
    if not conn.greeted:
        _hello(message, conn, ctx)
    elif conn.session is not None and conn.member is None:
        ctx.directory.from_organizer(conn.session, message, now)
    elif conn.session is not None and conn.member is not None:
        ctx.directory.from_member(conn.session, conn.member, message, now)
    elif conn.decoy is not None:
        ctx.directory.from_decoy(conn.peer, conn.decoy, message, now)
    elif isinstance(message, messages.Join):
        account = conn.account
        who = (account.name, account.email) if account is not None else None
        groups = account.groups if account is not None else ()
        joined = ctx.directory.join(conn.peer, message, now, who, groups)
        if isinstance(joined, Decoy):
            conn.decoy = joined
        elif joined is not None:
            conn.session, conn.member = joined
    elif isinstance(message, messages.SignIn) and conn.account is None:
        await _sign_in(message, conn, ctx, now)
    elif isinstance(message, messages.CreateSession) and conn.account is not None:
        if conn.account.role not in ORGANIZING_ROLES:
            ctx.audit_record("refused", conn.account.name, conn.peer.address, rule="role")
            raise RemoteProtocolError(
                "Only organizer accounts may start sessions.", ErrorCode.NOT_ALLOWED
            )
        session = ctx.directory.create_session(
            conn.peer, conn.account.name, message.requested_id, now, conn.account.groups
        )
        conn.session = session
        conn.peer.send(messages.SessionCreated(session.session_id, session.presenter_id))
    else:
        raise RemoteProtocolError(
            f"{type(message).__name__} is not allowed before joining or signing in",
            ErrorCode.UNEXPECTED,
        )


def _hello(message: messages.Message, conn: _Conn, ctx: RelayContext) -> None:
    if not isinstance(message, messages.Hello):
        raise RemoteProtocolError("the first message must be Hello", ErrorCode.UNEXPECTED)
    oldest, newest = ctx.client_version_range()
    version = parse_version(message.client_version)
    low = parse_version(oldest)
    high = parse_version(newest) if newest is not None else None
    too_new = version is not None and high is not None and version > high
    if (
        message.proto != PROTOCOL_VERSION
        or version is None
        or (low is not None and version < low)
        or too_new
    ):
        required = f"{oldest} or newer" if newest is None else f"{oldest} to {newest}"
        advice = "Please install an allowed version." if too_new else "Please update."
        ctx.audit_record(
            "refused", None, conn.peer.address, rule="client_versions",
            client_version=message.client_version[:32],
        )  # fmt: skip
        raise RemoteProtocolError(
            f"This relay requires screenrelay {required} (protocol "
            f"{PROTOCOL_VERSION}); this client is {message.client_version} "
            f"(protocol {message.proto}). {advice}",
            ErrorCode.VERSION_REFUSED,
        )
    conn.greeted = True
    conn.peer.send(messages.Welcome(PROTOCOL_VERSION, SOFTWARE_VERSION, ctx.policy_document()))


async def _sign_in(message: messages.SignIn, conn: _Conn, ctx: RelayContext, now: float) -> None:
    address = conn.peer.address
    wait = ctx.throttle.check(message.user, address, now)
    if wait > 0:
        ctx.audit_record("sign_in_refused", message.user, address, reason="throttled")
        raise RemoteProtocolError(
            f"Too many failed sign-ins; try again in {int(wait) + 1} s.", ErrorCode.RATE_LIMITED
        )
    account = await ctx.verify_account(message.user, message.password)
    if account is None:
        ctx.throttle.failed(message.user, address, now)
        ctx.audit_record("sign_in_failed", message.user, address)
        raise RemoteProtocolError("Wrong user name or password.", ErrorCode.SIGN_IN_FAILED)
    ctx.throttle.succeeded(message.user, address)
    conn.account = account
    ctx.audit_record("signed_in", account.name, address)
    conn.peer.send(messages.SignedIn(account.name, account.role))
