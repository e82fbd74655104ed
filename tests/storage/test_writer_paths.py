"""The SQLite-only commit paths of ``GroupCommitWriter``: on the loop, and in the commit process.

The properties every writer keeps are checked in every mode by ``test_writer.py``; these are
the ones only these paths have. On the loop (``on_loop``): it commits on the loop thread, never
waits for a lock (a locked database sends the batch to the thread while the loop goes on), and
a failing batch is retried by the thread caller by caller. In the commit process (``process``):
it commits in another process, a child that dies is replaced, the callers whose jobs it had are
told so (never answered as stored), and a child whose parent is gone exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from storage.commit_link import CommitProcessLost
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


def test_process_commits_in_another_process(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        await asyncio.gather(
            *(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 51))
        )
        assert message_ids(engine) == set(range(1, 51))
        assert writer.process_commits >= 1 and writer.loop_commits == 0
        link = writer._link
        assert link is not None and link._proc is not None
        assert link._proc.pid != os.getpid() and link._proc.poll() is None

    run(engine, body, process=True)


def test_process_small_turns_commit_on_the_loop_when_both_are_on(engine: Engine) -> None:
    """Window-1 latency: a lone write does not pay for two process hops."""

    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])
        assert writer.loop_commits == 1
        await asyncio.gather(
            *(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(2, 40))
        )
        assert writer.process_commits >= 1
        assert message_ids(engine) == set(range(1, 40))

    run(engine, body, process=True, on_loop=True)


def test_a_long_turn_hands_its_first_jobs_to_the_process_before_it_ends(engine: Engine) -> None:
    """W=100: one read of many submits is decoded in one loop turn; the commit process starts
    on the first ``_EARLY_JOBS`` while the loop is still at the rest."""

    async def body(writer: GroupCommitWriter) -> None:
        link = writer._link
        assert link is not None
        futs = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 61)]
        assert link.pending == 60 and not writer._turn  # same turn: already handed over
        futs += [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(61, 71)]
        assert link.pending == 60 and len(writer._turn) == 10
        await asyncio.gather(*futs)
        assert message_ids(engine) == set(range(1, 71))

    run(engine, body, process=True, on_loop=True)


def test_write_later_is_not_held_back_while_the_process_commits(engine: Engine) -> None:
    """Under load the rows join the next batch at once: holding them for a waited-on commit
    would only make the batches, and the submits in them, wait longer."""

    async def body(writer: GroupCommitWriter) -> None:
        busy = [writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in range(1, 40)]
        await asyncio.sleep(0)  # that turn went to the commit process
        done: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        writer.write_later([(INSERT_MESSAGE, message_row(40))], done.set_result)
        assert await asyncio.wait_for(done, 10) is None  # not the 60 s wait
        await asyncio.gather(*busy)
        assert message_ids(engine) == set(range(1, 41))

    run(engine, body, process=True, on_loop=True, later_ms=60_000)


def test_a_killed_process_fails_its_jobs_and_the_next_child_commits(engine: Engine) -> None:
    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, message_row(1))])
        link = writer._link
        assert link is not None and link._proc is not None
        first = link._proc.pid
        with write_lock(engine):  # the child takes the job, then waits for the lock
            fut = writer.write([(INSERT_MESSAGE, message_row(2))])
            await asyncio.sleep(0.3)
            assert not fut.done()
            os.kill(first, signal.SIGKILL)
            with pytest.raises(CommitProcessLost):
                await asyncio.wait_for(fut, 30)
        assert not writer.healthy
        await writer.write([(INSERT_MESSAGE, message_row(3))])
        assert link._proc is not None and link._proc.pid != first
        assert link.restarts == 1
        assert writer.healthy

    run(engine, body, process=True)
    # the lost job never committed (the child died waiting for the lock)
    assert message_ids(engine) == {1, 3}


def test_rows_of_one_statement_with_as_many_but_other_keys_each_get_their_own_plan(
    engine: Engine,
) -> None:
    """The commit link finds plans by statement and number of keys first: a row with the same
    number of different keys must not be written with another row's plan."""
    from sqlalchemy import select

    from storage.schema import messages

    def without(pk: int, *names: str, **changes: Any) -> dict[str, Any]:
        row = message_row(pk, **changes)
        for name in names:
            del row[name]
        return row

    rows = [
        without(1, "text", "extra"),  # rule kept, text NULL
        without(2, "rule", "extra", text="two"),  # as many keys; text kept, rule its default
        without(3, "text", "extra", rule="three"),
        without(4, "rule", "extra", text="four"),
    ]

    async def body(writer: GroupCommitWriter) -> None:
        await asyncio.gather(*(writer.write([(INSERT_MESSAGE, row)]) for row in rows))
        await writer.write([(INSERT_MESSAGE, [without(5, "rule", "text")])])
        assert writer.process_commits >= 1

    run(engine, body, process=True)
    with engine.connect() as conn:
        got = conn.execute(
            select(messages.c.id, messages.c.text, messages.c.rule).order_by(messages.c.id)
        ).all()
    assert [tuple(r) for r in got] == [
        (1, None, "default"),
        (2, "two", ""),
        (3, None, "three"),
        (4, "four", ""),
        (5, None, ""),
    ]


