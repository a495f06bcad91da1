"""Running a client's main coroutine from a command: errors become sentences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from viewer_app.events import EventSink
from viewer_app.transport import ClientError


def find_client_error(exc: BaseException) -> ClientError | None:
    """The first ClientError in ``exc`` or in the groups it nests."""
    if isinstance(exc, ClientError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = find_client_error(inner)
            if found is not None:
                return found
    return None


def report(sink: EventSink, error: ClientError) -> int:
    sink.emit(
        "error",
        f"screenrelay: {error.text}",
        message=error.text,
        code=error.code.name.lower() if error.code is not None else None,
    )
    return error.status


def report_or_raise(sink: EventSink, exc: BaseException) -> int:
    """Report the ClientError inside ``exc`` and return its status; re-raise anything else."""
    error = find_client_error(exc)
    if error is None:
        raise exc
    return report(sink, error)


def run_client(main: Callable[[], Awaitable[None]], sink: EventSink) -> int:
    """Run ``main``; a ClientError becomes its sentence and exit status."""
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        return report_or_raise(sink, exc)
    return 0
