"""``storage.writer.GroupCommitWriter`` on a real event loop and a real database.

"Durable before acknowledged" rests on these properties: a future resolves only after the
transaction holding its rows committed (another connection sees them), a bad row fails only its
own caller, and stopping commits everything that was accepted. Each test runs on SQLite and on
PostgreSQL (``conftest.py``), and with the writer committing on its thread only and on the loop
when it can (``on_loop``), and in the commit process (``process``); on PostgreSQL both options
do nothing and the thread commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from storage.schema import blacklist, events, messages
from storage.writer import GroupCommitWriter, WriterClosed

INSERT_MESSAGE = messages.insert()
INSERT_EVENT = events.insert()
SET_STATE = update(messages).where(messages.c.id == bindparam("pk")).values(state=bindparam("st"))
DELETE_EVENT = delete(events).where(events.c.id == bindparam("pk"))


# keyword arguments every writer of the current test is built with (see ``writer_mode``)
MODE: dict[str, Any] = {}


@pytest.fixture(
    autouse=True,
    params=[{}, {"on_loop": True}, {"process": True}],
    ids=["thread", "on_loop", "process"],
)
def writer_mode(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    MODE.update(request.param)
    yield request.param
    MODE.clear()


def message_row(pk: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": pk,
        "message_id": str(pk),
        "account": "acme",
        "protocol": "smpp",
        "bind_id": None,
        "source": "106900001",
        "destination": "13800138000",
        "data_coding": 0,
        "esm_class": 0,
        "body": b"hello world " + str(pk).encode(),
        "text": f"hello world {pk}",
        "group_ref": None,
        "group_total": None,
        "group_seq": None,
        "registered_delivery": 1,
        "submitted_at": 1000.0 + pk,
        "schedule_at": None,
        "validity_at": None,
        "state": "ACCEPTD",
        "outcome": "DELIVRD",
        "deliver_at": 1001.0 + pk,
        "enroute_at": None,
        "err": 0,
        "stat": "DELIVRD",
        "rule": "default",
        "done_at": None,
        "extra": None,
    }
    row.update(changes)
    return row


def event_row(pk: int, kind: str = "decision", **changes: Any) -> dict[str, Any]:
    row = {"id": pk, "at": 1.0, "kind": kind, "account": "acme", "message_id": None, "detail": "{}"}
    row.update(changes)
    return row


def run(engine: Engine, body: Callable[[GroupCommitWriter], Awaitable[Any]], **kw: Any) -> Any:
    """Run ``body(writer)`` on a fresh event loop with a started writer; always stop it."""

    async def main() -> Any:
        writer = GroupCommitWriter(engine, asyncio.get_running_loop(), **{**MODE, **kw})
        writer.start()
        try:
            return await asyncio.wait_for(body(writer), 60)
        finally:
            await writer.stop()

    return asyncio.run(main())


def message_ids(engine: Engine) -> set[int]:
    """What a second connection sees, i.e. what is committed."""
    with engine.connect() as conn:
        return set(conn.execute(select(messages.c.id)).scalars())


def states(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(messages.c.id, messages.c.state)).tuples().all())


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock from another connection that makes the writer's inserts wait."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the one write lock; WAL readers still read
        try:
            yield
        finally:
            conn.execute("COMMIT")
            conn.close()
    else:
        import psycopg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            conn.execute("LOCK TABLE messages IN SHARE MODE")  # blocks INSERT, not SELECT
            yield
            conn.rollback()


def assert_batched(engine: Engine, batches: list[int], jobs: int) -> None:
    """Jobs queued together commit together: in one transaction, or with a commit process in
    one per path (jobs with a statement that has no compiled plan go to the thread)."""
    if MODE.get("process") and engine.dialect.name == "sqlite":
        assert sum(batches) == jobs and len(batches) <= 2
    else:
        assert batches == [jobs]


def enqueue_then_start(
    engine: Engine, jobs: list[list[Any]]
) -> tuple[list[BaseException | None], list[int]]:
    """Queue every job before the writer thread starts, so they form one batch.

    Returns each job's outcome and the sizes of the batches that committed whole.
    """
    batches: list[int] = []

    async def main() -> list[BaseException | None]:
        writer = GroupCommitWriter(
            engine, asyncio.get_running_loop(), on_commit=lambda n, _s: batches.append(n), **MODE
        )
        futs = [writer.write(ops) for ops in jobs]
        writer.start()
        try:
            return await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), 60)
        finally:
            await writer.stop()

    return asyncio.run(main()), batches


# -- durability ----------------------------------------------------------------------------------


def test_future_resolves_only_after_commit(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        with write_lock(engine):
            fut = writer.write([(INSERT_MESSAGE, message_row(1))])
            await asyncio.sleep(0.5)  # the writer has the job but cannot commit it
            assert not fut.done()
            assert message_ids(engine) == set()
        await asyncio.wait_for(fut, 30)
        assert message_ids(engine) == {1}

    run(engine, body)


def test_every_resolved_future_is_visible_to_another_connection(engine: Engine) -> None:
    """Checked inside the done-callback: the earliest moment a caller could answer its peer."""
    unseen: list[int] = []

    async def body(writer: GroupCommitWriter) -> None:
        def check(pk: int) -> Callable[[asyncio.Future[None]], None]:
            def done(fut: asyncio.Future[None]) -> None:
                assert fut.exception() is None
                with engine.connect() as conn:
                    if (
                        conn.execute(select(messages.c.id).where(messages.c.id == pk)).first()
                        is None
                    ):
                        unseen.append(pk)

            return done

        futs = []
        for pk in range(1, 201):
            fut = writer.write([(INSERT_MESSAGE, message_row(pk))])
            fut.add_done_callback(check(pk))
            futs.append(fut)
            if pk % 7 == 0:
                await asyncio.sleep(0)  # let batches of different sizes form
        await asyncio.gather(*futs)

    run(engine, body)
    assert unseen == []


def test_many_concurrent_writers_all_resolve_and_all_rows_are_stored(engine: Engine) -> None:
    writers, per_writer = 50, 40
    batches: list[int] = []

    async def body(writer: GroupCommitWriter) -> int:
        async def client(w: int) -> int:
            for i in range(per_writer):
                pk = w * per_writer + i + 1
                await writer.write([(INSERT_MESSAGE, message_row(pk))])
            return per_writer

        done = await asyncio.gather(*(client(w) for w in range(writers)))
        return sum(done)

    resolved = run(engine, body, on_commit=lambda jobs, _s: batches.append(jobs))
    total = writers * per_writer
    assert resolved == total
    assert message_ids(engine) == set(range(1, total + 1))
    assert sum(batches) == total
    assert len(batches) < total  # window-1 clients in flight together share commits


# -- failure isolation ---------------------------------------------------------------------------


def test_a_duplicate_key_fails_only_its_caller_and_the_rest_of_the_batch_commits(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        conn.execute(INSERT_MESSAGE, message_row(5, text="original"))
    jobs: list[list[Any]] = [[(INSERT_MESSAGE, message_row(pk))] for pk in range(1, 11)]
    # a job is one transaction: its first row must not survive its second row's failure
    jobs.append([(INSERT_MESSAGE, message_row(100)), (INSERT_MESSAGE, message_row(5))])
    results, batches = enqueue_then_start(engine, jobs)
    errors = {pk: r for pk, r in zip([*range(1, 11), 100], results, strict=True) if r is not None}
    assert set(errors) == {5, 100}
    assert all(isinstance(e, IntegrityError) for e in errors.values())
    assert message_ids(engine) == set(range(1, 11))
    with engine.connect() as conn:
        text = conn.execute(select(messages.c.text).where(messages.c.id == 5)).scalar()
    assert text == "original"
    assert batches == []  # the batch as a whole was rolled back, then retried job by job


def test_writer_keeps_working_after_a_failed_batch(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])
        with pytest.raises(IntegrityError):
            await writer.write([(INSERT_MESSAGE, message_row(1))])
        await writer.write([(INSERT_MESSAGE, message_row(2))])
        assert writer.healthy

    run(engine, body)
    assert message_ids(engine) == {1, 2}


# -- write_then ----------------------------------------------------------------------------------


def test_write_then_calls_back_on_the_loop_thread_after_commit(engine: Engine) -> None:
    calls: list[tuple[int, BaseException | None, bool, set[int]]] = []

    async def body(writer: GroupCommitWriter) -> None:
        loop_thread = threading.get_ident()
        done = asyncio.Event()

        def callback(pk: int) -> Callable[[BaseException | None], None]:
            def cb(err: BaseException | None) -> None:
                calls.append((pk, err, threading.get_ident() == loop_thread, message_ids(engine)))
                if len(calls) == 3:
                    done.set()

            return cb

        writer.write_then([(INSERT_MESSAGE, message_row(1))], callback(1))
        writer.write_then([(INSERT_MESSAGE, message_row(1))], callback(-1))  # duplicate
        writer.write_then([(INSERT_MESSAGE, message_row(2))], callback(2))
        await done.wait()

    run(engine, body)
    by_pk = {pk: (err, on_loop, seen) for pk, err, on_loop, seen in calls}
    assert set(by_pk) == {1, -1, 2}
    assert all(on_loop for _, on_loop, _ in by_pk.values())
    assert by_pk[1][0] is None and 1 in by_pk[1][2]
    assert by_pk[2][0] is None and 2 in by_pk[2][2]
    assert isinstance(by_pk[-1][0], IntegrityError)


def test_write_later_alone_commits_after_its_wait(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        done: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        writer.write_later([(INSERT_MESSAGE, message_row(1))], done.set_result)
        assert await done is None
        assert message_ids(engine) == {1}
        assert writer.pending == 0

    run(engine, body, later_ms=20)


def test_write_later_rides_with_the_next_commit_somebody_waits_on(engine: Engine) -> None:
    """Rows nobody waits on share the next waited-on commit (one fsync) instead of taking one
    of their own when commits happen on the loop; otherwise (thread, process, PostgreSQL)
    they are queued at once."""

    held = engine.dialect.name == "sqlite" and bool(MODE.get("on_loop"))

    async def body(writer: GroupCommitWriter) -> tuple[int, list[BaseException | None]]:
        called: list[BaseException | None] = []
        writer.write_later([(INSERT_MESSAGE, message_row(1))], called.append)
        writer.write_later([(SET_STATE, {"pk": 1, "st": "DELIVRD"})], called.append)
        await asyncio.sleep(0.05)  # several loop turns: nothing forces the rows out yet
        if not held:  # queued at once: they commit without anyone waiting (the commit
            # process may still be starting, hence a deadline rather than a fixed pause)
            deadline = time.monotonic() + 15
            while writer.pending and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        waiting = writer.pending
        await writer.write([(INSERT_MESSAGE, message_row(2))])
        await asyncio.sleep(0)
        return waiting, called

    waiting, called = run(engine, body, later_ms=60_000)
    assert called == [None, None]
    assert states(engine) == {1: "DELIVRD", 2: "ACCEPTD"}
    assert waiting == (2 if held else 0)


def test_a_raising_callback_does_not_stop_the_writer(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        def bad(_err: BaseException | None) -> None:
            raise RuntimeError("caller bug")

        writer.write_then([(INSERT_MESSAGE, message_row(1))], bad)
        await writer.write([(INSERT_MESSAGE, message_row(2))])

    run(engine, body)
    assert message_ids(engine) == {1, 2}


# -- stop ----------------------------------------------------------------------------------------


def test_stop_commits_everything_queued_then_refuses_new_work(engine: Engine) -> None:
    async def main() -> None:
        writer = GroupCommitWriter(engine, asyncio.get_running_loop(), **MODE)
        writer.start()
        futs = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 301)]
        called: list[BaseException | None] = []
        writer.write_then([(INSERT_MESSAGE, message_row(301))], called.append)
        writer.write_later([(INSERT_MESSAGE, message_row(302))], called.append)
        await writer.stop()
        await asyncio.sleep(0)  # resolutions were posted to the loop before the thread ended
        assert all(f.done() and f.exception() is None for f in futs)
        assert called == [None, None]
        assert writer.pending == 0
        with pytest.raises(WriterClosed):
            writer.write([(INSERT_MESSAGE, message_row(999))])
        with pytest.raises(WriterClosed):
            writer.write_then([(INSERT_MESSAGE, message_row(999))], called.append)
        with pytest.raises(WriterClosed):
            writer.write_later([(INSERT_MESSAGE, message_row(999))], called.append)

    asyncio.run(main())
    assert message_ids(engine) == set(range(1, 303))


def test_empty_write_is_a_barrier_behind_earlier_writes(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        futs = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 51)]
        await writer.write([])
        assert all(f.done() for f in futs)
        assert message_ids(engine) == set(range(1, 51))

    run(engine, body)


def test_a_cancelled_future_still_commits_and_does_not_break_the_writer(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        fut = writer.write([(INSERT_MESSAGE, message_row(1))])
        fut.cancel()  # e.g. asyncio.wait_for timed out in the caller
        await writer.write([(INSERT_MESSAGE, message_row(2))])

    run(engine, body)
    assert message_ids(engine) == {1, 2}


# -- grouping by statement -----------------------------------------------------------------------


def test_each_job_runs_its_ops_in_order_when_jobs_interleave_statements(engine: Engine) -> None:
    """Grouping by statement must not run a job's update before the insert it updates."""
    with engine.begin() as conn:
        conn.execute(INSERT_MESSAGE, [message_row(1), message_row(2)])
        conn.execute(INSERT_EVENT, event_row(500))
    jobs: list[list[Any]] = [
        [(SET_STATE, {"pk": 1, "st": "DELIVRD"})],  # an update appears first in the batch
        [(INSERT_MESSAGE, message_row(10)), (SET_STATE, {"pk": 10, "st": "ENROUTE"})],
        [(INSERT_EVENT, event_row(20)), (DELETE_EVENT, {"pk": 20})],
        [(DELETE_EVENT, {"pk": 500})],
        [(INSERT_EVENT, event_row(21)), (INSERT_MESSAGE, message_row(11))],
        [
            (SET_STATE, {"pk": 2, "st": "UNDELIV"}),
            (INSERT_MESSAGE, message_row(12)),
            (SET_STATE, {"pk": 12, "st": "EXPIRED"}),
            (SET_STATE, {"pk": 12, "st": "REJECTD"}),  # same statement twice: last one wins
        ],
        [(INSERT_MESSAGE, message_row(13)), (SET_STATE, {"pk": 13, "st": "ACCEPTD"})],
    ]
    results, batches = enqueue_then_start(engine, jobs)
    assert results == [None] * len(jobs)
    assert_batched(engine, batches, len(jobs))
    assert states(engine) == {
        1: "DELIVRD",
        2: "UNDELIV",
        10: "ENROUTE",
        11: "ACCEPTD",
        12: "REJECTD",
        13: "ACCEPTD",
    }
    with engine.connect() as conn:
        assert set(conn.execute(select(events.c.id)).scalars()) == {21}


