"""The organizer's client decides admission and owns the session's keys.

Rules:
  1. The session password and the link secret are made here and never leave
     this machine; the relay only carries SPAKE2 messages.
  2. A joiner is admitted only after its key-confirmation tag checks out;
     every attempt that does not confirm (wrong tag, timeout, disconnect
     before confirming) counts as a failure, and after MAX_FAILURES the
     session's secrets are locked: every later join is rejected.
  3. Content keys are random per epoch. A new epoch starts whenever a member
     leaves (so it cannot read on) and every REKEY_INTERVAL seconds; each
     admitted member gets it wrapped under its own pairwise key.

No I/O: methods take ``now`` and return the messages to send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

from protocol import messages
from protocol.errors import RemoteProtocolError
from protocol.keys import EpochRing, new_epoch_key, wrap_epoch_key
from protocol.pake import AdmissionGuard, OrganizerHandshake
from protocol.sframe import SenderCipher
from protocol.wire import ORGANIZER_MEMBER, Credential

#: Failed admissions before the session's password and link are locked.
MAX_FAILURES: Final = 5

#: Seconds between scheduled rekeys (besides every leave).
REKEY_INTERVAL: Final = 300.0

#: Seconds a joiner has to complete admission.
ADMISSION_TIMEOUT: Final = 30.0


@dataclasses.dataclass(slots=True)
class _Admitted:
    pairwise: bytes


class Organizer:
    """Admission decisions and epoch keys of one session, on the organizer's machine."""

    def __init__(
        self,
        session_id: int,
        secrets_by_credential: dict[Credential, bytes],
        rng: Callable[[int], bytes],
        now: float,
    ) -> None:
        self.session_id = session_id
        self._secrets = secrets_by_credential
        self._rng = rng
        self._guard = AdmissionGuard(MAX_FAILURES)
        self._pending: dict[int, OrganizerHandshake] = {}
        self._admitted: dict[int, _Admitted] = {}
        #: Every member id ever offered; the relay may not reuse one.
        self._seen: set[int] = set()
        self.epoch = 1
        self._epoch_key = new_epoch_key(rng)
        self._rekeyed_at = now
        #: The epoch keys, for opening a participant's frames when it presents.
        self.ring = EpochRing()
        self.ring.install(self.epoch, self._epoch_key)
        #: Seals this host's frames under the current epoch's key.
        self.cipher = SenderCipher(session_id, self.epoch, self._epoch_key, ORGANIZER_MEMBER)

    @property
    def locked(self) -> bool:
        return self._guard.locked

    @property
    def members(self) -> list[int]:
        return sorted(self._admitted)

    def pairwise(self, member_id: int) -> bytes | None:
        """The pairwise key of an admitted member (its input opens under it)."""
        member = self._admitted.get(member_id)
        return member.pairwise if member is not None else None

    def on_join_request(self, request: messages.JoinRequest, now: float) -> messages.Message:
        """Answer a joiner's first PAKE message, or reject it.

        The relay is not trusted here: a member id it already used, or the
        organizer's own, is rejected like a failed attempt, never a crash.
        """
        member_id = request.member_id
        secret = self._secrets.get(request.credential)
        if (
            self.locked
            or secret is None
            or member_id in self._seen
            or member_id <= ORGANIZER_MEMBER
        ):
            return messages.Reject(member_id, self._reject_reason())
        self._seen.add(member_id)
        self._guard.begin(member_id, now)
        handshake = OrganizerHandshake(self.session_id, member_id, secret, self._rng)
        try:
            reply = handshake.respond(request.pake)
        except RemoteProtocolError:  # a malformed PAKE message is a failed attempt
            self._guard.failed(member_id)
            return messages.Reject(member_id, self._reject_reason())
        self._pending[member_id] = handshake
        return messages.PakeReply(member_id, reply)

    def on_confirm(self, confirm: messages.PakeConfirm) -> messages.Message:
        """Admit a joiner whose tag checks out; reject otherwise."""
        member_id = confirm.member_id
        handshake = self._pending.pop(member_id, None)
        if handshake is None:
            return messages.Reject(member_id, self._reject_reason())
        if not handshake.check(confirm.tag):
            self._guard.failed(member_id)
            return messages.Reject(member_id, self._reject_reason())
        if not self._guard.succeeded(member_id):  # locked while this one was in flight
            return messages.Reject(member_id, messages.RejectReason.LOCKED)
        pairwise = handshake.pairwise_key
        self._admitted[member_id] = _Admitted(pairwise)
        wrapped = wrap_epoch_key(
            pairwise, self.session_id, member_id, self.epoch, self._epoch_key, self._rng
        )
        return messages.Admit(member_id, handshake.organizer_tag(), self.epoch, wrapped)

    def _reject_reason(self) -> messages.RejectReason:
        if self.locked:
            return messages.RejectReason.LOCKED
        return messages.RejectReason.CONFIRM_FAILED

    def on_member_left(self, member_id: int, now: float) -> list[messages.Message]:
        """Forget a member; if it was admitted, rekey so it cannot read on."""
        if self._pending.pop(member_id, None) is not None:
            self._guard.failed(member_id)  # left before confirming: a failed attempt
        if self._admitted.pop(member_id, None) is None:
            return []
        return self.rekey(now)

    def rekey(self, now: float) -> list[messages.Message]:
        """Start a new epoch; the KeyUpdates must go out before the next frame."""
        self.epoch += 1
        self._epoch_key = new_epoch_key(self._rng)
        self._rekeyed_at = now
        self.ring.install(self.epoch, self._epoch_key)
        self.cipher.rekey(self.epoch, self._epoch_key)
        return [
            messages.KeyUpdate(
                member_id,
                self.epoch,
                wrap_epoch_key(
                    member.pairwise,
                    self.session_id,
                    member_id,
                    self.epoch,
                    self._epoch_key,
                    self._rng,
                ),
            )
            for member_id, member in self._admitted.items()
        ]

    def tick(self, now: float) -> list[messages.Message]:
        """Expire slow admissions; rekey when the epoch is old."""
        for member_id in self._guard.expire(now, timeout=ADMISSION_TIMEOUT):
            self._pending.pop(member_id, None)
        if now - self._rekeyed_at >= REKEY_INTERVAL:
            return self.rekey(now)
        return []
