"""Restart safety: receipts owed when the server stops are delivered after it starts again,
each exactly once — after SIGTERM (graceful) and after SIGKILL (crash); receipts in flight at a
crash come again, acknowledged ones never."""

from __future__ import annotations

import signal
import socket
import sqlite3
import time
from collections import Counter

import pytest

from protocols.smpp.codec import decode, encode
from protocols.smpp.pdu import CommandId as C
from protocols.smpp.pdu import Pdu, Tag
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
    got = receipts_after_restart(server, N, timeout=60)
    assert set(got) == set(ids)
    assert max(got.values()) == 1, "a receipt was delivered twice"


def receipts_after_restart(server, n: int, timeout: float) -> Counter[str]:
    """Bind a receiver, read ``n`` receipts, then 1.5 s more: anything sent twice arrives then."""
    rx = Collector(server.ports["smpp"]).connect("receiver")
    try:
        rx.read_until(lambda: len(rx.receipts()) >= n, timeout=timeout)
        deadline = time.monotonic() + 1.5
        rx.client.timeout = 0.2
        while time.monotonic() < deadline:
            try:
                rx.client.read_once()
            except OSError:
                pass
        return Counter(_s(r.receipted_message_id) for r in rx.receipts())
    finally:
        rx.close()


class RawEsme:
    """A transceiver on a plain socket, with the project's codec: it can leave deliver_sm
    unanswered, which smpplib cannot."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.seq = 0
        self.send(Pdu.make(C.bind_transceiver, system_id="acme", password="secret"))
        assert self.read().command_status == 0

    def send(self, pdu: Pdu) -> None:
        if not pdu.sequence:
            self.seq += 1
            pdu.sequence = self.seq
        self.sock.sendall(encode(pdu))

    def submit(self, destination: str, text: bytes) -> None:
        self.send(
            Pdu.make(
                C.submit_sm,
                source_addr="106900001",
                destination_addr=destination,
                short_message=text,
                registered_delivery=1,
            )
        )

    def read(self) -> Pdu:
        while len(self.buf) < 4 or len(self.buf) < int.from_bytes(self.buf[:4], "big"):
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            self.buf += data
        n = int.from_bytes(self.buf[:4], "big")
        frame, self.buf = self.buf[:n], self.buf[n:]
        return decode(frame)


def test_a_receipt_sent_but_not_acknowledged_at_a_crash_comes_again_and_an_acknowledged_one_never(
    make_server,
) -> None:
    """Receipts go to a bind before they are written and are written when acknowledged: a
    crash in between must not lose them (sent again after the restart), and one whose
    acknowledgement was stored must never come again."""
    server = make_server(CONFIG)
    esme = RawEsme(server.ports["smpp"])
    for _ in range(6):
        esme.submit("13800138000", b"hello")
    ids: list[str] = []
    receipts: dict[str, Pdu] = {}
    while len(ids) < 6 or len(receipts) < 6:
        pdu = esme.read()
        if pdu.command_id == C.submit_sm_resp:
            assert pdu.command_status == 0
            ids.append(pdu.message_id)
        elif pdu.command_id == C.deliver_sm:
            receipts[pdu.tlv(Tag.receipted_message_id)] = pdu
    assert set(receipts) == set(ids)
    acked = ids[:2]
    for mid in acked:
        esme.send(Pdu.make(C.deliver_sm_resp, sequence=receipts[mid].sequence, message_id=""))
    with sqlite3.connect(server.workdir / "smsc.db") as db:  # the acknowledgements are stored
        deadline = time.monotonic() + 10
        while db.execute("SELECT count(*) FROM outbox WHERE done_at IS NOT NULL").fetchone()[
            0
        ] < len(acked):
            assert time.monotonic() < deadline, "acknowledgements not stored"
            time.sleep(0.05)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    esme.sock.close()
    server.start()
    got = receipts_after_restart(server, 4, timeout=30)
    assert set(got) == set(ids[2:])
    assert max(got.values()) == 1


def _receipt(esme: RawEsme) -> Pdu:
    while True:
        pdu = esme.read()
        if pdu.command_id == C.deliver_sm:
            return pdu


def test_a_refused_receipt_and_one_lost_with_its_bind_are_stored_and_come_again(
    make_server,
) -> None:
    """A receipt offered before it was written: refused (deliver_sm_resp with an error), it is
    written, retried and acknowledged; in flight on a connection that drops, it is written
    and goes out on the next bind. Each ends as one outbox row, done."""
    server = make_server(CONFIG)
    esme = RawEsme(server.ports["smpp"])
    esme.submit("13800138000", b"refused once")
    first = _receipt(esme)
    esme.send(Pdu.make(C.deliver_sm_resp, sequence=first.sequence, command_status=0x08))
    again = _receipt(esme)  # after the retry backoff
    assert again.tlv(Tag.receipted_message_id) == first.tlv(Tag.receipted_message_id)
    esme.send(Pdu.make(C.deliver_sm_resp, sequence=again.sequence, message_id=""))
    esme.submit("13800138001", b"bind lost")
    lost = _receipt(esme)
    esme.sock.close()  # unanswered
    esme = RawEsme(server.ports["smpp"])
    resent = _receipt(esme)
    assert resent.tlv(Tag.receipted_message_id) == lost.tlv(Tag.receipted_message_id)
    esme.send(Pdu.make(C.deliver_sm_resp, sequence=resent.sequence, message_id=""))
    with sqlite3.connect(server.workdir / "smsc.db") as db:
        deadline = time.monotonic() + 10
        while True:
            rows = db.execute(
                "SELECT m.message_id, o.attempts, o.done_at IS NOT NULL, m.done_at IS NOT NULL"
                " FROM outbox o JOIN messages m ON m.id = o.message_pk ORDER BY o.id"
            ).fetchall()
            if len(rows) == 2 and all(r[2] for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert rows == [
        (first.tlv(Tag.receipted_message_id), 2, 1, 1),  # refused once: two attempts
        (lost.tlv(Tag.receipted_message_id), 1, 1, 1),  # a lost bind is not a failed attempt
    ]
    esme.sock.close()
