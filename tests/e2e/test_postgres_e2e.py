"""The same server on PostgreSQL: database created on first start, submits and receipts work,
and receipts owed at a crash are delivered after the restart."""

from __future__ import annotations

import signal
from collections import Counter

from tests.e2e.smpp_client import Collector, _s, submit_batched

FAST = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 200 }
"""


def test_postgres_submit_receipts_and_crash_restart(make_server, pg_url: str) -> None:
    server = make_server(FAST, url=pg_url)
    status, health = server.admin("/health")
    assert status == 200 and health["storage"] == "ok"
    tx = Collector(server.ports["smpp"]).connect("transmitter")
    ids = submit_batched(tx, 200)
    server.stop(signal.SIGKILL)
    server.start()
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        rx.read_until(lambda: len(rx.receipts()) >= 200, timeout=60)
        got = Counter(_s(r.receipted_message_id) for r in rx.receipts())
        assert set(got) == set(ids) and max(got.values()) == 1
    finally:
        rx.close()


def test_health_is_503_when_storage_is_down(make_server, pg_url: str) -> None:
    import psycopg

    server = make_server(url=pg_url)
    assert server.admin("/health")[0] == 200
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    status, body = server.admin("/health")
    assert status == 503 and body["status"] == "unhealthy"
