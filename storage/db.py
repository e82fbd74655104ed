"""Engines for the embedded default (SQLite, WAL) and PostgreSQL, and schema upgrades.

SQLite is tuned for one writer (the group-commit thread) and concurrent readers; PostgreSQL
databases are created on first use so ``SMSC_STORAGE__URL=...smsc_check smsc serve`` just works.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("smsc.storage")

MIGRATIONS = Path(__file__).with_name("migrations")
_UPGRADE_LOCK_KEY = 0x534D5343  # "SMSC": the advisory lock serialising schema upgrades


class StorageError(Exception):
    """Storage cannot be reached or prepared; the message says how to fix it."""


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pool_size: int = 5,
    sqlite_autocheckpoint: bool = True,
) -> Engine:
    """Create an engine; for SQLite set WAL and the requested fsync policy on every connection.

    ``sqlite_autocheckpoint=False`` leaves WAL checkpoints to a ``Checkpointer`` thread, so a
    commit never pays for copying the WAL into the database file (the server does this).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            # a multi-row INSERT inside BEGIN keeps a statement journal: in memory, not a temp
            # file created, written and unlinked by every large commit
            cur.execute("PRAGMA temp_store=MEMORY")
            if not sqlite_autocheckpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        ensure_postgres_database(url)
        return create_engine(url, pool_size=pool_size, pool_pre_ping=True)
    raise StorageError(f"unsupported storage url {parsed.render_as_string(hide_password=True)}")


def ensure_postgres_database(url: str) -> None:
    """Create the target database when it is missing (needs CREATEDB on the server)."""
    target = make_url(url)
    name = target.database
    if not name:
        raise StorageError("storage.url names no database (…/DBNAME)")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    shown = target.render_as_string(hide_password=True)
    createdb = f"createdb -h {target.host or 'localhost'} -U {target.username or 'postgres'} {name}"
    exists_q = text("SELECT 1 FROM pg_database WHERE datname = :n")
    try:
        with admin.connect() as conn:
            if not conn.execute(exists_q, {"n": name}).scalar():
                log.info("event=create_database database=%s", name)
                quoted = name.replace('"', '""')
                try:
                    conn.execute(text(f'CREATE DATABASE "{quoted}"'))
                except DBAPIError:
                    # Identical processes starting together race to create it: losing that
                    # race (duplicate database / pg_database unique violation) is success.
                    if not conn.execute(exists_q, {"n": name}).scalar():
                        raise
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach PostgreSQL at {shown}: {exc.orig}; start it or create the database "
            f"with: {createdb}"
        ) from exc
    except DBAPIError as exc:  # reached the server, but may not create databases
        raise StorageError(
            f"cannot create database {name} on {shown}: {exc.orig}; grant CREATEDB to "
            f"{target.username or 'postgres'} or create it with: {createdb}"
        ) from exc
    finally:
        admin.dispose()


class Checkpointer:
    """Checkpoints the SQLite WAL from its own thread and connection, and keeps it bounded.

    With SQLite's automatic checkpoint, the commit that crosses the threshold copies the WAL
    into the database file and fsyncs it: every ~45th group commit took several milliseconds
    longer, which is the p99 of a window-1 client. A PASSIVE checkpoint from another connection
    runs beside the writer instead of inside its commit.

    A PASSIVE checkpoint never lets the WAL start over while a writer keeps appending, so under
    sustained load the WAL grew without bound (1.3 GB after 30 s of HTTP load) and every read
    and write slowed down as its index grew. Once the WAL holds ``restart_frames`` frames, a
    RESTART checkpoint makes the next transaction write the WAL from its beginning again: it
    copies only what the PASSIVE rounds have not (a short pause for the writer) and waits for
    readers to leave the old frames.
    """

    def __init__(self, engine: Engine, interval_s: float = 0.5, restart_frames: int = 4096) -> None:
        self._engine = engine
        self._interval = interval_s
        self.restart_frames = restart_frames  # 4096 frames of 4 KiB pages = 16 MiB of WAL
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smsc-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            result = self.checkpoint("PASSIVE")
            if result is not None and result[1] >= self.restart_frames:
                if self.checkpoint("RESTART") is not None:
                    self.restarts += 1

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int] | None:
        """Run one checkpoint; returns SQLite's (busy, frames in WAL, frames checkpointed)."""
        try:
            with self._engine.connect() as conn:
                row = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except Exception as exc:  # noqa: BLE001 - the next round tries again; /health reports storage
            log.warning("event=checkpoint_failed mode=%s error=%r", mode, exc)
            return None
        return (int(row[0]), int(row[1]), int(row[2])) if row is not None else None

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.checkpoint("TRUNCATE")


def upgrade(engine: Engine) -> None:
    """Apply every pending alembic migration (``smsc db upgrade`` and server start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Processes sharing one database may start together: without this lock each one
            # sees no alembic_version and runs the same CREATE TABLEs. Held to commit.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def check(engine: Engine) -> None:
    """Raise if the database does not answer (used by ``/health``)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
