"""The server under hostile or silent peers: garbage on the wire, peers that never answer."""

from __future__ import annotations

import random
import signal
import socket
import struct
import time

from tests.e2e.smpp_client import Collector


def _blast(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(payload)
            s.settimeout(0.3)
            while s.recv(4096):
                pass
        except OSError:
            pass  # the server may close on us: that is an allowed answer to garbage


def test_garbage_on_every_port_never_stops_the_server(server) -> None:
    rng = random.Random(1234)
    for _ in range(20):
        for name in ("smpp", "cmpp"):
            size = rng.randint(1, 600)
            junk = bytes(rng.getrandbits(8) for _ in range(size))
            if rng.random() < 0.5:  # a plausible header with a random body
                junk = (
                    struct.pack(">IIII", 16 + size, rng.choice([4, 1, 9, 0x80000000]), 0, 1) + junk
                )
            _blast(server.ports[name], junk)
    assert server.proc.poll() is None
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        c.submit("still serving")
        c.read_until(lambda: len(c.message_ids()) == 1)
    finally:
        c.close()
    assert "Traceback" not in server.log()


def test_sigterm_with_a_silent_peer_exits_within_10_seconds(server) -> None:
    # bind, then never read again: the unbind at shutdown gets no answer
    s = socket.create_connection(("127.0.0.1", server.ports["smpp"]), timeout=5)
    body = b"acme\0secret\0\0" + bytes([0x34, 0, 0]) + b"\0"
    s.sendall(struct.pack(">IIII", 16 + len(body), 0x00000009, 0, 1) + body)
    resp = s.recv(64)
    assert struct.unpack(">IIII", resp[:16])[1:3] == (0x80000009, 0)
    started = time.monotonic()
    rc = server.stop(signal.SIGTERM)
    assert rc == 0
    assert time.monotonic() - started < 10
    s.close()
