"""Per-account throughput limit: a token bucket refilled at ``throughput`` messages/second."""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._tokens = self.burst
        self._at: float | None = None

    def take(self, now: float, n: float = 1.0) -> bool:
        """Take ``n`` tokens if available (``now`` from a monotonic clock)."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= n:
            self._tokens -= n
            return True
        return False
