"""Receipts offered unwritten (``Outbox.offer``): what is written, when, and in which order.

A receipt a bind can take now is sent before anything is written and written (message state
and outbox row, done) when acknowledged; the rest are written at once and wait, in order;
a refused one and one whose bind drops are written before they are retried; after storage
stopped, leaving them unwritten is not an error (their messages are re-armed at restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from smsc.binds import BindRegistry
from smsc.model import OutboxItem
from smsc.outbox import _INSERT, _MARK_DONE, Outbox
from storage.writer import WriterClosed

STATE = object()  # stands for the message's state update (a statement)


class FakeBind:
    protocol = "smpp"
    fallback = False
    receives = True

    def __init__(self, room: int) -> None:
        self.bind_id = "b1"
        self.account = "acme"
        self.room = room
        self.sent: list[int] = []

    def takes(self, kind: str) -> bool:
        return True

    def capacity(self) -> int:
        return self.room - len(self.sent)

    def send_item(self, item: OutboxItem) -> None:
        self.sent.append(item.id)


class Writes:
    def __init__(self) -> None:
        self.now: list[list[Any]] = []  # write_then: waits for nobody, committed in order
        self.later: list[list[Any]] = []  # write_later: acknowledgements
        self.closed = False

    def then(self, ops: list[Any], callback: Any) -> None:
        if self.closed:
            raise WriterClosed("stopping")
        self.now.append(ops)

    def later_(self, ops: list[Any], callback: Any) -> None:
        if self.closed:
            raise WriterClosed("stopping")
        self.later.append(ops)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def receipt(i: int) -> OutboxItem:
    return OutboxItem(
        i, "acme", "smpp", "receipt", {"n": i}, 0, None, (STATE, {"pk": i}), i, 100.0 + i
    )


def make(loop: asyncio.AbstractEventLoop, room: int | None) -> tuple[Outbox, FakeBind, Writes]:
    binds = BindRegistry()
    bind = FakeBind(room or 0)
    if room is not None:
        binds.add(bind)
    w = Writes()
    return Outbox(binds, w.then, loop, write_later=w.later_, clock=lambda: 500.0), bind, w


def flush(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def rows(ops: list[Any]) -> list[tuple[str, Any]]:
    out = []
    for stmt, params in ops:
        if stmt is STATE:
            out.append(("state", params["pk"]))
        elif stmt is _INSERT:
            out.append(("row", (params["id"], params["done_at"], params["attempts"])))
        elif stmt is _MARK_DONE:
            out.append(("done", params["oid"]))
    return out


def test_sent_at_once_and_written_only_when_acknowledged(loop: asyncio.AbstractEventLoop) -> None:
    outbox, bind, w = make(loop, room=10)
    outbox.offer([receipt(1), receipt(2)])
    assert bind.sent == [1, 2]
    assert w.now == [] and w.later == []
    outbox.acked(1)
    outbox.acked(2)
    flush(loop)
    assert w.now == []
    assert [rows(ops) for ops in w.later] == [
        [("state", 1), ("state", 2), ("row", (1, 500.0, 1)), ("row", (2, 500.0, 1))]
    ]


def test_what_no_bind_can_take_now_is_written_at_once_and_sent_in_order_later(
    loop: asyncio.AbstractEventLoop,
) -> None:
    outbox, bind, w = make(loop, room=1)
    outbox.offer([receipt(1), receipt(2), receipt(3)])
    assert bind.sent == [1]
    assert [rows(ops) for ops in w.now] == [
        [("state", 2), ("state", 3), ("row", (2, None, 0)), ("row", (3, None, 0))]
    ]
    outbox.offer([receipt(4)])  # behind the queued ones, even with room again
    assert [rows(ops) for ops in w.now][1:] == [[("state", 4), ("row", (4, None, 0))]]
    bind.room = 10
    outbox.acked(1)
    flush(loop)
    assert bind.sent == [1, 2, 3, 4]
    outbox.acked(2)
    flush(loop)
    assert [rows(ops) for ops in w.later] == [
        [("state", 1), ("row", (1, 500.0, 1))],  # sent unwritten, written at its ack
        [("done", 2)],  # written before it was sent: marked done
    ]


def test_refused_or_lost_with_its_bind_it_is_written_before_it_is_retried(
    loop: asyncio.AbstractEventLoop,
) -> None:
    outbox, bind, w = make(loop, room=10)
    outbox.offer([receipt(1), receipt(2), receipt(3)])
    outbox.failed(2, "deliver_sm_resp status 0x00000008")
    assert [rows(ops) for ops in w.now] == [[("state", 2), ("row", (2, None, 0))]]
    outbox._binds.remove(bind)  # as Smsc.bind_closed does before telling the outbox
    outbox.bind_lost("b1", "acme")
    assert [rows(ops) for ops in w.now][1:] == [
        [("state", 1), ("state", 3), ("row", (1, None, 0)), ("row", (3, None, 0))]
    ]
    assert [i.id for i in outbox.pending_items("acme")] == [1, 3]
    for h in outbox._retrying.values():
        h.cancel()


def test_after_storage_stopped_they_are_left_unwritten_without_an_error(
    loop: asyncio.AbstractEventLoop,
) -> None:
    outbox, bind, w = make(loop, room=10)
    outbox.offer([receipt(1)])
    w.closed = True
    outbox._binds.remove(bind)
    outbox.bind_lost("b1", "acme")  # must not raise: the message is re-armed after a restart
    assert w.now == [] and [i.id for i in outbox.pending_items("acme")] == [1]
