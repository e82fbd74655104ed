"""The independent conformance client (conformance/cmpp_client.py) against cmpp.md §7, and
against a tiny threaded ISMG built on CmppSession over a real 127.0.0.1 socket."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime

import cmpp_vectors as v
import pytest

from conformance import cmpp_client as cc
from protocols.cmpp import CmppSession, CommandId, Pdu, StatusReport, codec
from protocols.cmpp.auth import authenticator_ismg, verify_source
from protocols.cmpp.msgid import MsgIdGenerator
from protocols.cmpp.session import ConnectRequested, RequestReceived

SUBMIT_ARGS = dict(
    dest="13800138000",
    src_id="106900001234",
    msg_src="901234",
    service_id="TEST01",
    content="你好世界".encode("utf-16-be"),
    msg_fmt=8,
    registered_delivery=1,
    feetype="01",
    feecode="000000",
)
LONG1 = bytes.fromhex("050003a50201") + "长短信第一段".encode("utf-16-be")


@pytest.mark.parametrize(("version", "wire"), [(0x20, v.CONNECT_20), (0x30, v.CONNECT_30)])
def test_build_connect_vector(version: int, wire: bytes) -> None:
    assert cc.build_connect(1, v.SP_ID, v.SECRET, version, v.TIMESTAMP) == wire
    assert cc.authenticator_source(v.SP_ID, v.SECRET, v.TIMESTAMP) == v.AUTH_SOURCE


@pytest.mark.parametrize(
    ("version", "wire", "auth"),
    [(0x20, v.CONNECT_RESP_OK_20, v.AUTH_ISMG_20), (0x30, v.CONNECT_RESP_OK_30, v.AUTH_ISMG_30)],
)
def test_parse_connect_resp_vector(version: int, wire: bytes, auth: bytes) -> None:
    resp = cc.parse_connect_resp(wire, version)
    assert resp == {"seq": 1, "status": 0, "authenticator_ismg": auth, "version": version}
    assert cc.authenticator_ismg(0, v.AUTH_SOURCE, v.SECRET, version) == auth
    assert (
        cc.parse_connect_resp(
            v.CONNECT_RESP_AUTHFAIL_30 if version == 0x30 else v.CONNECT_RESP_AUTHFAIL_20, version
        )["status"]
        == 3
    )


@pytest.mark.parametrize(("version", "wire"), [(0x20, v.SUBMIT_UCS2_20), (0x30, v.SUBMIT_UCS2_30)])
def test_build_submit_vector(version: int, wire: bytes) -> None:
    assert cc.build_submit(2, version, **SUBMIT_ARGS) == wire


def test_build_long_submit_vectors() -> None:
    args = {**SUBMIT_ARGS, "content": LONG1, "pk_total": 2, "pk_number": 1, "tp_udhi": 1}
    assert cc.build_submit(3, 0x20, **args) == v.SUBMIT_LONG1_20
    assert cc.build_submit(3, 0x30, **args) == v.SUBMIT_LONG1_30


def test_parse_responses_and_delivers() -> None:
    assert cc.parse_submit_resp(v.SUBMIT_RESP_20, 0x20)["msg_id"] == v.SUBMIT_MSG_ID
    assert cc.parse_submit_resp(v.SUBMIT_RESP_FLOW_30, 0x30)["result"] == 8
    mo = cc.parse_deliver(v.DELIVER_MO_30, 0x30)
    assert mo["msg_content"].decode("gb18030") == "你好"
    assert mo["link_id"] == "20251122103100000001" and mo["report"] is None
    for version, wire in [(0x20, v.DELIVER_REPORT_20), (0x30, v.DELIVER_REPORT_30)]:
        rep = cc.parse_deliver(wire, version)["report"]
        assert rep == {
            "msg_id": v.SUBMIT_MSG_ID,
            "stat": "DELIVRD",
            "submit_time": "2511221030",
            "done_time": "2511221031",
            "dest_terminal_id": "13800138000",
            "smsc_sequence": 12345,
        }
    assert cc.parse_cancel_resp(v.CANCEL_RESP_20, 0x20) == {"seq": 10, "success_id": 0}
    assert cc.parse_cancel_resp(v.CANCEL_RESP_30, 0x30) == {"seq": 10, "success_id": 0}


def test_build_small_pdus_vectors() -> None:
    assert cc.build_deliver_resp(100, 0x20, v.MO_MSG_ID) == v.DELIVER_RESP_20
    assert cc.build_deliver_resp(100, 0x30, v.MO_MSG_ID) == v.DELIVER_RESP_30
    assert cc.build_active_test(7) == v.ACTIVE_TEST
    assert cc.build_active_test_resp(7) == v.ACTIVE_TEST_RESP
    assert cc.build_terminate(8) == v.TERMINATE
    assert cc.build_terminate_resp(8) == v.TERMINATE_RESP
    assert cc.build_query(9, "20251122") == v.QUERY
    assert cc.build_cancel(10, v.SUBMIT_MSG_ID) == v.CANCEL


def test_split_text() -> None:
    assert cc.split_text("hi") == (0, [(0, b"hi")])
    fmt, parts = cc.split_text("短" * 70)
    assert fmt == 8 and len(parts) == 1
    fmt, parts = cc.split_text("长" * 140, reference=0xA5)
    assert [p[1][:6] for p in parts] == [bytes([5, 0, 3, 0xA5, 3, i]) for i in (1, 2, 3)]
    assert all(udhi == 1 and len(c) <= 140 for udhi, c in parts)
    text = "a" * 66 + "😀" + "b" * 10  # the pair would straddle the 67-char cut
    _, parts = cc.split_text(text)
    assert b"".join(c[6:] for _, c in parts).decode("utf-16-be") == text


def test_frame_buffer() -> None:
    fb = cc.FrameBuffer()
    stream = v.ACTIVE_TEST + v.SUBMIT_RESP_30
    assert fb.feed(stream[:5]) == []
    assert fb.feed(stream[5:]) == [v.ACTIVE_TEST, v.SUBMIT_RESP_30]
    with pytest.raises(cc.CmppClientError):
        fb.feed(b"\x00\x00\x00\x01")


# ------------------------------------------------------------------ end to end over TCP


class MiniIsmg:
    """A test-only ISMG: CmppSession + a thread per connection. Reports every SUBMIT that
    asks for one and answers ACTIVE_TEST via the session."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.ids = MsgIdGenerator(79101)
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        s = CmppSession("ismg", now=time.monotonic())
        with conn:
            while not s.closed:
                data = conn.recv(65536)
                if not data:
                    return
                for ev in s.receive_data(data, time.monotonic()):
                    self._on(s, ev)
                conn.sendall(s.data_to_send())

    def _on(self, s: CmppSession, ev: object) -> None:
        if isinstance(ev, ConnectRequested):
            p = ev.pdu
            if verify_source(p.source_addr, v.SECRET, p.timestamp, p.authenticator_source):
                s.accept_connect(
                    p, authenticator_ismg(0, p.authenticator_source, v.SECRET, ev.version)
                )
            else:
                s.reject_connect(p, 3)
        elif isinstance(ev, RequestReceived) and ev.pdu.command_id == CommandId.SUBMIT:
            msg_id = self.ids.next(datetime.now())
            s.send_response(ev.pdu, msg_id=msg_id, result=0)
            if ev.pdu.registered_delivery == 1 and s.outbound_available:
                report = StatusReport(
                    msg_id, "DELIVRD", "2511221030", "2511221031", ev.pdu.dest_terminal_id[0], 0
                )
                s.send_request(
                    Pdu.make(
                        CommandId.DELIVER,
                        msg_id=self.ids.next(datetime.now()),
                        dest_id=ev.pdu.src_id,
                        src_terminal_id=ev.pdu.dest_terminal_id[0],
                        registered_delivery=1,
                        msg_content=codec.encode_report(report, s.layout),
                    ),
                    time.monotonic(),
                )
        elif isinstance(ev, RequestReceived) and ev.pdu.command_id == CommandId.QUERY:
            s.send_response(ev.pdu, time=ev.pdu.time, mt_tlmsg=7)
        elif isinstance(ev, RequestReceived) and ev.pdu.command_id == CommandId.CANCEL:
            s.send_response(ev.pdu, success_id=1)

    def close(self) -> None:
        self.stop = True
        self.listener.close()


