"""CMPP submit throughput and latency: an SP load generator against a real ``smsc serve``.

The CMPP twin of ``bench_smpp.py``: each run opens a fresh connection, sends CMPP_CONNECT
(SP_Id 901234, secret s3cret, AuthenticatorSource computed here with hashlib, the server's
AuthenticatorISMG verified), keeps exactly ``--window`` CMPP_SUBMIT outstanding until
``--count`` have been answered, times every SUBMIT from the write that carried it to the read
that carried its SUBMIT_RESP (``time.perf_counter_ns``), answers every DELIVER at once with a
DELIVER_RESP (the DELIVER's own Msg_Id, Result 0) and every ACTIVE_TEST, optionally waits for
every status report (matched by the report's Msg_Id to the SUBMIT_RESP Msg_Ids the run got),
and ends with TERMINATE. Prints ONE JSON line: per window the runs and their medians.

Independence: the frames are built and parsed from cmpp.md with ``struct`` and the
``conformance.cmpp_client`` helpers (``build_connect``, ``build_submit``, the authenticators),
never with the server's ``protocols.cmpp``, so a layout bug on the server is not shared by
the generator. Speed: the SUBMIT (ASCII text, Msg_Fmt 0, Registered_Delivery 1, Src_Id
106900001, Msg_src 901234) is built once; per message only the 12-byte header with its
Sequence_Id is packed, and all frames of one read are answered in one write. SUBMIT_RESP and
DELIVER are checked for their exact sizes (Total_Length vs Msg_Length, report 71/60 bytes)
and counted as protocol errors otherwise. Non-zero SUBMIT_RESP Results are counted by value;
report Stat values other than DELIVRD are counted by value.

``--spawn`` starts a server through ``run_server.py`` (temp SQLite DB, synchronous FULL,
carrier DELIVRD after ``--carrier-delay-ms``) with its config extended here: account acme gets
``cmpp = { sp_id = "901234", secret = "s3cret" }`` and ``cmpp_window`` = the largest window
measured (``--cmpp-window`` overrides); ``--fresh-server`` gives every run a new server and
warm-up, as in bench_smpp.py. ``--stub`` runs against a storage-free stub ISMG to
show the generator's own ceiling. The measurement helpers (CPU per side from /proc, other
load, group-commit counters, py-spy summary, medians), the run loop and the options both
scripts have are shared with ``bench_smpp.py`` through ``benchcommon.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import sys
import time
from collections import Counter
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
from run_server import BenchServer, server_from_args  # noqa: E402

from conformance import cmpp_client as cc  # noqa: E402

_HEADER = struct.Struct(">III")
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from
_Q = struct.Struct(">Q")
_unpack_q = _Q.unpack_from

SP_ID = "901234"
SECRET = "s3cret"
SOURCE = "106900001"  # Src_Id: the account's service code
DESTINATION = "13800138000"
TEXT = b"Hello from bench_cmpp"  # ASCII, Msg_Fmt 0
SERVICE_ID = "BENCH"
WINDOWS = "16,100"  # --window default


class Layout:
    """The offsets that differ between 2.0 and 3.0 (cmpp.md §2.0, §2.5-§2.8)."""

    def __init__(self, version: int) -> None:
        v30 = version >= 0x30
        self.version = version
        self.submit_resp_len = 24 if v30 else 21
        self.submit_resp = struct.Struct(">QI" if v30 else ">QB")
        self.deliver_rd = 87 if v30 else 75  # Registered_Delivery; Msg_Length follows
        self.deliver_fixed = 109 if v30 else 85  # Total_Length of a DELIVER with L = 0
        self.report_len = 71 if v30 else 60
        self.deliver_resp_len = 24 if v30 else 21
        self.deliver_resp = struct.Struct(">IIIQI" if v30 else ">IIIQB")


def submit_frame(version: int, receipts: bool, sp_id: str) -> bytes:
    """The one SUBMIT every run sends (Sequence_Id 0: the header is re-packed per message)."""
    return cc.build_submit(
        0,
        version,
        dest=DESTINATION,
        content=TEXT,
        msg_fmt=cc.MSG_FMT_ASCII,
        src_id=SOURCE,
        msg_src=sp_id,
        service_id=SERVICE_ID,
        registered_delivery=1 if receipts else 0,
    )


# --------------------------------------------------------------------------- the SP client


class FastSp(Load):
    """Hand-packed SUBMITs, size-checked input, one write per read.

    ``Load`` (bench_smpp) does the window refill, latency samples and receipt matching;
    ``send_bind`` is CONNECT and ``send_unbind`` is TERMINATE here. Message ids are the
    uint64 Msg_Ids.
    """

    def __init__(
        self, window: int, count: int, receipts: bool, version: int, sp_id: str, secret: str
    ) -> None:
        super().__init__(window, count, receipts)
        self.lay = Layout(version)
        self.sp_id = sp_id
        self.secret = secret
        frame = submit_frame(version, receipts, sp_id)
        self._submit_len = len(frame)
        self._submit_body = frame[12:]
        self._seq = 0
        self._buf = b""
        self._connect_seq = -1
        self._connect_ts = 0
        self._terminate_seq = -1
        self.report_stats: Counter[str] = Counter()  # Stat values other than DELIVRD
        self.mo = 0  # DELIVERs that were not status reports (none expected)
        self.active_tests = 0
        self.terminated_by_server = False

    def _next_seq(self) -> int:
        self._seq = seq = self._seq + 1 if self._seq < 0xFFFFFFFF else 1
        return seq

    def send_bind(self, system_id: str, password: str) -> None:
        """CMPP_CONNECT; ``bound`` resolves to its Status (AuthenticatorISMG checked)."""
        self._connect_seq = seq = self._next_seq()
        self._connect_ts = cc.timestamp_of()
        assert self.transport is not None
        self.transport.write(
            cc.build_connect(seq, system_id, password, self.lay.version, self._connect_ts)
        )

    def send_unbind(self) -> None:
        self._terminate_seq = self._next_seq()
        assert self.transport is not None
        self.transport.write(cc.build_terminate(self._terminate_seq))

    def _submits(self, n: int, out: list[bytes]) -> None:
        length, body, sent_at = self._submit_len, self._submit_body, self.sent_at
        seqs = []
        for _ in range(n):
            seq = self._next_seq()
            out.append(_pack_header(length, cc.SUBMIT, seq))
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

    def _on_connect_resp(self, frame: bytes) -> None:
        try:
            resp = cc.parse_connect_resp(frame, self.lay.version)
        except cc.CmppClientError:
            self.protocol_errors += 1
            status = 0xFF
        else:
            status = resp["status"]
            if status == 0:
                want = cc.authenticator_ismg(
                    0,
                    cc.authenticator_source(self.sp_id, self.secret, self._connect_ts),
                    self.secret,
                    self.lay.version,
                )
                if resp["authenticator_ismg"] != want:
                    status = 0x100  # not a CMPP status: "AuthenticatorISMG does not verify"
        if not self.bound.done():
            self.bound.set_result(status)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        if self._buf:
            data = self._buf + data
        lay = self.lay
        n = len(data)
        off = 0
        out: list[bytes] = []
        while n - off >= 12:
            length, cid, seq = _unpack_header(data, off)
            if length < 12 or length > 65536:
                self.protocol_errors += 1
                assert self.transport is not None
                self.transport.abort()  # framing lost: nothing after this can be trusted
                return
            if n - off < length:
                break
            start = off
            off += length
            if cid == cc.SUBMIT_RESP:
                if length != lay.submit_resp_len:
                    self.protocol_errors += 1
                    self._acked(seq, 0x1FF, None, now)  # answered, but unreadable
                    continue
                msg_id, result = lay.submit_resp.unpack_from(data, start + 12)
                self._acked(seq, result, msg_id, now)
            elif cid == cc.DELIVER:
                if length < lay.deliver_fixed:
                    self.protocol_errors += 1
                    continue  # no Msg_Id to echo: let the server's retry logic see it
                (msg_id,) = _unpack_q(data, start + 12)
                out.append(
                    lay.deliver_resp.pack(lay.deliver_resp_len, cc.DELIVER_RESP, seq, msg_id, 0)
                )
                rd = data[start + lay.deliver_rd]
                size = data[start + lay.deliver_rd + 1]
                if length != lay.deliver_fixed + size:
                    self.protocol_errors += 1
                    self.delivers += 1
                    continue
                if rd != 1:
                    self.mo += 1
                    self.delivers += 1
                    continue
                if size != lay.report_len:
                    self.protocol_errors += 1
                    self.delivers += 1
                    continue
                content = start + lay.deliver_rd + 2
                (report_id,) = _unpack_q(data, content)
                stat = data[content + 8 : content + 15]
                if stat != b"DELIVRD":
                    self.report_stats[stat.split(b"\0", 1)[0].decode("latin-1")] += 1
                self._receipt(report_id, now)
            elif cid == cc.ACTIVE_TEST:
                self.active_tests += 1
                out.append(cc.build_active_test_resp(seq))
            elif cid == cc.ACTIVE_TEST_RESP:
                pass
            elif cid == cc.CONNECT_RESP and seq == self._connect_seq:
                self._on_connect_resp(data[start:off])
            elif cid == cc.TERMINATE_RESP and seq == self._terminate_seq:
                if not self.unbound.done():
                    self.unbound.set_result(None)
            elif cid == cc.TERMINATE:
                self.terminated_by_server = True
                self.running = False
                out.append(cc.build_terminate_resp(seq))
            else:
                self.protocol_errors += 1
        self._buf = data[off:] if off < n else b""
        want = self._want()
        if want > 0:
            self._submits(want, out)
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out))


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
    """One run: connect, CONNECT, W outstanding until ``count`` resps, reports, TERMINATE."""
    receipts = args.receipts == "on"
    proto = FastSp(window, count, receipts, args.version, args.sp_id, args.secret)
    transport, result = await connect(proto, host, port, deadline)
    try:
        proto.send_bind(args.sp_id, args.secret)
        status = await _bounded(proto.bound, deadline, "CONNECT_RESP")
        if status == 0x100:
            raise BenchError("CONNECT_RESP Status 0 but AuthenticatorISMG does not verify")
        if status != 0:
            raise BenchError(f"CONNECT refused with Status {status}")
        await measure(
            args,
            proto,
            result,
            deadline,
            server_pid,
            admin_port,
            resp_name="SUBMIT_RESP",
            status_key="results",
            status_text=lambda statuses: {str(k): v for k, v in sorted(statuses.items())},
        )
        if receipts:
            result.update(
                await wait_receipts(args, proto, deadline, "status reports", missing=True)
            )
            if proto.report_stats:
                result["report_stats"] = dict(proto.report_stats)
        else:
            result["receipts_ok"] = None
        result.update(
            delivers=proto.delivers,
            mo=proto.mo,
            active_tests=proto.active_tests,
            unexpected=proto.unexpected,
            protocol_errors=proto.protocol_errors,
        )
        if proto.terminated_by_server:
            result["terminated_by_server"] = True
        else:
            proto.send_unbind()
            try:
                await _bounded(
                    proto.unbound, min(deadline, time.monotonic() + 5.0), "TERMINATE_RESP"
                )
            except BenchError as exc:
                result["terminate"] = str(exc)
    finally:
        transport.close()
    return result


# --------------------------------------------------------------------------- spawned server


def cmpp_config(config_text: str, sp_id: str, secret: str, cmpp_window: int) -> str:
    """run_server.py's config with CMPP credentials and ``cmpp_window`` for account acme.

    The keys go right after acme's ``smpp = {...}`` line, i.e. inside its ``[[accounts]]``
    table whatever follows it; run_server.py itself is unchanged (bench_smpp.py's config
    stays exactly as it was).
    """
    anchor = 'smpp = { system_id = "acme", password = "secret" }\n'
    if config_text.count(anchor) != 1:
        raise RuntimeError("run_server.py's config changed: acme's smpp line not found once")
    extra = f'cmpp_window = {cmpp_window}\ncmpp = {{ sp_id = "{sp_id}", secret = "{secret}" }}\n'
    return config_text.replace(anchor, anchor + extra)


def spawn_server(args: argparse.Namespace, cmpp_window: int) -> BenchServer:
    server = server_from_args(args)
    server.config_text = cmpp_config(server.config_text, args.sp_id, args.secret, cmpp_window)
    server.config_path.write_text(server.config_text)
    return server.start()


# --------------------------------------------------------------------------- stub ISMG


class StubIsmg(asyncio.Protocol):
    """A storage-free ISMG that answers at once: measures the generator's own ceiling.

    Answers CONNECT (any SP, Status 0, AuthenticatorISMG from ``--secret``), SUBMIT (Msg_Id =
    a counter; a DELIVRD report follows at once when Registered_Delivery is 1), ACTIVE_TEST
    and TERMINATE; ignores DELIVER_RESP. Never a figure for the project's server.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.next_id = 0
        self.seq = 0
        self.lay = Layout(0x30)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _report(self, msg_id: int) -> bytes:
        v30 = self.lay.version >= 0x30
        term = 32 if v30 else 21
        report = (
            _Q.pack(msg_id)
            + b"DELIVRD"
            + b"2612010000" * 2
            + DESTINATION.encode().ljust(term, b"\0")
            + b"\0\0\0\0"
        )
        self.next_id += 1
        self.seq += 1
        body = (
            _Q.pack(self.next_id)
            + SOURCE.encode().ljust(21, b"\0")
            + b"\0" * 10
            + bytes([0, 0, 0])
            + DESTINATION.encode().ljust(term, b"\0")
            + (b"\0" if v30 else b"")
            + bytes([1, len(report)])
            + report
            + b"\0" * (20 if v30 else 8)
        )
        return _pack_header(12 + len(body), cc.DELIVER, self.seq) + body

    def data_received(self, data: bytes) -> None:
        data = self.buf + data if self.buf else data
        n, off, out = len(data), 0, []
        lay = self.lay
        while n - off >= 12:
            length, cid, seq = _unpack_header(data, off)
            if length < 12 or n - off < length:
                break
            start = off
            off += length
            if cid == cc.SUBMIT:
                self.next_id += 1
                mid = self.next_id
                out.append(
                    _pack_header(lay.submit_resp_len, cc.SUBMIT_RESP, seq)
                    + lay.submit_resp.pack(mid, 0)
                )
                if data[start + 22] == 1:
                    out.append(self._report(mid))
            elif cid == cc.CONNECT:
                version = data[start + 34]
                self.lay = lay = Layout(0x30 if version >= 0x30 else 0x20)
                auth = cc.authenticator_ismg(0, data[start + 18 : start + 34], self.secret, version)
                status = struct.pack(">I" if version >= 0x30 else ">B", 0)
                body = status + auth + bytes([lay.version])
                out.append(_pack_header(12 + len(body), cc.CONNECT_RESP, seq) + body)
            elif cid == cc.ACTIVE_TEST:
                out.append(cc.build_active_test_resp(seq))
            elif cid == cc.TERMINATE:
                out.append(cc.build_terminate_resp(seq))
        self.buf = data[off:]
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out))