def test_rows_of_one_statement_with_different_keys_keep_every_value(engine: Engine) -> None:
    """One executemany takes its columns from the first row: a wider row must not lose values."""
    narrow = event_row(1)
    del narrow["detail"]  # schema default "{}"
    jobs: list[list[Any]] = [
        [(INSERT_EVENT, narrow)],
        [(INSERT_EVENT, event_row(2, detail='{"rule":"r1"}'))],
        [(INSERT_EVENT, [event_row(3, detail='{"x":1}'), {"id": 4, "at": 2.0, "kind": "mo"}])],
    ]
    results, batches = enqueue_then_start(engine, jobs)
    assert results == [None] * len(jobs)
    assert_batched(engine, batches, len(jobs))
    with engine.connect() as conn:
        got = dict(conn.execute(select(events.c.id, events.c.detail)).tuples().all())
    assert got == {1: "{}", 2: '{"rule":"r1"}', 3: '{"x":1}', 4: "{}"}


def test_list_params_and_statements_with_fixed_values_are_stored_exactly(engine: Engine) -> None:
    """Column defaults, ``.values()`` constants and binary bodies survive whatever path runs."""
    done = update(messages).where(messages.c.id == bindparam("pk")).values(done_at=99.5)
    jobs: list[list[Any]] = [
        [(INSERT_MESSAGE, [message_row(pk, body=bytes(range(pk, pk + 40))) for pk in (1, 2, 3)])],
        [(blacklist.insert(), {"account": "", "number": "1380", "created_at": 1.0})],
        [(INSERT_MESSAGE, message_row(4, body=b"\x00\xff" * 20)), (done, {"pk": 4})],
        [(INSERT_MESSAGE, [])],
    ]
    results, batches = enqueue_then_start(engine, jobs)
    assert results == [None] * len(jobs)
    assert_batched(engine, batches, len(jobs))
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(messages))}
        reason = conn.execute(select(blacklist.c.reason)).scalar()
    assert set(rows) == {1, 2, 3, 4}
    assert rows[2].body == bytes(range(2, 42))
    assert rows[4].body == b"\x00\xff" * 20 and rows[4].done_at == 99.5
    assert rows[1].done_at is None and rows[1].submitted_at == 1001.0
    assert reason == ""  # the column default, filled in by SQLAlchemy


