"""Messages over a plain byte stream: each one prefixed by its u32 length.

WebSocket carries message boundaries itself; benchmark baselines and other
transports that move a byte stream use this framing instead::

    u32 length (big-endian) || message bytes (tag byte, fields)

`frame_message` adds the prefix. `StreamDecoder` takes chunks of any size
with `feed` and hands back messages with `next_message`, h11 style. It never
buffers more than a message's cap for one message: the length prefix is
checked against ``MAX_FRAME_MESSAGE`` the moment its four bytes are in, and
against ``MAX_CONTROL_MESSAGE`` as soon as the tag byte shows the message is
not a Frame, so a peer cannot make it hold 40 MiB of a control message.
"""

from __future__ import annotations

import collections
import struct
from dataclasses import dataclass
from typing import Final

from protocol.codec import byte_view
from protocol.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocol.messages import Message, parse
from protocol.wire import MAX_CONTROL_MESSAGE, MAX_FRAME_MESSAGE, Tag

#: The length prefix in front of every message.
LENGTH_PREFIX: Final = struct.Struct(">I")


def frame_message(msg_bytes: bytes | bytearray | memoryview) -> bytes:
    """*msg_bytes* (an encoded message) with its length prefix."""
    size = len(byte_view(msg_bytes))
    if not 0 < size <= MAX_FRAME_MESSAGE:
        raise LocalProtocolError(f"cannot frame a {size}-byte message")
    return LENGTH_PREFIX.pack(size) + msg_bytes


@dataclass(frozen=True, slots=True)
class DecoderStatistics:
    """A snapshot of a `StreamDecoder`'s buffers and progress."""

    #: Bytes held: a partial prefix, a partial message and complete messages
    #: not yet taken with `StreamDecoder.next_message`.
    buffered_bytes: int
    #: Complete messages waiting for `StreamDecoder.next_message`.
    pending_messages: int
    #: Messages `StreamDecoder.next_message` has parsed and returned.
    messages_decoded: int


class StreamDecoder:
    """Splits a byte stream into messages; see the module docstring.

    A bad length prefix leaves the stream out of step, so after one the
    decoder refuses all further input with the same error. A message that
    fails to parse does not: `next_message` raises for it and the following
    messages can still be read.
    """

    def __init__(self) -> None:
        self._prefix = bytearray()
        #: Length of the message being received, once its prefix is in.
        self._length: int | None = None
        self._body = bytearray()
        self._pending: collections.deque[bytearray] = collections.deque()
        self._pending_bytes = 0
        self._decoded = 0
        self._error: RemoteProtocolError | None = None

    def _fail(self, text: str, code: ErrorCode) -> RemoteProtocolError:
        self._error = RemoteProtocolError(text, code)
        self._prefix.clear()
        self._body = bytearray()
        self._length = None
        return self._error

    def _check_failed(self) -> None:
        if self._error is not None:
            raise RemoteProtocolError(self._error.text, self._error.code)

    def _complete(self) -> None:
        self._pending.append(self._body)
        self._pending_bytes += len(self._body)
        self._body = bytearray()
        self._length = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Take the next chunk of the stream, of any size.

        Raises `RemoteProtocolError` with ``MESSAGE_TOO_LARGE`` as soon as a
        length prefix exceeds the cap of its message, before its body is
        buffered; then every later call raises it again.
        """
        self._check_failed()
        view = byte_view(data)
        pos, end = 0, len(view)
        while pos < end:
            if self._length is None:
                take = min(LENGTH_PREFIX.size - len(self._prefix), end - pos)
                self._prefix += view[pos : pos + take]
                pos += take
                if len(self._prefix) < LENGTH_PREFIX.size:
                    break
                (length,) = LENGTH_PREFIX.unpack(self._prefix)
                self._prefix.clear()
                if length > MAX_FRAME_MESSAGE:
                    raise self._fail(
                        f"{length}-byte message announced; the cap is {MAX_FRAME_MESSAGE}",
                        ErrorCode.MESSAGE_TOO_LARGE,
                    )
                self._length = length
                if length == 0:
                    self._complete()  # parse() refuses it when it is taken
                continue
            if not self._body and self._length > MAX_CONTROL_MESSAGE and view[pos] != Tag.FRAME:
                raise self._fail(
                    f"{self._length}-byte message announced; the cap is {MAX_CONTROL_MESSAGE}",
                    ErrorCode.MESSAGE_TOO_LARGE,
                )
            take = min(self._length - len(self._body), end - pos)
            self._body += view[pos : pos + take]
            pos += take
            if len(self._body) == self._length:
                self._complete()

    def next_message(self) -> Message | None:
        """The next complete message, or None until more bytes are fed.

        Raises `RemoteProtocolError` if that message does not parse; it is
        consumed all the same.
        """
        self._check_failed()
        if not self._pending:
            return None
        raw = self._pending.popleft()
        self._pending_bytes -= len(raw)
        msg = parse(raw)
        self._decoded += 1
        return msg

    def feed_eof(self) -> None:
        """The stream ended: refuse a message cut off part way."""
        self._check_failed()
        if self._prefix or self._length is not None:
            raise self._fail("stream ended inside a message", ErrorCode.BAD_MESSAGE)

    def statistics(self) -> DecoderStatistics:
        """A snapshot of this decoder's buffers and progress."""
        return DecoderStatistics(
            buffered_bytes=len(self._prefix) + len(self._body) + self._pending_bytes,
            pending_messages=len(self._pending),
            messages_decoded=self._decoded,
        )
