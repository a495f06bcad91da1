"""Live sessions: admission routing, roles and fan-out, all in memory.

Rules this module enforces (the relay is the second line; consent and keys
live on the clients):
  1. Only a signed-in organizer creates a session; its ID is 9 random digits
     from ``secrets``, unique among live sessions.
  2. A joiner's admission runs AWAIT_REPLY -> AWAIT_CONFIRM -> AWAIT_DECISION
     -> ADMITTED. Each step accepts exactly one message from one side; any
     other message is refused naming the state. The relay only passes PAKE
     messages along; the organizer's client decides admission.
  3. An unknown session ID, a rejected password, a lock and a timeout all end
     with the same ADMISSION_FAILED error, sent no earlier than
     ``failure_floor`` seconds after the Join arrived, so neither the answer
     nor its timing tells which. A Join for an unknown ID is answered with a
     decoy PakeReply (a real SPAKE2 message for a random secret), so the
     message sequence is the same too: Join, PakeReply, PakeConfirm, Error.
  4. Only the presenter's frames are forwarded, and only to admitted members;
     a frame's sender field must be its sender's own member id.
  5. A member who leaves is forgotten and the organizer told (it rekeys); when
     the organizer leaves or ends the session, everyone is told and the
     session is forgotten. Nothing of a session outlives it but audit metadata.
  6. The administrator's policy (relay/policy.py) is enforced where each rule
     applies: who organizes and which session ID at CreateSession, who joins
     at Join, how many at Admit, features at each request, length and idle
     time on every tick. A new policy applies at once to new actions and,
     where it restricts, to running sessions (``apply_policy``): control in
     force ends, a presenting participant loses the role. Every refusal is
     answered with a sentence naming the rule and audited as ``refused``.

Domain methods are synchronous and take ``now`` (seconds, wall clock).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import secrets
from collections.abc import Callable, Iterator, Sequence
from typing import Final

from protocol import messages
from protocol.errors import ErrorCode, RemoteProtocolError
from protocol.pake import OrganizerHandshake
from protocol.wire import (
    FLAG_KEYFRAME,
    ORGANIZER_MEMBER,
    SESSION_ID_MAX,
    SESSION_ID_MIN,
    ControlReason,
    PresenterReason,
)
from relay.control_routing import ControlRouter
from relay.outbox import OutboxStatistics, Verdict
from relay.peer import Peer
from relay.policy import Policy
from relay.ratelimit import RateLimiter
from relay.roles import Roles
from relay.store import DetailValue

#: Seconds a joiner may take between Join and admission before it fails.
ADMISSION_TIMEOUT: Final = 30.0

#: Minimum seconds between two key frame requests to one presenter; a slow
#: viewer must not make the presenter send nothing but key frames.
KEYFRAME_REQUEST_INTERVAL: Final = 0.1

#: Decoy member ids are drawn from 2 .. 2 + this - 1, like a young session's.
DECOY_MEMBER_SPREAD: Final = 8

#: Largest member id; a session that has seen this many joins takes no more.
MAX_MEMBER_ID: Final = 0xFFFF


class JoinState(enum.Enum):
    """Where a joiner stands in admission."""

    #: Join forwarded to the organizer; waiting for its PakeReply.
    AWAIT_REPLY = "await-reply"
    #: PakeReply forwarded to the joiner; waiting for its PakeConfirm.
    AWAIT_CONFIRM = "await-confirm"
    #: PakeConfirm forwarded; waiting for the organizer's Admit or Reject.
    AWAIT_DECISION = "await-decision"
    #: Admitted: receives frames and key updates.
    ADMITTED = "admitted"


#: (state, message type) -> next state. A pair missing here is refused.
JOIN_TRANSITIONS: Final[dict[tuple[JoinState, type[messages.Message]], JoinState]] = {
    (JoinState.AWAIT_REPLY, messages.PakeReply): JoinState.AWAIT_CONFIRM,
    (JoinState.AWAIT_CONFIRM, messages.PakeConfirm): JoinState.AWAIT_DECISION,
    (JoinState.AWAIT_DECISION, messages.Admit): JoinState.ADMITTED,
    (JoinState.ADMITTED, messages.KeyUpdate): JoinState.ADMITTED,
}


@dataclasses.dataclass(frozen=True, slots=True)
class DirectoryConfig:
    """Limits of the session directory."""

    #: Seconds before a failed admission is answered (same for every cause).
    failure_floor: float = 1.0
    #: Most admitted participants per session (the organizer not counted),
    #: whatever the policy says; the policy's own limit is usually lower.
    max_participants: int = 10_000
    #: Join attempts per client address: burst, then per second.
    joins_per_address_burst: int = 10
    joins_per_address_rate: float = 10 / 60
    #: Join attempts per session ID (known or not): burst, then per second.
    joins_per_session_burst: int = 20
    joins_per_session_rate: float = 20 / 60
    #: Whether viewers may ask for remote control at all (the policy may
    #: forbid it besides).
    remote_control: bool = True
    #: Whether the organizer may hand the presenter role to participants
    #: (the policy may forbid it besides).
    participants_present: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """Metadata about something that happened; never content or secrets."""

    #: Wall-clock seconds.
    at: float
    action: str
    actor: str | None
    address: str | None
    session_id: int | None
    detail: dict[str, DetailValue]


@dataclasses.dataclass(slots=True)
class Member:
    """A joiner of a live session."""

    member_id: int
    peer: Peer
    state: JoinState
    #: When the Join arrived (for the admission timeout and failure floor).
    joined_at: float


@dataclasses.dataclass(slots=True)
class Decoy:
    """A joiner of a session that does not exist, led on like a real one."""

    member_id: int
    #: When the Join arrived.
    joined_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class SessionStatistics:
    """A snapshot of a live session for operators (metadata only)."""

    session_id: int
    organizer: str
    started_at: float
    admitted: int
    pending: int
    frames_forwarded: int
    bytes_forwarded: int
    frames_refused: int
    keyframe_requests: int
    #: Member id -> its outbox; the organizer's is under ORGANIZER_MEMBER.
    outboxes: dict[int, OutboxStatistics]


class LiveSession:
    """One session while it runs. Exists only in memory."""

    def __init__(
        self,
        session_id: int,
        organizer_name: str,
        organizer: Peer,
        now: float,
        *,
        remote_control: bool = True,
        participants_present: bool = True,
    ) -> None:
        self.session_id = session_id
        self.organizer_name = organizer_name
        self.organizer = organizer
        self.started_at = now
        #: When anything last happened (frames, input, joins, role or control
        #: changes; not rekeys), for the policy's idle timeout.
        self.last_activity = now
        self.members: dict[int, Member] = {}
        #: Who presents, and the ask in force (second line).
        self.roles = Roles(participants_may_present=participants_present)
        self._next_member_id = ORGANIZER_MEMBER + 1
        self._last_keyframe_request = float("-inf")
        #: A key frame request held back by the interval, for the next tick.
        self.keyframe_pending = False
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        #: Frames from a member who does not present (dropped, not forwarded).
        self.frames_refused = 0
        self.keyframe_requests = 0
        #: Remote control as the presenter announced it (second line).
        self.control = ControlRouter(allowed=remote_control)

    @property
    def presenter_id(self) -> int:
        """The member who presents (the organizer is 1; 0: nobody)."""
        return self.roles.presenter

    def presenter(self) -> Peer | None:
        """The connection of whoever presents now, if anyone does."""
        if self.presenter_id == ORGANIZER_MEMBER:
            return self.organizer
        member = self.members.get(self.presenter_id)
        return member.peer if member is not None else None

    def controllers(self) -> set[int]:
        """Who may hold control of the presenter's machine (a pairwise key with it)."""
        if self.presenter_id == ORGANIZER_MEMBER:
            return {m.member_id for m in self.admitted()}
        if self.presenter_id:
            return {ORGANIZER_MEMBER}
        return set()

    def may_control(self, requester: int) -> bool:
        """Whether ``requester`` may ask the presenter for control."""
        return requester != self.presenter_id and requester in self.controllers()

    @contextlib.contextmanager
    def presenter_change(self) -> Iterator[None]:
        """Around a change of roles: if the presenter changed, control ends at the relay."""
        before = self.presenter_id
        yield
        if self.presenter_id != before:
            self.control.presenter_changed()

    def broadcast(self, message: messages.Message) -> None:
        """Send ``message`` to the organizer and every admitted member."""
        self.organizer.send(message)
        for member in self.admitted():
            member.peer.send(message)

    def allocate_member_id(self) -> int | None:
        if self._next_member_id > MAX_MEMBER_ID:
            return None
        member_id = self._next_member_id
        self._next_member_id += 1
        return member_id

    def admitted(self) -> Iterator[Member]:
        return (m for m in self.members.values() if m.state is JoinState.ADMITTED)

    def request_keyframe(self, now: float, *, force: bool = False) -> None:
        """Ask the presenter for a key frame, at most once per interval (unless ``force``).

        A request inside the interval is not lost: it stays pending and the
        next tick sends it (on a still screen no other frame would follow).
        """
        if not force and now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL:
            self.keyframe_pending = True
            return
        self.keyframe_pending = False
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        presenter = self.presenter()
        if presenter is not None:
            presenter.send(messages.KeyframeRequest())

    def statistics(self) -> SessionStatistics:
        members = list(self.members.values())
        return SessionStatistics(
            session_id=self.session_id,
            organizer=self.organizer_name,
            started_at=self.started_at,
            admitted=sum(m.state is JoinState.ADMITTED for m in members),
            pending=sum(m.state is not JoinState.ADMITTED for m in members),
            frames_forwarded=self.frames_forwarded,
            bytes_forwarded=self.bytes_forwarded,
            frames_refused=self.frames_refused,
            keyframe_requests=self.keyframe_requests,
            outboxes={
                ORGANIZER_MEMBER: self.organizer.outbox.statistics(),
                **{m.member_id: m.peer.outbox.statistics() for m in members},
            },
        )