def test_float_columns_store_floats_whatever_number_the_caller_passes(engine: Engine) -> None:
    """Every path stores a FLOAT column as a float: SQLAlchemy's ``to_float`` converts on the
    thread, and on SQLite the column's REAL affinity converts on the loop's and the commit
    process's paths (which skip that processor)."""

    async def body(writer: GroupCommitWriter) -> None:
        await asyncio.gather(
            *(
                writer.write([(INSERT_MESSAGE, message_row(pk, submitted_at=pk, deliver_at="7.5"))])
                for pk in range(1, 21)  # > 4 jobs in one turn: the process takes them
            )
        )

    run(engine, body)
    with engine.connect() as conn:
        rows = conn.execute(select(messages.c.submitted_at, messages.c.deliver_at)).all()
        if engine.dialect.name == "sqlite":
            stored = conn.exec_driver_sql(
                "SELECT DISTINCT typeof(submitted_at), typeof(deliver_at) FROM messages"
            ).all()
            assert stored == [("real", "real")]
    assert sorted(rows) == [(float(pk), 7.5) for pk in range(1, 21)]
    assert all(type(a) is float and type(b) is float for a, b in rows)


def test_rows_counter_counts_rows_not_operations(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> int:
        await writer.write([(INSERT_MESSAGE, [message_row(pk) for pk in range(1, 11)])])
        await writer.write([(INSERT_MESSAGE, message_row(11)), (INSERT_EVENT, event_row(1))])
        return writer.rows

    assert run(engine, body) == 12


def test_commit_times_count_every_commit_under_the_path_that_made_it(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> tuple[int, dict[str, int], dict[str, float]]:
        await writer.write([(INSERT_MESSAGE, message_row(1))])  # alone: on the loop if it may
        await asyncio.gather(
            *(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(2, 60))
        )
        times = writer.commit_times
        return (
            writer.commits,
            {path: h.count for path, h in times.items()},
            {path: h.total for path, h in times.items()},
        )

    commits, counts, totals = run(engine, body)
    assert commits >= 1 and sum(counts.values()) == commits
    assert all(totals[path] > 0 for path, n in counts.items() if n)
    if engine.dialect.name != "sqlite" or not MODE:
        assert counts["thread"] == commits
    elif MODE.get("on_loop"):
        assert counts["loop"] >= 1
    else:
        assert counts["process"] >= 1


# -- storage trouble -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_writer_reconnects_after_its_postgres_connection_is_killed(pg_url: str) -> None:
    from storage.db import make_engine, upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    name = engine.url.database

    def kill_other_backends() -> int:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            return len(
                c.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
            )

    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])
        assert kill_other_backends() >= 1
        results = await asyncio.gather(
            *(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(2, 12)),
            return_exceptions=True,
        )
        # the batch lost its connection; the one-by-one retry reconnects, so at most the
        # first retried job may see the dead connection
        assert sum(r is not None for r in results) <= 1
        await writer.write([(INSERT_MESSAGE, message_row(99))])

    try:
        run(engine, body)
        assert {1, 99} <= message_ids(engine)
    finally:
        engine.dispose()


