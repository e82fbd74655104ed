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
load, group-commit counters, py-spy summary, medians) are ``bench_smpp.py``'s own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_smpp import (  # noqa: E402
    BenchError,
    Load,
    _bounded,
    cpu_delta,
    machine_busy,
    medians,
    parse_windows,
    percentile,
    proc_cpu,
    start_profile,
    stop_profile,
    writer_counters,
)
from run_server import BenchServer, add_server_options, server_from_args  # noqa: E402

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
# server log lines worth reporting (the kv format writes lower-case levels)
_LOG_PROBLEM = re.compile(r"level=(?:warning|error|critical)|Traceback", re.IGNORECASE)


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
    loop = asyncio.get_running_loop()
    receipts = args.receipts == "on"
    proto = FastSp(window, count, receipts, args.version, args.sp_id, args.secret)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BenchError("duration limit reached before connecting")
    transport, _ = await asyncio.wait_for(
        loop.create_connection(lambda: proto, host, port), min(10.0, remaining)
    )
    result: dict[str, Any] = {"window": window, "count": count}
    try:
        proto.send_bind(args.sp_id, args.secret)
        status = await _bounded(proto.bound, deadline, "CONNECT_RESP")
        if status == 0x100:
            raise BenchError("CONNECT_RESP Status 0 but AuthenticatorISMG does not verify")
        if status != 0:
            raise BenchError(f"CONNECT refused with Status {status}")
        counters0 = writer_counters(admin_port)
        gc.collect()
        gc.disable()  # no collector pauses inside the timed part (nothing here makes cycles)
        spy = start_profile(args, server_pid, window)
        busy0 = machine_busy()
        cpu0, srv0, wall0 = os.times(), proc_cpu(server_pid), time.perf_counter()
        proto.start()
        try:
            await _bounded(proto.done, deadline, f"{count} SUBMIT_RESP")
        finally:
            wall = max(time.perf_counter() - wall0, 1e-9)
            cpu1, srv1 = os.times(), proc_cpu(server_pid)
            busy1 = machine_busy()
            gc.enable()
            if spy is not None:
                result["profile"] = await loop.run_in_executor(None, stop_profile, args, spy, count)
        gen = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall
        elapsed_s = (proto.t_last_resp - proto.t_start) / 1e9
        lat = sorted(proto.latencies)
        result.update(
            msgs_per_s=round(count / elapsed_s, 1),
            p50_us=percentile(lat, 0.50),
            p90_us=percentile(lat, 0.90),
            p99_us=percentile(lat, 0.99),
            max_us=round(lat[-1] / 1000.0, 1),
            submit_s=round(elapsed_s, 3),
            ok=proto.ok,
            results={str(k): v for k, v in sorted(proto.statuses.items())},
            generator_cores=round(gen, 3),
        )
        other = (busy1 - busy0) / wall - gen
        if server_pid is not None:
            result["server"] = cpu_delta(server_pid, srv0, srv1, wall)
            other -= result["server"]["cores"]
        result["other_cores"] = round(max(0.0, other), 3)
        counters1 = writer_counters(admin_port)
        if counters0 and counters1:
            commits = counters1["smsc_commits_total"] - counters0["smsc_commits_total"]
            rows = counters1["smsc_rows_written_total"] - counters0["smsc_rows_written_total"]
            result["commits_per_s"] = round(commits / wall, 1)
            result["rows_per_commit"] = round(rows / commits, 1) if commits else None
        if receipts:
            receipts_ok = True
            try:
                await _bounded(
                    proto.receipts_done,
                    min(deadline, time.monotonic() + args.receipt_timeout),
                    "status reports",
                )
            except BenchError:
                receipts_ok = False
            span = (proto.t_last_receipt - proto.t_first_receipt) / 1e9
            result.update(
                receipts_ok=receipts_ok and proto.receipts_matched == proto.ok,
                receipts=proto.receipts_matched,
                receipts_missing=proto.ok - proto.receipts_matched,
                receipts_during_submit=proto.receipts_before_last_resp,
                receipts_per_s=round(proto.receipts_matched / span, 1) if span > 0 else None,
                receipts_wait_s=round(max(0, proto.t_last_receipt - proto.t_last_resp) / 1e9, 3),
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


async def warm_up(args: argparse.Namespace, t: Target, deadline: float) -> dict[str, Any]:
    """An unreported run at window 10: first binds and lazy imports do not land in a run."""
    warm = await run_once(args, t.host, t.port, 10, args.warmup, deadline, t.pid, t.admin)
    return {k: warm.get(k) for k in ("count", "msgs_per_s", "receipts_ok")}


async def bench(args: argparse.Namespace, t: Target) -> dict:
    deadline = time.monotonic() + args.duration_limit
    out: dict[str, Any] = {
        "bench": "cmpp_submit",
        "version": f"0x{args.version:02x}",
        "receipts": args.receipts,
        "runs_per_window": args.runs,
        "windows": {},
    }
    try:
        if args.warmup > 0 and not t.fresh:
            out["warmup"] = await warm_up(args, t, deadline)
        for window in parse_windows(args.window or ["16,100"]):
            count = args.count or 20000
            runs: list[dict[str, Any]] = []
            discarded: list[dict[str, Any]] = []
            out["windows"][str(window)] = entry = {"count": count, "runs": runs}
            retries = args.retries
            while len(runs) < args.runs and time.monotonic() < deadline:
                await asyncio.sleep(args.pause)  # let the previous run's writes settle
                try:
                    if t.fresh:
                        t.start()
                        if args.warmup > 0:
                            out["warmup"] = await warm_up(args, t, deadline)
                    run = await run_once(
                        args, t.host, t.port, window, count, deadline, t.pid, t.admin
                    )
                except (BenchError, OSError, TimeoutError, RuntimeError) as exc:
                    run = {"window": window, "count": count, "error": str(exc)}
                noisy = args.max_other_cores is not None and (
                    run.get("other_cores", 0.0) > args.max_other_cores
                )
                if noisy and retries > 0:  # another process took the cores: run it again
                    retries -= 1
                    discarded.append(run)
                    continue
                runs.append(run)
            if discarded:
                entry["discarded"] = discarded
            entry["median"] = medians(runs)
            if time.monotonic() >= deadline:
                out["aborted"] = "duration limit reached"
                break
    except (BenchError, OSError, TimeoutError) as exc:
        out["aborted"] = str(exc)
    return out


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


class Target:
    """The server under test: one given by --port, one spawned, or the stub ISMG.

    As in bench_smpp.py, ``--spawn --fresh-server`` gives every run a new server (new temp
    DB). Warning/error lines of every spawned server's log are collected before it goes.
    """

    def __init__(self, args: argparse.Namespace, cmpp_window: int) -> None:
        self.args = args
        self.cmpp_window = cmpp_window
        self.server: BenchServer | None = None
        self.stub: subprocess.Popen[bytes] | None = None
        self.host, self.port = args.host, args.port
        self.pid: int | None = args.server_pid
        self.admin: int | None = args.admin_port
        self.starts = 0
        self.log_problems: list[str] = []

    def start(self) -> None:
        args = self.args
        if args.stub:
            self.stub, ports, ready = start_stub(args.duration_limit + 30, args.secret)
            shutil.rmtree(ready.parent, ignore_errors=True)
            self.host, self.port = "127.0.0.1", ports["cmpp"]
            self.pid, self.admin = self.stub.pid, None
        elif args.spawn:
            self.stop()
            self.server = spawn_server(args, self.cmpp_window)
            self.host, self.port = "127.0.0.1", self.server.ports["cmpp"]
            self.pid, self.admin = self.server.pid, self.server.ports.get("admin")
        self.starts += 1

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            log = self.server.log().splitlines()
            self.log_problems += [line for line in log if _LOG_PROBLEM.search(line)]
            self.server.cleanup()
            self.server = None
        if self.stub is not None:
            self.stub.terminate()
            self.stub.wait(10)
            self.stub = None

    @property
    def fresh(self) -> bool:
        return bool(self.args.spawn and self.args.fresh_server)


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


async def serve_stub(ready: Path, lifetime: float, secret: str) -> None:
    """Listen on an ephemeral 127.0.0.1 port, write it to ``ready``, exit after ``lifetime``."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: StubIsmg(secret), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ready.write_text(json.dumps({"pid": os.getpid(), "cmpp": port}))
    async with server:
        await asyncio.sleep(lifetime)


def start_stub(
    lifetime: float, secret: str
) -> tuple[subprocess.Popen[bytes], dict[str, int], Path]:
    ready = Path(tempfile.mkdtemp(prefix="cmpp-stub-")) / "ready.json"
    argv = [sys.executable, __file__, "--serve-stub", str(ready)]
    argv += ["--duration-limit", str(lifetime), "--secret", secret]
    proc = subprocess.Popen(argv)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return proc, json.loads(ready.read_text()), ready
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("stub ISMG did not start")


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
    where = parser.add_argument_group("server")
    where.add_argument("--host", default="127.0.0.1", help="CMPP host (default 127.0.0.1)")
    where.add_argument("--port", type=int, help="CMPP port of an already running server")
    where.add_argument("--server-pid", type=int, help="pid of that server, for its CPU figures")
    where.add_argument(
        "--admin-port", type=int, help="admin port of that server, for its group-commit figures"
    )
    where.add_argument(
        "--spawn", action="store_true", help="start a server (temp SQLite DB) for the benchmark"
    )
    where.add_argument(
        "--fresh-server",
        action="store_true",
        help="with --spawn: a new server (new temp DB) and warm-up for every run",
    )
    where.add_argument(
        "--stub",
        action="store_true",
        help="run against a storage-free stub ISMG instead: the generator's own ceiling",
    )
    where.add_argument("--serve-stub", metavar="READY", help=argparse.SUPPRESS)
    add_server_options(where)
    where.add_argument(
        "--cmpp-window",
        type=int,
        help="--spawn: account acme's cmpp_window (default: the largest --window)",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--window",
        action="append",
        metavar="W[,W...]",
        help="SUBMITs kept outstanding; repeatable or comma list (default 16,100)",
    )
    load.add_argument("--count", type=int, help="messages per run (default 20000)")
    load.add_argument("--runs", type=int, default=3, help="runs per window (default 3)")
    load.add_argument(
        "--version",
        type=_version,
        default=0x30,
        help="CMPP version to CONNECT with: 0x30 (default) or 0x20/0x21",
    )
    load.add_argument(
        "--receipts",
        choices=("on", "off"),
        default="on",
        help="Registered_Delivery 1 and wait for every status report (default on)",
    )
    load.add_argument(
        "--receipt-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the reports after the last resp (default 60)",
    )
    load.add_argument(
        "--duration-limit",
        type=float,
        default=600.0,
        help="hard stop for the whole benchmark, in seconds (default 600)",
    )
    load.add_argument(
        "--warmup",
        type=int,
        default=1000,
        help="messages of an unreported warm-up run at window 10 (default 1000, 0 = none)",
    )
    load.add_argument(
        "--max-other-cores",
        type=float,
        help="redo a run during which other processes used more than this many cores "
        "(a shared box); the discarded runs are kept in the JSON",
    )
    load.add_argument("--retries", type=int, default=6, help="redo budget per window (default 6)")
    load.add_argument("--pause", type=float, default=0.5, help="seconds between runs (default 0.5)")
    load.add_argument("--sp-id", default=SP_ID, help=f"Source_Addr / Msg_src (default {SP_ID})")
    load.add_argument("--secret", default=SECRET, help="shared secret (default s3cret)")
    prof = parser.add_argument_group("server profile (optional, needs py-spy)")
    prof.add_argument("--profile", metavar="FILE", help="py-spy raw output file (enables it)")
    prof.add_argument("--profile-window", type=int, default=100, help="window to profile")
    prof.add_argument("--profile-rate", type=int, default=250, help="samples/s (default 250)")
    prof.add_argument("--profile-idle", action="store_true", help="also sample idle threads")
    prof.add_argument(
        "--profile-native",
        action="store_true",
        help="C frames too (pauses the server per sample: lower --profile-rate)",
    )
    prof.add_argument("--py-spy", default="py-spy", help="py-spy binary (default on PATH)")
    args = parser.parse_args(argv)
    if args.serve_stub:
        asyncio.run(serve_stub(Path(args.serve_stub), args.duration_limit, args.secret))
        return 0
    try:
        windows = parse_windows(args.window or ["16,100"])
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    if not (args.spawn or args.stub) and args.port is None:
        parser.error("give --port of a running server, or --spawn, or --stub")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this benchmark only targets loopback addresses")
    cmpp_window = args.cmpp_window or max(windows + [10 if args.warmup > 0 else 1])
    if cmpp_window < max(windows):
        parser.error(f"--cmpp-window {cmpp_window} is below the largest --window")

    target = Target(args, cmpp_window)
    try:
        target.start()
        result = asyncio.run(bench(args, target))
    finally:
        target.stop()
    if args.spawn:
        result["server_config"] = {
            "storage": "sqlite",
            "synchronous": args.synchronous,
            "commit_max_wait_ms": args.commit_max_wait_ms,
            "carrier_delay_ms": args.carrier_delay_ms,
            "cmpp_window": cmpp_window,
            "fresh_server_per_run": args.fresh_server,
        }
        if args.switch_interval is not None:
            result["server_config"]["switch_interval"] = args.switch_interval
        if args.gc_threshold is not None:
            result["server_config"]["gc_threshold"] = list(args.gc_threshold)
        if args.gc_freeze:
            result["server_config"]["gc_freeze"] = True
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