def _refuse(state: object, message: messages.Message) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"{type(message).__name__} is not allowed in state {state}", ErrorCode.UNEXPECTED
    )


class Directory:
    """All live sessions of this relay, keyed by session ID."""

    def __init__(
        self,
        config: DirectoryConfig,
        audit: Callable[[AuditRecord], None],
        new_session_id: Callable[[], int] | None = None,
        policy: Policy | None = None,
    ) -> None:
        self._config = config
        self._audit = audit
        #: The administrator's policy in force (``apply_policy`` changes it).
        self.policy = policy or Policy()
        self._new_session_id = new_session_id or (
            lambda: SESSION_ID_MIN + secrets.randbelow(SESSION_ID_MAX - SESSION_ID_MIN + 1)
        )
        self.sessions: dict[int, LiveSession] = {}
        self._decoys: dict[Peer, Decoy] = {}
        self._address_joins = RateLimiter(
            rate=config.joins_per_address_rate, burst=config.joins_per_address_burst
        )
        self._session_joins = RateLimiter(
            rate=config.joins_per_session_rate, burst=config.joins_per_session_burst
        )

    # -- organizer ----------------------------------------------------------

    def create_session(
        self,
        organizer: Peer,
        user: str,
        requested_id: int,
        now: float,
        groups: Sequence[str] = (),
    ) -> LiveSession:
        """Open a session for a signed-in organizer (``groups``: its account's)."""
        organize = self.policy.organize
        if not organize.allows(user, groups):
            named = "accounts and groups" if organize.groups else "accounts"
            if not organize.accounts:
                named = "groups"
            self._refuse_by_policy(
                organize.rule, user, organizer.address, None, now,
                f"This relay's policy lets only the {named} it names start sessions.",
            )  # fmt: skip
        if requested_id and not self.policy.features.custom_session_id:
            self._refuse_by_policy(
                "features.custom_session_id", user, organizer.address, None, now,
                "Choosing the session ID is disabled by this relay's policy.",
            )  # fmt: skip
        if requested_id:
            if requested_id in self.sessions:
                raise RemoteProtocolError("That session ID is already in use.", ErrorCode.ID_TAKEN)
            session_id = requested_id
        else:
            session_id = self._new_session_id()
            while session_id in self.sessions:
                session_id = self._new_session_id()
        session = LiveSession(
            session_id,
            user,
            organizer,
            now,
            remote_control=self._remote_control_allowed(),
            participants_present=self._participants_present_allowed(),
        )
        self.sessions[session_id] = session
        self._record("session_started", user, organizer.address, session_id, now)
        return session

    def from_organizer(self, session: LiveSession, message: messages.Message, now: float) -> None:
        """Route a message the organizer's client sent."""
        if not isinstance(message, messages.KeyUpdate):
            session.last_activity = now
        if isinstance(message, messages.EndSession):
            self.end_session(session, now, reason="ended by organizer")
            return
        if isinstance(message, messages.ControlRequest | messages.ControlRelease):
            self._control_from(session, ORGANIZER_MEMBER, message, session.organizer.send, now)
            return
        if isinstance(message, messages.PresentRequest):
            if not session.roles.allowed:
                session.organizer.send(
                    messages.PresenterChanged(
                        session.presenter_id, message.member_id, PresenterReason.POLICY
                    )
                )
                self._record_refused(
                    session, None, now, "features.participants_present", member=message.member_id
                )
                return
            target = session.members.get(message.member_id)
            admitted = target is not None and target.state is JoinState.ADMITTED
            forward = target.peer.send if target is not None else session.organizer.send
            session.roles.ask(
                message.member_id, admitted, forward, self._recorder(session, None, now)
            )
            return
        if isinstance(message, messages.SetPresenter):
            with session.presenter_change():
                presents = session.roles.set_by_organizer(
                    message.presenter, session.broadcast, self._recorder(session, None, now)
                )
            if presents:
                session.request_keyframe(now, force=True)
            return
        if isinstance(message, messages.ControlState):
            self._control_state(session, ORGANIZER_MEMBER, message, None, now)
            return
        if not isinstance(
            message, messages.PakeReply | messages.Admit | messages.Reject | messages.KeyUpdate
        ):
            raise _refuse("organizing", message)
        member = session.members.get(message.member_id)
        if member is None:
            return  # the joiner left meanwhile: nothing to route
        if isinstance(message, messages.Reject):
            if member.state is JoinState.ADMITTED:
                raise _refuse(member.state, message)
            self._fail_admission(session, member, now, reason=f"rejected:{message.reason.name}")
            return
        next_state = JOIN_TRANSITIONS.get((member.state, type(message)))
        if next_state is None:
            raise _refuse(member.state, message)
        if isinstance(message, messages.Admit):
            count = sum(1 for _ in session.admitted())
            limit = self._max_participants()
            if count >= limit:
                self._drop_joiner(
                    session,
                    member,
                    now,
                    reason="session full",
                    code=ErrorCode.NOT_ALLOWED,
                    text="The session is full: this relay's policy allows at most "
                    f"{limit} participants.",
                )
                self._record_refused(session, member, now, "sessions.max_participants", limit=limit)
                session.organizer.send(messages.MemberLeft(member.member_id))
                return
        member.state = next_state
        member.peer.send(message)
        if isinstance(message, messages.Admit):
            session.organizer.send(messages.MemberJoined(member.member_id, member.peer.address))
            self._record(
                "joined",
                None,
                member.peer.address,
                session.session_id,
                now,
                member=member.member_id,
            )
            # Forced: a new viewer has no picture until a key frame comes, and
            # a still screen sends none by itself, so a second admission within
            # the interval must not be swallowed by the throttle. Admissions
            # are rate-limited (joins per address and per session), so this is too.
            session.request_keyframe(now, force=True)

    def end_session(
        self,
        session: LiveSession,
        now: float,
        *,
        reason: str,
        text: str = "The session has ended.",
    ) -> None:
        """Tell everyone the session ended (``text``: the sentence they see) and forget it."""
        if self.sessions.get(session.session_id) is not session:
            return
        del self.sessions[session.session_id]
        for member in session.members.values():
            member.peer.send(messages.SessionEnded(ErrorCode.SESSION_ENDED, text))
            member.peer.close(None)
        session.organizer.send(messages.SessionEnded(ErrorCode.SESSION_ENDED, text))
        session.organizer.close(None)
        self._record(
            "session_ended",
            session.organizer_name,
            None,
            session.session_id,
            now,
            reason=reason,
            duration=round(now - session.started_at, 3),
        )

    # -- joiners ------------------------------------------------------------

    def join(
        self,
        peer: Peer,
        message: messages.Join,
        now: float,
        account: tuple[str, str | None] | None = None,
        groups: Sequence[str] = (),
    ) -> tuple[LiveSession, Member] | Decoy | None:
        """Start a joiner's admission.

        ``account`` is the joiner's (name, e-mail) if it signed in, ``groups``
        its account's groups. Returns the session and member, a Decoy for an
        unknown session ID, or None if refused at once (the peer is being
        closed).
        """
        join_policy = self.policy.join
        name, email = account if account is not None else (None, None)
        if not join_policy.allows(name, email, groups):
            text = {
                "signed_in": "This relay's policy admits only signed-in accounts to sessions; "
                "join with --user NAME.",
                "allowlist": f"This relay's policy admits only {join_policy.named()} "
                "it names to sessions" + ("." if name is not None else "; join with --user NAME."),
            }[join_policy.who]
            peer.close(ErrorCode.NOT_ALLOWED, text)
            self._record("refused", name, peer.address, None, now, rule=f"join.{join_policy.who}")
            return None
        if not self._address_joins.allow(peer.address, now) or not self._session_joins.allow(
            message.session_id, now
        ):
            peer.close(ErrorCode.RATE_LIMITED)
            self._record("join_refused", None, peer.address, None, now, reason="rate limited")
            return None
        session = self.sessions.get(message.session_id)
        member_id = session.allocate_member_id() if session else None
        if session is None or member_id is None:
            self._record(
                "join_refused",
                None,
                peer.address,
                None,
                now,
                reason="admission failed",
                requested=message.session_id,
            )
            return self._lead_on(peer, message, now)
        member = Member(member_id, peer, JoinState.AWAIT_REPLY, now)
        session.members[member_id] = member
        session.organizer.send(messages.JoinRequest(member_id, message.credential, message.pake))
        return session, member

    def _lead_on(self, peer: Peer, message: messages.Join, now: float) -> Decoy | None:
        decoy = Decoy(ORGANIZER_MEMBER + 1 + secrets.randbelow(DECOY_MEMBER_SPREAD), now)
        handshake = OrganizerHandshake(
            message.session_id, decoy.member_id, secrets.token_bytes(32), secrets.token_bytes
        )
        try:
            reply = handshake.respond(message.pake)
        except RemoteProtocolError:  # an organizer would reject a malformed message too
            peer.close(ErrorCode.ADMISSION_FAILED, not_before=now + self._config.failure_floor)
            return None
        peer.send(messages.PakeReply(decoy.member_id, reply))
        self._decoys[peer] = decoy
        return decoy

    def from_decoy(self, peer: Peer, decoy: Decoy, message: messages.Message, now: float) -> None:
        """A decoy's PakeConfirm fails exactly as a wrong password does."""
        if not isinstance(message, messages.PakeConfirm) or peer not in self._decoys:
            raise _refuse(JoinState.AWAIT_CONFIRM, message)
        del self._decoys[peer]
        floor = decoy.joined_at + self._config.failure_floor
        peer.close(ErrorCode.ADMISSION_FAILED, not_before=floor)

    def forget_decoy(self, peer: Peer) -> None:
        """The decoy's connection closed."""
        self._decoys.pop(peer, None)

    def from_member(
        self, session: LiveSession, member: Member, message: messages.Message, now: float
    ) -> None:
        """Route a message a joiner or admitted member sent."""
        session.last_activity = now
        if isinstance(message, messages.PresentAnswer) and member.state is JoinState.ADMITTED:
            with session.presenter_change():
                presents = session.roles.answer(
                    member.member_id,
                    message,
                    session.broadcast,
                    self._recorder(session, member, now),
                )
            if presents:
                session.request_keyframe(now, force=True)
            return
        if isinstance(message, messages.ControlRequest | messages.ControlRelease):
            if member.state is not JoinState.ADMITTED:
                raise RemoteProtocolError(
                    "only an admitted viewer may ask for control", ErrorCode.NOT_ALLOWED
                )
            self._control_from(session, member.member_id, message, member.peer.send, now)
            return
        if isinstance(message, messages.ControlState) and member.state is JoinState.ADMITTED:
            self._control_state(session, member.member_id, message, member, now)
            return
        next_state = JOIN_TRANSITIONS.get((member.state, type(message)))
        if not isinstance(message, messages.PakeConfirm) or next_state is None:
            raise _refuse(member.state, message)
        member.state = next_state
        session.organizer.send(messages.PakeConfirm(member.member_id, message.tag))

    def leave(self, session: LiveSession, member: Member | None, now: float) -> None:
        """A connection closed: a member leaves, or the organizer ends it all."""
        if member is None:
            self.end_session(session, now, reason="organizer disconnected")
            return
        if session.members.pop(member.member_id, None) is None:
            return
        if session.control.controller == member.member_id:
            session.control.controller = 0  # no input from a member who is gone
        if member.state is JoinState.ADMITTED:
            with session.presenter_change():
                session.roles.left(
                    member.member_id, session.broadcast, self._recorder(session, member, now)
                )
        if self.sessions.get(session.session_id) is session:
            session.organizer.send(messages.MemberLeft(member.member_id))
        if member.state is JoinState.ADMITTED:
            self._record(
                "left", None, member.peer.address, session.session_id, now, member=member.member_id
            )

    # -- remote control -------------------------------------------------------

    def _control_from(
        self,
        session: LiveSession,
        requester: int,
        message: messages.ControlRequest | messages.ControlRelease,
        answer: Callable[[messages.Message], None],
        now: float,
    ) -> None:
        """A ControlRequest or ControlRelease from the organizer (1) or a member."""
        presenter = session.presenter()
        if isinstance(message, messages.ControlRelease):
            if session.control.may_release(requester) and presenter is not None:
                presenter.send(messages.ControlRelease())
            return
        if presenter is None or not session.may_control(requester):
            # Control needs a pairwise key with the presenter: the organizer
            # shares one with each participant, participants none with each other.
            answer(messages.ControlState(0, 0, requester, ControlReason.REFUSED))
            return
        member = session.members.get(requester)
        if not session.control.allowed:
            answer(messages.ControlState(0, session.control.grant, requester, ControlReason.POLICY))
            self._record_refused(session, member, now, "features.remote_control", member=requester)
            return
        session.control.request(
            requester,
            session.presenter_id,
            True,
            presenter.send,
            answer,
            self._recorder(session, member, now),
        )

    def _control_state(
        self,
        session: LiveSession,
        sender: int,
        state: messages.ControlState,
        member: Member | None,
        now: float,
    ) -> None:
        """A ControlState from the presenter, or a former presenter's "it ended"."""
        record = self._recorder(session, member, now)
        if sender == session.presenter_id and state.controller and not session.control.allowed:
            # Granted in a prompt answered after the policy changed: end it
            # at once, and tell the presenter, whose client closes its gate.
            self._end_control_by_policy(session, state.controller, state.grant, now)
            return
        if sender == session.presenter_id:
            controllers = {m for m in session.controllers() if m != sender}
            session.control.announce(state, controllers, record)
        elif state.controller:
            return  # a grant by someone who no longer presents is not in force
        else:
            session.control.note(state, record)
        if sender != ORGANIZER_MEMBER:
            session.organizer.send(state)
        for admitted_member in session.admitted():
            if admitted_member.member_id != sender:
                admitted_member.peer.send(state)

    # -- frames -------------------------------------------------------------

    def forward_frame(
        self,
        session: LiveSession,
        sender_id: int,
        header: tuple[int, int, int, int],
        data: bytes,
        now: float,
    ) -> None:
        """Fan a sealed frame's bytes out to every admitted member but its sender.

        ``header`` is the frame's (epoch, sender, counter, flags); ``data`` its
        bytes, forwarded as they are: one object shared by every outbox.
        """
        _epoch, header_sender, _counter, flags = header
        if header_sender != sender_id:
            raise RemoteProtocolError(
                "a frame must carry its sender's own id", ErrorCode.NOT_ALLOWED
            )
        if sender_id != session.presenter_id:
            session.frames_refused += 1  # e.g. in flight when the role was taken back
            return
        keyframe = bool(flags & FLAG_KEYFRAME)
        need_key = False
        outboxes = [m.peer.outbox for m in session.admitted() if m.member_id != sender_id]
        if sender_id != ORGANIZER_MEMBER:
            outboxes.append(session.organizer.outbox)
        for outbox in outboxes:
            if outbox.put_frame(data, keyframe=keyframe) is Verdict.NEED_KEYFRAME:
                need_key = True
        session.frames_forwarded += 1
        session.bytes_forwarded += len(data)
        session.last_activity = now
        if need_key:
            session.request_keyframe(now)

    def forward_input(
        self,
        session: LiveSession,
        member: Member | None,
        header: tuple[int, int, int, int],
        data: bytes,
        now: float,
    ) -> None:
        """Pass a controller's sealed Input to the presenter, or drop it.

        ``member`` is None for the organizer (which may control a presenting
        participant)."""
        grant, sender, _counter, _flags = header
        presenter = session.presenter()
        from_id = member.member_id if member is not None else ORGANIZER_MEMBER
        if session.control.may_forward_input(from_id, sender, grant, now) and presenter:
            session.last_activity = now
            presenter.send_bytes(data)

    # -- time ---------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Fail admissions that took longer than ADMISSION_TIMEOUT; end sessions
        that ran longer, or sat idle longer, than the policy allows."""
        for peer, decoy in list(self._decoys.items()):
            if now - decoy.joined_at > ADMISSION_TIMEOUT:
                del self._decoys[peer]
                peer.close(ErrorCode.ADMISSION_FAILED)
        for session in list(self.sessions.values()):
            for member in list(session.members.values()):
                if (
                    member.state is not JoinState.ADMITTED
                    and now - member.joined_at > ADMISSION_TIMEOUT
                ):
                    self._fail_admission(session, member, now, reason="timeout")
                    session.organizer.send(messages.MemberLeft(member.member_id))
            if session.keyframe_pending:
                session.request_keyframe(now)
            self._end_if_over_time(session, now)

    # -- policy -------------------------------------------------------------

    def apply_policy(self, policy: Policy, now: float) -> None:
        """Put a new policy in force; restrict running sessions where it restricts.

        Control in force ends (ControlState POLICY to everyone: the presenter's
        client closes its gate on it) and a presenting participant loses the
        role (PresenterChanged POLICY). A lower participant limit only stops
        new admissions; nobody admitted is sent away.
        """
        self.policy = policy
        remote_control = self._remote_control_allowed()
        participants_present = self._participants_present_allowed()
        for session in list(self.sessions.values()):
            session.control.allowed = remote_control
            if not remote_control and session.control.controller:
                self._end_control_by_policy(
                    session, session.control.controller, session.control.grant, now
                )
            session.roles.allowed = participants_present
            if not participants_present:
                with session.presenter_change():
                    session.roles.withdraw_by_policy(
                        session.broadcast, self._recorder(session, None, now)
                    )
            self._end_if_over_time(session, now)

    def _end_control_by_policy(
        self, session: LiveSession, controller: int, grant: int, now: float
    ) -> None:
        """No input from here on; tell the presenter and everyone why."""
        session.control.presenter_changed()  # forget the grant: input is dropped at once
        session.broadcast(messages.ControlState(0, grant, controller, ControlReason.POLICY))
        self._record_refused(
            session, None, now, "features.remote_control", member=controller, ended="control"
        )

    def _end_if_over_time(self, session: LiveSession, now: float) -> None:
        limits = self.policy.sessions
        longest, idle = limits.max_duration_seconds, limits.idle_timeout_seconds
        if longest is not None and now - session.started_at >= longest:
            self.end_session(
                session,
                now,
                reason="policy:sessions.max_duration_seconds",
                text=f"The session reached the longest time this relay's policy allows "
                f"({_duration(longest)}).",
            )
        elif idle is not None and now - session.last_activity >= idle:
            self.end_session(
                session,
                now,
                reason="policy:sessions.idle_timeout_seconds",
                text=f"The session was idle longer than this relay's policy allows "
                f"({_duration(idle)}).",
            )

    def _remote_control_allowed(self) -> bool:
        return self._config.remote_control and self.policy.features.remote_control

    def _participants_present_allowed(self) -> bool:
        return self._config.participants_present and self.policy.features.participants_present

    def _max_participants(self) -> int:
        return min(self._config.max_participants, self.policy.sessions.max_participants)

    def _refuse_by_policy(
        self,
        rule: str,
        actor: str | None,
        address: str,
        session_id: int | None,
        now: float,
        text: str,
    ) -> None:
        """Audit a refusal and raise the error that answers it."""
        self._record("refused", actor, address, session_id, now, rule=rule)
        raise RemoteProtocolError(text, ErrorCode.NOT_ALLOWED)

    def _record_refused(
        self,
        session: LiveSession,
        by: Member | None,
        now: float,
        rule: str,
        **detail: DetailValue,
    ) -> None:
        """Audit a refusal by policy; ``by`` is the member refused (None: the organizer)."""
        self._recorder(session, by, now)("refused", rule=rule, **detail)

    def _fail_admission(
        self, session: LiveSession, member: Member, now: float, *, reason: str
    ) -> None:
        self._drop_joiner(
            session,
            member,
            now,
            reason=reason,
            not_before=member.joined_at + self._config.failure_floor,
        )

    def _drop_joiner(
        self,
        session: LiveSession,
        member: Member,
        now: float,
        *,
        reason: str,
        code: ErrorCode = ErrorCode.ADMISSION_FAILED,
        text: str | None = None,
        not_before: float = 0.0,
    ) -> None:
        session.members.pop(member.member_id, None)
        member.peer.close(code, text, not_before=not_before)
        self._record(
            "join_refused",
            None,
            member.peer.address,
            session.session_id,
            now,
            reason=reason,
            member=member.member_id,
        )

    def _recorder(
        self, session: LiveSession, member: Member | None, now: float
    ) -> Callable[..., None]:
        actor = None if member is not None else session.organizer_name
        address = (member.peer if member is not None else session.organizer).address

        def record(action: str, **detail: DetailValue) -> None:
            self._record(action, actor, address, session.session_id, now, **detail)

        return record

    def _record(
        self,
        action: str,
        actor: str | None,
        address: str | None,
        session_id: int | None,
        now: float,
        **detail: DetailValue,
    ) -> None:
        self._audit(AuditRecord(now, action, actor, address, session_id, dict(detail)))


def _duration(seconds: int) -> str:
    """``90`` -> "90 seconds", ``3600`` -> "60 minutes": how a rule is named to people."""
    if seconds % 60 == 0 and seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
