"""Receipt scheduling: when the emulated carrier's decision comes due, a receipt is owed.

The carrier decides each message's fate at submit (so a seeded run repeats exactly) and the
decision is stored with the message. This scheduler keeps the messages whose receipt is still
to be generated in a heap ordered by due time; when one comes due it writes, in one
transaction, the receipt's outbox row (which is the receipt's record: ``message_pk`` names the
part) and the message's new state, and only after that commit hands the receipt to the outbox. After a restart ``restore`` rebuilds the heap from
messages whose receipt was never generated (``done_at IS NULL``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from smsc.model import OutboxItem, ReceiptRequest
from smsc.outbox import insert_op
from smsc.reassembly import worst_state
from smsc.rules import FinalState
from storage.schema import messages as messages_table

log = logging.getLogger("smsc.receipts")

_SET_DONE = (
    update(messages_table)
    .where(messages_table.c.id == bindparam("pk"))
    .values(state=bindparam("st"), done_at=bindparam("done"))
)
_SET_STATE = (
    update(messages_table)
    .where(messages_table.c.id == bindparam("pk"))
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
        # receipts are rows no peer waits on: the server passes ``GroupCommitWriter.write_later``
        write: Callable[[list[Any], Callable[[BaseException | None], None]], None],
        on_ready: Callable[[list[OutboxItem]], None],
        next_id: Callable[[str], int],
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._write = write
        self._on_ready = on_ready
        self._next_id = next_id
        self._heap: list[tuple[float, int, int, bool]] = []  # (due, seq, pk, final)
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
            heapq.heappush(self._heap, (p.enroute_at, next(self._seq), p.pk, False))
        heapq.heappush(self._heap, (p.deliver_at, next(self._seq), p.pk, True))
        self._arm()

    def note_part(self, group_key: tuple[Any, ...], outcome: str) -> None:
        self._groups.setdefault(group_key, []).append(outcome)

    def cancel(self, pk: int) -> bool:
        return self._pending.pop(pk, None) is not None

    def restore(self, engine: Any) -> int:
        """Re-arm every receipt that was never generated (blocking; at start)."""
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

    def _arm(self) -> None:
        if not self._heap:
            return
        due = self._heap[0][0]
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
        # one job, its ops grouped by statement: the writer keeps a job's order, so
        # interleaved (update, insert) per receipt would defeat executemany
        done: list[Any] = []
        enroute: list[Any] = []
        inserts: list[Any] = []
        items: list[OutboxItem] = []
        batch: list[tuple[PendingReceipt, bool]] = []
        heap = self._heap
        pending = self._pending
        while heap and heap[0][0] <= now + 0.001 and len(batch) < 5000:
            _due, _seq, pk, final = heapq.heappop(heap)
            p = pending.get(pk)
            if p is None:
                continue  # cancelled
            if final:
                del pending[pk]
            batch.append((p, final))
            self._receipt_ops(p, final, now, done, enroute, inserts, items)
        if batch:
            self._write(done + enroute + inserts, lambda err: self._committed(err, batch, items))
        self._arm()

    def _receipt_ops(
        self,
        p: PendingReceipt,
        final: bool,
        now: float,
        done: list[Any],
        enroute: list[Any],
        inserts: list[Any],
        items: list[OutboxItem],
    ) -> None:
        if final:
            state, err, stat = p.outcome, p.err, p.stat
            if p.group_key is not None:
                parts = self._groups.pop(p.group_key, [p.outcome])
                state = worst_state(parts)
                if state != p.outcome:
                    stat = state
            done.append((_SET_DONE, {"pk": p.pk, "st": state, "done": now}))
            wanted = p.receipt == _FINAL or (p.receipt == _FAILURE_ONLY and state != "DELIVRD")
        else:
            state, err, stat = _ENROUTE, 0, _ENROUTE
            enroute.append((_SET_STATE, {"pk": p.pk, "st": _ENROUTE}))
            wanted = p.receipt != _NONE
        if not wanted:
            return
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
        item = OutboxItem(oid, p.account, p.protocol, "receipt", payload)
        inserts.append(insert_op(item, now, p.pk))
        items.append(item)

    def _committed(
        self,
        err: BaseException | None,
        batch: list[tuple[PendingReceipt, bool]],
        items: list[OutboxItem],
    ) -> None:
        if err is not None:
            log.error(
                "event=receipt_store_failed count=%d error=%r; retrying in 1s", len(batch), err
            )
            for p, final in batch:
                if final:
                    self._pending[p.pk] = p
                heapq.heappush(self._heap, (self._clock() + 1.0, next(self._seq), p.pk, final))
            self._arm()
            return
        self.generated += len(items)
        if items:
            self._on_ready(items)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
