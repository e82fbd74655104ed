"""SMPP submit throughput and latency: an ESME load generator against a real ``smsc serve``.

Each run opens a fresh connection, binds as transceiver (acme/secret), keeps exactly
``--window`` submit_sm outstanding until ``--count`` have been answered, times every submit
from the write that carried it to the read that carried its submit_sm_resp
(``time.perf_counter_ns``), answers every deliver_sm with deliver_sm_resp at once, optionally
waits for every receipt (matched by receipted_message_id to the message ids the run got), and
unbinds. Prints ONE JSON line: per window the runs and their medians.

Why it is built this way: the generator shares the 2 cores of the benchmark machine with the
server, so every µs it spends is a µs the server does not get. The default ``fast`` client
hand-packs submit_sm (a body built once by the project's encoder; only the header's
sequence_number changes) and batches all PDUs of one read into one write; every inbound PDU
is still decoded by the project's codec, so a malformed response is noticed. ``--client
session`` drives the sans-IO ``SmppSession`` in the ESME role instead (a cross-check of the
fast client, and a measure of the session's own cost). The generator's own CPU (os.times) and,
when the server pid is known, the server's CPU per thread (/proc) are reported per run, so the
report says how much of the machine each side took.

Windows: ``--window 1,10,100`` or repeated. ``--spawn`` starts a server (temp SQLite DB,
synchronous FULL, carrier DELIVRD after ``--carrier-delay-ms``) via ``run_server.py``;
otherwise ``--host``/``--port`` name a running one; ``--stub`` runs against a storage-free
stub SMSC to show the generator's own ceiling. ``--duration-limit`` is a hard stop for the
whole benchmark; every wait is bounded by it. On a shared box ``--max-other-cores`` redoes a
run during which other processes took the CPU (measured from /proc/stat). ``--profile FILE``
samples the server with py-spy during the first run at ``--profile-window`` and adds a
per-message summary of the hottest frames to the JSON (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchcommon import (  # noqa: E402
    BenchError,
    Load,
    Target,
    _bounded,
    add_profile_arguments,
    add_run_arguments,
    add_server_arguments,
    add_window_arguments,
    bench,
    check_arguments,
    connect,
    measure,
    serve_stub,
    spawned_server_config,
    start_stub,
    wait_receipts,
)
from run_server import server_from_args  # noqa: E402

from protocols.smpp import session as ss  # noqa: E402
from protocols.smpp.codec import decode, encode  # noqa: E402
from protocols.smpp.pdu import CommandId, Pdu, PduError, Tag  # noqa: E402

C = CommandId
_HEADER = struct.Struct(">IIII")
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from

SOURCE = "106900001"
DESTINATION = "13800138000"
TEXT = b"Hello from bench_smpp"  # GSM 7-bit default alphabet, data_coding 0
WINDOWS = "1,10,100"  # --window default


def submit_params(receipts: bool) -> dict[str, Any]:
    """The one submit_sm every run sends: short GSM text, receipt requested or not."""
    return {
        "source_addr_ton": 1,
        "source_addr_npi": 1,
        "source_addr": SOURCE,
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": DESTINATION,
        "registered_delivery": 1 if receipts else 0,
        "data_coding": 0,
        "short_message": TEXT,
    }


def bind_pdu(system_id: str, password: str) -> Pdu:
    return Pdu.make(
        C.bind_transceiver, system_id=system_id, password=password, interface_version=0x34
    )


# --------------------------------------------------------------------------- fast client


class FastEsme(Load):
    """Hand-packed submit_sm, codec-decoded input, one write per read."""

    def __init__(self, window: int, count: int, receipts: bool) -> None:
        super().__init__(window, count, receipts)
        body = encode(Pdu.make(C.submit_sm, **submit_params(receipts)))[16:]
        self._submit_len = 16 + len(body)
        self._submit_body = body
        self._seq = 0
        self._buf = b""
        self._bind_seq = -1
        self._unbind_seq = -1

    def _next_seq(self) -> int:
        self._seq = seq = self._seq + 1 if self._seq < 0x7FFFFFFF else 1
        return seq

    def send_bind(self, system_id: str, password: str) -> None:
        pdu = bind_pdu(system_id, password)
        pdu.sequence = self._bind_seq = self._next_seq()
        assert self.transport is not None
        self.transport.write(encode(pdu))

    def send_unbind(self) -> None:
        self._unbind_seq = self._next_seq()
        assert self.transport is not None
        self.transport.write(_pack_header(16, C.unbind, 0, self._unbind_seq))

    def _submits(self, n: int, out: list[bytes]) -> None:
        length, body, sent_at = self._submit_len, self._submit_body, self.sent_at
        seqs = []
        for _ in range(n):
            seq = self._next_seq()
            out.append(_pack_header(length, C.submit_sm, 0, seq))
            out.append(body)
            seqs.append(seq)
        now = time.perf_counter_ns()  # just before the write that carries them
        for seq in seqs:
            sent_at[seq] = now
        self.sent += n
        self.outstanding += n

    def _send_submits(self, n: int) -> None:
        out: list[bytes] = []
        self._submits(n, out)
        assert self.transport is not None
        self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        if self._buf:
            data = self._buf + data
        n = len(data)
        off = 0
        out: list[bytes] = []
        while n - off >= 16:
            length, cid, status, seq = _unpack_header(data, off)
            if length < 16 or length > 65536:
                self.protocol_errors += 1
                assert self.transport is not None
                self.transport.abort()  # framing lost: nothing after this can be trusted
                return
            if n - off < length:
                break
            frame = data[off : off + length] if off or length != n else data
            off += length
            try:
                pdu = decode(frame)
            except PduError:
                self.protocol_errors += 1
                if cid == C.submit_sm_resp:  # still answers the submit, with an error
                    self._acked(seq, status or 0xFF, None, now)
                elif cid == C.deliver_sm:
                    out.append(_pack_header(17, C.deliver_sm_resp, 0, seq) + b"\0")
                continue
            if cid == C.submit_sm_resp:
                self._acked(seq, status, pdu.params.get("message_id"), now)
            elif cid == C.deliver_sm:
                out.append(_pack_header(17, C.deliver_sm_resp, 0, seq) + b"\0")
                self._receipt(pdu.tlv(Tag.receipted_message_id), now)
            elif cid == C.enquire_link:
                out.append(_pack_header(16, C.enquire_link_resp, 0, seq))
            elif cid == C.generic_nack:
                self.protocol_errors += 1
                if seq in self.sent_at:
                    self._acked(seq, status or 0xFF, None, now)
            elif cid == C.bind_transceiver_resp and seq == self._bind_seq:
                if not self.bound.done():
                    self.bound.set_result(status)
            elif cid == C.unbind_resp and seq == self._unbind_seq:
                if not self.unbound.done():
                    self.unbound.set_result(None)
            elif cid == C.unbind:
                out.append(_pack_header(16, C.unbind_resp, 0, seq))
            else:
                self.protocol_errors += 1
        self._buf = data[off:] if off < n else b""
        want = self._want()
        if want > 0:
            self._submits(want, out)
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out))


# --------------------------------------------------------------------------- session client


class SessionEsme(Load):
    """The sans-IO ``SmppSession`` in the ESME role: the project's own client-side logic.

    No ``tick``: a run is bounded by ``--duration-limit``, and the server's enquire_link is
    answered by the session itself. The session's one ``window`` bounds both directions, so
    it is set far above W (``Load`` keeps exactly W submits outstanding): with window=W a
    read carrying more than W deliver_sm would get ESME_RTHROTTLED for the excess.
    """

    def __init__(self, window: int, count: int, receipts: bool) -> None:
        super().__init__(window, count, receipts)
        self.session = ss.SmppSession(
            ss.Role.ESME,
            window=max(window, 10_000),
            response_timeout=3600.0,
            enquire_link_interval=3600.0,
            idle_timeout=3600.0,
            session_init_timeout=3600.0,
            now=time.monotonic(),
        )
        self._params = submit_params(receipts)

    def _flush(self) -> None:
        data = self.session.data_to_send()
        if data:
            assert self.transport is not None
            self.transport.write(data)

    def send_bind(self, system_id: str, password: str) -> None:
        self.session.send_request(bind_pdu(system_id, password), time.monotonic())
        self._flush()

    def send_unbind(self) -> None:
        self.session.unbind(time.monotonic())
        self._flush()

    def _submits(self, n: int) -> None:
        s, params, make = self.session, self._params, Pdu.make
        mono = time.monotonic()
        seqs = [s.send_request(make(C.submit_sm, **params), mono) for _ in range(n)]
        now = time.perf_counter_ns()
        for seq in seqs:
            self.sent_at[seq] = now
        self.sent += n
        self.outstanding += n

    def _send_submits(self, n: int) -> None:
        self._submits(n)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        s = self.session
        for ev in s.receive_data(data, time.monotonic()):
            if isinstance(ev, ss.ResponseReceived):
                req = ev.request
                if req is None:
                    self.unexpected += 1
                elif req.command_id == C.submit_sm:
                    pdu = ev.pdu
                    status = pdu.command_status
                    if pdu.command_id == C.generic_nack:
                        status = status or 0xFF
                    self._acked(pdu.sequence, status, pdu.params.get("message_id"), now)
                elif req.command_id == C.bind_transceiver and not self.bound.done():
                    self.bound.set_result(ev.pdu.command_status)
            elif isinstance(ev, ss.RequestReceived):
                if ev.pdu.command_id == C.deliver_sm:
                    s.send_response(ev.pdu)
                    self._receipt(ev.pdu.tlv(Tag.receipted_message_id), now)
            elif isinstance(ev, ss.Unbound):
                if not self.unbound.done():
                    self.unbound.set_result(None)
            elif isinstance(ev, ss.ConnectionShouldClose):
                self._flush()
                assert self.transport is not None
                self.transport.close()
                return
            elif isinstance(ev, ss.ProtocolError):
                self.protocol_errors += 1
        want = self._want() if s.bound else 0
        if want > 0:
            self._submits(want)
        self._flush()


CLIENTS: dict[str, Callable[[int, int, bool], Load]] = {"fast": FastEsme, "session": SessionEsme}


# --------------------------------------------------------------------------- measurement


async def run_once(
    args: argparse.Namespace,
    host: str,
    port: int,
    window: int,
    count: int,
    deadline: float,
    server_pid: int | None,
    admin_port: int | None = None,
) -> dict[str, Any]:
    """One run: connect, bind, W outstanding until ``count`` resps, receipts, unbind."""
    receipts = args.receipts == "on"
    proto = CLIENTS[args.client](window, count, receipts)
    transport, result = await connect(proto, host, port, deadline)
    try:
        proto.send_bind(args.system_id, args.password)
        status = await _bounded(proto.bound, deadline, "bind_transceiver_resp")
        if status != 0:
            raise BenchError(f"bind refused with command_status 0x{status:08x}")
        await measure(
            args,
            proto,
            result,
            deadline,
            server_pid,
            admin_port,
            resp_name="submit_sm_resp",
            status_key="errors",
            status_text=lambda statuses: {f"0x{k:08x}": v for k, v in statuses.items()},
        )
        if receipts:
            result.update(await wait_receipts(args, proto, deadline, "receipts"))
        else:
            result["receipts_ok"] = None
        result.update(
            delivers=proto.delivers,
            unexpected=proto.unexpected,
            protocol_errors=proto.protocol_errors,
        )
        proto.send_unbind()
        try:
            await _bounded(proto.unbound, min(deadline, time.monotonic() + 5.0), "unbind_resp")
        except BenchError as exc:
            result["unbind"] = str(exc)
    finally:
        transport.close()
    return result


# --------------------------------------------------------------------------- stub SMSC


class StubSmsc(asyncio.Protocol):
    """A storage-free SMSC that answers at once: measures the generator's own ceiling.

    Answers bind_transceiver, submit_sm (message_id = a counter; a DELIVRD receipt follows
    at once when registered_delivery asks for one), enquire_link and unbind. Not the project's
    server and never a figure for it: ``--stub`` runs exist to show that the generator can
    drive more than the server under test takes.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.next_id = 0
        self.seq = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        data = self.buf + data if self.buf else data
        n, off, out = len(data), 0, []
        while n - off >= 16:
            length, cid, _status, seq = _unpack_header(data, off)
            if length < 16 or n - off < length:
                break
            frame = data[off : off + length]
            off += length
            if cid == C.submit_sm:
                self.next_id += 1
                mid = str(self.next_id)
                out.append(encode(Pdu.make(C.submit_sm_resp, sequence=seq, message_id=mid)))
                if decode(frame).params.get("registered_delivery", 0) & 3:
                    self.seq += 1
                    pdu = Pdu.make(
                        C.deliver_sm,
                        sequence=self.seq,
                        source_addr=DESTINATION,
                        destination_addr=SOURCE,
                        esm_class=0x04,
                        short_message=f"id:{mid} sub:001 dlvrd:001 stat:DELIVRD err:000".encode(),
                    )
                    pdu.set_tlv(Tag.receipted_message_id, mid)
                    out.append(encode(pdu))
            elif cid == C.bind_transceiver:
                out.append(
                    encode(Pdu.make(C.bind_transceiver_resp, sequence=seq, system_id="stub"))
                )
            elif cid in (C.enquire_link, C.unbind):
                out.append(_pack_header(16, cid | 0x80000000, 0, seq))
        self.buf = data[off:]
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Prints one JSON line. Example: bench/bench_smpp.py --spawn --window 1,10,100",
    )
    add_server_arguments(parser, "SMPP", "stub SMSC")
    load = parser.add_argument_group("load")
    add_window_arguments(
        load,
        "submits",
        WINDOWS,
        "messages per run (default 5000 for W=1, 60000 otherwise: several times the 1 s "
        "receipt delay, so receipts flow during most of the run)",
    )
    add_run_arguments(
        load, "registered_delivery 1 and wait for every receipt (default on)", "receipts"
    )
    load.add_argument("--client", choices=sorted(CLIENTS), default="fast", help="ESME flavour")
    add_profile_arguments(parser)
    load.add_argument("--system-id", default="acme")
    load.add_argument("--password", default="secret")
    args = parser.parse_args(argv)
    if args.serve_stub:
        asyncio.run(serve_stub(Path(args.serve_stub), args.duration_limit, StubSmsc, "smpp"))
        return 0
    windows = check_arguments(parser, args, WINDOWS)

    target = Target(
        args,
        "smpp",
        spawn=lambda: server_from_args(args).start(),
        start_stub=lambda: start_stub(__file__, args.duration_limit + 30, "smpp", "stub SMSC"),
    )
    try:
        target.start()
        out = {"bench": "smpp_submit", "client": args.client, "receipts": args.receipts}
        result = asyncio.run(
            bench(args, target, out, windows, lambda w: 5000 if w == 1 else 60000, run_once)
        )
        if args.spawn:
            result["server_config"] = spawned_server_config(args, "window", args.server_window)
        elif args.stub:
            result["server_config"] = {"stub": True}
        result["cpus"] = os.cpu_count()
    finally:
        target.stop()
    print(json.dumps(result, separators=(",", ":")))
    return 1 if "aborted" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())
