"""The durable outbox: receipts and MO owed to peers, delivered in order, never lost.

MO rows are written to the ``outbox`` table (by whoever creates them, in the same transaction
as the MO) before they reach this dispatcher (``add``). Receipts arrive unwritten (``offer``):
one that a bind can take now is sent at once and written, with its message's new state, when
the peer acknowledges it; the rest are written at once and wait. Until a receipt is written
its message's ``done_at`` is NULL, which is what the receipt scheduler re-arms after a restart,
so nothing acknowledged-to-us is lost either way, and at W=100 a receipt costs two rows
instead of three and goes out without waiting for a commit.

The dispatcher keeps the pending items of each account in memory, oldest first, hands them to
receiving binds round-robin as their windows allow, and marks a row done only when the peer
acknowledged it. A negative or missing acknowledgement puts the item back with exponential
backoff (an unwritten receipt is written first); a lost bind returns all its in-flight items.
After a restart, ``restore`` reloads every row not yet done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update

from smsc.binds import BindRegistry
from smsc.model import OutboxItem
from storage.schema import outbox as outbox_table
from storage.writer import WriterClosed

log = logging.getLogger("smsc.outbox")

_MARK_DONE = (
    update(outbox_table)
    .where(outbox_table.c.id == bindparam("oid"))
    .values(done_at=bindparam("done"), attempts=bindparam("att"))
)
_GIVE_UP = (
    update(outbox_table)
    .where(outbox_table.c.id == bindparam("oid"))
    .values(
        done_at=bindparam("done"),
        gave_up_at=bindparam("done"),
        attempts=bindparam("att"),
        last_error=bindparam("err"),
    )
)
_NOTE_FAILURE = (
    update(outbox_table)
    .where(outbox_table.c.id == bindparam("oid"))
    .values(attempts=bindparam("att"), last_error=bindparam("err"))
)
_INSERT = outbox_table.insert()
# One encoder for every row: json.dumps with non-default arguments builds a new one per call.
_json_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _to_json(payload: dict[str, Any]) -> str:
    """Compact UTF-8 JSON. orjson is ~8x faster than the stdlib encoder, whose cost showed up
    at ~8 % of the event loop's time per message at high rates; the stdlib encoder remains for
    what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(payload).decode()
    except orjson.JSONEncodeError:
        return _json_encode(payload)


