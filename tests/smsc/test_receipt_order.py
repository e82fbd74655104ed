"""The receipt scheduler fires receipts in due order (ties in the order they were scheduled)
however their due times arrive: in order (a fixed carrier delay), out of order (random delays,
rules, retries), cancelled in between."""

from __future__ import annotations

import asyncio
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
