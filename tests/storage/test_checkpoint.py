"""The WAL stays bounded under a writer that never pauses (storage.db.Checkpointer).

PASSIVE checkpoints alone never let SQLite start the WAL over while commits keep coming, so
it grew without limit under load; the checkpointer restarts it past ``restart_frames``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import Checkpointer, make_engine


def test_wal_is_restarted_under_continuous_writes(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    engine = make_engine(
        f"sqlite:///{path}", sqlite_synchronous="NORMAL", sqlite_autocheckpoint=False
    )
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)"))
    cp = Checkpointer(engine, interval_s=0.02, restart_frames=256)  # 1 MiB of 4 KiB pages
    cp.start()
    stop = threading.Event()
    written = [0]
    biggest = [0]

    def write() -> None:
        blob = os.urandom(8192)
        with engine.connect() as conn:
            while not stop.is_set():
                conn.execute(text("INSERT INTO t (blob) VALUES (:b)"), [{"b": blob}] * 8)
                conn.commit()
                written[0] += 8 * len(blob)
                time.sleep(0.0005)  # a group-commit writer pauses between batches; this one barely

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 2.0
    wal = Path(str(path) + "-wal")
    while time.monotonic() < deadline:
        if wal.exists():
            biggest[0] = max(biggest[0], wal.stat().st_size)
        time.sleep(0.01)
    stop.set()
    writer.join()
    cp.stop()
    engine.dispose()
    assert written[0] > 16 * 1024 * 1024, "the writer should have written well past the bound"
    assert cp.restarts > 0
    # without restarts the WAL holds everything written; with them a fraction of it (the bound
    # is loose: a busy machine delays the checkpointer thread)
    assert biggest[0] < written[0] / 2, (biggest[0], written[0])
