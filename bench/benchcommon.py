"""What the SMPP and CMPP load generators share (``bench_smpp.py``, ``bench_cmpp.py``).

The protocol-neutral half of a load generator: ``Load`` (window refill, latency samples,
receipt matching), the measurement helpers (CPU per side from /proc, other load, group-commit
counters, py-spy summary, percentiles, medians), the timed part of a run, the per-window run
loop (fresh server, warm-up, redo of noisy runs, medians, duration limit), the server under
test (``Target``), the stub-server plumbing and the command-line options both scripts have.
The protocol-specific parts (the client, ``run_once``, the stub's protocol, help texts,
defaults) are passed in by the scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from run_server import BenchServer, add_server_options

from storage.commit_times import quantile

_CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The run cannot go on (bind refused, connection lost, time limit)."""


# --------------------------------------------------------------------------- bookkeeping


class Load(asyncio.Protocol):
    """What every client shares: window refill, latency samples, receipt matching, futures.

    Subclasses implement ``data_received``, ``_send_submits``, ``send_bind`` and
    ``send_unbind``; they call ``_acked`` for each submit_sm_resp and ``_receipt`` for each
    deliver_sm.
    """

    def __init__(self, window: int, count: int, receipts: bool) -> None:
        self.window = window
        self.count = count
        self.receipts = receipts
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.sent = 0  # submits written
        self.outstanding = 0
        self.acked = 0  # submit_sm_resp (or generic_nack) received for our submits
        self.ok = 0
        self.statuses: dict[int, int] = {}  # non-zero command_status -> count
        self.unexpected = 0  # responses matching no outstanding submit
        self.protocol_errors = 0
        self.sent_at: dict[int, int] = {}
        self.latencies: list[int] = []
        self.awaiting: set[str] = set()  # acked message ids whose receipt has not come yet
        self.early: set[str] = set()  # receipts that came before their submit_sm_resp (none)
        self.receipts_matched = 0
        self.receipts_before_last_resp = 0
        self.delivers = 0  # every deliver_sm answered (stale receipts of earlier runs too)
        self.running = False
        self.t_start = 0
        self.t_last_resp = 0
        self.t_first_receipt = 0
        self.t_last_receipt = 0
        self.bound: asyncio.Future[int] = self.loop.create_future()
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.receipts_done: asyncio.Future[None] = self.loop.create_future()
        self.unbound: asyncio.Future[None] = self.loop.create_future()
        self.lost: asyncio.Future[str] = self.loop.create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        why = f"connection lost: {exc!r}" if exc else "connection closed by the server"
        if not self.lost.done():
            self.lost.set_result(why)
        for fut in (self.bound, self.done, self.receipts_done, self.unbound):
            if not fut.done():
                fut.set_exception(BenchError(why))
                fut.exception()  # mark retrieved: not every future is awaited

    # -- run control --------------------------------------------------------------------------

    def start(self) -> None:
        """Fill the window; from here on every response refills it."""
        self.running = True
        self.t_start = time.perf_counter_ns()
        self._send_submits(min(self.window, self.count))

    def _want(self) -> int:
        """How many submits may go out now to keep exactly ``window`` outstanding."""
        if not self.running:
            return 0
        return min(self.window - self.outstanding, self.count - self.sent)

    def _acked(self, seq: int, status: int, message_id: str | None, now: int) -> None:
        t0 = self.sent_at.pop(seq, None)
        if t0 is None:
            self.unexpected += 1
            return
        self.latencies.append(now - t0)
        self.outstanding -= 1
        self.acked += 1
        if status == 0 and message_id is not None:
            self.ok += 1
            if self.receipts:
                if message_id in self.early:
                    self.early.discard(message_id)
                    self._matched(now)
                else:
                    self.awaiting.add(message_id)
        else:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        if self.acked == self.count:
            self.t_last_resp = now
            self.running = False
            if not self.done.done():
                self.done.set_result(None)
            self._check_receipts()

    def _receipt(self, message_id: str | None, now: int) -> None:
        self.delivers += 1
        if message_id is None or not self.receipts:
            return
        if message_id in self.awaiting:
            self.awaiting.discard(message_id)
            self._matched(now)
        elif self.running:
            self.early.add(message_id)  # only possible if a receipt overtakes its resp

    def _matched(self, now: int) -> None:
        self.receipts_matched += 1
        if not self.t_first_receipt:
            self.t_first_receipt = now
        self.t_last_receipt = now
        if self.running:
            self.receipts_before_last_resp += 1
        self._check_receipts()

    def _check_receipts(self) -> None:
        if (
            self.acked == self.count
            and self.receipts_matched >= self.ok
            and not self.receipts_done.done()
        ):
            self.receipts_done.set_result(None)

    # -- implemented by the clients ------------------------------------------------------------

    def _send_submits(self, n: int) -> None:
        raise NotImplementedError

    def send_bind(self, system_id: str, password: str) -> None:
        raise NotImplementedError

    def send_unbind(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- measurement


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat.

    Subtracting the generator and the server gives what *other* processes took during a run:
    on a shared 2-core box a parallel test suite can halve the figures, and the JSON says so.
    """
    try:
        with open("/proc/stat", "rb") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    # user + nice + system: irq/softirq (loopback traffic) are charged to no process, so
    # counting them would show the benchmark's own packets as "other" load
    return sum(fields[:3]) / _CLK_TCK


_CHILDREN: set[int] = set()  # child processes of a server seen by proc_cpu (for labels)


def _stat_fields(path: str) -> list[bytes] | None:
    """The fields of a /proc stat file after "pid (comm) " (state, ppid, ...); None if gone."""
    try:
        with open(path, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the server's commit process)."""
    out: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(f"/proc/{name}/stat")
        if fields is not None and int(fields[1]) == pid:
            out.append(int(name))
    return out


def proc_cpu(pid: int | None) -> dict[int, tuple[float, float]]:
    """CPU seconds (user, system) per thread of ``pid`` and of its child processes (the
    server's commit process is part of the server), from /proc; {} if unknown/unreadable."""
    if pid is None:
        return {}
    result: dict[int, tuple[float, float]] = {}
    kids = _children(pid)
    _CHILDREN.update(kids)
    for owner in (pid, *kids):
        try:
            tids = os.listdir(f"/proc/{owner}/task")
        except OSError:
            continue
        for tid in tids:
            fields = _stat_fields(f"/proc/{owner}/task/{tid}/stat")
            if fields is None:
                continue
            result[int(tid)] = (int(fields[11]) / _CLK_TCK, int(fields[12]) / _CLK_TCK)
    return result


def cpu_delta(
    pid: int,
    before: dict[int, tuple[float, float]],
    after: dict[int, tuple[float, float]],
    wall: float,
) -> dict[str, Any]:
    """Cores used over ``wall`` seconds, in all and per busy thread as [cores, of which kernel].

    ``main`` is the event-loop thread; ``child<pid>`` is the commit process (its own core);
    threads of the server share one GIL, so main + its threads near 1.0 core means the
    server's process is interpreter-bound whatever the machine has left.
    """
    per: dict[int, tuple[float, float]] = {}
    for tid, (user, system) in after.items():
        u0, s0 = before.get(tid, (0.0, 0.0))
        per[tid] = (user - u0 + system - s0, system - s0)
    busy = sorted(((v, k, tid) for tid, (v, k) in per.items() if v > 0), reverse=True)
    threads = {
        ("main" if tid == pid else f"child{tid}" if tid in _CHILDREN else f"tid{tid}"): [
            round(v / wall, 3),
            round(k / wall, 3),
        ]
        for v, k, tid in busy
    }
    return {
        "cores": round(sum(v for v, _ in per.values()) / wall, 3),
        "sys_cores": round(sum(k for _, k in per.values()) / wall, 3),
        "threads": threads,
    }


# --------------------------------------------------------------------------- server profile

_profiled: set[int] = set()


def start_profile(
    args: argparse.Namespace, pid: int | None, window: int
) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` on the server for the first run at ``--profile-window`` (optional).

    py-spy is not a project dependency: ``--py-spy`` names the binary (install it in a
    separate venv). ``--nonblocking`` so the sampled server is never paused.
    """
    if not args.profile or pid is None or window != args.profile_window or window in _profiled:
        return None
    _profiled.add(window)
    cmd = [args.py_spy, "record", "--pid", str(pid), "--rate", str(args.profile_rate)]
    cmd += ["--threads", "--format", "raw", "-o", args.profile]
    # --native (C frames: sqlite, GC, GIL waits) needs to pause the server for each sample
    cmd.append("--native" if args.profile_native else "--nonblocking")
    if args.profile_idle:
        cmd.append("--idle")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # attach before the timed part starts
    if proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise BenchError(f"py-spy exited at once: {err.strip()}")
    return proc


def stop_profile(args: argparse.Namespace, proc: subprocess.Popen[bytes], count: int) -> dict:
    """SIGINT py-spy (it then writes the file) and summarise it per message."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"error": "py-spy did not stop"}
    try:
        return summarize_profile(args.profile, args.profile_rate, count)
    except OSError as exc:
        return {"error": str(exc)}


_LINE = re.compile(r":\d+\)$")
# Cumulative rows are the project's own functions (the ones the integrator can change);
# library frames (Twisted, asyncio, SQLAlchemy) show up in the own-time rows instead.
_PROJECT = re.compile(r"\((?:protocols|smsc|storage|admin)/")


def summarize_profile(path: str, rate: int, messages: int, top: int = 15) -> dict[str, Any]:
    """Top frames per thread of a py-spy ``--format raw`` file, in µs of samples per message.

    Own time = the frame is the leaf; cumulative = the frame is anywhere on the stack (project
    functions only). Line numbers are dropped so one function is one row. Without ``--idle`` py-spy samples only
    threads that are running, so µs/msg approximates CPU per message.
    """
    per_msg = 1e6 / rate / max(1, messages)
    own: dict[str, Counter[str]] = {}
    cum: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    with open(path) as f:
        for line in f:
            stack, _, n_text = line.rstrip("\n").rpartition(" ")
            if not stack or not n_text.isdigit():
                continue
            n = int(n_text)
            thread, *frames = stack.split(";")
            name = thread.rpartition(": ")[2] or thread
            frames = [_LINE.sub(")", fr) for fr in frames]
            totals[name] += n
            if frames:
                own.setdefault(name, Counter())[frames[-1]] += n
            c = cum.setdefault(name, Counter())
            for fr in set(frames):
                c[fr] += n
    threads: dict[str, Any] = {}
    for name, total in totals.most_common():
        threads[name] = {
            "samples": total,
            "us_per_msg": round(total * per_msg, 1),
            "own": [
                [fr, round(n * per_msg, 2)] for fr, n in own.get(name, Counter()).most_common(top)
            ],
            "cumulative": [
                [fr, round(n * per_msg, 2)]
                for fr, n in cum.get(name, Counter()).most_common()
                if n < 0.95 * total and _PROJECT.search(fr)
            ][:top],
        }
    return {"file": path, "rate": rate, "messages": messages, "threads": threads}


_SCRAPED = (
    "smsc_commits_total",
    "smsc_rows_written_total",
    "smsc_commits_on_loop_total",
    "smsc_native",
)
_BUCKET = re.compile(r'smsc_commit_seconds_bucket\{le="([^"]+)",path="[^"]+"\}')


def writer_counters(admin_port: int | None) -> dict[str, float]:
    """Group-commit counters from the server's Prometheus endpoint ({} if unavailable).

    Read outside the timed part; they tell how many rows each commit carried, which is what
    decides throughput with synchronous=FULL (one fsync per commit).
    """
    if admin_port is None:
        return {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _SCRAPED:
            out[name] = float(value)
        elif m := _BUCKET.fullmatch(name):  # all paths together, by upper bound
            key = f"le:{m.group(1)}"
            out[key] = out.get(key, 0.0) + float(value)
    return out


def commit_quantiles(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """p50/p99 of the server's own commit times during the run (``smsc_commit_seconds``,
    estimated inside its buckets), to set beside the client's latency: at window 1 the
    client waits for one commit per submit."""
    cumulative = sorted(
        (float(k[3:]), v - before.get(k, 0.0)) for k, v in after.items() if k.startswith("le:")
    )
    out: dict[str, float] = {}
    for name, q in (("commit_p50_us", 0.50), ("commit_p99_us", 0.99)):
        est = quantile(cumulative, q)
        if est is not None:
            out[name] = round(est * 1e6, 1)
    return out


def percentile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile, in µs."""
    if not sorted_ns:
        return float("nan")
    k = max(0, min(len(sorted_ns) - 1, math.ceil(q * len(sorted_ns)) - 1))
    return round(sorted_ns[k] / 1000.0, 1)


async def _bounded(fut: asyncio.Future[Any], deadline: float, what: str) -> Any:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BenchError(f"duration limit reached before {what}")
    try:
        return await asyncio.wait_for(asyncio.shield(fut), remaining)
    except TimeoutError:
        raise BenchError(f"duration limit reached while waiting for {what}") from None


MEDIAN_KEYS = (
    "msgs_per_s",
    "p50_us",
    "p90_us",
    "p99_us",
    "generator_cores",
    "receipts_per_s",
    "cpu_probe_ms",
    "commit_p50_us",
    "commit_p99_us",
)


def cpu_probe_ms() -> float:
    """How fast this VM runs Python right now: the median of three 1,000,000-step loops, in ms.

    The VMs these figures come from drift by up to 2x over minutes (whole runs of the same
    server at 9,000 and at 16,000 msg/s, the server's CPU per message doubling in both of its
    processes, with no other process on the box and no steal time reported). Each run records
    this probe, taken just before it, so runs in a slow spell can be told apart.
    """
    times = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure over the completed runs (a failed run has no figures)."""
    done = [r for r in runs if "msgs_per_s" in r]
    out: dict[str, Any] = {"runs": len(done)}
    for key in MEDIAN_KEYS:
        values = [r[key] for r in done if r.get(key) is not None]
        if values:
            out[key] = round(statistics.median(values), 3)
    server = [r["server"]["cores"] for r in done if "server" in r]
    if server:
        out["server_cores"] = round(statistics.median(server), 3)
    if any("receipts_ok" in r for r in done):
        out["receipts_ok"] = all(r.get("receipts_ok") is not False for r in done)
    return out


def parse_windows(values: list[str]) -> list[int]:
    windows: list[int] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                w = int(part)
                if w < 1:
                    raise argparse.ArgumentTypeError(f"window must be >= 1, got {w}")
                windows.append(w)
    return windows


# --------------------------------------------------------------------------- one run


async def connect(
    proto: Load, host: str, port: int, deadline: float
) -> tuple[asyncio.BaseTransport, dict[str, Any]]:
    """Open the run's connection (bounded by ``deadline``) and start its result dict."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BenchError("duration limit reached before connecting")
    loop = asyncio.get_running_loop()
    transport, _ = await asyncio.wait_for(
        loop.create_connection(lambda: proto, host, port), min(10.0, remaining)
    )
    return transport, {"window": proto.window, "count": proto.count}


async def measure(
    args: argparse.Namespace,
    proto: Load,
    result: dict[str, Any],
    deadline: float,
    server_pid: int | None,
    admin_port: int | None,
    *,
    resp_name: str,
    status_key: str,
    status_text: Callable[[dict[int, int]], dict[str, int]],
) -> None:
    """The timed part of a run on a bound ``proto``: W outstanding until ``count`` resps.

    Adds the throughput, latency, CPU and group-commit figures to ``result``; the non-zero
    response statuses go under ``status_key``, rendered by ``status_text``.
    """
    loop = asyncio.get_running_loop()
    count = proto.count
    counters0 = writer_counters(admin_port)
    gc.collect()
    gc.disable()  # no collector pauses inside the timed part (nothing here makes cycles)
    spy = start_profile(args, server_pid, proto.window)
    busy0 = machine_busy()
    cpu0, srv0, wall0 = os.times(), proc_cpu(server_pid), time.perf_counter()
    proto.start()
    try:
        await _bounded(proto.done, deadline, f"{count} {resp_name}")
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
        **{status_key: status_text(proto.statuses)},
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
        if "smsc_commits_on_loop_total" in counters1:
            on_loop = counters1["smsc_commits_on_loop_total"] - counters0.get(
                "smsc_commits_on_loop_total", 0.0
            )
            result["commits_on_loop"] = round(on_loop / commits, 3) if commits else None
        result.update(commit_quantiles(counters0, counters1))
    if "smsc_native" in counters1:  # which build of the hot path ran (``storage/native.py``)
        result["hot_path"] = "compiled" if counters1["smsc_native"] else "source"


async def wait_receipts(
    args: argparse.Namespace, proto: Load, deadline: float, what: str, missing: bool = False
) -> dict[str, Any]:
    """Wait (``--receipt-timeout``) for the receipts of the accepted submits: their figures.

    ``missing`` adds how many never came (``receipts_missing``).
    """
    receipts_ok = True
    try:
        await _bounded(
            proto.receipts_done, min(deadline, time.monotonic() + args.receipt_timeout), what
        )
    except BenchError:
        receipts_ok = False
    span = (proto.t_last_receipt - proto.t_first_receipt) / 1e9
    figures: dict[str, Any] = {
        "receipts_ok": receipts_ok and proto.receipts_matched == proto.ok,
        "receipts": proto.receipts_matched,
    }
    if missing:
        figures["receipts_missing"] = proto.ok - proto.receipts_matched
    figures.update(
        receipts_during_submit=proto.receipts_before_last_resp,
        receipts_per_s=round(proto.receipts_matched / span, 1) if span > 0 else None,
        receipts_wait_s=round(max(0, proto.t_last_receipt - proto.t_last_resp) / 1e9, 3),
    )
    return figures


# --------------------------------------------------------------------------- server under test

# server log lines worth reporting (the kv format writes lower-case levels)
_LOG_PROBLEM = re.compile(r"level=(?:warning|error|critical)|Traceback", re.IGNORECASE)

StubStart = Callable[[], tuple[subprocess.Popen[bytes], dict[str, int], Path]]


class Target:
    """The server under test: one given by --port, one spawned, or the script's stub.

    With ``--spawn --fresh-server`` every run gets a new server (new temp DB): runs on one
    long-lived server drift slower as its tables grow, which widens the spread of 3 runs.
    Warning/error lines of every spawned server's log are collected before it goes.
    ``protocol`` names the port to use ("smpp", "cmpp"); ``spawn`` starts a server and
    ``start_stub`` the stub.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        protocol: str,
        spawn: Callable[[], BenchServer],
        start_stub: StubStart,
    ) -> None:
        self.args = args
        self.protocol = protocol
        self._spawn = spawn
        self._start_stub = start_stub
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
            self.stub, ports, ready = self._start_stub()
            shutil.rmtree(ready.parent, ignore_errors=True)
            self.host, self.port = "127.0.0.1", ports[self.protocol]
            self.pid, self.admin = self.stub.pid, None
        elif args.spawn:
            self.stop()
            self.server = self._spawn()
            self.host, self.port = "127.0.0.1", self.server.ports[self.protocol]
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


def spawned_server_config(args: argparse.Namespace, window_key: str, window: int) -> dict:
    """The ``server_config`` of the JSON for ``--spawn`` (``window_key``: the bind window)."""
    config: dict[str, Any] = {
        "storage": "sqlite",
        "synchronous": args.synchronous,
        "commit_max_wait_ms": args.commit_max_wait_ms,
        "carrier_delay_ms": args.carrier_delay_ms,
        window_key: window,
        "fresh_server_per_run": args.fresh_server,
    }
    if args.switch_interval is not None:
        config["switch_interval"] = args.switch_interval
    if args.gc_threshold is not None:
        config["gc_threshold"] = list(args.gc_threshold)
    if args.gc_freeze:
        config["gc_freeze"] = True
    return config


# --------------------------------------------------------------------------- run loop

# run_once(args, host, port, window, count, deadline, server_pid, admin_port) -> one run
RunOnce = Callable[
    [argparse.Namespace, str, int, int, int, float, int | None, int | None],
    Awaitable[dict[str, Any]],
]


async def warm_up(
    args: argparse.Namespace, t: Target, deadline: float, run_once: RunOnce
) -> dict[str, Any]:
    """An unreported run at window 10: first binds and lazy imports do not land in a run."""
    warm = await run_once(args, t.host, t.port, 10, args.warmup, deadline, t.pid, t.admin)
    return {k: warm.get(k) for k in ("count", "msgs_per_s", "receipts_ok")}


async def bench(
    args: argparse.Namespace,
    t: Target,
    out: dict[str, Any],
    windows: list[int],
    default_count: Callable[[int], int],
    run_once: RunOnce,
) -> dict[str, Any]:
    """``--runs`` runs per window into ``out["windows"]``, with their medians.

    ``default_count(window)`` is the count per run without ``--count``. A run during which
    other processes took more than ``--max-other-cores`` is redone (``--retries`` per
    window) and kept under ``discarded``; ``--duration-limit`` ends it all (``aborted``).
    """
    deadline = time.monotonic() + args.duration_limit
    out.update(runs_per_window=args.runs, windows={})
    try:
        if args.warmup > 0 and not t.fresh:
            out["warmup"] = await warm_up(args, t, deadline, run_once)
        for window in windows:
            count = args.count or default_count(window)
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
                            out["warmup"] = await warm_up(args, t, deadline, run_once)
                    probe = cpu_probe_ms()
                    run = await run_once(
                        args, t.host, t.port, window, count, deadline, t.pid, t.admin
                    )
                    run["cpu_probe_ms"] = probe
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


# --------------------------------------------------------------------------- stub server


async def serve_stub(
    ready: Path, lifetime: float, factory: Callable[[], asyncio.Protocol], protocol: str
) -> None:
    """Listen on an ephemeral 127.0.0.1 port, write it to ``ready``, exit after ``lifetime``."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ready.write_text(json.dumps({"pid": os.getpid(), protocol: port}))
    async with server:
        await asyncio.sleep(lifetime)


def start_stub(
    script: str, lifetime: float, protocol: str, name: str, extra: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], dict[str, int], Path]:
    """Run ``script --serve-stub READY`` (plus ``extra``) and wait for its port in READY."""
    ready = Path(tempfile.mkdtemp(prefix=f"{protocol}-stub-")) / "ready.json"
    argv = [sys.executable, script, "--serve-stub", str(ready), "--duration-limit", str(lifetime)]
    proc = subprocess.Popen(argv + (extra or []))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return proc, json.loads(ready.read_text()), ready
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{name} did not start")


# --------------------------------------------------------------------------- command line


def add_server_arguments(
    parser: argparse.ArgumentParser, protocol: str, stub: str
) -> argparse._ArgumentGroup:
    """The "server" group: where the server under test is (``protocol``: "SMPP", "CMPP")."""
    where = parser.add_argument_group("server")
    where.add_argument("--host", default="127.0.0.1", help=f"{protocol} host (default 127.0.0.1)")
    where.add_argument("--port", type=int, help=f"{protocol} port of an already running server")
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
        help=f"run against a storage-free {stub} instead: the generator's own ceiling",
    )
    where.add_argument("--serve-stub", metavar="READY", help=argparse.SUPPRESS)
    add_server_options(where)
    return where


def add_window_arguments(
    load: argparse._ArgumentGroup, submits: str, windows: str, count_help: str
) -> None:
    """--window, --count and --runs (``windows``: the default list)."""
    load.add_argument(
        "--window",
        action="append",
        metavar="W[,W...]",
        help=f"{submits} kept outstanding; repeatable or comma list (default {windows})",
    )
    load.add_argument("--count", type=int, help=count_help)
    load.add_argument("--runs", type=int, default=3, help="runs per window (default 3)")


def add_run_arguments(load: argparse._ArgumentGroup, receipts_help: str, receipts: str) -> None:
    """--receipts to --pause (``receipts``: what the receipts are called)."""
    load.add_argument("--receipts", choices=("on", "off"), default="on", help=receipts_help)
    load.add_argument(
        "--receipt-timeout",
        type=float,
        default=60.0,
        help=f"seconds to wait for the {receipts} after the last resp (default 60)",
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


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
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


def check_arguments(
    parser: argparse.ArgumentParser, args: argparse.Namespace, windows: str
) -> list[int]:
    """The windows to measure (``windows``: the default list); usage errors exit."""
    try:
        measured = parse_windows(args.window or [windows])
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    if not (args.spawn or args.stub) and args.port is None:
        parser.error("give --port of a running server, or --spawn, or --stub")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("this benchmark only targets loopback addresses")
    return measured
