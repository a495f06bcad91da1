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
from protocol.keys import new_epoch_key, wrap_epoch_key
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
        self.epoch = 1
        self._epoch_key = new_epoch_key(rng)
        self._rekeyed_at = now
        #: Seals this host's frames under the current epoch's key.
        self.cipher = SenderCipher(session_id, self.epoch, self._epoch_key, ORGANIZER_MEMBER)

    @property
    def locked(self) -> bool:
        return self._guard.locked

    @property
    def members(self) -> list[int]:
        return sorted(self._admitted)

    def on_join_request(self, request: messages.JoinRequest, now: float) -> messages.Message:
        """Answer a joiner's first PAKE message (or reject it if locked)."""
        secret = self._secrets.get(request.credential)
        if self.locked or secret is None:
            return messages.Reject(request.member_id, messages.RejectReason.LOCKED)
        handshake = OrganizerHandshake(self.session_id, request.member_id, secret, self._rng)
        try:
            reply = handshake.respond(request.pake)
        except Exception:  # a malformed PAKE message is a failed attempt
            self._guard.begin(request.member_id, now)
            self._guard.failed(request.member_id)
            return messages.Reject(request.member_id, messages.RejectReason.CONFIRM_FAILED)
        self._guard.begin(request.member_id, now)
        self._pending[request.member_id] = handshake
        return messages.PakeReply(request.member_id, reply)

    def on_confirm(self, confirm: messages.PakeConfirm) -> messages.Message:
        """Admit a joiner whose tag checks out; reject otherwise."""
        handshake = self._pending.pop(confirm.member_id, None)
        if handshake is None or self.locked or not handshake.check(confirm.tag):
            if handshake is not None:
                self._guard.failed(confirm.member_id)
            reason = (
                messages.RejectReason.LOCKED if self.locked
                else messages.RejectReason.CONFIRM_FAILED
            )
            return messages.Reject(confirm.member_id, reason)
        self._guard.succeeded(confirm.member_id)
        pairwise = handshake.pairwise_key
        self._admitted[confirm.member_id] = _Admitted(pairwise)
        wrapped = wrap_epoch_key(
            pairwise, self.session_id, confirm.member_id, self.epoch, self._epoch_key, self._rng
        )
        return messages.Admit(confirm.member_id, handshake.organizer_tag(), self.epoch, wrapped)

    def on_member_left(self, member_id: int, now: float) -> list[messages.Message]:
        """Forget a member; if it was admitted, rekey so it cannot read on."""
        if self._pending.pop(member_id, None) is not None:
            self._guard.failed(member_id)
        if self._admitted.pop(member_id, None) is None:
            return []
        return self.rekey(now)

    def rekey(self, now: float) -> list[messages.Message]:
        """Start a new epoch; the KeyUpdates must go out before the next frame."""
        self.epoch += 1
        self._epoch_key = new_epoch_key(self._rng)
        self._rekeyed_at = now
        self.cipher.rekey(self.epoch, self._epoch_key)
        return [
            messages.KeyUpdate(
                member_id,
                self.epoch,
                wrap_epoch_key(
                    member.pairwise, self.session_id, member_id, self.epoch, self._epoch_key,
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