def test_process_plans_are_forgotten_and_rebuilt_past_the_cache_limit(engine: Engine) -> None:
    """Statements built per call (admin actions) must not grow the caches for ever, and the
    jobs that use old plans while the cache turns over must still commit."""
    from sqlalchemy import bindparam, update

    from storage.schema import messages

    async def body(writer: GroupCommitWriter) -> None:
        await writer.write([(INSERT_MESSAGE, [message_row(pk) for pk in range(1, 11)])])
        for round_ in range(700):  # a new statement object every time, as admin actions do
            stmt = (
                update(messages)
                .where(messages.c.id == bindparam("pk"))
                .values(state=bindparam("st"))
            )
            futs = [writer.write([(stmt, {"pk": 1 + round_ % 10, "st": f"S{round_}"})])]
            futs += [writer.write([(INSERT_MESSAGE, message_row(1000 + round_))])]
            await asyncio.gather(*futs)
        link = writer._link
        assert link is not None
        assert len(link._plan_frames) <= 512

    run(engine, body, process=True)
    assert len(message_ids(engine)) == 710


def test_the_commit_process_exits_when_its_parent_goes_away(tmp_path: Path) -> None:
    from storage import commit_process

    db = tmp_path / "x.db"
    parent, child = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-I", commit_process.__file__, str(child.fileno()), str(db), "2", "0"],
        pass_fds=(child.fileno(),),
    )
    child.close()
    parent.close()  # what a SIGKILL of the server does to the child's socket
    assert proc.wait(timeout=30) == 0


def test_a_child_that_keeps_dying_hands_the_work_to_the_thread(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken commit process (here: one that exits at once) must not stop the server from
    storing: its jobs fail while it is tried, then the writer thread takes over."""
    from storage import commit_link

    broken = tmp_path / "broken_child.py"
    broken.write_text("import sys\nsys.exit(3)\n")
    monkeypatch.setattr(commit_link, "_CHILD", broken)

    async def body(writer: GroupCommitWriter) -> None:
        outcomes = []
        for pk in range(1, 11):
            try:
                await asyncio.wait_for(writer.write([(INSERT_MESSAGE, message_row(pk))]), 30)
                outcomes.append(None)
            except CommitProcessLost:
                outcomes.append("lost")
        assert outcomes[:3] == ["lost"] * 3  # tried three times, each caller told
        assert outcomes[3:] == [None] * 7
        assert not writer.process_available

    run(engine, body, process=True)
    assert message_ids(engine) == set(range(4, 11))


def test_a_child_that_cannot_start_hands_the_work_to_the_thread(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import commit_link

    monkeypatch.setattr(commit_link.sys, "executable", "/nonexistent/python")

    async def body(writer: GroupCommitWriter) -> None:
        await asyncio.wait_for(
            asyncio.gather(*(writer.write([(INSERT_MESSAGE, message_row(pk))]) for pk in (1, 2))),
            30,
        )
        assert not writer.process_available

    run(engine, body, process=True)
    assert message_ids(engine) == {1, 2}
