"""The vendor HTTP facade in a real ``smsc serve`` process: pushes survive a crash.

A CAIH client sends to three numbers while the customer's report endpoint is down; the
server is killed (SIGKILL) after the reports came due; the endpoint comes up and the server
restarts: every report arrives, each exactly once. The same account's MO reaches the MO URL
because it has no bind.
"""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

BEIJING = timezone(timedelta(hours=8))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """A customer's endpoint in a thread: records every request body, answers 200."""

    def __init__(self, port: int) -> None:
        got = self.got = []  # type: list[tuple[str, bytes]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                n = int(self.headers.get("Content-Length") or 0)
                got.append((self.path, self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def extra(port: int) -> str:
    return f"""
[http]
push_retry_s = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]

[carrier]
default = {{ outcome = "DELIVRD", delay_ms = 100 }}

[[accounts]]
name = "shop"
balance = 100
service_codes = ["1069555"]
signatures = [{{ text = "中国东信", status = "approved" }}]
templates = [{{ id = "1", text = "您的验证码为:{{$var}}", kind = "verification" }}]
http = {{ caih = {{ account = "acc1", app_id = "app1", token = "tok1" }} }}
callbacks = {{ report_url = "http://127.0.0.1:{port}/dlr", mo_url = "http://127.0.0.1:{port}/mo" }}
"""


def sendsms(http_port: int, phones: str) -> dict[str, Any]:
    ts = datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")
    body = {
        "account": "acc1",
        "password": hashlib.md5(("tok1" + ts).encode()).hexdigest(),
        "appId": "app1",
        "timestamp": ts,
        "phone": phones,
        "content": "【中国东信】您的验证码为:1234",
        "uid": "order-7",
    }
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/sendsms",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json;charset=utf-8"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """None: the server's SQLite file; else a throwaway PostgreSQL database."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


def test_reports_due_while_the_customer_is_down_survive_sigkill(
    make_server, storage_url: str | None
) -> None:
    port = free_port()
    server = make_server(extra(port), url=storage_url)
    answer = sendsms(server.ports["http"], "13800138000,13800138001,13800138002")
    assert answer["code"] == "0", answer
    status, _ = server.admin("/api/mo", {"from": "13900000009", "to": "1069555042", "text": "好的"})
    assert status in (200, 201)
    time.sleep(1.5)  # reports came due and their first pushes failed (nothing listens)
    server.stop(signal.SIGKILL)

    sink = Sink(port)
    try:
        server.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            dlr = [b for p, b in sink.got if p.startswith("/dlr")]
            mo = [b for p, b in sink.got if p.startswith("/mo")]
            if len(dlr) >= 3 and len(mo) >= 1:
                break
            time.sleep(0.1)
        time.sleep(2.0)  # anything pushed twice would show up now
        dlr = [json.loads(b) for p, b in sink.got if p.startswith("/dlr")]
        mo = [json.loads(b) for p, b in sink.got if p.startswith("/mo")]
        assert sorted(r["phone"] for r in dlr) == ["13800138000", "13800138001", "13800138002"]
        assert {r["msgid"] for r in dlr} == {answer["msgid"]}
        assert {r["uid"] for r in dlr} == {"order-7"}
        assert {(r["status"], r["desc"]) for r in dlr} == {("SUCCESS", "DELIVRD")}
        assert len(mo) == 1
        # the configured balance applies once: a restart does not refill what was spent
        status, acc = server.admin("/api/accounts/shop")
        assert status == 200 and acc["balance"] == 97
        server.stop()
    finally:
        sink.stop()


def test_mo_reaches_the_http_url_only_while_the_account_has_no_smpp_bind(make_server) -> None:
    from tests.e2e.smpp_client import Collector

    port = free_port()
    sink = Sink(port)
    server = make_server(
        f"""
[[accounts]]
name = "both"
service_codes = ["1069666"]
smpp = {{ system_id = "both", password = "pw" }}
http = {{ zrwinfo = {{ accesskey = "akb", secret = "skb" }} }}
callbacks = {{ mo_url = "http://127.0.0.1:{port}/mo" }}
"""
    )
    try:

        def mo(text: str) -> None:
            status, body = server.admin(
                "/api/mo", {"from": "13800138000", "to": "1069666777", "text": text}
            )
            assert status == 201 and body["account"] == "both", body

        def http_texts() -> list[str]:
            return [json.loads(b)[0]["content"] for p, b in sink.got if p == "/mo"]

        def wait(predicate: Any) -> None:
            deadline = time.monotonic() + 10
            while not predicate() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert predicate()

        mo("first")  # no bind: by HTTP, in the account's dialect (zrwinfo: JSON array)
        wait(lambda: http_texts() == ["first"])
        assert json.loads(sink.got[0][1])[0]["extno"] == "777"

        rx = Collector(server.ports["smpp"]).connect("receiver", "both", "pw")
        try:
            mo("second")  # a bound receiver takes it; HTTP does not
            rx.read_until(lambda: len(rx.delivers) == 1)
            assert bytes(rx.delivers[0].short_message) == b"second"
            time.sleep(0.5)
            assert http_texts() == ["first"]
        finally:
            rx.close()
        time.sleep(0.3)  # the unbind reached the server
        mo("third")
        wait(lambda: http_texts() == ["first", "third"])
    finally:
        sink.stop()


def test_a_vendor_on_its_own_port_serves_only_that_vendor(make_server) -> None:
    port = free_port()
    own = free_port()
    server = make_server(extra(port).replace("[http]\n", f"[http]\nports = {{ caih = {own} }}\n"))
    assert server.ports["http_caih"] == own
    answer = sendsms(own, "13800138000")
    assert answer["code"] == "0", answer
    req = urllib.request.Request(f"http://127.0.0.1:{own}/send/getfee.asp?name=a&pwd=b")
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("another vendor's path answered on caih's own port")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    # and the shared listener still serves it too
    assert sendsms(server.ports["http"], "13800138001")["code"] == "0"


def test_vendor_listener_over_https(make_server, tmp_path) -> None:
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    config = extra(free_port()).replace(
        "[http]\n", f'[http]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    )
    server = make_server(config)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    ts = datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")
    body = {
        "account": "acc1",
        "password": hashlib.md5(("tok1" + ts).encode()).hexdigest(),
        "appId": "app1",
        "timestamp": ts,
        "phone": "13800138000",
        "content": "【中国东信】您的验证码为:1234",
    }
    req = urllib.request.Request(
        f"https://127.0.0.1:{server.ports['http']}/sendsms",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json;charset=utf-8"},
    )
    with urllib.request.urlopen(req, timeout=10, context=context) as resp:
        assert json.loads(resp.read())["code"] == "0"
    status, _ = server.admin("/health")  # the admin API stays plain HTTP on loopback
    assert status == 200
