"""CMPP 2.0 and 3.0 end to end: the spec-written test client against a real server process."""

from __future__ import annotations

import time

import pytest

from conformance.cmpp_client import CmppTestClient

FAST = """
[carrier]
default = { outcome = "DELIVRD", delay_ms = 200 }
"""

LONG = "你好，这是一条用于测试长短信拆分与重组的中文消息。" * 6  # 150 characters: 3 parts


def _reports(client: CmppTestClient, n: int, timeout: float = 15.0) -> list[dict]:
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        d = client.read_deliver(timeout=1.0)
        if d is not None and d["report"] is not None:
            out.append(d)
    return out


@pytest.mark.parametrize("version", [0x20, 0x30])
def test_connect_submit_reports(make_server, version: int) -> None:
    server = make_server(FAST)
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=version) as c:
        assert c.connect("901234", "s3cret") == 0
        result, short_id = c.submit("13800138000", "hello", src_id="106900001")
        assert result == 0 and short_id != 0
        parts = c.submit_long("13800138000", LONG[:150], src_id="1069000019")
        assert len(parts) == 3 and all(r == 0 for r, _ in parts)
        ids = {short_id, *(m for _, m in parts)}
        assert len(ids) == 4
        reports = _reports(c, 4)
        assert {r["report"]["msg_id"] for r in reports} == ids
        for r in reports:
            assert r["report"]["stat"] == "DELIVRD"
            assert r["src_terminal_id"] == "13800138000"
        c.terminate()


def test_wrong_secret_is_status_3(server) -> None:
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x30) as c:
        assert c.connect("901234", "wrong") == 3


def test_unknown_sp_is_status_2(server) -> None:
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x20) as c:
        assert c.connect("999999", "s3cret") == 2


def test_src_id_outside_service_codes_is_result_10(server) -> None:
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x30) as c:
        assert c.connect("901234", "s3cret") == 0
        result, _ = c.submit("13800138000", "hi", src_id="10655555")
        assert result == 10


def test_mo_reaches_cmpp_connection(server) -> None:
    with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x30) as c:
        assert c.connect("901234", "s3cret") == 0
        status, body = server.admin(
            "/api/mo", {"from": "13800138000", "to": "106900001123", "text": "TD"}
        )
        assert status == 201 and body["account"] == "acme"
        d = c.read_deliver(timeout=10)
        assert d is not None and d["report"] is None
        assert d["dest_id"] == "106900001123"
        assert d["src_terminal_id"] == "13800138000"
        assert d["msg_content"] == b"TD"


def test_receipts_go_back_over_the_protocol_they_came_in_on(make_server) -> None:
    """The same account over SMPP and CMPP: each receipt returns on its own protocol."""
    from tests.e2e.smpp_client import Collector, _s

    server = make_server(FAST)
    smpp = Collector(server.ports["smpp"]).connect("transceiver")
    try:
        with CmppTestClient("127.0.0.1", server.ports["cmpp"], version=0x30) as c:
            assert c.connect("901234", "s3cret") == 0
            smpp.submit("via smpp")
            smpp.read_until(lambda: len(smpp.message_ids()) == 1)
            result, cmpp_id = c.submit("13800138001", "via cmpp", src_id="106900001")
            assert result == 0
            reports = _reports(c, 1)
            assert [r["report"]["msg_id"] for r in reports] == [cmpp_id]
            smpp.read_until(lambda: len(smpp.receipts()) == 1)
            assert _s(smpp.receipts()[0].receipted_message_id) == smpp.message_ids()[0]
            time.sleep(0.5)  # nothing else may arrive on either side
            assert c.read_deliver(timeout=0.5) is None
            smpp.client.timeout = 0.5
            assert len(smpp.receipts()) == 1
    finally:
        smpp.close()
    status, view = server.admin(f"/api/messages/{cmpp_id}")
    assert status == 200 and view["parts"][0]["protocol"] == "cmpp"
