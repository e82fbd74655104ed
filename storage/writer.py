"""Group commit: many callers' writes in one transaction, each told only after the commit.

Why a thread: SQLite and psycopg calls block. One dedicated writer thread owns one
connection; the event loop never waits on the database. Callers enqueue operations from the
loop thread and get an ``asyncio.Future`` that resolves after the transaction holding their
rows has committed — this is what lets a protocol send ``submit_sm_resp`` only for stored
messages ("durable before acknowledged").

Batching is natural: while one commit is in flight, new operations queue up and form the
next batch. ``max_wait_ms`` lets a lightly loaded writer wait a little for company; the
default (0) commits as soon as it can, which keeps a window-1 client's latency low.

If a batch fails, it is rolled back and each caller's operations are retried in their own
transaction, so one bad row fails one caller, not the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import Executable

log = logging.getLogger("smsc.storage")

Op = tuple[Executable, Any]  # (statement, params dict | list of dicts)


@dataclass(slots=True)
class _Job:
    ops: Sequence[Op]
    future: asyncio.Future[None] | None
    callback: Callable[[BaseException | None], None] | None = None
    enqueued: float = field(default=0.0)


class WriterClosed(Exception):
    """The writer has been stopped; nothing more is accepted."""


class GroupCommitWriter:
    """Single-threaded batching writer. Create, ``start()``, ``write(...)``, ``stop()``."""

    def __init__(
        self,
        engine: Engine,
        loop: asyncio.AbstractEventLoop,
        *,
        max_wait_ms: float = 0.0,
        max_batch: int = 2000,
        on_commit: Callable[[int, float], None] | None = None,
    ) -> None:
        self._engine = engine
        self._loop = loop
        self._max_wait = max_wait_ms / 1000.0
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: list[_Job] = []
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.healthy = True
        self.last_error: str | None = None
        self.commits = 0
        self.rows = 0

    # -- loop side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smsc-writer", daemon=True)
        self._thread.start()

    def write(self, ops: Sequence[Op]) -> asyncio.Future[None]:
        """Queue ``ops`` (run in order, in one transaction); the future resolves after commit."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._enqueue(_Job(ops, fut))
        return fut

    def write_then(self, ops: Sequence[Op], callback: Callable[[BaseException | None], None]) -> None:
        """Like ``write`` but calls ``callback(error_or_None)`` on the loop: cheaper than a future."""
        self._enqueue(_Job(ops, None, callback))

    def _enqueue(self, job: _Job) -> None:
        job.enqueued = time.perf_counter()
        with self._cond:
            if self._closing:
                raise WriterClosed("storage writer is stopping")
            self._queue.append(job)
            if len(self._queue) == 1:
                self._cond.notify()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def stop(self) -> None:
        """Refuse new work, commit everything queued, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    def stop_blocking(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    # -- writer thread -------------------------------------------------------------------------

    def _take_batch(self) -> list[_Job] | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            if self._max_wait > 0 and len(self._queue) < self._max_batch and not self._closing:
                self._cond.wait(self._max_wait)
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            return batch

    def _run(self) -> None:
        conn = self._engine.connect()
        try:
            while True:
                batch = self._take_batch()
                if batch is None:
                    return
                self._commit(conn, batch)
        finally:
            conn.close()

    def _commit(self, conn: Any, batch: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            with conn.begin():
                _execute_grouped(conn, [op for job in batch for op in job.ops])
        except Exception as exc:  # noqa: BLE001 - isolate the failing caller below
            log.warning("event=batch_failed jobs=%d error=%r; retrying one by one", len(batch), exc)
            results: list[BaseException | None] = []
            for job in batch:
                try:
                    with conn.begin():
                        _execute_grouped(conn, job.ops)
                    results.append(None)
                except Exception as one:  # noqa: BLE001 - reported to that caller
                    results.append(one)
            self._note_health(all(r is None for r in results), results)
            self._loop.call_soon_threadsafe(_resolve, batch, results)
            return
        self.commits += 1
        self.rows += sum(len(job.ops) for job in batch)
        self._note_health(True, None)
        if self._on_commit is not None:
            self._on_commit(len(batch), time.perf_counter() - started)
        self._loop.call_soon_threadsafe(_resolve, batch, None)

    def _note_health(self, ok: bool, results: list[BaseException | None] | None) -> None:
        self.healthy = ok
        if not ok and results:
            self.last_error = next((repr(r) for r in results if r is not None), None)


def _execute_grouped(conn: Any, ops: Sequence[Op]) -> None:
    """Run ops grouped by statement (first-appearance order) so each statement is one executemany.

    Reordering inside a batch is safe because an operation that depends on another row is only
    enqueued after the commit that stored that row (e.g. an outbox row is acknowledged only after
    it was sent, which is after it was committed).
    """
    groups: dict[int, tuple[Executable, list[Any]]] = {}
    for stmt, params in ops:
        entry = groups.get(id(stmt))
        if entry is None:
            entry = groups[id(stmt)] = (stmt, [])
        if isinstance(params, list):
            entry[1].extend(params)
        else:
            entry[1].append(params if params is not None else {})
    for stmt, rows in groups.values():
        if len(rows) == 1:
            conn.execute(stmt, rows[0])
        elif rows:
            conn.execute(stmt, rows)


def _resolve(batch: list[_Job], results: list[BaseException | None] | None) -> None:
    for idx, job in enumerate(batch):
        err = None if results is None else results[idx]
        if job.future is not None:
            if job.future.done():
                continue
            if err is None:
                job.future.set_result(None)
            else:
                job.future.set_exception(err)
        elif job.callback is not None:
            try:
                job.callback(err)
            except Exception:  # noqa: BLE001 - a caller's bug must not stop other callers
                log.exception("event=commit_callback_failed")
