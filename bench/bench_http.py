"""Vendor HTTP facade throughput: CAIH ``POST /sendsms`` with one number per request.

Starts ``smsc serve`` (SQLite, ``synchronous=FULL``: every accepted request is durable
before its answer) with one CAIH account, then ``--clients`` concurrent keep-alive aiohttp
clients each send requests back to back: a fresh timestamp and MD5 password per request,
one valid mobile, a verification-code text matching an approved template. A request counts
when its answer has ``"code":"0"``; anything else stops the run with the body shown.
Latency is request sent → answer read. Runs are bounded by ``--requests`` and
``--max-seconds``; prints one JSON line with the medians of ``--runs`` runs.

``--client wrk`` drives the same requests with wrk (``apt-get install wrk``: a C load
generator, far cheaper per request than an aiohttp client, so more of the two cores is left to
the server) for ``--seconds`` per run, with one body whose timestamp stays inside the 50-minute
window; a Lua ``response`` hook counts any answer without ``"code": "0"``, and a run with one
fails.

With ``--reports`` the account also has a report URL served by this script, so status
reports are pushed while the load runs (the receiver shares this process's CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run_server import BenchServer  # noqa: E402

TOKEN = "benchtoken"
ACCOUNT = "843ba3f014d111eaa2a5286ed488c9ac"
APP_ID = "53484d4f168a11eaa2a5286ed488c9ac"
BEIJING = timezone(timedelta(hours=8))

EXTRA = """
[http]
push_retry_s = [1.0, 1.0, 1.0]

[[accounts]]
name = "caihbench"
service_codes = ["1069777"]
review = "manual"
signatures = [{{ text = "中国东信", status = "approved" }}]
templates = [{{ id = "1", text = "您的验证码为:{{$var}}", status = "approved", kind = "verification" }}]
http = {{ caih = {{ account = "{account}", app_id = "{app_id}", token = "{token}" }} }}
{callbacks}
"""


def body(i: int) -> bytes:
    ts = datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")
    return json.dumps(
        {
            "account": ACCOUNT,
            "password": hashlib.md5((TOKEN + ts).encode()).hexdigest(),
            "appId": APP_ID,
            "timestamp": ts,
            "phone": f"138{i % 100_000_000:08d}",
            "content": f"【中国东信】您的验证码为:{i % 1_000_000:06d}",
            "uid": str(i),
        },
        ensure_ascii=False,
    ).encode()


async def one_run(url: str, clients: int, requests: int, max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    counter = iter(range(requests))
    deadline = time.monotonic() + max_seconds
    headers = {"Content-Type": "application/json;charset=utf-8", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for i in counter:
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                async with session.post(url, data=body(i), headers=headers) as resp:
                    text = await resp.text()
                latencies.append(time.perf_counter() - t0)
                if '"code":"0"' not in text.replace(" ", ""):
                    raise RuntimeError(f"request {i} refused: HTTP {resp.status} {text}")

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "seconds": round(elapsed, 3),
        "req_per_s": round(n / elapsed),
        "p50_ms": round(latencies[n // 2] * 1000, 2),
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2),
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json;charset=utf-8"
wrk.headers["Accept"] = "application/json"
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"code": "0"', 1, true) then
    bad = bad + 1
    if bad == 1 then io.stderr:write("refused: " .. status .. " " .. body .. "\\n") end
  end
end
function done(summary, latency, requests)
  io.write(string.format("BAD %%d\\n", bad))
end
"""


def wrk_run(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """One wrk run; wrk's threads share one Lua state per thread, so `bad` sums per thread."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT % body(7).decode())
        script = fh.name
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", script, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    if re.search(r"BAD [1-9]", out):
        raise RuntimeError(f"refused answers during the run:\n{out}")

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([0-9.]+)(us|ms|s)", out)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    reqs = re.search(r"([0-9]+) requests in ([0-9.]+)s", out)
    assert reqs, out
    return {
        "requests": int(reqs.group(1)),
        "seconds": float(reqs.group(2)),
        "req_per_s": round(float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))),  # type: ignore[union-attr]
        "p50_ms": round(ms("50%"), 2),
        "p99_ms": round(ms("99%"), 2),
    }


async def receiver() -> tuple[web.AppRunner, int, list[int]]:
    count = [0]

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        count[0] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/dlr", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, count


async def main(args: argparse.Namespace) -> dict[str, Any]:
    runner = None
    callbacks = ""
    pushed = [0]
    if args.reports:
        runner, port, pushed = await receiver()
        callbacks = f'callbacks = {{ report_url = "http://127.0.0.1:{port}/dlr" }}'
    extra = EXTRA.format(account=ACCOUNT, app_id=APP_ID, token=TOKEN, callbacks=callbacks)
    runs = []
    try:
        with BenchServer(
            synchronous=args.synchronous,
            carrier_delay_ms=args.carrier_delay_ms,
            log_level="WARNING",
            extra=extra,
        ) as server:
            url = f"http://127.0.0.1:{server.ports['http']}/sendsms"
            await one_run(url, args.clients, min(2000, args.requests), 30)  # warm-up
            for _ in range(args.runs):
                if args.client == "wrk":
                    run = await asyncio.to_thread(wrk_run, url, args.clients, args.seconds)
                else:
                    run = await one_run(url, args.clients, args.requests, args.max_seconds)
                runs.append(run)
                print(json.dumps(run), file=sys.stderr)
    finally:
        if runner is not None:
            await runner.cleanup()
    return {
        "bench": "http_caih_sendsms",
        "clients": args.clients,
        "client": args.client,
        "synchronous": args.synchronous,
        "reports": args.reports,
        "runs": runs,
        "median_req_per_s": statistics.median(r["req_per_s"] for r in runs),
        "median_p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "median_p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "reports_pushed": pushed[0],
    }


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent keep-alive clients")
    p.add_argument("--requests", type=int, default=20_000, help="requests per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=60.0, help="cap per run")
    p.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    p.add_argument("--carrier-delay-ms", type=int, default=1000)
    p.add_argument("--reports", action="store_true", help="push status reports to a receiver")
    p.add_argument("--client", choices=("aiohttp", "wrk"), default="aiohttp")
    p.add_argument("--seconds", type=float, default=10.0, help="wrk: seconds per run")
    args = p.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        p.error("wrk is not installed (apt-get install wrk)")
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse()))))