def test_unreachable_database_fails_writes_instead_of_hanging(tmp_path: Any) -> None:
    from storage.db import make_engine

    # a directory that does not exist: every connect fails
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'smsc.db'}")

    async def body(writer: GroupCommitWriter) -> None:
        for _ in range(2):
            with pytest.raises(Exception, match="unable to open database file"):
                await asyncio.wait_for(writer.write([(INSERT_MESSAGE, message_row(1))]), 10)
        assert not writer.healthy
        assert writer.last_error and "unable to open" in writer.last_error

    try:
        run(engine, body)
    finally:
        engine.dispose()


def test_count_helper_sees_committed_rows_only(engine: Engine) -> None:
    """Sanity for the helpers above: an uncommitted row on another connection is invisible."""
    with engine.connect() as conn:
        conn.execute(INSERT_MESSAGE, message_row(1))
        assert message_ids(engine) == set()
        conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar() == 0


# -- batching knobs and the insert fast path -----------------------------------------------------


def test_a_full_batch_does_not_wait_out_max_wait(engine: Engine) -> None:
    """``max_wait_ms`` waits for company; once ``max_batch`` jobs are there, commit at once."""

    async def body(writer: GroupCommitWriter) -> tuple[float, list[int]]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(
            *(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 11))
        )
        return loop.time() - started, []

    batches: list[int] = []
    elapsed, _ = run(
        engine, body, max_wait_ms=5000, max_batch=10, on_commit=lambda n, _s: batches.append(n)
    )
    assert batches == [10]
    assert elapsed < 2.5  # not the 5 s max_wait
    assert message_ids(engine) == set(range(1, 11))


