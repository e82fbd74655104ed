"""How long commits take, per path, as fixed-bucket histograms read at scrape time.

Why: with ``synchronous=FULL`` a window-1 client waits for one commit per submit, and that
commit's fsync is most of its latency. The commit's own distribution, beside the client's,
tells whether a slow tail is the disk's or the server's. Observing costs one ``bisect`` and two
additions per commit; Prometheus formatting happens only when ``/metrics`` is read.
"""

from __future__ import annotations

from bisect import bisect_left

# upper bounds in seconds; fine steps where a window-1 commit lands (fsync of a few WAL pages)
BOUNDS: tuple[float, ...] = (
    0.0001,
    0.0002,
    0.0003,
    0.0004,
    0.0005,
    0.0006,
    0.0008,
    0.001,
    0.0012,
    0.0015,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

PATHS = ("loop", "process", "thread")  # where a batch was committed (see storage.writer)


class CommitTimes:
    """One histogram: a count per bucket (the last one is +Inf) and the sum of seconds."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (Prometheus ``le``)
        self.counts[bisect_left(BOUNDS, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, observations <= le)`` for every bound and ``+Inf``, as Prometheus wants."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, n in zip((*map(repr, BOUNDS), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


def quantile(cumulative: list[tuple[float, float]], q: float) -> float | None:
    """Estimate a quantile from cumulative ``(upper bound, count)`` pairs, interpolating
    linearly inside the bucket it falls in (the lowest bucket starts at 0). ``None`` when
    there are no observations; the last finite bound when it falls in ``+Inf``."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower, below = 0.0, 0.0
    for bound, running in cumulative:
        if running >= rank and running > below:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (running - below)
        lower, below = bound, running
    return lower
