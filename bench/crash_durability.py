"""Crash test for "durable before acknowledged": SIGKILL a writing process, then count rows.

A child process runs ``GroupCommitWriter`` with ``--writers`` concurrent window-1 writers and,
each time a write's future resolves, prints the committed row id to stdout (flushed) — the
moment a protocol would send ``submit_sm_resp``. The parent reads those ids, SIGKILLs the child
at a random point of the stream (between 10 % and 90 % of ``--rows``), collects the ids already
in the pipe, then opens the database and checks that every id the child reported is stored.

SIGKILL is a process crash: it proves no id is reported before its commit, not that the disk
survives power loss (that is the fsync policy: SQLite ``synchronous=FULL``, PostgreSQL
``synchronous_commit=on``). Prints one JSON line; exit status 0 when nothing reported is lost,
1 when rows are missing, 2 when the child was not killed mid-stream.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_group_commit import INSERT_MESSAGE, message_row  # noqa: E402
from sqlalchemy import select  # noqa: E402

from storage.db import make_engine, upgrade  # noqa: E402
from storage.schema import messages  # noqa: E402
from storage.writer import GroupCommitWriter  # noqa: E402

# how the writer commits (SQLite; PostgreSQL always uses the thread): as ``smsc serve`` does
# (small turns on the loop, the rest in the commit process), or one path alone
MODES = {
    "served": {"on_loop": True, "process": True},
    "thread": {},
    "on_loop": {"on_loop": True},
    "process": {"process": True},
}


async def child(url: str, synchronous: str, writers: int, rows: int, mode: str) -> None:
    """Write ``rows`` rows; print each id once its future has resolved (i.e. it is committed)."""
    engine = make_engine(url, sqlite_synchronous=synchronous, sqlite_autocheckpoint=False)
    writer = GroupCommitWriter(engine, asyncio.get_running_loop(), **MODES[mode])
    writer.start()
    next_id = itertools.count(1).__next__
    out = sys.stdout

    async def client() -> None:
        while True:
            pk = next_id()
            if pk > rows:
                return
            await writer.write([(INSERT_MESSAGE, message_row(pk, time.time()))])
            out.write(f"{pk}\n")
            out.flush()

    await asyncio.gather(*(client() for _ in range(writers)))
    await writer.stop()
    engine.dispose()


def stored_ids(url: str) -> set[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(messages.c.id)).scalars())
    finally:
        engine.dispose()


def crash_once(
    url: str, synchronous: str, writers: int, rows: int, rng: random.Random, mode: str
) -> dict[str, Any]:
    engine = make_engine(url, sqlite_synchronous=synchronous)
    upgrade(engine)  # before the child starts, so the kill lands in writes, not in DDL
    with engine.begin() as conn:  # a given database is reused: the child's ids start at 1
        conn.execute(messages.delete())
    engine.dispose()
    kill_at = rng.randint(max(1, rows // 10), max(1, rows * 9 // 10))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--url",
            url,
            "--synchronous",
            synchronous,
            "--writers",
            str(writers),
            "--rows",
            str(rows),
            "--mode",
            mode,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    reported: list[int] = []
    killed = False
    started = time.perf_counter()
    for line in proc.stdout:
        if not line.endswith(b"\n"):
            break  # a partial line: the child died while writing it
        reported.append(int(line))
        if not killed and len(reported) >= kill_at:
            time.sleep(rng.random() * 0.002)  # a random moment, not just a line boundary
            proc.send_signal(signal.SIGKILL)
            killed = True
            # keep reading: ids already in the pipe were reported before the child died
    proc.wait()
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    found = stored_ids(url)
    missing = sorted(set(reported) - found)
    return {
        "killed": killed and proc.returncode == -signal.SIGKILL,
        "returncode": proc.returncode,
        "kill_after_reported": kill_at,
        "reported": len(reported),
        "found": len(found),
        "found_not_reported": len(found - set(reported)),  # committed, answer not yet sent
        "missing": len(missing),
        "missing_ids": missing[:20],
        "seconds": round(elapsed, 3),
        "child_stderr": stderr[-2000:] if proc.returncode not in (0, -signal.SIGKILL) else "",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="storage URL (default: a new SQLite file in a temp directory)")
    ap.add_argument("--rows", type=int, default=20_000, help="rows the child would write")
    ap.add_argument("--writers", type=int, default=32, help="concurrent writer tasks (default 32)")
    ap.add_argument(
        "--synchronous",
        type=str.upper,
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite PRAGMA synchronous (default FULL)",
    )
    ap.add_argument(
        "--mode",
        choices=sorted(MODES),
        default="served",
        help="where commits happen (SQLite): as served (default), or thread/on_loop/process alone",
    )
    ap.add_argument("--seed", type=int, help="random seed for the kill point (default: random)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rows < 10 or args.writers < 1:
        ap.error("need rows >= 10 and writers >= 1")

    if args.child:
        try:
            asyncio.run(child(args.url, args.synchronous, args.writers, args.rows, args.mode))
        except BrokenPipeError:  # the parent went away
            os._exit(1)
        return 0

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="crash_") as tmp:
        url = args.url or f"sqlite:///{os.path.join(tmp, 'crash.db')}"
        result = crash_once(
            url, args.synchronous, args.writers, args.rows, random.Random(seed), args.mode
        )
    result = {
        "bench": "crash_durability",
        "url": url if args.url else "sqlite (temporary file)",
        "synchronous": args.synchronous if url.startswith("sqlite") else None,
        "mode": args.mode if url.startswith("sqlite") else "thread",
        "writers": args.writers,
        "rows": args.rows,
        "seed": seed,
        **result,
        "ok": result["killed"] and result["missing"] == 0,
    }
    print(json.dumps(result))
    if not result["killed"]:
        return 2
    return 0 if result["missing"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
