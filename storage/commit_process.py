"""The commit process: SQLite group commits on a core of their own.

Why a process: the event loop and a writer thread share one GIL, so the server never used more
than one core, and executing a batch (binding rows, SQLite's own work, the commit) took about
45 % of the loop's time at window 100. This process owns one SQLite connection; the server
sends it batches of rows that are already plain tuples (``GroupCommitWriter`` compiles the
statements once and converts the rows), and it answers each batch after its ``COMMIT``. It is
a child of the server started by ``python -m storage.commit_process``; it knows nothing of
SQLAlchemy, accounts or protocols.

Wire: frames of a 4-byte big-endian length and a pickle, over a socketpair inherited as a file
descriptor. Parent to child: ``("plan", pid, sql, multi_head, multi_group, per_chunk)`` once per
plan, ``("batch", bid, jobs)`` where a job is a list of ``(pid, rows)``,
``("forget_below", pid)`` (plans the parent no longer uses), ``("stop",)``. Child
to parent: ``("done", [(bid, results, rows, seconds), ...])`` where ``results`` is ``None`` when
the whole batch committed, else one ``None`` or ``(error class name, message)`` per job.

Group commit: every batch already in the socket when the child looks joins one transaction, so
while one commit is in flight the next one collects. A failing transaction is rolled back and
its jobs retried one transaction each, so one bad row fails one caller (as the writer thread
does). Parent gone (EOF): the child commits nothing more and exits.
"""

from __future__ import annotations

import itertools
import pickle
import socket
import sqlite3
import struct
import sys
import time
from collections.abc import Iterable
from typing import Any, TypeVar

K = TypeVar("K")
HEADER = struct.Struct("!I")
MAX_FRAME = 1 << 30


def encode(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class FrameReader:
    """Accumulates bytes and yields whole frames (decoded)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        buf = self._buf
        buf += data
        out: list[Any] = []
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = HEADER.unpack_from(buf, pos)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes")
            end = pos + 4 + size
            if end > len(buf):
                break
            out.append(pickle.loads(memoryview(buf)[pos + 4 : end]))
            pos = end
        if pos:
            del buf[:pos]
        return out


Plan = tuple[str, str | None, str | None, int]  # sql, multi head, multi group, rows per chunk


def group_in_order(jobs: Iterable[Iterable[tuple[K, Iterable[Any]]]]) -> list[tuple[K, list[Any]]]:
    """Gather the jobs' rows by key into as few groups as possible, keeping each job's order.

    A job's rows land in a group after the group of its previous rows, else a new group is
    opened, so ``[insert row, update row]`` never runs as update-then-insert. Rows of different
    jobs may be reordered (see ``storage.writer._execute_grouped``). Shared by the writer
    thread and this process, so both group the same way.
    """
    groups: list[tuple[K, list[Any]]] = []
    latest: dict[K, int] = {}
    for ops in jobs:
        floor = 0
        for key, rows in ops:
            idx = latest.get(key, -1)
            if idx < floor:
                idx = latest[key] = len(groups)
                groups.append((key, []))
            groups[idx][1].extend(rows)
            floor = idx
    return groups


def execute_jobs(cur: sqlite3.Cursor, plans: dict[int, Plan], jobs: list[Any]) -> int:
    """Run the jobs' rows (``(plan id, rows)`` per op) as few statements as possible."""
    groups = group_in_order(jobs)
    count = 0
    for pid, rows in groups:
        sql, head, group, per_chunk = plans[pid]
        count += len(rows)
        if head is not None and group is not None and len(rows) > 1:
            for start in range(0, len(rows), per_chunk):
                chunk = rows[start : start + per_chunk]
                cur.execute(
                    head + ", ".join([group] * len(chunk)),
                    tuple(itertools.chain.from_iterable(chunk)),
                )
        elif len(rows) == 1:
            cur.execute(sql, rows[0])
        else:
            cur.executemany(sql, rows)
    return count


def _error(exc: BaseException) -> tuple[str, str]:
    return (type(exc).__name__, str(exc))


def commit_batches(
    conn: sqlite3.Connection, plans: dict[int, Plan], batches: list[tuple[int, list[Any]]]
) -> list[tuple[int, list[Any] | None, int, float]]:
    """Commit the batches together; on failure, each job in its own transaction."""
    started = time.perf_counter()
    cur = conn.cursor()
    try:
        cur.execute("BEGIN")
        execute_jobs(cur, plans, [job for _bid, jobs in batches for job in jobs])
        cur.execute("COMMIT")
    except Exception:  # noqa: BLE001 - isolate the failing caller below
        if conn.in_transaction:
            conn.rollback()
    else:
        seconds = time.perf_counter() - started
        per_batch = [sum(len(r) for job in jobs for _pid, r in job) for _bid, jobs in batches]
        return [(bid, None, n, seconds) for (bid, _jobs), n in zip(batches, per_batch, strict=True)]
    answers: list[tuple[int, list[Any] | None, int, float]] = []
    for bid, jobs in batches:
        results: list[Any] = []
        done = 0
        for job in jobs:
            try:
                cur.execute("BEGIN")
                done += execute_jobs(cur, plans, [job])
                cur.execute("COMMIT")
                results.append(None)
            except Exception as exc:  # noqa: BLE001 - reported to that caller
                if conn.in_transaction:
                    conn.rollback()
                results.append(_error(exc))
        answers.append((bid, results, done, time.perf_counter() - started))
    return answers


def serve(sock: socket.socket, conn: sqlite3.Connection) -> None:
    """Commit what the parent sends until it says stop or goes away."""
    reader = FrameReader()
    plans: dict[int, Plan] = {}
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return
        frames = reader.feed(data)
        sock.setblocking(False)
        try:  # drain what is already there: it joins this transaction
            while True:
                more = sock.recv(1 << 20)
                if not more:
                    break
                frames += reader.feed(more)
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)
        batches: list[tuple[int, list[Any]]] = []
        for frame in frames:
            kind = frame[0]
            if kind == "plan":
                plans[frame[1]] = frame[2:]
            elif kind == "batch":
                batches.append((frame[1], frame[2]))
                continue
            elif batches:  # what came before this frame is committed before it acts
                sock.sendall(encode(("done", commit_batches(conn, plans, batches))))
                batches = []
            if kind == "forget_below":
                for pid in [p for p in plans if p < frame[1]]:
                    del plans[pid]
            elif kind == "stop":
                return
        if batches:
            sock.sendall(encode(("done", commit_batches(conn, plans, batches))))


def connect(path: str, synchronous: str, autocheckpoint: int) -> sqlite3.Connection:
    """The same settings as the server's engine (``storage.db.make_engine``)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    # statement journals (a multi-row INSERT inside BEGIN has one) in memory, not in a temp file
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
    return conn


def main(argv: list[str]) -> int:
    fd, path, synchronous, autocheckpoint = int(argv[0]), argv[1], argv[2], int(argv[3])
    sock = socket.socket(fileno=fd)
    conn = connect(path, synchronous, autocheckpoint)
    try:
        serve(sock, conn)
    except (ConnectionError, OSError):
        return 0  # the parent is gone: nothing to answer
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