@pytest.fixture
def ismg():
    server = MiniIsmg()
    yield server
    server.close()


@pytest.mark.parametrize("version", [0x20, 0x30])
def test_end_to_end(ismg: MiniIsmg, version: int) -> None:
    with cc.CmppTestClient("127.0.0.1", ismg.port, version, timeout=5) as client:
        assert client.connect(v.SP_ID, v.SECRET) == 0
        result, msg_id = client.submit("13800138000", "hello", src_id="106900001234")
        assert result == 0 and msg_id >> 16 & 0x3FFFFF == 79101
        deliver = client.read_deliver(timeout=5)
        assert deliver is not None and deliver["report"]["msg_id"] == msg_id
        parts = client.submit_long("13800138000", "长" * 100)
        assert len(parts) == 2 and all(r == 0 for r, _ in parts)
        assert client.active_test()
        assert client.query("20251122")["mt_tlmsg"] == 7
        assert client.cancel(msg_id) == 1
        outcomes = client.submit_many(200, window=16, registered_delivery=0)
        assert len(outcomes) == 200 and {o.result for o in outcomes} == {0}
        assert len({o.msg_id for o in outcomes}) == 200
        client.terminate()


def test_wrong_secret_is_status_3(ismg: MiniIsmg) -> None:
    with cc.CmppTestClient("127.0.0.1", ismg.port, 0x30, timeout=5) as client:
        assert client.connect(v.SP_ID, "nope") == 3
