"""Sans-IO CMPP session (cmpp.md §6): bytes in, events and bytes out."""

from __future__ import annotations

import struct

import cmpp_vectors as v
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.cmpp import CommandId as C
from protocols.cmpp import Pdu, codec
from protocols.cmpp.auth import authenticator_ismg, authenticator_source
from protocols.cmpp.session import (
    TRANSITIONS,
    CmppSession,
    ConnectionShouldClose,
    ConnectRequested,
    Event,
    InvalidState,
    ProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    SessionError,
    SessionState,
    Terminated,
    TerminateRequested,
    WindowFull,
)

CONNECT = {0x20: v.CONNECT_20, 0x30: v.CONNECT_30}
CONNECT_OK = {0x20: v.CONNECT_RESP_OK_20, 0x30: v.CONNECT_RESP_OK_30}
AUTH_ISMG = {0x20: v.AUTH_ISMG_20, 0x30: v.AUTH_ISMG_30}
SUBMIT = {0x20: v.SUBMIT_UCS2_20, 0x30: v.SUBMIT_UCS2_30}
SUBMIT_RESP = {0x20: v.SUBMIT_RESP_20, 0x30: v.SUBMIT_RESP_30}


def with_seq(frame: bytes, seq: int) -> bytes:
    return frame[:8] + struct.pack(">L", seq) + frame[12:]


def connected(version: int = 0x30, **kwargs) -> CmppSession:
    s = CmppSession("ismg", **kwargs)
    (ev,) = s.receive_data(CONNECT[version], 0.0)
    assert isinstance(ev, ConnectRequested)
    s.accept_connect(ev.pdu, AUTH_ISMG[version])
    s.data_to_send()
    return s


@pytest.mark.parametrize("version", [0x20, 0x30])
def test_login_and_submit_exact_bytes(version: int) -> None:
    s = CmppSession("ismg")
    (ev,) = s.receive_data(CONNECT[version], 0.0)
    assert isinstance(ev, ConnectRequested) and ev.version == version
    assert ev.pdu.source_addr == v.SP_ID and ev.pdu.timestamp == v.TIMESTAMP
    assert authenticator_source(v.SP_ID, v.SECRET, ev.pdu.timestamp) == ev.pdu.authenticator_source
    auth = authenticator_ismg(0, ev.pdu.authenticator_source, v.SECRET, ev.version)
    s.accept_connect(ev.pdu, auth)
    assert s.data_to_send() == CONNECT_OK[version]
    assert s.state is SessionState.CONNECTED and s.version == version
    (ev,) = s.receive_data(SUBMIT[version], 1.0)
    assert isinstance(ev, RequestReceived) and ev.pdu.src_id == "106900001234"
    assert s.inbound_outstanding == 1
    s.send_response(ev.pdu, msg_id=v.SUBMIT_MSG_ID, result=0)
    assert s.data_to_send() == SUBMIT_RESP[version]
    assert s.inbound_outstanding == 0


def test_client_version_21_gets_20_layouts() -> None:
    s = CmppSession("ismg")
    (ev,) = s.receive_data(v.CONNECT_20[:34] + b"\x21" + v.CONNECT_20[35:], 0.0)
    s.accept_connect(ev.pdu, v.AUTH_ISMG_20)
    assert len(s.data_to_send()) == 30
    (ev,) = s.receive_data(v.SUBMIT_UCS2_20, 0.0)
    assert isinstance(ev, RequestReceived)


@pytest.mark.parametrize(
    ("version", "wire"), [(0x20, v.CONNECT_RESP_AUTHFAIL_20), (0x30, v.CONNECT_RESP_AUTHFAIL_30)]
)
def test_reject_connect(version: int, wire: bytes) -> None:
    s = CmppSession("ismg")
    (ev,) = s.receive_data(CONNECT[version], 0.0)
    assert s.reject_connect(ev.pdu, 3) == [ConnectionShouldClose("CONNECT rejected with Status 3")]
    assert s.data_to_send() == wire
    assert s.closed
    assert s.receive_data(SUBMIT[version], 0.0) == []


def test_version_too_high_is_status_4_and_close() -> None:
    s = CmppSession("ismg")
    events = s.receive_data(v.CONNECT_30[:34] + b"\x40" + v.CONNECT_30[35:], 0.0)
    assert [type(e) for e in events] == [ProtocolError, ConnectionShouldClose]
    resp = codec.decode(s.data_to_send(), 0x30)
    assert resp.command_id == C.CONNECT_RESP and resp.status == 4


