"""The Python viewer: join a session, decrypt, decode, compose and show."""
