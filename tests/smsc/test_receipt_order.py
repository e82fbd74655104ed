"""The receipt scheduler fires receipts in due order (ties in the order they were scheduled)
however their due times arrive: in order (a fixed carrier delay), out of order (random delays,
rules, retries), cancelled in between."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from smsc.model import OutboxItem, ReceiptRequest
from smsc.receipts import PendingReceipt, ReceiptScheduler


def pending(pk: int, due: float) -> PendingReceipt:
    return PendingReceipt(
        pk=pk,
        message_id=str(pk),
        account="acme",
        protocol="smpp",
        source="1069",
        destination="13800138000",
        submitted_at=0.0,
        text_head="",
        outcome="DELIVRD",
        err=0,
        stat="DELIVRD",
        deliver_at=due,
        enroute_at=None,
        receipt=int(ReceiptRequest.FINAL),
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 50), max_size=60),
    st.sets(st.integers(0, 59)),
    st.integers(0, 50),
)
def test_receipts_fire_in_due_order_with_ties_in_schedule_order(
    dues: list[int], cancelled: set[int], first_fire: int
) -> None:
    loop = asyncio.new_event_loop()
    clock = [0.0]
    offered: list[int] = []
    ids = iter(range(1, 10_000))

    def offer(items: list[OutboxItem]) -> None:
        offered.extend(i.message_pk for i in items if i.message_pk is not None)

    def write(ops: list[Any], callback: Any) -> None:
        callback(None)

    s = ReceiptScheduler(loop, lambda: clock[0], write, offer, lambda _t: next(ids))
    try:
        half = len(dues) // 2
        for pk, due in enumerate(dues[:half]):
            s.schedule(pending(pk, float(due)), intermediate=False)
        clock[0] = float(first_fire)  # some fire before the rest are scheduled
        s._fire()
        early = list(offered)
        for pk, due in enumerate(dues[half:], start=half):
            s.schedule(pending(pk, max(float(due), clock[0])), intermediate=False)
        for pk in cancelled:
            s.cancel(pk)
        clock[0] = 100.0
        s._fire()
    finally:
        s.close()
        loop.close()
    assert early == [
        pk
        for pk, due in sorted(enumerate(dues[:half]), key=lambda x: (x[1], x[0]))
        if due <= first_fire
    ]
    later = [
        (max(float(due), float(first_fire)) if pk >= half else float(due), pk)
        for pk, due in enumerate(dues)
        if pk not in early and pk not in cancelled
    ]
    assert offered[len(early) :] == [pk for _due, pk in sorted(later)]


def fire_once(commit_waiting: bool) -> tuple[list[tuple[int, float]], list[float]]:
    """Run one due receipt on a real loop; when it was offered, and when the scheduler asked
    whether a commit was waiting."""
    loop = asyncio.new_event_loop()
    offered: list[tuple[int, float]] = []
    asked: list[float] = []
    ids = iter(range(1, 100))

    def offer(items: list[OutboxItem]) -> None:
        offered.extend((i.message_pk or 0, loop.time()) for i in items)

    def write(ops: list[Any], callback: Any) -> None:
        callback(None)

    def waiting() -> bool:
        asked.append(loop.time())
        return commit_waiting

    s = ReceiptScheduler(
        loop, time.time, write, offer, lambda _t: next(ids), commit_waiting=waiting
    )
    try:
        s.schedule(pending(7, time.time() - 1.0), intermediate=False)  # due already
        loop.run_until_complete(asyncio.sleep(0.05))
    finally:
        s.close()
        loop.close()
    return offered, asked


def test_a_due_receipt_lets_a_waiting_commit_go_first_once() -> None:
    # the commit stays "waiting" throughout: the receipt yields once, a millisecond, not more
    offered, asked = fire_once(commit_waiting=True)
    assert [pk for pk, _t in offered] == [7]
    assert len(asked) == 1
    assert offered[0][1] - asked[0] >= 0.0009


def test_a_due_receipt_goes_at_once_when_no_commit_waits() -> None:
    offered, asked = fire_once(commit_waiting=False)
    assert [pk for pk, _t in offered] == [7]
    assert len(asked) == 1
    assert offered[0][1] - asked[0] < 0.0009