def test_pinned_20_account_refuses_30_client() -> None:
    s = CmppSession("ismg", version=0x20)
    events = s.receive_data(v.CONNECT_30, 0.0)
    assert isinstance(events[-1], ConnectionShouldClose)
    assert codec.decode(s.data_to_send(), 0x30).status == 4


def test_malformed_connect_is_status_1() -> None:
    s = CmppSession("ismg")
    bad = struct.pack(">L", 38) + v.CONNECT_30[4:38]
    events = s.receive_data(bad, 0.0)
    assert isinstance(events[0], ProtocolError) and events[0].result == 1
    assert isinstance(events[-1], ConnectionShouldClose)
    assert codec.decode(s.data_to_send(), 0x30).status == 1


def test_first_pdu_not_connect_closes_without_answer() -> None:
    s = CmppSession("ismg")
    events = s.receive_data(v.SUBMIT_UCS2_30, 0.0)
    assert isinstance(events[-1], ConnectionShouldClose)
    assert s.data_to_send() == b""


def test_active_test_answered_by_session() -> None:
    s = connected()
    assert s.receive_data(v.ACTIVE_TEST, 5.0) == []
    assert s.data_to_send() == v.ACTIVE_TEST_RESP


def test_peer_terminate() -> None:
    s = connected()
    events = s.receive_data(v.TERMINATE, 5.0)
    assert [type(e) for e in events] == [TerminateRequested, ConnectionShouldClose]
    assert s.data_to_send() == v.TERMINATE_RESP
    assert s.closed


def test_our_terminate_and_its_timeout() -> None:
    s = connected()
    seq = s.terminate(1.0)
    assert s.state is SessionState.TERMINATING
    assert codec.decode(s.data_to_send(), 0x30) == Pdu(C.TERMINATE, seq, {})
    events = s.receive_data(with_seq(v.TERMINATE_RESP, seq), 2.0)
    assert [type(e) for e in events] == [Terminated, ConnectionShouldClose]
    s = connected()
    s.terminate(1.0)
    assert s.next_deadline() == 61.0
    assert s.tick(60.9) == []
    (ev,) = s.tick(61.0)
    assert isinstance(ev, ConnectionShouldClose) and s.closed


def test_pipelined_chunk_and_byte_by_byte_give_same_events() -> None:
    frames = b"".join(with_seq(v.SUBMIT_UCS2_30, i) for i in range(1, 11))
    a = connected()
    whole = a.receive_data(frames, 1.0)
    b = connected()
    pieces = [e for i in range(len(frames)) for e in b.receive_data(frames[i : i + 1], 1.0)]
    assert whole == pieces
    assert [e.pdu.sequence for e in whole] == list(range(1, 11))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_any_chunking_gives_same_events(cuts: list[int]) -> None:
    frames = (
        b"".join(with_seq(v.SUBMIT_LONG1_30, i) for i in range(1, 6))
        + v.ACTIVE_TEST
        + v.QUERY
        + v.CANCEL
    )
    expected = connected().receive_data(frames, 1.0)
    s = connected()
    got, pos = [], 0
    for cut in cuts:
        got += s.receive_data(frames[pos : pos + cut], 1.0)
        pos += cut
    got += s.receive_data(frames[pos:], 1.0)
    assert got == expected and len(got) == 7


def test_inbound_window_answers_flow_control() -> None:
    s = connected(window=16)
    frames = b"".join(with_seq(v.SUBMIT_UCS2_30, i) for i in range(1, 18))
    events = s.receive_data(frames, 1.0)
    assert sum(isinstance(e, RequestReceived) for e in events) == 16
    assert events[-1] == ProtocolError(8, "window of 16 exceeded", 17, C.SUBMIT)
    assert s.data_to_send() == with_seq(v.SUBMIT_RESP_FLOW_30, 17)
    s.send_response(events[0].pdu, msg_id=1, result=0)
    s.data_to_send()
    (ev,) = s.receive_data(with_seq(v.SUBMIT_UCS2_30, 18), 1.0)
    assert isinstance(ev, RequestReceived)


def test_window_can_be_left_to_the_owner() -> None:
    s = connected(window=2, reject_over_window=False)
    events = s.receive_data(v.SUBMIT_UCS2_30 * 3, 1.0)  # same seq thrice: dup detection
    assert isinstance(events[0], RequestReceived)
    assert [e.result for e in events[1:]] == [3, 3]


def test_duplicate_sequence_is_result_3() -> None:
    s = connected()
    events = s.receive_data(v.SUBMIT_UCS2_30 + v.SUBMIT_UCS2_30, 1.0)
    assert isinstance(events[0], RequestReceived)
    assert events[1].result == 3
    resp = codec.decode(s.data_to_send(), 0x30)
    assert (resp.command_id, resp.sequence, resp.result) == (C.SUBMIT_RESP, 2, 3)


