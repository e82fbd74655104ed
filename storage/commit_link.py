"""The server's end of the commit process (``storage/commit_process.py``).

``GroupCommitWriter`` hands this link jobs whose every row fits a compiled plan (plain inserts,
updates of bind parameters: the whole hot path); the link turns rows into tuples with the
plan, sends them in batches and resolves each job when the child reports its commit. Up to
four batches are in flight: while the child commits, the next ones are already in its socket
(and join one transaction there), and whatever the loop queues beyond that waits to form the
next batch. Four measured at least as well as two at window 100 (one: about 12 % less). Everything runs on the event
loop (a non-blocking socket, ``add_reader``/``add_writer``), so no thread of the server waits.

If the child dies, the jobs it had are failed (their callers were not answered, so nothing
acknowledged is lost; a job may have committed all the same, which a submitter sees as a
retry) and a new child is started for the next batch.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from storage.commit_process import FrameReader, Plan, connect, encode, execute_jobs

if TYPE_CHECKING:
    from storage.writer import _InsertPlan, _Job

log = logging.getLogger("smsc.storage")

_CHILD = Path(__file__).with_name("commit_process.py")
_MAX_IN_FLIGHT = 4
_LOSSES_BEFORE_GIVING_UP = 3  # children lost in a row without one answer
_PLAN_CACHE_MAX = 512

Wire = list[tuple[int, list[tuple[Any, ...]]]]  # one job: (plan id, rows as tuples) in order


class CommitProcessLost(Exception):
    """The commit process ended with this job in flight; it may or may not have committed."""


class CommitLink:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        path: str,
        synchronous: int,
        autocheckpoint: int,
        dialect: Any,
        build_plan: Callable[[Any, tuple[str, ...], Any], _InsertPlan | None],
        finish: Callable[[list[_Job], list[BaseException | None] | None, int, float], None],
        max_batch: int,
        unavailable: Callable[[list[_Job]], None],
    ) -> None:
        self._loop = loop
        self._args = [path, str(synchronous), str(autocheckpoint)]
        self._dialect = dialect
        self._build_plan = build_plan
        self._finish = finish
        self._unavailable = unavailable
        self._losses_in_a_row = 0
        self._max_batch = max_batch
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader = FrameReader()
        self._out = bytearray()
        self._writing = False
        # by (id(statement), row keys): (statement, plan or None, plan id)
        self._plans: dict[tuple[int, tuple[str, ...]], tuple[Any, _InsertPlan | None, int]] = {}
        # the same positional plans by (id(statement), number of keys): (statement, the row's
        # converter, plan id); see ``wire``
        self._by_width: dict[tuple[int, int], tuple[Any, Callable[[Any], Any], int]] = {}
        self._next_pid = 1
        # every plan the child may still need, by id: sent again to a new child
        self._plan_frames: dict[int, tuple[Any, ...]] = {}
        self.plans: dict[int, Plan] = {}  # the same plans, for ``commit_here``
        self._here: sqlite3.Connection | None = None
        self.here_commits = 0
        self._forget_below: int | None = None
        self._queue: list[tuple[_Job, Wire]] = []
        self._in_flight: dict[int, list[_Job]] = {}
        self._batch_ids = itertools.count(1)
        self._drained: list[asyncio.Future[None]] = []
        self.restarts = 0
        self._stopping = False

    # -- what the writer asks --------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self._queue and not self._in_flight

    @property
    def pending(self) -> int:
        return len(self._queue) + sum(len(jobs) for jobs in self._in_flight.values())

    def wire(self, ops: Sequence[Any]) -> Wire | None:
        """The job's rows as (plan id, tuples), or None if some row has no plan.

        Rows are looked up first by statement and *number* of keys, which spares building and
        hashing a tuple of a message row's 27 keys for every row. That is exact: a plan exists
        only when the row's keys are exactly the statement's parameters and its getter takes
        each of them by name, so a row with as many keys for which the getter finds every one
        has the same keys; a row it does not fit raises KeyError and takes the full lookup.
        """
        by_width = self._by_width
        out: Wire = []
        plans = self._plans
        for stmt, params in ops:
            for row in params if isinstance(params, list) else (params or {},):
                wkey = (id(stmt), len(row))
                cached = by_width.get(wkey)
                values = None
                if cached is not None and cached[0] is stmt:
                    try:
                        values, pid = cached[1](row), cached[2]
                    except KeyError:
                        values = None  # other keys: the full lookup below
                if values is None:
                    keys = tuple(row)
                    gkey = (id(stmt), keys)
                    found = plans.get(gkey)
                    if found is None or found[0] is not stmt:  # ids of collected statements recur
                        found = self._new_plan(gkey, stmt, keys)
                    plan, pid = found[1], found[2]
                    if plan is None:
                        return None
                    if plan.positional:
                        # the bare itemgetter when nothing needs converting: no Python frame
                        # per row (``_InsertPlan.values`` would only call it)
                        getter = plan.getter
                        convert = (
                            getter
                            if getter is not None and not plan.wire_processors
                            else plan.values
                        )
                        by_width[wkey] = (stmt, convert, pid)
                    values = plan.values(row)
                if out and out[-1][0] == pid:
                    out[-1][1].append(values)
                else:
                    out.append((pid, [values]))
        return out

    def submit(self, job: _Job, wire: Wire) -> None:
        self._queue.append((job, wire))

    def commit_here(self, wires: list[Wire]) -> int | None:
        """Commit these jobs on the calling (loop) thread with the child's code and a plain
        sqlite3 connection that never waits for a lock; the rows written, or None if the
        database was busy or anything failed (rolled back: send them to the child instead).

        For window-1 clients: no process hop either way, and none of SQLAlchemy's
        per-statement and per-transaction work (about half of a one-row commit here).
        """
        conn = self._here
        try:
            if conn is None:
                conn = self._here = connect(self._args[0], self._args[1], int(self._args[2]))
                conn.execute("PRAGMA busy_timeout=0")
            cur = conn.cursor()
            cur.execute("BEGIN")
            rows = execute_jobs(cur, self.plans, wires)
            cur.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - the child retries, caller by caller
            log.debug("event=loop_commit_handed_over jobs=%d reason=%r", len(wires), exc)
            if conn is not None and conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error:
                    self._close_here()
            return None
        self.here_commits += 1
        return rows

    def _close_here(self) -> None:
        if self._here is not None:
            self._here.close()
            self._here = None

    def pump(self) -> None:
        """Send queued jobs as batches while fewer than ``_MAX_IN_FLIGHT`` are in flight."""
        while self._queue and len(self._in_flight) < _MAX_IN_FLIGHT:
            if self._sock is None:
                try:
                    self._spawn()
                except OSError as exc:
                    log.error("event=commit_process_start_failed error=%r", exc)
                    self._give_up()
                    return
            chunk = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            bid = next(self._batch_ids)
            self._in_flight[bid] = [job for job, _wire in chunk]
            self._send(("batch", bid, [wire for _job, wire in chunk]))

    async def drained(self) -> None:
        """Wait until every job handed over so far has been answered."""
        self.pump()
        if self.idle:
            return
        fut = self._loop.create_future()
        self._drained.append(fut)
        await fut

    async def stop(self) -> None:
        await self.drained()
        self._stopping = True
        proc, sock = self._proc, self._sock
        if sock is not None:
            self._send(("stop",))
            while self._out and self._sock is not None:  # let the stop frame leave
                await asyncio.sleep(0.01)
        if proc is not None:
            await self._loop.run_in_executor(None, _wait, proc)
        self._close()
        self._close_here()

    # -- plans -----------------------------------------------------------------------------------

    def _new_plan(
        self, gkey: tuple[int, tuple[str, ...]], stmt: Any, keys: tuple[str, ...]
    ) -> tuple[Any, _InsertPlan | None, int]:
        if len(self._plans) >= _PLAN_CACHE_MAX:
            # statements built per call (admin actions) would grow both caches for ever; the
            # child forgets the old plans once nothing that uses them is queued or in flight
            self._plans.clear()
            self._by_width.clear()
            self._forget_below = self._next_pid
        plan = self._build_plan(stmt, keys, self._dialect)
        pid = 0
        if plan is not None:
            pid, self._next_pid = self._next_pid, self._next_pid + 1
            head, group = plan.multi if plan.multi is not None else (None, None)
            frame = ("plan", pid, plan.sql, head, group, plan.per_chunk)
            self._plan_frames[pid] = frame
            self.plans[pid] = frame[2:]
            self._send(frame)
        cached = self._plans[gkey] = (stmt, plan, pid)
        return cached

    def _forget_old_plans(self) -> None:
        below, self._forget_below = self._forget_below, None
        if below is None:
            return
        for pid in [p for p in self._plan_frames if p < below]:
            del self._plan_frames[pid]
            del self.plans[pid]
        self._send(("forget_below", below))

    # -- the child -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        parent, child = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", str(_CHILD), str(child.fileno()), *self._args],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            child.close()
        parent.setblocking(False)
        self._sock = parent
        self._reader = FrameReader()
        self._loop.add_reader(parent.fileno(), self._readable)
        for frame in self._plan_frames.values():  # a new child needs the plans again
            self._send(frame)
        log.info("event=commit_process_started pid=%d", self._proc.pid)

    def _send(self, frame: Any) -> None:
        if self._sock is None:
            return  # no child yet: plans go to the next one when it starts (``_spawn``)
        self._out += encode(frame)
        self._flush()

    def _flush(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while self._out:
            try:
                sent = sock.send(self._out)
            except BlockingIOError:
                break
            except OSError as exc:
                self._lost(exc)
                return
            del self._out[:sent]
        if self._out and not self._writing:
            self._writing = True
            self._loop.add_writer(sock.fileno(), self._flush)
        elif not self._out and self._writing:
            self._writing = False
            self._loop.remove_writer(sock.fileno())

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        frames: list[Any] = []
        try:
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    self._lost(EOFError("commit process closed its socket"))
                    break
                frames += self._reader.feed(data)
        except BlockingIOError:
            pass
        except OSError as exc:
            self._lost(exc)
        for frame in frames:
            if frame[0] == "done":
                self._losses_in_a_row = 0
                for bid, results, rows, seconds in frame[1]:
                    jobs = self._in_flight.pop(bid, None)
                    if jobs is not None:
                        errors = None if results is None else [_exception(r) for r in results]
                        self._finish(jobs, errors, rows, seconds)
        self.pump()
        if self.idle:
            self._forget_old_plans()
        self._notify_drained()

    def _lost(self, exc: BaseException) -> None:
        if self._stopping and not self._in_flight:
            self._close()  # the child ended as asked
            return
        code = self._proc.poll() if self._proc is not None else None
        log.error(
            "event=commit_process_lost in_flight_jobs=%d exit=%s error=%r",
            sum(len(j) for j in self._in_flight.values()),
            code,
            exc,
        )
        self._close()
        self.restarts += 1
        self._losses_in_a_row += 1
        lost = CommitProcessLost(f"commit process lost: {exc!r}")
        in_flight, self._in_flight = self._in_flight, {}
        for jobs in in_flight.values():
            self._finish(jobs, [lost] * len(jobs), 0, 0.0)
        if self._losses_in_a_row >= _LOSSES_BEFORE_GIVING_UP:
            self._give_up()

    def _give_up(self) -> None:
        """No working child (it cannot start, or dies before answering): the writer's thread
        commits from now on, starting with what is queued here."""
        log.error(
            "event=commit_process_off losses_in_a_row=%d queued_jobs=%d; "
            "the writer thread commits instead",
            self._losses_in_a_row,
            len(self._queue),
        )
        jobs = [job for job, _wire in self._queue]
        self._queue.clear()
        self._close_here()
        self._unavailable(jobs)
        self._notify_drained()

    def _close(self) -> None:
        if self._sock is not None:
            fd = self._sock.fileno()
            self._loop.remove_reader(fd)
            if self._writing:
                self._loop.remove_writer(fd)
            self._writing = False
            self._sock.close()
            self._sock = None
        self._out.clear()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            _wait(self._proc)
        self._proc = None

    def _notify_drained(self) -> None:
        if self.idle and self._drained:
            waiting, self._drained = self._drained, []
            for fut in waiting:
                if not fut.done():
                    fut.set_result(None)


def _wait(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _exception(result: Any) -> BaseException | None:
    """The child's (class name, message) as the DBAPIError SQLAlchemy would have raised."""
    if result is None:
        return None
    name, message = result
    cls = getattr(sqlite3, name, None)
    if isinstance(cls, type) and issubclass(cls, sqlite3.Error):
        return DBAPIError.instance(None, None, cls(message), sqlite3.Error)
    return RuntimeError(f"{name}: {message}")