def insert_op(
    item: OutboxItem, now: float, message_pk: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """The write that makes ``item`` durable; commit it before calling ``Outbox.add``.

    A receipt names the message part it reports on (``message_pk``): its outbox row is the
    receipt's only record (the admin message view reads it).
    """
    return (
        _INSERT,
        {
            "id": item.id,
            "account": item.account,
            "protocol": item.protocol,
            "kind": item.kind,
            "payload": _to_json(item.payload),
            "created_at": now,
            "attempts": 0,
            "done_at": None,
            "message_pk": message_pk,
        },
    )


class Outbox:
    def __init__(
        self,
        binds: BindRegistry,
        write_then: Callable[[list[Any], Callable[[BaseException | None], None]], None],
        loop: asyncio.AbstractEventLoop,
        *,
        write_later: Callable[[list[Any], Callable[[BaseException | None], None]], None]
        | None = None,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._binds = binds
        self._write_then = write_then
        # acknowledgements ride with the next commit (``GroupCommitWriter.write_later``)
        self._write_later = write_later or write_then
        self._loop = loop
        self._retry_initial = retry_initial_s
        self._retry_max = retry_max_s
        self._clock = clock
        # (account, protocol-or-None) -> pending items, oldest first
        self._queues: dict[str, dict[str | None, deque[OutboxItem]]] = defaultdict(dict)
        self._inflight: dict[int, OutboxItem] = {}
        self._retrying: dict[int, asyncio.TimerHandle] = {}
        self._acks: list[OutboxItem] = []
        self.delivered = 0
        self.retried = 0
        self.gave_up = 0

    # -- state --------------------------------------------------------------------------------

    def depth(self, account: str | None = None) -> int:
        accounts = [account] if account is not None else list(self._queues)
        return sum(len(q) for a in accounts for q in self._queues.get(a, {}).values())

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def pending_items(self, account: str) -> list[OutboxItem]:
        return [i for q in self._queues.get(account, {}).values() for i in q]

    # -- input -------------------------------------------------------------------------------

    def restore(self, engine: Any) -> int:
        """Load every row not yet acknowledged (blocking; at start, before listeners open)."""
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    select(outbox_table)
                    .where(outbox_table.c.done_at.is_(None))
                    .order_by(outbox_table.c.id)
                )
                .mappings()
                .all()
            )
        for r in rows:
            self._queue_for(r["account"], r["protocol"]).append(
                OutboxItem(
                    id=r["id"],
                    account=r["account"],
                    protocol=r["protocol"],
                    kind=r["kind"],
                    payload=json.loads(r["payload"]),
                    attempts=r["attempts"],
                )
            )
        return len(rows)

    def add(self, items: Iterable[OutboxItem]) -> None:
        """Queue committed items and try to send them now."""
        touched: set[str] = set()
        for item in items:
            self._queue_for(item.account, item.protocol).append(item)
            touched.add(item.account)
        for account in touched:
            self.pump(account)

    def offer(self, items: list[OutboxItem]) -> None:
        """Queue receipts that are not written yet (``item.unwritten``), send what binds can
        take now, and write the rest at once: they wait in the durable outbox.

        Behind anything already queued for the same account, in order, like ``add``. A sent
        one is written when it is acknowledged (``acked``) or fails (``_written_first``).
        """
        self.add(items)
        waiting = [i for i in items if i.unwritten is not None and i.id not in self._inflight]
        if waiting:
            self._write_unwritten(waiting, done=None)

    def _write_unwritten(self, items: list[OutboxItem], done: float | None) -> None:
        """Write receipts offered unwritten: each one's message update and outbox row (done
        at ``done`` when acknowledged), grouped by statement, in one transaction.

        Nothing waits for this commit: a receipt sent again before it is stored is marked
        done by a later write, which the writer commits after this one (it keeps order).
        """
        updates: list[Any] = []
        rows: list[Any] = []
        for item in items:
            update, item.unwritten = item.unwritten, None
            if update is None:
                continue
            updates.append(update)
            stmt, row = insert_op(item, item.created_at, item.message_pk)
            if done is not None:
                row["done_at"] = done
                row["attempts"] = item.attempts + 1
            rows.append((stmt, row))
        updates.sort(key=_update_order)  # (done, enroute) receipts: one executemany each
        try:
            if done is None:
                self._write_then(updates + rows, _log_failure)
            else:
                self._write_later(updates + rows, _log_failure)
        except WriterClosed:
            # shutting down (a bind dropped or an answer came after storage stopped): their
            # messages keep done_at NULL, so the receipts are generated again after a restart
            log.info("event=receipts_left_unwritten count=%d reason=stopping", len(rows))

    def _queue_for(self, account: str, protocol: str | None) -> deque[OutboxItem]:
        queues = self._queues[account]
        q = queues.get(protocol)
        if q is None:
            q = queues[protocol] = deque()
        return q

    # -- dispatch -------------------------------------------------------------------------------

    def pump(self, account: str) -> None:
        """Send as much of ``account``'s backlog as its receivers' windows allow, in order."""
        queues = self._queues.get(account)
        if not queues:
            return
        pick = self._binds.pick_receiver
        for protocol, q in queues.items():
            while q:
                bind = pick(account, protocol, q[0].kind)
                if bind is None:
                    break
                item = q.popleft()
                item.bind_id = bind.bind_id
                self._inflight[item.id] = item
                try:
                    bind.send_item(item)
                except Exception:  # noqa: BLE001 - a rendering bug must not lose the item
                    log.exception("event=outbox_send_failed item=%d bind=%s", item.id, bind.bind_id)
                    self._inflight.pop(item.id, None)
                    self._written_first(item)
                    self._retry_later(item)

    def acked(self, item_id: int) -> None:
        """The peer acknowledged the item: mark it done durably and never send it again.

        Acknowledgements that arrive in one loop turn share one writer job and one pump per
        account (a read of many deliver_sm_resp is common at high rates).
        """
        item = self._inflight.pop(item_id, None)
        if item is None:
            return
        self.delivered += 1
        if not self._acks:
            self._loop.call_soon(self._flush_acks)
        self._acks.append(item)

    def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        done = self._clock()
        marks = [
            (_MARK_DONE, {"oid": i.id, "done": done, "att": i.attempts + 1})
            for i in acks
            if i.unwritten is None
        ]
        if marks:
            self._write_later(marks, _log_failure)
        if len(marks) < len(acks):
            self._write_unwritten([i for i in acks if i.unwritten is not None], done)
        for account in {i.account for i in acks}:
            self.pump(account)

    def failed(
        self, item_id: int, reason: str, *, delay: float | None = None, record: bool = False
    ) -> None:
        """Negative or missing acknowledgement: try again later.

        ``delay`` overrides the exponential backoff (HTTP pushes follow the vendors' retry
        schedule); ``record`` stores the attempt count and reason on the row (admin API).
        """
        item = self._inflight.pop(item_id, None)
        if item is None:
            return
        self._written_first(item)
        if record:
            self._write_then(
                [(_NOTE_FAILURE, {"oid": item.id, "att": item.attempts + 1, "err": reason[:500]})],
                _log_failure,
            )
        log.info(
            "event=outbox_retry item=%d account=%s kind=%s attempts=%d reason=%s",
            item.id,
            item.account,
            item.kind,
            item.attempts + 1,
            reason,
        )
        self._retry_later(item, delay)
        self.pump(item.account)

    def give_up(self, item_id: int, reason: str) -> None:
        """The last retry failed: mark the row given up (and done); it is never sent again."""
        item = self._inflight.pop(item_id, None)
        if item is None:
            return
        self._written_first(item)
        self.gave_up += 1
        log.warning(
            "event=outbox_gave_up item=%d account=%s kind=%s attempts=%d reason=%s",
            item.id,
            item.account,
            item.kind,
            item.attempts + 1,
            reason,
        )
        self._write_then(
            [
                (
                    _GIVE_UP,
                    {
                        "oid": item.id,
                        "done": self._clock(),
                        "att": item.attempts + 1,
                        "err": reason[:500],
                    },
                )
            ],
            _log_failure,
        )
        self.pump(item.account)

    def _retry_later(self, item: OutboxItem, delay: float | None = None) -> None:
        item.attempts += 1
        item.bind_id = None
        self.retried += 1
        if delay is None:
            delay = min(self._retry_initial * (2 ** (item.attempts - 1)), self._retry_max)
        self._retrying[item.id] = self._loop.call_later(delay, self._requeue, item)

    def _requeue(self, item: OutboxItem) -> None:
        self._retrying.pop(item.id, None)
        q = self._queue_for(item.account, item.protocol)
        q.appendleft(item)  # it is older than anything queued after it was first sent
        self.pump(item.account)

    def bind_lost(self, bind_id: str, account: str) -> None:
        """A connection ended: everything it had in flight goes back to the front of the queue."""
        lost = sorted(
            (i for i in self._inflight.values() if i.bind_id == bind_id),
            key=lambda i: i.id,
            reverse=True,
        )
        for item in lost:
            del self._inflight[item.id]
            item.bind_id = None
            self._queue_for(item.account, item.protocol).appendleft(item)
        unwritten = [i for i in reversed(lost) if i.unwritten is not None]
        if unwritten:  # they wait in the durable outbox now
            self._write_unwritten(unwritten, done=None)
        self.pump(account)

    def close(self) -> None:
        if self._acks:  # shutdown: record the last acknowledgements before the writer stops
            self._flush_acks()
        for handle in self._retrying.values():
            handle.cancel()
        self._retrying.clear()

    def _written_first(self, item: OutboxItem) -> None:
        """An unwritten receipt that failed is written before it is retried (or given up):
        the row the retry bookkeeping updates must exist, and it waits durably."""
        if item.unwritten is not None:
            self._write_unwritten([item], done=None)


def _update_order(op: tuple[Any, Any]) -> int:
    return id(op[0])


def _log_failure(err: BaseException | None) -> None:
    if err is not None:
        log.error("event=outbox_mark_done_failed error=%r", err)
