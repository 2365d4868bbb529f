"""Per-client token buckets: ``burst`` requests at once, refilled at ``rate`` per second.

The key is the token's client_id with its subject (a robot is its own subject; people signed in through
one frontend client each get a bucket of their own) or, for anonymous calls, the caller's IP address. Buckets live in this process: with several gateway replicas each enforces its
share (the ingress or a shared store would be needed for one global figure).
"""

from __future__ import annotations

import time

MAX_BUCKETS = 100_000


class RateLimiter:
    __slots__ = ("_buckets", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        # key -> [tokens, last refill time]
        self._buckets: dict[str, list[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """0 when the request may pass, else the seconds until one token is back."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (they behave as new ones)."""
        refilled = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in refilled:
            del self._buckets[key]