def test_a_lone_write_still_commits_with_max_wait(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])

    run(engine, body, max_wait_ms=50)
    assert message_ids(engine) == {1}


def test_plain_inserts_take_the_compiled_fast_path(engine: Engine) -> None:
    """The submit hot path must not silently fall back to per-row SQLAlchemy processing."""
    from storage.writer import _InsertPlan

    dialect = engine.dialect
    keys = tuple(message_row(1))
    assert _InsertPlan.build(INSERT_MESSAGE, keys, dialect) is not None
    assert _InsertPlan.build(INSERT_EVENT, tuple(event_row(1)), dialect) is not None
    # an UPDATE whose values are all bindparams (receipt/outbox bookkeeping) is fast too
    assert _InsertPlan.build(SET_STATE, ("pk", "st"), dialect) is not None
    # anything that needs SQLAlchemy's help keeps the ordinary path
    assert _InsertPlan.build(messages.update().values(state="X"), ("id",), dialect) is None
    assert _InsertPlan.build(messages.insert().values(state="X"), keys, dialect) is None
    assert _InsertPlan.build(INSERT_MESSAGE, ("id", "message_id"), dialect) is None  # defaults
    assert _InsertPlan.build(INSERT_MESSAGE.returning(messages.c.id), keys, dialect) is None
