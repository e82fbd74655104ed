"""``storage.db``: engines, schema upgrades and PostgreSQL database auto-creation.

Runs on SQLite and PostgreSQL (see ``conftest.py``); the unreachable-server case needs no server.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text

from storage.db import MIGRATIONS, StorageError, check, make_engine, upgrade
from storage.schema import blacklist, metadata

ROOT = Path(__file__).resolve().parents[2]


def alembic_head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_upgrade_creates_every_table_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == set()
        upgrade(engine)
        insp = inspect(engine)
        assert set(insp.get_table_names()) == set(metadata.tables) | {"alembic_version"}
        # the migration and schema.py describe the same tables: a column or index added to
        # one and not the other shows up here
        for name, table in metadata.tables.items():
            assert [c["name"] for c in insp.get_columns(name)] == [c.name for c in table.columns]
            declared = {
                ix["name"] for ix in insp.get_indexes(name) if not ix.get("duplicates_constraint")
            }
            assert declared == {ix.name for ix in table.indexes}
        assert current_revision(engine) == alembic_head()
        check(engine)
    finally:
        engine.dispose()


def test_pending_indexes_hold_only_what_is_still_owed(engine: Engine) -> None:
    """Partial indexes (migration 0004) hold only rows whose done_at is NULL, and the restart
    query for owed receipts still goes through its index."""
    upgrade(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = dict(
                conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_%_pending'")
                ).all()
            )
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT * FROM messages"
                        " WHERE done_at IS NULL AND state != 'HELD'"
                    )
                )
            )
            assert "ix_messages_pending" in plan
        else:
            sql = dict(
                conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes"
                        " WHERE indexname LIKE 'ix_%_pending'"
                    )
                ).all()
            )
    assert set(sql) == {"ix_messages_pending", "ix_outbox_pending"}
    for definition in sql.values():
        assert "done_at IS NULL" in definition.replace("(", "").replace(")", "")


def test_upgrade_is_idempotent_and_keeps_data(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            blacklist.insert(), {"account": "", "number": "13800138000", "created_at": 1.0}
        )
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == alembic_head()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(blacklist)).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_a_second_engine_on_an_existing_database_upgrades_nothing(db_url: str) -> None:
    first = make_engine(db_url)
    upgrade(first)
    first.dispose()
    second = make_engine(db_url)  # the database exists now: no create, no error
    try:
        upgrade(second)
        assert current_revision(second) == alembic_head()
    finally:
        second.dispose()


@pytest.mark.parametrize("mode", ["FULL", "NORMAL"])
def test_sqlite_connections_use_wal_and_the_requested_fsync_policy(
    tmp_path: Path, mode: str
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}", sqlite_synchronous=mode)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert (
                conn.exec_driver_sql("PRAGMA synchronous").scalar()
                == {"FULL": 2, "NORMAL": 1}[mode]
            )
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def _database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


@pytest.mark.postgres
def test_postgres_database_is_created_on_first_use(pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    assert not _database_exists(name)
    engine = make_engine(pg_url)
    try:
        assert _database_exists(name)
        check(engine)
        upgrade(engine)
        assert current_revision(engine) == alembic_head()
    finally:
        engine.dispose()


_START_SCRIPT = """
import sys, time
from storage.db import make_engine, upgrade
url, start_at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
engine = make_engine(url)
upgrade(engine)
engine.dispose()
"""


@pytest.mark.postgres
def test_postgres_concurrent_first_start_creates_and_upgrades_once(pg_url: str) -> None:
    """Identical processes started together against one new database all come up (DESIGN.md).

    Real processes, not threads: alembic keeps its migration context in module globals.
    """
    start_at = time.time() + 3.0  # after every interpreter has imported SQLAlchemy
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _START_SCRIPT, pg_url, str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(outputs)
    engine = make_engine(pg_url)
    try:
        assert current_revision(engine) == alembic_head()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_without_createdb_raises_storage_error_that_says_how_to_fix_it(
    pg_url: str,
) -> None:
    import psycopg

    role = f"smsc_nocreate_{uuid.uuid4().hex[:8]}"
    name = pg_url.rsplit("/", 1)[1]
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    try:
        with pytest.raises(StorageError) as info:
            make_engine(f"postgresql+psycopg://{role}@127.0.0.1:5432/{name}")
        message = str(info.value)
        assert f"grant CREATEDB to {role}" in message
        assert f"createdb -h 127.0.0.1 -U {role} {name}" in message
        assert not _database_exists(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{role}"')


def test_unreachable_postgres_raises_storage_error_that_says_how_to_fix_it() -> None:
    name = f"smsc_test_{uuid.uuid4().hex[:12]}"
    with pytest.raises(StorageError) as info:
        make_engine(f"postgresql+psycopg://postgres@127.0.0.1:1/{name}")
    message = str(info.value)
    assert "cannot reach PostgreSQL" in message
    assert "127.0.0.1:1" in message
    assert f"createdb -h 127.0.0.1 -U postgres {name}" in message


def test_postgres_url_without_database_is_refused() -> None:
    with pytest.raises(StorageError, match="names no database"):
        make_engine("postgresql+psycopg://postgres@127.0.0.1:1")


def test_unsupported_backend_is_refused_without_leaking_the_password() -> None:
    with pytest.raises(StorageError, match="unsupported storage url") as info:
        make_engine("mysql://user:hunter2@127.0.0.1/smsc")
    assert "hunter2" not in str(info.value)
