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

Speed: a batch runs one executemany per (statement, key set). Plain ``table.insert()`` rows
(the submit hot path) skip SQLAlchemy's per-row parameter processing: the statement is compiled
once per key set and rows go to the driver as tuples (``_InsertPlan``). That cuts the time to
execute a batch by about a third on SQLite, and it is Python time the writer thread would
otherwise take from the event loop (they share the GIL).

On the loop, when it can (``on_loop``, SQLite only): a batch whose database is free is
committed right on the event loop, at the end of the loop turn that queued it, on a connection
of the loop's own that never waits for a lock (``busy_timeout = 0``). That saves two thread
wake-ups and the GIL hand-offs between them, which on a 2-vCPU VM cost more than the commit
itself (window-1 latency and window-100 throughput both improved by about a quarter). Anything
else goes to the thread as before: a batch that finds the database locked (a checkpoint, a
committing thread) or fails in any way is rolled back and handed over whole, so the loop never
sleeps on a lock and the thread keeps the one-caller-at-a-time retry. What the loop does pay
for is the commit's fsync (about 0.3 ms here), during which it serves nobody.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import operator
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Float, Insert, LargeBinary, Update
from sqlalchemy.sql import Executable

from storage.commit_link import CommitLink
from storage.commit_process import group_in_order
from storage.commit_times import PATHS, CommitTimes

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
        on_loop: bool = False,
        process: bool = False,
        later_ms: float = 5.0,
    ) -> None:
        self._engine = engine
        sqlite_file = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        self._on_loop = on_loop and sqlite_file  # may commit a turn on the loop itself
        self._by_turn = (on_loop or process) and sqlite_file  # jobs collected per loop turn
        self._want_process = process and sqlite_file
        self._link: CommitLink | None = None
        # loop side of ``on_loop``: jobs of the current loop turn, the loop's own connection
        self._turn: list[_Job] = []
        self._turn_scheduled = False
        # ``write_later`` jobs waiting for the next turn's commit (or ``later_ms``)
        self._later: list[_Job] = []
        self._later_timer: asyncio.TimerHandle | None = None
        self._later_wait = later_ms / 1000.0
        self._loop_conn: Any = None
        self._loop_plans: dict[_GroupKey, tuple[Executable, _InsertPlan | None]] = {}
        self._thread_busy = False  # the thread is between taking a batch and committing it
        self.loop_commits = 0
        self.process_available = True
        self.process_commits = 0
        self._loop = loop
        self._max_wait = max_wait_ms / 1000.0
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: list[_Job] = []
        self._cond = threading.Condition()
        self._closing = False
        self._writer_thread: threading.Thread | None = None
        self.healthy = True
        self.last_error: str | None = None
        self.commits = 0
        self.rows = 0
        # how long each path's commits took (``/metrics`` smsc_commit_seconds)
        self.commit_times = {path: CommitTimes() for path in PATHS}
        # compiled insert plans by (id(statement), row keys); the writer thread's own
        self._plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _InsertPlan | None]] = {}

    # -- loop side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._writer_thread = threading.Thread(target=self._run, name="smsc-writer", daemon=True)
        self._writer_thread.start()
        if self._want_process:
            try:  # the child opens the database with the engine's own settings
                with self._engine.connect() as conn:
                    synchronous = int(conn.exec_driver_sql("PRAGMA synchronous").scalar() or 2)
                    autocheckpoint = int(
                        conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() or 0
                    )
            except Exception as exc:  # noqa: BLE001 - the thread reports it to every caller
                log.error("event=commit_process_off error=%r", exc)
                return
            self._link = CommitLink(
                self._loop,
                str(self._engine.url.database),
                synchronous,
                autocheckpoint,
                self._engine.dialect,
                _InsertPlan.build,
                self._finish,
                self._max_batch,
                self._process_unavailable,
            )

    def write(self, ops: Sequence[Op]) -> asyncio.Future[None]:
        """Queue ``ops`` (run in order, in one transaction); the future resolves after commit."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._enqueue(_Job(ops, fut))
        return fut

    def write_then(
        self, ops: Sequence[Op], callback: Callable[[BaseException | None], None]
    ) -> None:
        """Like ``write`` but calls ``callback(error_or_None)`` on the loop: cheaper than a future."""
        self._enqueue(_Job(ops, None, callback))

    def write_later(
        self, ops: Sequence[Op], callback: Callable[[BaseException | None], None]
    ) -> None:
        """Like ``write_then``, for rows no peer is waiting on (receipts to be generated,
        acknowledgements of sent items): they ride with the next commit that somebody does
        wait on, or are committed ``later_ms`` after they were queued if none comes sooner.

        Why: at window 1 a commit of its own for every receipt and every acknowledgement sat
        between a client's submit and its commit (the loop fsyncs them one after the other);
        riding along, they share that submit's fsync instead of delaying it. Only while
        commits happen on the loop: when a commit is already running in the process or the
        thread, the rows are queued at once.
        """
        link = self._link
        if not self._on_loop or (link is not None and not link.idle) or self._thread_busy:
            # a commit is already under way elsewhere: these rows join the next batch like any
            # other (holding them back there only made batches, and their submits, wait longer)
            self._enqueue(_Job(ops, None, callback))
            return
        if self._closing:
            raise WriterClosed("storage writer is stopping")
        job = _Job(ops, None, callback, time.perf_counter())
        self._later.append(job)
        if self._later_timer is None:
            self._later_timer = self._loop.call_later(self._later_wait, self._later_due)

    def _take_later(self) -> list[_Job]:
        """The waiting ``write_later`` jobs (they go first: they were queued earlier)."""
        later, self._later = self._later, []
        if self._later_timer is not None:
            self._later_timer.cancel()
            self._later_timer = None
        return later

    def _later_due(self) -> None:
        self._later_timer = None
        if self._later and not self._turn_scheduled:
            self._turn_scheduled = True
            self._loop.call_soon(self._commit_turn)

    def _enqueue(self, job: _Job) -> None:
        job.enqueued = time.perf_counter()
        if self._by_turn:
            if self._closing:
                raise WriterClosed("storage writer is stopping")
            turn = self._turn
            turn.append(job)
            if not self._turn_scheduled:
                self._turn_scheduled = True
                self._loop.call_soon(self._commit_turn)
            elif len(turn) >= _EARLY_JOBS and self._link is not None:
                # a long turn (one read of many submits): the commit process starts on these
                # while the loop decodes the rest, instead of both taking turns to idle
                self._turn = []
                self._route(turn)
            return
        self._hand_over([job])

    def _hand_over(self, jobs: list[_Job]) -> None:
        """Queue jobs for the writer thread."""
        with self._cond:
            if self._closing:
                raise WriterClosed("storage writer is stopping")
            before = len(self._queue)
            self._queue.extend(jobs)
            # wake the writer when work appears, and when a batch is full while it waits
            # ``max_wait_ms`` for company (nobody else would cut that wait short)
            if before == 0 or before < self._max_batch <= len(self._queue):
                self._cond.notify()

    def _commit_turn(self) -> None:
        """Commit what this loop turn queued: on the loop if it is small enough and the
        database is free, else in the commit process (or on the thread)."""
        self._turn_scheduled = False
        batch = self._take_later() + self._turn
        self._turn = []
        if not batch:
            return
        link = self._link
        limit = _LOOP_MAX_JOBS if link is not None else self._max_batch
        if (
            not self._on_loop
            or len(batch) > limit
            or self._thread_busy
            or self._queue
            or self._closing
            or (link is not None and not link.idle)
            or not self._commit_on_loop(batch)
        ):
            self._route(batch)

    def _commit_on_loop(self, batch: list[_Job]) -> bool:
        started = time.perf_counter()
        link = self._link
        if link is not None:  # the commit process's plans and code, on a plain connection
            wires = []
            for job in batch:
                wire = link.wire(job.ops)
                if wire is None:
                    return False
                wires.append(wire)
            begun = time.perf_counter()
            done = link.commit_here(wires)
            if done is None:
                return False
            self.commit_times["loop"].observe(time.perf_counter() - begun)
            rows = done
        else:
            try:
                if self._loop_conn is None:
                    conn = self._engine.connect()
                    conn.detach()  # its busy_timeout must not reach the pool's other users
                    # never sleep on the loop: a locked database sends the batch elsewhere
                    dbapi = conn.connection.dbapi_connection
                    assert dbapi is not None  # a connection just made has its driver connection
                    dbapi.execute("PRAGMA busy_timeout=0")
                    self._loop_conn = conn
                begun = time.perf_counter()
                with self._loop_conn.begin():
                    rows = _execute_grouped(
                        self._loop_conn, [job.ops for job in batch], self._loop_plans
                    )
                self.commit_times["loop"].observe(time.perf_counter() - begun)
            except Exception as exc:  # noqa: BLE001 - the thread retries, caller by caller
                log.debug("event=loop_commit_handed_over jobs=%d reason=%r", len(batch), exc)
                if self._loop_conn is not None and self._loop_conn.invalidated:
                    self._loop_conn = None
                return False
        self.commits += 1
        self.loop_commits += 1
        self.rows += rows
        self._note_health(True, None)
        _resolve(batch, None)
        self._committed(len(batch), started)
        return True

    def _route(self, batch: list[_Job]) -> None:
        """Jobs whose rows all fit a compiled plan go to the commit process, the rest to the
        thread. Jobs of different paths may commit in any order (see ``_execute_grouped``);
        an empty job is a barrier, so it waits for both."""
        link = self._link
        if link is None:
            self._hand_over(batch)
            return
        to_thread: list[_Job] = []
        for job in batch:
            if not job.ops:
                self._barrier(job, link)
                continue
            wire = link.wire(job.ops)
            if wire is None:
                to_thread.append(job)
            else:
                link.submit(job, wire)
        if to_thread:
            self._hand_over(to_thread)
        link.pump()

    def _barrier(self, job: _Job, link: CommitLink) -> None:
        waiting = [2]

        def one(err: BaseException | None) -> None:
            waiting[0] -= 1
            if waiting[0] == 0:
                _resolve([job], None)

        self._hand_over([_Job([], None, one)])
        link.submit(_Job([], None, one), [])

    def _process_unavailable(self, jobs: list[_Job]) -> None:
        """The commit process cannot run: the thread takes its jobs and every later batch."""
        self._link = None
        self.process_available = False
        if jobs:
            with self._cond:  # also while stopping: the thread is stopped after the link
                self._queue.extend(jobs)
                self._cond.notify()

    def _finish(
        self,
        jobs: list[_Job],
        errors: list[BaseException | None] | None,
        rows: int,
        seconds: float,
    ) -> None:
        """The commit process's answer for one batch (on the loop)."""
        self.rows += rows
        if errors is None:
            self.commits += 1
            self.process_commits += 1
            self.commit_times["process"].observe(seconds)
            self._note_health(True, None)
        else:
            self._note_health(all(e is None for e in errors), errors)
        _resolve(jobs, errors)
        if errors is None and self._on_commit is not None:
            try:
                self._on_commit(len(jobs), seconds)
            except Exception:  # noqa: BLE001 - a metrics hook must not stop the writer
                log.exception("event=on_commit_failed")

    @property
    def process_restarts(self) -> int:
        return self._link.restarts if self._link is not None else 0

    @property
    def pending(self) -> int:
        link = self._link.pending if self._link is not None else 0
        return len(self._queue) + len(self._turn) + len(self._later) + link

    def _close_loop_side(self) -> None:
        """Route the current turn's and the waiting ``write_later`` jobs; drop the loop's
        connection."""
        batch = self._take_later() + self._turn
        self._turn = []
        if batch:
            self._route(batch)
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None

    async def stop(self) -> None:
        """Refuse new work, commit everything queued, then end the thread and the process."""
        self._close_loop_side()
        if self._link is not None:
            self._closing = True
            await self._link.stop()
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._writer_thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer_thread.join)

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
            self._thread_busy = True
            return batch

    def _run(self) -> None:
        """Commit batches until stopped. Never dies while callers wait: a future that is never
        resolved would hang its caller (and its peer's window) forever."""
        conn = None
        try:
            while True:
                batch = self._take_batch()
                if batch is None:
                    return
                if conn is None:
                    try:  # connect lazily, and again after a failure: the database may be back
                        conn = self._engine.connect()
                    except Exception as exc:  # noqa: BLE001 - every caller in the batch is told
                        log.error("event=writer_connect_failed jobs=%d error=%r", len(batch), exc)
                        self.healthy = False
                        self.last_error = repr(exc)
                        failed: list[BaseException | None] = [exc] * len(batch)
                        self._loop.call_soon_threadsafe(_resolve, batch, failed)
                        continue
                try:
                    self._commit(conn, batch)
                except Exception as exc:  # noqa: BLE001 - a bug here must not strand callers
                    log.exception("event=writer_error jobs=%d", len(batch))
                    errors: list[BaseException | None] = [exc] * len(batch)
                    self._loop.call_soon_threadsafe(_resolve, batch, errors)
                finally:
                    self._thread_busy = False
        finally:
            if conn is not None:
                conn.close()

    def _commit(self, conn: Any, batch: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            with conn.begin():
                rows = _execute_grouped(conn, [job.ops for job in batch], self._plans)
        except Exception as exc:  # noqa: BLE001 - isolate the failing caller below
            log.warning("event=batch_failed jobs=%d error=%r; retrying one by one", len(batch), exc)
            results: list[BaseException | None] = []
            rows = 0
            for job in batch:
                try:
                    with conn.begin():
                        rows += _execute_grouped(conn, [job.ops], self._plans)
                    results.append(None)
                except Exception as one:  # noqa: BLE001 - reported to that caller
                    results.append(one)
            self.rows += rows
            self._note_health(all(r is None for r in results), results)
            self._loop.call_soon_threadsafe(_resolve, batch, results)
            return
        self.commit_times["thread"].observe(time.perf_counter() - started)
        self.commits += 1
        self.rows += rows
        self._note_health(True, None)
        self._loop.call_soon_threadsafe(_resolve, batch, None)
        self._committed(len(batch), started)

    def _committed(self, jobs: int, started: float) -> None:
        if self._on_commit is not None:
            try:
                self._on_commit(jobs, time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - a metrics hook must not stop the writer
                log.exception("event=on_commit_failed")

    def _note_health(self, ok: bool, results: list[BaseException | None] | None) -> None:
        self.healthy = ok
        if not ok and results:
            self.last_error = next((repr(r) for r in results if r is not None), None)


_GroupKey = tuple[int, tuple[str, ...]]
# with a commit process, the loop commits a turn itself only when it is this small (latency)
_LOOP_MAX_JOBS = 4
# a turn that has queued this many jobs hands them to the commit process before it ends:
# W=100 median 21,800 msg/s against 18,300 (interleaved); at 32 the extra, smaller commits
# cost more CPU per message than the overlap gained
_EARLY_JOBS = 60
# SQLite >= 3.32 allows 32766 host parameters per statement; stay well inside it.
_SQLITE_MAX_VARIABLES = 30000 if sqlite3.sqlite_version_info >= (3, 32) else 999
_PLAN_CACHE_MAX = 512


def _execute_grouped(
    conn: Any,
    jobs: Iterable[Sequence[Op]],
    plans: dict[_GroupKey, tuple[Executable, _InsertPlan | None]],
) -> int:
    """Run the jobs' ops as few executemany calls as possible; return the number of rows.

    Rows are grouped by (statement, key set): one executemany takes its columns from its first
    row, so a row with more keys in the same group would silently lose values. Each job's ops
    keep their order (an op lands in a group after the group of the job's previous op, else a
    new group is opened), so ``[insert row, update row]`` is never run as update-then-insert.
    Ops of *different* jobs may be reordered: an operation that depends on another job's row is
    only enqueued after the commit that stored that row (e.g. an outbox row is acknowledged only
    after it was sent, which is after it was committed).
    """
    statements: dict[int, Executable] = {}

    def keyed(ops: Sequence[Op]) -> Iterable[tuple[_GroupKey, tuple[Any]]]:
        for stmt, params in ops:
            statements[id(stmt)] = stmt
            for row in params if isinstance(params, list) else (params or {},):
                yield (id(stmt), tuple(row)), (row,)

    groups = group_in_order(keyed(ops) for ops in jobs)
    count = 0
    for gkey, rows in groups:
        stmt, keys = statements[gkey[0]], gkey[1]
        count += len(rows)
        cached = plans.get(gkey)
        if cached is None or cached[0] is not stmt:  # ids of collected statements are reused
            if len(plans) >= _PLAN_CACHE_MAX:
                plans.clear()
            cached = plans[gkey] = (stmt, _InsertPlan.build(stmt, keys, conn.dialect))
        plan = cached[1]
        if plan is not None:
            plan.run(conn, rows)
        elif len(rows) == 1:
            conn.execute(stmt, rows[0])
        else:
            conn.execute(stmt, rows)
    return count


class _InsertPlan:
    """A plain ``table.insert()`` — or an UPDATE whose every value is a ``bindparam`` — for one
    key set, compiled once, run as a driver executemany.

    SQLAlchemy's ``conn.execute(insert, rows)`` rebuilds every row's parameters in Python
    (about half the writer's CPU per row); here a row becomes a tuple with one C call and only
    columns whose type has a bind processor are converted. ``exec_driver_sql`` still goes
    through SQLAlchemy's error wrapping and disconnect handling. Anything that needs more than
    "row value -> placeholder" (defaults to compute, RETURNING, SQL expressions, expanding
    parameters) gets no plan and takes the ordinary path.
    """

    __slots__ = (
        "sql",
        "getter",
        "processors",
        "wire_processors",
        "positional",
        "multi",
        "per_chunk",
        "_sql_for",
    )

    def __init__(
        self,
        sql: str,
        getter: Callable[[Any], Any] | None,
        processors: list[tuple[Any, Callable[[Any], Any]]],
        positional: bool,
        multi: tuple[str, str] | None = None,
    ) -> None:
        self.sql = sql
        self.getter = getter
        self.processors = processors
        self.wire_processors = processors
        self.positional = positional
        # SQLite inserts go as one multi-row VALUES statement per chunk: the driver releases and
        # re-takes the GIL around every statement it steps, and with the event loop busy on the
        # other thread each re-take can wait, so one statement per row starves the writer.
        self.multi = multi
        self.per_chunk = 1
        if multi is not None:
            columns = multi[1].count("?")
            self.per_chunk = max(1, min(500, _SQLITE_MAX_VARIABLES // max(1, columns)))
        self._sql_for: dict[int, str] = {}

    @classmethod
    def build(cls, stmt: Executable, keys: tuple[str, ...], dialect: Any) -> _InsertPlan | None:
        if (
            not isinstance(stmt, Insert | Update)
            or not keys
            or getattr(stmt, "select", None) is not None  # INSERT ... FROM SELECT
            # RETURNING: read the statement itself; exported_columns / compiled.returning can
            # be stale memoized copies after ``.returning()`` on an already compiled insert
            or bool(getattr(stmt, "_returning", ()))
        ):
            return None
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        binds = compiled.binds
        if (
            set(binds) != set(keys)  # values from .values(...) or SQL expressions
            or compiled.insert_prefetch  # Python-side column defaults to compute
            or compiled.update_prefetch
            or compiled.postfetch
            or compiled.effective_returning
            or compiled.escaped_bind_names
            or "__[" in compiled.string  # post-compile / schema-translate tokens
            or any(b.expanding or b.literal_execute or b.callable for b in binds.values())
        ):
            return None
        processors: list[tuple[Any, Callable[[Any], Any]]] = []
        if dialect.positional:
            order = list(compiled.positiontup or ())
            if set(order) != set(keys):
                return None
            getter = operator.itemgetter(*order) if len(order) > 1 else _one(order[0])
            slots: list[Any] = list(range(len(order)))
        else:
            order, getter, slots = list(keys), None, list(keys)
        wire_processors: list[tuple[Any, Callable[[Any], Any]]] = []
        for slot, name in zip(slots, order, strict=True):
            impl = binds[name].type.dialect_impl(dialect)
            proc = impl.bind_processor(dialect)
            if proc is not None:
                processors.append((slot, proc))
                # Rows for the commit process (SQLite) skip two processors: the driver takes
                # bytes as they are (the memoryview wrapper cannot be pickled), and Float's
                # ``to_float`` only turns ints and numeric text into floats, which the REAL
                # affinity of a FLOAT column does on storage anyway (6 calls per message row)
                if not isinstance(impl, LargeBinary | Float):
                    wire_processors.append((slot, proc))
        multi = None
        sql = compiled.string
        if isinstance(stmt, Insert) and dialect.name == "sqlite" and dialect.positional:
            head, sep, group = sql.partition(" VALUES ")
            if sep and group.startswith("(") and group.endswith(")") and "(" not in group[1:]:
                multi = (head + sep, group)
        plan = cls(sql, getter, processors, dialect.positional, multi)
        plan.wire_processors = wire_processors
        return plan

    def values(self, row: Any) -> Any:
        """One row's parameters as the driver takes them, picklable (for the commit process)."""
        if self.positional:
            assert self.getter is not None
            values = self.getter(row)
            if not self.wire_processors:
                return values
            out = list(values)
            for slot, proc in self.wire_processors:
                out[slot] = proc(out[slot])
            return tuple(out)
        out_map = dict(row)
        for slot, proc in self.wire_processors:
            out_map[slot] = proc(out_map[slot])
        return out_map

    def run(self, conn: Any, rows: list[Any]) -> None:
        params: list[Any]
        if self.positional:
            assert self.getter is not None
            params = list(map(self.getter, rows))
            if self.processors:
                params = [self._convert(list(p)) for p in params]
        elif self.processors:
            params = [self._convert(dict(r)) for r in rows]
        else:
            params = rows
        if self.multi is not None and len(params) > 1:
            self._run_multi(conn, params)
            return
        conn.exec_driver_sql(self.sql, params[0] if len(params) == 1 else params)

    def _run_multi(self, conn: Any, params: list[Any]) -> None:
        assert self.multi is not None
        step = self.per_chunk
        for start in range(0, len(params), step):
            chunk = params[start : start + step]
            n = len(chunk)
            sql = self._sql_for.get(n)
            if sql is None:
                sql = self._sql_for[n] = self.multi[0] + ", ".join([self.multi[1]] * n)
            conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))

    def _convert(self, values: Any) -> Any:
        for slot, proc in self.processors:
            values[slot] = proc(values[slot])
        return tuple(values) if self.positional else values


def _one(name: str) -> Callable[[Any], tuple[Any]]:
    def get(row: Any) -> tuple[Any]:
        return (row[name],)

    return get


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
