"""Token buckets keyed by client address or session, with time passed in.

Memory is bounded: at most ``max_keys`` buckets are kept; the least recently
touched is forgotten first (a forgotten key starts again with a full bucket,
which only ever errs towards letting a client in, never locking one out).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Final

#: Buckets kept per limiter. Each is a few dozen bytes; 100 000 addresses is
#: far more than one company's relay sees within a refill period.
MAX_KEYS: Final = 100_000


@dataclasses.dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Allow ``burst`` events at once and ``rate`` per second after that."""

    def __init__(self, *, rate: float, burst: int, max_keys: int = MAX_KEYS) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max_keys = max_keys
        self._buckets: collections.OrderedDict[object, _Bucket] = collections.OrderedDict()

    def allow(self, key: object, now: float) -> bool:
        """Take one token for ``key`` if there is one."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self._burst, now)
        else:
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
            bucket.stamp = now
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def __len__(self) -> int:
        return len(self._buckets)
