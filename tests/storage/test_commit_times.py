"""The commit-time histogram: exact bucket counts and a quantile estimate inside the right bucket."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from storage.commit_times import BOUNDS, CommitTimes, quantile

seconds = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


def test_a_value_on_a_bound_counts_in_that_bucket_and_the_rest_in_inf() -> None:
    h = CommitTimes()
    for v in (0.0, BOUNDS[0], BOUNDS[0] * 1.01, BOUNDS[-1], BOUNDS[-1] + 1.0):
        h.observe(v)
    got = dict(h.cumulative())
    assert got[repr(BOUNDS[0])] == 2
    assert got[repr(BOUNDS[1])] == 3
    assert got[repr(BOUNDS[-1])] == 4
    assert got["+Inf"] == 5 == h.count
    assert math.isclose(h.total, sum((0.0, BOUNDS[0], BOUNDS[0] * 1.01, BOUNDS[-1], 6.0)))


@given(st.lists(seconds, max_size=200))
def test_cumulative_counts_are_exact(values: list[float]) -> None:
    h = CommitTimes()
    for v in values:
        h.observe(v)
    cumulative = h.cumulative()
    assert [le for le, _ in cumulative] == [*map(repr, BOUNDS), "+Inf"]
    for le, n in cumulative:
        assert n == sum(v <= float(le) for v in values)
    assert math.isclose(h.total, math.fsum(values), abs_tol=1e-9)


@given(st.lists(seconds, min_size=1, max_size=200), st.floats(min_value=0.01, max_value=1.0))
def test_the_estimate_lies_in_the_bucket_of_the_true_quantile(
    values: list[float], q: float
) -> None:
    h = CommitTimes()
    for v in values:
        h.observe(v)
    est = quantile([(float(le), n) for le, n in h.cumulative()], q)
    assert est is not None
    true = sorted(values)[max(0, math.ceil(q * len(values)) - 1)]
    if true > BOUNDS[-1]:
        assert est == BOUNDS[-1]
        return
    i = next(k for k, b in enumerate(BOUNDS) if true <= b)
    lower = BOUNDS[i - 1] if i else 0.0
    assert lower - 1e-12 <= est <= BOUNDS[i] + 1e-12


def test_no_observations_no_estimate() -> None:
    assert quantile([(float(le), n) for le, n in CommitTimes().cumulative()], 0.99) is None
    assert quantile([], 0.5) is None