# --------------------------------------------------------------------------- command line


def _version(text: str) -> int:
    value = int(text, 0)
    if value not in (0x20, 0x21, 0x30):
        raise argparse.ArgumentTypeError("0x20, 0x21 or 0x30")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Prints one JSON line. Example: bench/bench_cmpp.py --spawn --window 16,100",
    )
    where = add_server_arguments(parser, "CMPP", "stub ISMG")
    where.add_argument(
        "--cmpp-window",
        type=int,
        help="--spawn: account acme's cmpp_window (default: the largest --window)",
    )
    load = parser.add_argument_group("load")
    add_window_arguments(load, "SUBMITs", WINDOWS, "messages per run (default 20000)")
    load.add_argument(
        "--version",
        type=_version,
        default=0x30,
        help="CMPP version to CONNECT with: 0x30 (default) or 0x20/0x21",
    )
    add_run_arguments(
        load,
        "Registered_Delivery 1 and wait for every status report (default on)",
        "reports",
    )
    load.add_argument("--sp-id", default=SP_ID, help=f"Source_Addr / Msg_src (default {SP_ID})")
    load.add_argument("--secret", default=SECRET, help="shared secret (default s3cret)")
    add_profile_arguments(parser)
    args = parser.parse_args(argv)
    if args.serve_stub:
        stub = serve_stub(
            Path(args.serve_stub), args.duration_limit, lambda: StubIsmg(args.secret), "cmpp"
        )
        asyncio.run(stub)
        return 0
    windows = check_arguments(parser, args, WINDOWS)
    cmpp_window = args.cmpp_window or max(windows + [10 if args.warmup > 0 else 1])
    if cmpp_window < max(windows):
        parser.error(f"--cmpp-window {cmpp_window} is below the largest --window")

    target = Target(
        args,
        "cmpp",
        spawn=lambda: spawn_server(args, cmpp_window),
        start_stub=lambda: start_stub(
            __file__, args.duration_limit + 30, "cmpp", "stub ISMG", ["--secret", args.secret]
        ),
    )
    try:
        target.start()
        out = {
            "bench": "cmpp_submit",
            "version": f"0x{args.version:02x}",
            "receipts": args.receipts,
        }
        result = asyncio.run(bench(args, target, out, windows, lambda _: 20000, run_once))
    finally:
        target.stop()
    if args.spawn:
        result["server_config"] = spawned_server_config(args, "cmpp_window", cmpp_window)
        if target.log_problems:
            result["server_log_warnings"] = {
                "count": len(target.log_problems),
                "first": target.log_problems[:5],
            }
    elif args.stub:
        result["server_config"] = {"stub": True}
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, separators=(",", ":")))
    return 1 if "aborted" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())