def test_malformed_submit_is_answered_with_codec_result() -> None:
    s = connected()
    bad = bytearray(v.SUBMIT_UCS2_30)
    bad[0xAE] = 200  # Msg_Length beyond the frame
    (ev,) = s.receive_data(bytes(bad), 1.0)
    assert isinstance(ev, ProtocolError) and ev.result == 4 and ev.seq == 2
    resp = codec.decode(s.data_to_send(), 0x30)
    assert (resp.command_id, resp.result, resp.msg_id) == (C.SUBMIT_RESP, 4, 0)
    assert not s.closed


def test_unknown_command_ids_close_after_max_garbage() -> None:
    s = connected(max_garbage=3)
    junk = struct.pack(">LLL", 16, 0x00000003, 9) + b"abcd"
    events = s.receive_data(junk * 2, 1.0)
    assert [e.result for e in events] == [2, 2] and not s.closed
    events = s.receive_data(junk + v.ACTIVE_TEST, 1.0)
    assert isinstance(events[-1], ConnectionShouldClose)
    assert s.data_to_send() == b""  # nothing after the close


@pytest.mark.parametrize("length", [0, 11, 5000])
def test_bad_total_length_closes(length: int) -> None:
    s = connected()
    events = s.receive_data(struct.pack(">LLL", length, 4, 1), 1.0)
    assert isinstance(events[-1], ConnectionShouldClose) and s.closed


def test_heartbeat_sent_resent_then_close() -> None:
    s = connected(active_test_interval=180.0, response_timeout=60.0, max_retries=3)
    assert s.next_deadline() == 180.0
    assert s.tick(179.0) == [] and s.data_to_send() == b""
    assert s.tick(180.0) == []
    test1 = codec.decode(s.data_to_send(), 0x30)
    assert test1.command_id == C.ACTIVE_TEST
    assert s.next_deadline() == 240.0
    s.tick(240.0)
    test2 = codec.decode(s.data_to_send(), 0x30)
    assert test2.command_id == C.ACTIVE_TEST and test2.sequence != test1.sequence
    s.tick(300.0)
    assert codec.decode(s.data_to_send(), 0x30).command_id == C.ACTIVE_TEST
    (ev,) = s.tick(360.0)
    assert isinstance(ev, ConnectionShouldClose) and "ACTIVE_TEST" in ev.reason


def test_heartbeat_answer_keeps_link() -> None:
    s = connected()
    s.tick(180.0)
    test = codec.decode(s.data_to_send(), 0x30)
    resp = codec.encode(Pdu.make(C.ACTIVE_TEST_RESP, test.sequence), 0x30)
    assert s.receive_data(resp, 181.0) == []
    assert s.next_deadline() == 361.0


def test_deliver_round_trip_retransmit_and_timeout() -> None:
    s = connected()
    mo = codec.decode(v.DELIVER_MO_30, 0x30)
    seq = s.send_request(mo, 10.0)
    assert s.outbound_outstanding == 1
    wire = s.data_to_send()
    assert wire == with_seq(v.DELIVER_MO_30, seq)
    resp = with_seq(v.DELIVER_RESP_30, seq)
    (ev,) = s.receive_data(resp, 11.0)
    assert isinstance(ev, ResponseReceived) and ev.pdu.result == 0
    assert ev.request.msg_id == v.MO_MSG_ID and s.outbound_outstanding == 0
    seq = s.send_request(mo, 20.0)
    first = s.data_to_send()
    assert s.next_deadline() == 80.0
    assert s.tick(80.0) == [] and s.data_to_send() == first  # resent, same Sequence_Id
    assert s.tick(140.0) == [] and s.data_to_send() == first
    (ev,) = s.tick(200.0)
    assert isinstance(ev, ResponseTimeout) and ev.request.sequence == seq
    assert s.outbound_outstanding == 0


def test_close_returns_unanswered_requests() -> None:
    s = connected()
    mo = codec.decode(v.DELIVER_MO_30, 0x30)
    first = s.send_request(mo, 0.0)
    s.send_request(mo, 0.0)
    s.receive_data(with_seq(v.DELIVER_RESP_30, first), 1.0)
    lost = s.close()
    assert [p.msg_id for p in lost] == [v.MO_MSG_ID] and s.closed
    assert s.outbound_outstanding == 0 and s.next_deadline() is None


