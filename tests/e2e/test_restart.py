"""Restart safety: receipts owed when the server stops are delivered after it starts again,
each exactly once — after SIGTERM (graceful) and after SIGKILL (crash)."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from tests.e2e.smpp_client import Collector, _s, submit_batched

CONFIG = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 300 }
"""
N = 1000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_receipts_survive_restart(make_server, sig: int) -> None:
    server = make_server(CONFIG)
    tx = Collector(server.ports["smpp"]).connect("transmitter")
    ids = submit_batched(tx, N)
    assert len(set(ids)) == N
    if sig == signal.SIGTERM:
        tx.close()
    rc = server.stop(sig)
    assert rc == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    server.start()
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        rx.read_until(lambda: len(rx.receipts()) >= N, timeout=60)
        deadline = time.monotonic() + 1.5  # anything sent twice would arrive now
        rx.client.timeout = 0.2
        while time.monotonic() < deadline:
            try:
                rx.client.read_once()
            except OSError:
                pass
        got = Counter(_s(r.receipted_message_id) for r in rx.receipts())
        assert set(got) == set(ids)
        assert max(got.values()) == 1, "a receipt was delivered twice"
    finally:
        rx.close()
