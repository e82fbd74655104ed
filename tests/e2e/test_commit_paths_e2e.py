"""The served SQLite commit paths, end to end: a lone submit is committed on the event loop,
a window of submits in the commit process (a child of the server), every acknowledged message
is stored, and the child does not outlive a server killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

from tests.e2e.smpp_client import Collector, submit_batched

CONFIG = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 200 }
"""


def children(pid: int) -> list[int]:
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) == pid:
                kids.append(int(name))
    return kids


def exited(pid: int) -> bool:
    """Gone, or a zombie (it has exited; whoever inherited it has not reaped it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return stat[stat.rindex(b")") + 2 :].startswith(b"Z")


def scrape(port: int) -> dict[str, float]:
    """One read of /metrics: sample name (labels included) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return {k: float(v) for k, _, v in (ln.rpartition(" ") for ln in lines if ln[:1] != "#")}


def metric(port: int, name: str) -> float:
    samples = scrape(port)
    if name not in samples:
        raise AssertionError(f"{name} not in /metrics")
    return samples[name]


def check_commit_times(port: int) -> None:
    """smsc_commit_seconds counts exactly the commits of each path, in monotone buckets."""
    samples = scrape(port)
    loop = samples['smsc_commit_seconds_count{path="loop"}']
    process = samples['smsc_commit_seconds_count{path="process"}']
    assert loop == samples["smsc_commits_on_loop_total"] >= 1
    assert process == samples["smsc_commits_in_process_total"] >= 1
    for path, count in (("loop", loop), ("process", process)):
        buckets = [
            v
            for k, v in samples.items()
            if k.startswith('smsc_commit_seconds_bucket{le="') and f'path="{path}"' in k
        ]
        assert buckets == sorted(buckets) and buckets[-1] == count
        assert samples[f'smsc_commit_seconds_bucket{{le="+Inf",path="{path}"}}'] == count
        assert 0 < samples[f'smsc_commit_seconds_sum{{path="{path}"}}'] < count * 5.0


def check_pdu_counts(port: int, submits: int) -> None:
    """smsc_pdus counts each PDU type once per PDU, in and out."""

    def pdus(direction: str, kind: str) -> float:
        key = f'smsc_pdus_total{{direction="{direction}",protocol="smpp",type="{kind}"}}'
        return scrape(port).get(key, 0.0)

    assert pdus("in", "bind_transceiver") == 1
    assert pdus("in", "submit_sm") == submits
    assert pdus("out", "deliver_sm") >= submits  # one receipt each, plus any resent
    deadline = time.monotonic() + 10
    while pdus("in", "deliver_sm_resp") < pdus("out", "deliver_sm"):
        assert time.monotonic() < deadline, "deliver_sm_resp not counted"
        time.sleep(0.05)
    assert pdus("in", "deliver_sm_resp") == pdus("out", "deliver_sm")


def test_lone_submits_commit_on_the_loop_and_windows_in_the_commit_process(make_server) -> None:
    server = make_server(CONFIG)
    assert server.proc is not None
    pid = server.proc.pid
    admin = server.ports["admin"]
    c = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        ids = submit_batched(c, 1, batch=1)
        assert metric(admin, "smsc_commits_on_loop_total") >= 1
        ids += submit_batched(c, 400, batch=100)
        assert len(set(ids)) == 401
        assert metric(admin, "smsc_commits_in_process_total") >= 1
        c.read_until(lambda: len(c.receipts()) >= 401, timeout=60)  # receipts and acks too
        check_commit_times(admin)
        check_pdu_counts(admin, submits=401)
    finally:
        c.close()
    kids = children(pid)
    assert len(kids) == 1, kids
    assert b"commit_process.py" in Path(f"/proc/{kids[0]}/cmdline").read_bytes()
    for message_id in (ids[0], ids[200], ids[-1]):  # stored, as acknowledged
        status, body = server.admin(f"/api/messages/{message_id}")
        assert status == 200, body

    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while not exited(kids[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exited(kids[0]), "the commit process outlived its server"

    server.start()  # the database is consistent and every acknowledged message is there
    for message_id in (ids[0], ids[200], ids[-1]):
        status, body = server.admin(f"/api/messages/{message_id}")
        assert status == 200, body