def test_outbound_window_and_misuse() -> None:
    s = connected(window=2)
    mo = codec.decode(v.DELIVER_MO_30, 0x30)
    s.send_request(mo, 0.0)
    s.send_request(mo, 0.0)
    assert s.outbound_available == 0 and not s.can_send
    with pytest.raises(WindowFull):
        s.send_request(mo, 0.0)
    with pytest.raises(InvalidState):
        s.send_request(codec.decode(v.SUBMIT_UCS2_30, 0x30), 0.0)  # ISMG does not SUBMIT
    with pytest.raises(SessionError):
        s.send_response(mo, result=0)  # not a pending request
    with pytest.raises(SessionError):
        CmppSession("ismg").send_request(mo, 0.0)


def test_connect_timeout() -> None:
    s = CmppSession("ismg", connect_timeout=30.0, now=100.0)
    assert s.next_deadline() == 130.0
    assert s.tick(129.0) == []
    (ev,) = s.tick(130.0)
    assert isinstance(ev, ConnectionShouldClose)


def test_sp_and_ismg_sessions_talk() -> None:
    """Both roles pumping bytes into each other: login, submit, report, terminate."""
    sp = CmppSession("sp", version=0x20)
    ismg = CmppSession("ismg")
    auth = authenticator_source(v.SP_ID, v.SECRET, v.TIMESTAMP)
    sp.send_request(
        Pdu.make(
            C.CONNECT,
            source_addr=v.SP_ID,
            authenticator_source=auth,
            version=0x20,
            timestamp=v.TIMESTAMP,
        ),
        0.0,
    )
    (ev,) = ismg.receive_data(sp.data_to_send(), 0.0)
    ismg.accept_connect(ev.pdu, authenticator_ismg(0, auth, v.SECRET, ev.version))
    (ev,) = sp.receive_data(ismg.data_to_send(), 0.0)
    assert isinstance(ev, ResponseReceived) and ev.pdu.authenticator_ismg == v.AUTH_ISMG_20
    assert sp.state is ismg.state is SessionState.CONNECTED
    sp.send_request(codec.decode(v.SUBMIT_UCS2_20, 0x20), 1.0)
    (ev,) = ismg.receive_data(sp.data_to_send(), 1.0)
    ismg.send_response(ev.pdu, msg_id=v.SUBMIT_MSG_ID, result=0)
    (ev,) = sp.receive_data(ismg.data_to_send(), 1.0)
    assert ev.pdu.msg_id == v.SUBMIT_MSG_ID
    ismg.send_request(codec.decode(v.DELIVER_REPORT_20, 0x20), 2.0)
    (ev,) = sp.receive_data(ismg.data_to_send(), 2.0)
    assert codec.decode_report(ev.pdu.msg_content, 0x20).msg_id == v.SUBMIT_MSG_ID
    sp.send_response(ev.pdu, msg_id=ev.pdu.msg_id, result=0)
    (ev,) = ismg.receive_data(sp.data_to_send(), 2.0)
    assert isinstance(ev, ResponseReceived) and ev.pdu.msg_id == v.REPORT_DELIVER_MSG_ID
    sp.terminate(3.0)
    events = ismg.receive_data(sp.data_to_send(), 3.0)
    assert isinstance(events[0], TerminateRequested)
    events = sp.receive_data(ismg.data_to_send(), 3.0)
    assert [type(e) for e in events] == [Terminated, ConnectionShouldClose]


def test_transition_table_is_printable() -> None:
    rows = {
        f"{role}/{state.value}": sorted(c.name for c in cmds)
        for (role, state), cmds in TRANSITIONS.items()
    }
    assert rows["ismg/open"] == ["CONNECT"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8), st.booleans())
def test_receive_data_never_raises(chunks: list[bytes], logged_in: bool) -> None:
    s = connected() if logged_in else CmppSession("ismg")
    for i, chunk in enumerate(chunks):
        for ev in s.receive_data(chunk, float(i)):
            assert isinstance(ev, Event)
            assert isinstance(
                ev,
                ConnectRequested
                | RequestReceived
                | ResponseReceived
                | ProtocolError
                | ConnectionShouldClose
                | TerminateRequested,
            )
        s.tick(float(i) * 100)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([int(c) for c in C] + [3, 0x80000003]), st.binary(max_size=40)),
        max_size=6,
    )
)
def test_framed_garbage_never_raises(frames: list[tuple[int, bytes]]) -> None:
    s = connected()
    data = b"".join(struct.pack(">LLL", 12 + len(b), cid, 1) + b for cid, b in frames)
    s.receive_data(data, 1.0)
    s.data_to_send()
