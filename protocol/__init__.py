"""screenrelay's wire protocol, key schedule and frame format, with no I/O.

Nothing in this package imports asyncio, anyio, starlette, socket, sqlite3, mss
or pynput: time and randomness come in as arguments, bytes come in and out.
"""
