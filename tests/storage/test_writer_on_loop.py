"""``GroupCommitWriter(on_loop=True)``: SQLite batches committed on the event loop when they can.

The properties every writer keeps are checked in both modes by ``test_writer.py``; these are
the ones only the loop path has: it commits on the loop thread, never waits for a lock (a
locked database sends the batch to the thread while the loop goes on), and a failing batch is
retried by the thread caller by caller. SQLite only: on PostgreSQL the option does nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine, upgrade
from storage.writer import GroupCommitWriter
from tests.storage.test_writer import INSERT_MESSAGE, message_ids, message_row, run, write_lock


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'smsc.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


def test_on_loop_commits_on_the_loop_thread_when_the_database_is_free(engine: Engine) -> None:
    committed_on: list[int] = []

    async def body(writer: GroupCommitWriter) -> None:
        loop_thread = threading.get_ident()
        futs = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in (1, 2, 3)]
        await asyncio.gather(*futs)
        assert message_ids(engine) == {1, 2, 3}
        assert writer.loop_commits == 1  # one loop turn queued all three: one transaction
        assert committed_on == [loop_thread]

    run(
        engine,
        body,
        on_loop=True,
        on_commit=lambda _n, _s: committed_on.append(threading.get_ident()),
    )


def test_on_loop_hands_a_locked_batch_to_the_thread_and_the_loop_keeps_running(
    engine: Engine,
) -> None:
    committed_on: list[int] = []

    async def body(writer: GroupCommitWriter) -> None:
        loop_thread = threading.get_ident()
        with write_lock(engine):
            fut = writer.write([(INSERT_MESSAGE, message_row(1))])
            ticks = 0
            for _ in range(10):  # the loop is not stuck waiting for the lock
                await asyncio.sleep(0.02)
                ticks += 1
            assert ticks == 10
            assert not fut.done()
        await asyncio.wait_for(fut, 30)
        assert message_ids(engine) == {1}
        assert writer.loop_commits == 0
        assert committed_on and loop_thread not in committed_on
        # the lock is gone: the next batch is the loop's again
        await writer.write([(INSERT_MESSAGE, message_row(2))])
        assert writer.loop_commits == 1

    run(
        engine,
        body,
        on_loop=True,
        on_commit=lambda _n, _s: committed_on.append(threading.get_ident()),
    )


def test_on_loop_failure_is_retried_by_the_thread_caller_by_caller(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])
        futs = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in (2, 1, 3)]
        results = await asyncio.gather(*futs, return_exceptions=True)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], IntegrityError)
        await writer.write([(INSERT_MESSAGE, message_row(4))])
        assert writer.healthy

    run(engine, body, on_loop=True)
    assert message_ids(engine) == {1, 2, 3, 4}
