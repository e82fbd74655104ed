"""Receipt scheduling: when the emulated carrier's decision comes due, a receipt is owed.

The carrier decides each message's fate at submit (so a seeded run repeats exactly) and the
decision is stored with the message. This scheduler keeps the messages whose receipt is still
to be generated in a heap ordered by due time; when one comes due it builds the receipt and
the message's new state and offers them to the outbox (``Outbox.offer``), which sends the
receipt to a bind at once if one has room and writes both, in one transaction, when the peer
acknowledges it, or writes them at once (the receipt's outbox row, which is its record:
``message_pk`` names the part) when it must wait. Until then the message's ``done_at`` stays
NULL, so after a restart ``restore`` rebuilds the heap from messages whose receipt was never
generated or never acknowledged: a receipt is sent at least once, and never again once its
acknowledgement is stored. Messages that owe no receipt only get their state written.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from smsc.model import OutboxItem, ReceiptRequest
from smsc.reassembly import worst_state
from smsc.rules import FinalState
from storage.schema import messages as messages_table

log = logging.getLogger("smsc.receipts")

_SET_DONE = (
    update(messages_table)
    .where(messages_table.c.id == bindparam("pk"))
    .values(state=bindparam("st"), done_at=bindparam("done"))
)
# an intermediate state never overwrites a final one, whichever is written first
_SET_STATE = (
    update(messages_table)
    .where(messages_table.c.id == bindparam("pk"), messages_table.c.done_at.is_(None))
    .values(state=bindparam("st"))
)
# per state, what a receipt says: FinalState's smpp_stat and message_state, looked up once
_STATE_FIELDS = {fs.value: (fs.smpp_stat, fs.message_state) for fs in FinalState}
_UNKNOWN_FIELDS = _STATE_FIELDS[FinalState.UNKNOWN.value]
_ENROUTE = FinalState.ENROUTE.value
_NONE, _FINAL, _FAILURE_ONLY = (
    int(ReceiptRequest.NONE),
    int(ReceiptRequest.FINAL),
    int(ReceiptRequest.FAILURE_ONLY),
)


@dataclass(slots=True)
class PendingReceipt:
    """What a receipt needs, kept in memory until it is due (rebuilt from ``messages`` on start)."""

    pk: int
    message_id: str
    account: str
    protocol: str
    source: str
    destination: str
    submitted_at: float
    text_head: str
    outcome: str
    err: int
    stat: str
    deliver_at: float
    enroute_at: float | None
    receipt: int  # ReceiptRequest
    group_key: tuple[Any, ...] | None = None  # per-message receipts for long messages
    extra: dict[str, Any] | None = None  # the submit's extra fields (HTTP: vendor, batch, uid)


class ReceiptScheduler:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float],
        # state updates no peer waits on: the server passes ``GroupCommitWriter.write_later``
        write: Callable[[list[Any], Callable[[BaseException | None], None]], None],
        # receipts generated, nothing written yet: the server passes ``Outbox.offer``
        offer: Callable[[list[OutboxItem]], None],
        next_id: Callable[[str], int],
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._write = write
        self._offer = offer
        self._next_id = next_id
        # (due, seq, pk, final) in two sorted parts: entries pushed in due order (a fixed
        # carrier delay makes nearly all of them so) queue in ``_fifo`` at O(1) each way; the
        # rest go to the heap, whose pops cost a sift through all pending receipts
        self._fifo: deque[tuple[float, int, int, bool]] = deque()
        self._heap: list[tuple[float, int, int, bool]] = []
        self._pending: dict[int, PendingReceipt] = {}
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due: float | None = None
        # long messages reported once: group key -> part outcomes seen so far
        self._groups: dict[tuple[Any, ...], list[str]] = {}
        self.generated = 0

    def __len__(self) -> int:
        return len(self._pending)

    def schedule(self, p: PendingReceipt, *, intermediate: bool) -> None:
        self._pending[p.pk] = p
        if intermediate and p.enroute_at is not None and p.enroute_at < p.deliver_at:
            self._push((p.enroute_at, next(self._seq), p.pk, False))
        self._push((p.deliver_at, next(self._seq), p.pk, True))
        self._arm()

    def note_part(self, group_key: tuple[Any, ...], outcome: str) -> None:
        self._groups.setdefault(group_key, []).append(outcome)

    def cancel(self, pk: int) -> bool:
        return self._pending.pop(pk, None) is not None

    def restore(self, engine: Any) -> int:
        """Re-arm every receipt never generated or never acknowledged (blocking; at start)."""
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    select(messages_table).where(
                        messages_table.c.done_at.is_(None),
                        messages_table.c.state != "HELD",  # waits for a reviewer, not a timer
                    )
                )
                .mappings()
                .all()
            )
        for r in rows:
            self.schedule(
                PendingReceipt(
                    pk=r["id"],
                    message_id=r["message_id"],
                    account=r["account"],
                    protocol=r["protocol"],
                    source=r["source"],
                    destination=r["destination"],
                    submitted_at=r["submitted_at"],
                    text_head=(r["text"] or "")[:20],
                    outcome=r["outcome"],
                    err=r["err"],
                    stat=r["stat"],
                    deliver_at=r["deliver_at"],
                    enroute_at=r["enroute_at"],
                    receipt=r["registered_delivery"],
                    extra=json.loads(r["extra"]) if r["extra"] else None,
                ),
                intermediate=r["enroute_at"] is not None and r["state"] == "ACCEPTD",
            )
        return len(rows)

    # -- timer ---------------------------------------------------------------------------------

    def _push(self, entry: tuple[float, int, int, bool]) -> None:
        fifo = self._fifo
        if not fifo or fifo[-1][0] <= entry[0]:  # equal dues: seq keeps them in push order
            fifo.append(entry)
        else:
            heapq.heappush(self._heap, entry)

    def _next_due(self) -> float | None:
        fifo, heap = self._fifo, self._heap
        if fifo:
            return fifo[0][0] if not heap or fifo[0] < heap[0] else heap[0][0]
        return heap[0][0] if heap else None

    def _arm(self) -> None:
        due = self._next_due()
        if due is None:
            return
        if self._timer is not None:
            if self._timer_due is not None and self._timer_due <= due:
                return
            self._timer.cancel()
        self._timer_due = due
        delay = max(0.0, due - self._clock())
        self._timer = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = None
        now = self._clock()
        # the state updates of messages that owe no receipt: one job, grouped by statement
        # (the writer keeps a job's order, so interleaving them would defeat executemany)
        done: list[Any] = []
        enroute: list[Any] = []
        items: list[OutboxItem] = []
        quiet: list[tuple[PendingReceipt, bool]] = []
        fifo, heap = self._fifo, self._heap
        pending = self._pending
        fired = 0
        until = now + 0.001
        while fired < 5000:
            if fifo and (not heap or fifo[0] < heap[0]):
                if fifo[0][0] > until:
                    break
                _due, _seq, pk, final = fifo.popleft()
            elif heap and heap[0][0] <= until:
                _due, _seq, pk, final = heapq.heappop(heap)
            else:
                break
            p = pending.get(pk)
            if p is None:
                continue  # cancelled
            if final:
                del pending[pk]
            fired += 1
            if not self._receipt(p, final, now, done, enroute, items):
                quiet.append((p, final))
        if quiet:
            self._write(done + enroute, lambda err: self._committed(err, quiet))
        if items:
            self.generated += len(items)
            self._offer(items)
        self._arm()

    def _receipt(
        self,
        p: PendingReceipt,
        final: bool,
        now: float,
        done: list[Any],
        enroute: list[Any],
        items: list[OutboxItem],
    ) -> bool:
        """Build ``p``'s receipt into ``items`` (True), or only its state update (False)."""
        if final:
            state, err, stat = p.outcome, p.err, p.stat
            if p.group_key is not None:
                parts = self._groups.pop(p.group_key, [p.outcome])
                state = worst_state(parts)
                if state != p.outcome:
                    stat = state
            update = (_SET_DONE, {"pk": p.pk, "st": state, "done": now})
            wanted = p.receipt == _FINAL or (p.receipt == _FAILURE_ONLY and state != "DELIVRD")
        else:
            state, err, stat = _ENROUTE, 0, _ENROUTE
            update = (_SET_STATE, {"pk": p.pk, "st": _ENROUTE})
            wanted = p.receipt != _NONE
        if not wanted:
            (done if final else enroute).append(update)
            return False
        oid = self._next_id("outbox")
        smpp_stat, message_state = _STATE_FIELDS.get(state, _UNKNOWN_FIELDS)
        payload = {
            "message_id": p.message_id,
            "source": p.source,
            "destination": p.destination,
            "state": state,
            "smpp_stat": smpp_stat,
            "message_state": message_state,
            "final": final,
            "err": err,
            "network_error_code": 0 if state == "DELIVRD" or not final else err,
            "stat": stat,
            "submitted_at": p.submitted_at,
            "done_at": now if final else p.submitted_at,
            "text": p.text_head,
            "receipt_id": oid,
        }
        if p.extra is not None:
            payload["extra"] = p.extra
        items.append(
            OutboxItem(oid, p.account, p.protocol, "receipt", payload, 0, None, update, p.pk, now)
        )
        return True

    def _committed(
        self, err: BaseException | None, batch: list[tuple[PendingReceipt, bool]]
    ) -> None:
        if err is not None:
            log.error(
                "event=receipt_store_failed count=%d error=%r; retrying in 1s", len(batch), err
            )
            for p, final in batch:
                if final:
                    self._pending[p.pk] = p
                self._push((self._clock() + 1.0, next(self._seq), p.pk, final))
            self._arm()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
