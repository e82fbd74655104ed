"""Durable insert throughput and commit latency of ``storage.writer.GroupCommitWriter``.

Why this shape: a protocol answers ``submit_sm_resp`` only after the message row is committed,
so what matters is how many rows per second become *durable* and how long a caller waits for
its commit. ``--writers`` asyncio tasks each insert one ``messages`` row per ``write()`` call
(the same insert statement and one-dict-per-row shape ``smsc.core`` uses, body ~40 bytes) and
await it before the next one, like a window-1 client; writers x 1 = concurrency, and the group
commit forms batches out of whatever is in flight.

A row counts when its future resolves (after the commit); its latency is enqueue -> future
resolved. Prints one JSON line: per-run figures and the median over ``--runs``.
Target (SQLite, synchronous=FULL, 64 writers): >= 30,000 rows/s and p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage.db import make_engine, upgrade  # noqa: E402
from storage.schema import messages  # noqa: E402
from storage.writer import GroupCommitWriter  # noqa: E402

INSERT_MESSAGE = messages.insert()  # one statement object, as smsc.core keeps it
BODY = b"Your verification code is 482913. Thanks"  # 40 bytes, GSM-7 text as bytes


def message_row(pk: int, now: float) -> dict[str, Any]:
    """A row with every column ``smsc.core.Smsc.submit`` fills in (same keys, same types)."""
    return {
        "id": pk,
        "message_id": str(pk),
        "account": "bench",
        "protocol": "smpp",
        "bind_id": "bench-1",
        "source": "106900001",
        "destination": "13800138000",
        "data_coding": 0,
        "esm_class": 0,
        "body": BODY,
        "text": "Your verification code is 482913. Thanks",
        "group_ref": None,
        "group_total": None,
        "group_seq": None,
        "registered_delivery": 1,
        "submitted_at": now,
        "schedule_at": None,
        "validity_at": None,
        "state": "ACCEPTD",
        "outcome": "DELIVRD",
        "deliver_at": now + 1.0,
        "enroute_at": None,
        "err": 0,
        "stat": "DELIVRD",
        "rule": "default",
        "done_at": None,
        "extra": None,
    }


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a latency that happened)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100.0 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def prepare(url: str, synchronous: str) -> Engine:
    engine = make_engine(url, sqlite_synchronous=synchronous)
    upgrade(engine)
    with engine.begin() as conn:  # a given database is reused: start every run from empty
        conn.execute(messages.delete())
    return engine


async def one_run(engine: Engine, writers: int, rows: int, max_wait_ms: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    writer = GroupCommitWriter(engine, loop, max_wait_ms=max_wait_ms)
    writer.start()
    per_writer = rows // writers
    latencies: list[float] = []
    perf = time.perf_counter
    now = time.time()

    # ids come from one counter in submission order, as ``Smsc.next_id`` allocates them, so
    # concurrent rows are neighbours in every id-ordered index (per-writer id ranges would
    # scatter each commit over dozens of index pages and measure the wrong thing)
    next_id = itertools.count(1).__next__

    async def client() -> None:
        write = writer.write
        note = latencies.append
        for _ in range(per_writer):
            t0 = perf()
            await write([(INSERT_MESSAGE, message_row(next_id(), now))])
            note(perf() - t0)

    # warm up (first connection, compiled statement) outside the timed part
    await writer.write([(INSERT_MESSAGE, message_row(next_id(), now))])
    commits_before = writer.commits
    started = perf()
    await asyncio.gather(*(client() for _ in range(writers)))
    elapsed = perf() - started
    commits = writer.commits - commits_before
    await writer.stop()
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    done = per_writer * writers
    if stored != done + 1:
        raise SystemExit(f"expected {done + 1} rows stored, found {stored}")
    latencies.sort()
    return {
        "rows_per_s": round(done / elapsed),
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
        "commits": commits,
        "mean_batch": round(done / max(commits, 1), 1),
        "seconds": round(elapsed, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--url",
        help="storage URL (default: a new SQLite file in a temporary directory for each run); "
        "an existing database's messages table is emptied before each run",
    )
    ap.add_argument("--writers", type=int, default=64, help="concurrent writer tasks (default 64)")
    ap.add_argument("--rows", type=int, default=200_000, help="rows per run (default 200000)")
    ap.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    ap.add_argument(
        "--synchronous",
        type=str.upper,
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite PRAGMA synchronous (default FULL: every commit is fsynced)",
    )
    ap.add_argument(
        "--max-wait-ms", type=float, default=0.0, help="writer max_wait_ms (default 0, as served)"
    )
    args = ap.parse_args(argv)
    if args.writers < 1 or args.rows < args.writers or args.runs < 1:
        ap.error("need writers >= 1, rows >= writers, runs >= 1")

    runs: list[dict[str, Any]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench_gc_") as tmp:
            url = args.url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
            engine = prepare(url, args.synchronous)
            try:
                runs.append(asyncio.run(one_run(engine, args.writers, args.rows, args.max_wait_ms)))
            finally:
                engine.dispose()

    backend = make_url(args.url or "sqlite://").get_backend_name()
    server = None
    if backend == "postgresql":
        engine = make_engine(args.url)
        with engine.connect() as conn:
            server = conn.execute(text("SHOW server_version")).scalar()
            sync_commit = conn.execute(text("SHOW synchronous_commit")).scalar()
            fsync = conn.execute(text("SHOW fsync")).scalar()
        engine.dispose()
        server = f"PostgreSQL {server} synchronous_commit={sync_commit} fsync={fsync}"
    result: dict[str, Any] = {
        "bench": "group_commit",
        "backend": backend,
        "synchronous": args.synchronous if backend == "sqlite" else None,
        "server": server,
        "writers": args.writers,
        "rows": args.rows // args.writers * args.writers,
        "max_wait_ms": args.max_wait_ms,
        "runs": runs,
        "median": {
            key: statistics.median(r[key] for r in runs)
            for key in ("rows_per_s", "p50_ms", "p99_ms", "max_ms", "mean_batch")
        },
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
