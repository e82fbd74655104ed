"""Sans-IO SMPP session: bytes in, events and bytes out (smpp.md §1 framing, §6 states)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.smpp.pdu import CommandId, CommandStatus, Pdu, decode, encode
from protocols.smpp.session import (
    BindRequested,
    BindState,
    ConnectionShouldClose,
    InvalidState,
    ProtocolError,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    Role,
    SessionError,
    SmppSession,
    UnbindRequested,
    Unbound,
    WindowFull,
    format_tables,
)

C = CommandId
S = CommandStatus
B = BindState


def frames(data: bytes) -> list[Pdu]:
    """Split an outgoing byte string into decoded PDUs."""
    out, off = [], 0
    while off < len(data):
        n = int.from_bytes(data[off : off + 4], "big")
        out.append(decode(data[off : off + n]))
        off += n
    return out


def raw(cid: int, seq: int, body: bytes = b"", status: int = 0) -> bytes:
    return (
        (16 + len(body)).to_bytes(4, "big")
        + b"".join(x.to_bytes(4, "big") for x in (cid, status, seq))
        + body
    )


def bind_pdu(cid: int = C.bind_transceiver, seq: int = 1, version: int = 0x34) -> bytes:
    return encode(
        Pdu.make(cid, sequence=seq, system_id="acme", password="secret", interface_version=version)
    )


def submit(seq: int, text: bytes = b"hi") -> bytes:
    return encode(
        Pdu.make(C.submit_sm, sequence=seq, destination_addr="447700900123", short_message=text)
    )


def bound_smsc(cid: int = C.bind_transceiver, **kw) -> SmppSession:
    s = SmppSession(Role.SMSC, **kw)
    [ev] = s.receive_data(bind_pdu(cid), 0.0)
    assert isinstance(ev, BindRequested)
    assert s.accept_bind(ev.pdu, system_id="SMSCEMU") == []
    s.data_to_send()
    return s


def pair(**kw) -> tuple[SmppSession, SmppSession]:
    """A bound ESME/SMSC pair wired by hand."""
    esme, smsc = SmppSession(Role.ESME, **kw), SmppSession(Role.SMSC, **kw)
    esme.send_request(
        Pdu.make(C.bind_transceiver, system_id="acme", password="secret", interface_version=0x34),
        0.0,
    )
    [ev] = smsc.receive_data(esme.data_to_send(), 0.0)
    smsc.accept_bind(ev.pdu, system_id="SMSCEMU")
    [resp] = esme.receive_data(smsc.data_to_send(), 0.0)
    assert isinstance(resp, ResponseReceived) and resp.pdu.command_status == 0
    assert esme.state is smsc.state is B.BOUND_TRX
    return esme, smsc


# --------------------------------------------------------------------------- binding


@pytest.mark.parametrize(
    ("cid", "state"),
    [
        (C.bind_transmitter, B.BOUND_TX),
        (C.bind_receiver, B.BOUND_RX),
        (C.bind_transceiver, B.BOUND_TRX),
    ],
)
def test_bind_accept_moves_to_bound_state_and_answers_vector_8_2(cid, state) -> None:
    s = SmppSession(Role.SMSC)
    [ev] = s.receive_data(bind_pdu(cid), 0.0)
    assert isinstance(ev, BindRequested) and ev.bind_type is state
    assert s.state is B.OPEN
    s.accept_bind(ev.pdu, system_id="SMSCEMU")
    assert s.state is state
    out = s.data_to_send()
    if cid == C.bind_transceiver:
        assert out.hex() == "0000001d800000090000000000000001534d5343454d55000210000134"
    assert frames(out)[0].command_id == cid | 0x80000000


def test_bind_from_v33_esme_gets_no_tlv() -> None:
    s = SmppSession(Role.SMSC)
    [ev] = s.receive_data(bind_pdu(version=0x33), 0.0)
    s.accept_bind(ev.pdu, system_id="SMSCEMU")
    assert frames(s.data_to_send())[0].tlvs == []


def test_bind_reject_is_header_only_and_closes() -> None:
    s = SmppSession(Role.SMSC)
    [ev] = s.receive_data(bind_pdu(), 0.0)
    events = s.reject_bind(ev.pdu, S.ESME_RINVPASWD)
    assert s.data_to_send().hex() == "00000010800000090000000e00000001"
    assert isinstance(events[0], ConnectionShouldClose) and s.state is B.CLOSED


def test_bind_reject_without_close_allows_retry() -> None:
    s = SmppSession(Role.SMSC)
    [ev] = s.receive_data(bind_pdu(), 0.0)
    assert s.reject_bind(ev.pdu, S.ESME_RBINDFAIL, close=False) == []
    assert s.state is B.OPEN
    [ev2] = s.receive_data(bind_pdu(seq=2), 1.0)
    assert isinstance(ev2, BindRequested)


def test_accept_unknown_bind_is_session_error() -> None:
    s = SmppSession(Role.SMSC)
    with pytest.raises(SessionError):
        s.accept_bind(decode(bind_pdu()))


def test_second_bind_while_pending_gets_rinvbndsts() -> None:
    s = SmppSession(Role.SMSC)
    s.receive_data(bind_pdu(seq=1), 0.0)
    events = s.receive_data(bind_pdu(seq=2), 0.0)
    assert isinstance(events[0], ProtocolError)
    [resp] = frames(s.data_to_send())
    assert (resp.command_status, resp.sequence) == (S.ESME_RINVBNDSTS, 2)


# --------------------------------------------------------------------------- state table

# (bind, request arriving at the SMSC, expected answer command_id, expected status)
STATE_CASES = [
    (None, submit(5), C.submit_sm_resp, S.ESME_RINVBNDSTS),
    (None, raw(C.query_sm, 5, b"1\x00\x00\x00\x00"), C.query_sm_resp, S.ESME_RINVBNDSTS),
    (None, raw(C.unbind, 5), C.unbind_resp, S.ESME_RINVBNDSTS),
    (C.bind_receiver, submit(5), C.submit_sm_resp, S.ESME_RINVBNDSTS),
    (C.bind_receiver, raw(C.cancel_sm, 5, bytes(8)), C.cancel_sm_resp, S.ESME_RINVBNDSTS),
    (C.bind_receiver, raw(C.query_sm, 5, b"1\x00\x00\x00\x00"), C.query_sm_resp, S.ESME_RINVBNDSTS),
    (C.bind_transmitter, bind_pdu(seq=5), C.bind_transceiver_resp, S.ESME_RALYBND),
    (C.bind_receiver, bind_pdu(C.bind_receiver, seq=5), C.bind_receiver_resp, S.ESME_RALYBND),
    (C.bind_transceiver, raw(C.deliver_sm, 5, bytes(17)), C.generic_nack, S.ESME_RINVCMDID),
    (C.bind_transceiver, raw(C.outbind, 5, b"a\x00b\x00"), C.generic_nack, S.ESME_RINVCMDID),
    (C.bind_transceiver, raw(0x00000111, 5), C.generic_nack, S.ESME_RINVCMDID),
]


@pytest.mark.parametrize(("bind", "data", "resp_cid", "status"), STATE_CASES)
def test_request_in_wrong_state_gets_its_resp_with_error(bind, data, resp_cid, status) -> None:
    s = bound_smsc(bind) if bind else SmppSession(Role.SMSC)
    before = s.state
    events = s.receive_data(data, 1.0)
    assert any(isinstance(e, ProtocolError) and e.status == status for e in events)
    [resp] = frames(s.data_to_send())
    assert (resp.command_id, resp.command_status, resp.sequence) == (resp_cid, status, 5)
    assert resp.params == {}  # header only
    assert s.state is before
    assert s.inbound_outstanding == 0


@pytest.mark.parametrize(
    ("bind", "cid"),
    [
        (C.bind_transmitter, C.submit_sm),
        (C.bind_transceiver, C.submit_sm),
        (C.bind_transmitter, C.replace_sm),
        (C.bind_transceiver, C.data_sm),
    ],
)
def test_allowed_requests_reach_the_application(bind, cid) -> None:
    s = bound_smsc(bind)
    pdu = Pdu.make(cid, sequence=9)
    [ev] = s.receive_data(encode(pdu), 1.0)
    assert isinstance(ev, RequestReceived) and ev.pdu == decode(encode(pdu))
    assert s.inbound_outstanding == 1
    s.send_response(ev.pdu, message_id="abc") if cid != C.replace_sm else s.send_response(ev.pdu)
    assert s.inbound_outstanding == 0
    [resp] = frames(s.data_to_send())
    assert resp.command_id == cid | 0x80000000 and resp.sequence == 9


def test_enquire_link_answered_in_open_and_bound() -> None:
    s = SmppSession(Role.SMSC)
    assert s.receive_data(bytes.fromhex("00000010000000150000000000000003"), 0.0) == []
    assert s.data_to_send().hex() == "00000010800000150000000000000003"
    s = bound_smsc()
    assert s.receive_data(raw(C.enquire_link, 8), 0.0) == []
    assert frames(s.data_to_send())[0].command_id == C.enquire_link_resp


def test_error_response_is_header_only_and_ok_deliver_sm_resp_has_null_id() -> None:
    esme, smsc = pair()
    smsc.send_request(Pdu.make(C.deliver_sm, short_message=b"x"), 1.0)
    [ev] = esme.receive_data(smsc.data_to_send(), 1.0)
    esme.send_response(ev.pdu)
    assert esme.data_to_send().hex() == "0000001180000005000000000000000100"
    smsc.send_request(Pdu.make(C.deliver_sm, short_message=b"y"), 1.0)
    [ev] = esme.receive_data(smsc.data_to_send(), 1.0)
    esme.send_response(ev.pdu, S.ESME_RX_T_APPN)
    assert esme.data_to_send().hex() == "00000010800000050000006400000002"


def test_send_response_twice_is_session_error() -> None:
    s = bound_smsc()
    [ev] = s.receive_data(submit(3), 0.0)
    s.send_response(ev.pdu, message_id="1")
    with pytest.raises(SessionError):
        s.send_response(ev.pdu, message_id="1")


def test_send_response_after_close_is_dropped() -> None:
    s = bound_smsc()
    [ev] = s.receive_data(submit(3), 0.0)
    s.close()
    s.send_response(ev.pdu, message_id="1")
    assert s.data_to_send() == b""


# --------------------------------------------------------------------------- framing / garbage


def test_command_length_below_16_nacks_and_closes() -> None:
    s = bound_smsc()
    events = s.receive_data(bytes.fromhex("0000000f00000004000000000000002a") + submit(2), 0.0)
    assert [type(e) for e in events] == [ProtocolError, ConnectionShouldClose]
    assert s.data_to_send().hex() == "0000001080000000000000020000002a"
    assert s.state is B.CLOSED
    assert s.receive_data(submit(3), 1.0) == []


def test_command_length_below_16_with_short_header_uses_seq_0() -> None:
    s = SmppSession(Role.SMSC)
    s.receive_data(b"\x00\x00\x00\x05\x01", 0.0)
    assert s.data_to_send().hex() == "00000010800000000000000200000000"


def test_command_length_above_max_nacks_and_closes() -> None:
    s = bound_smsc(max_pdu_size=1024)
    events = s.receive_data((1025).to_bytes(4, "big") + bytes(12), 0.0)
    assert isinstance(events[-1], ConnectionShouldClose) and s.state is B.CLOSED
    assert frames(s.data_to_send())[0].command_status == S.ESME_RINVCMDLEN


def test_unknown_command_keeps_stream_in_sync() -> None:
    s = bound_smsc()
    events = s.receive_data(raw(0x00000113, 7) + submit(8), 0.0)
    assert isinstance(events[0], ProtocolError) and isinstance(events[1], RequestReceived)
    nack = frames(s.data_to_send())[0]
    assert encode(nack).hex() == "00000010800000000000000300000007"  # vector 8.8


def test_malformed_body_answered_with_field_status_and_session_stays_up() -> None:
    s = bound_smsc()
    bad = raw(C.submit_sm, 4, b"\x00\x05\x00" + b"1" * 30)
    events = s.receive_data(bad, 0.0)
    assert events[0].status == S.ESME_RINVSRCADR
    [resp] = frames(s.data_to_send())
    assert (resp.command_id, resp.command_status, resp.sequence) == (
        C.submit_sm_resp,
        S.ESME_RINVSRCADR,
        4,
    )
    assert s.state is B.BOUND_TRX


def test_max_garbage_consecutive_bad_pdus_close_but_good_pdu_resets() -> None:
    s = bound_smsc(max_garbage=3)
    bad = raw(0x999, 1)
    s.receive_data(bad + bad + submit(2) + bad + bad, 0.0)
    assert s.state is B.BOUND_TRX
    events = s.receive_data(bad, 0.0)
    assert isinstance(events[-1], ConnectionShouldClose) and s.state is B.CLOSED


def test_malformed_response_is_not_answered() -> None:
    esme, smsc = pair()
    esme.send_request(Pdu.make(C.submit_sm), 0.0)
    esme.data_to_send()
    events = esme.receive_data(raw(C.submit_sm_resp, 2, b"abc"), 0.0)
    assert isinstance(events[0], ProtocolError)
    assert esme.data_to_send() == b""
    assert esme.outbound_outstanding == 1


# --------------------------------------------------------------------------- windows


def test_inbound_window_throttles_excess() -> None:
    s = bound_smsc(window=2)
    events = s.receive_data(submit(1) + submit(2) + submit(3), 0.0)
    assert [type(e) for e in events] == [RequestReceived, RequestReceived, ProtocolError]
    [resp] = frames(s.data_to_send())
    assert (resp.command_status, resp.sequence) == (S.ESME_RTHROTTLED, 3)
    assert s.inbound_outstanding == 2
    s.send_response(events[0].pdu, message_id="1")
    assert s.inbound_outstanding == 1


def test_outbound_window_and_release_on_response() -> None:
    esme, smsc = pair(window=2)
    esme.send_request(Pdu.make(C.submit_sm), 0.0)
    esme.send_request(Pdu.make(C.submit_sm), 0.0)
    assert not esme.can_send and esme.outbound_outstanding == 2
    with pytest.raises(WindowFull):
        esme.send_request(Pdu.make(C.submit_sm), 0.0)
    esme.send_request(Pdu.make(C.enquire_link), 0.0)  # not windowed
    events = smsc.receive_data(esme.data_to_send(), 0.0)
    assert len(events) == 2
    for ev in events:
        smsc.send_response(ev.pdu, message_id="x")
    events = esme.receive_data(smsc.data_to_send(), 0.0)
    # the SMSC session answers enquire_link at once, before the application's responses
    assert [e.request.command_id for e in events] == [C.enquire_link, C.submit_sm, C.submit_sm]
    assert esme.can_send and esme.outbound_outstanding == 0


def test_generic_nack_releases_matching_request_and_unknown_seq_is_reported() -> None:
    esme, _ = pair()
    seq = esme.send_request(Pdu.make(C.submit_sm), 0.0)
    [ev] = esme.receive_data(raw(C.generic_nack, seq, status=S.ESME_RTHROTTLED), 0.0)
    assert isinstance(ev, ResponseReceived) and ev.request.sequence == seq
    assert esme.outbound_outstanding == 0
    [ev] = esme.receive_data(raw(C.submit_sm_resp, 999, b"1\x00"), 0.0)
    assert isinstance(ev, ResponseReceived) and ev.request is None


def test_response_with_wrong_command_for_sequence_is_reported_not_matched() -> None:
    esme, _ = pair()
    seq = esme.send_request(Pdu.make(C.submit_sm), 0.0)
    [ev] = esme.receive_data(raw(C.query_sm_resp, seq), 0.0)
    assert isinstance(ev, ProtocolError) and esme.outbound_outstanding == 1


def test_role_and_state_checks_on_send() -> None:
    smsc = bound_smsc(C.bind_transmitter)
    with pytest.raises(InvalidState):
        smsc.send_request(Pdu.make(C.deliver_sm), 0.0)  # TX bind cannot receive
    with pytest.raises(InvalidState):
        smsc.send_request(Pdu.make(C.submit_sm), 0.0)  # SMSC never submits
    esme = SmppSession(Role.ESME)
    with pytest.raises(InvalidState):
        esme.send_request(Pdu.make(C.submit_sm), 0.0)  # not bound yet


def test_sequence_numbers_wrap_to_1_and_skip_outstanding() -> None:
    esme, _ = pair(window=10)
    esme._next_seq = 0x7FFFFFFE
    seqs = [esme.send_request(Pdu.make(C.submit_sm), 0.0) for _ in range(3)]
    assert seqs == [0x7FFFFFFE, 0x7FFFFFFF, 1]


def test_close_returns_unanswered_requests() -> None:
    esme, smsc = pair()
    smsc.send_request(Pdu.make(C.deliver_sm, short_message=b"r1"), 0.0)
    smsc.send_request(Pdu.make(C.deliver_sm, short_message=b"r2"), 0.0)
    lost = smsc.close()
    assert [p.short_message for p in lost] == [b"r1", b"r2"]
    assert smsc.state is B.CLOSED and smsc.next_deadline() is None


# --------------------------------------------------------------------------- timers


def test_enquire_link_sent_after_silence_and_timeout_closes() -> None:
    s = bound_smsc(enquire_link_interval=30, response_timeout=10, idle_timeout=1000)
    assert s.next_deadline() == 30
    assert s.tick(29) == [] and s.data_to_send() == b""
    assert s.tick(30) == []
    [el] = frames(s.data_to_send())
    assert el.command_id == C.enquire_link
    assert s.next_deadline() == 40
    assert s.tick(35) == [] and s.data_to_send() == b""  # only one outstanding
    events = s.tick(40)
    assert isinstance(events[0], ConnectionShouldClose) and s.state is B.CLOSED


def test_enquire_link_resp_keeps_link_alive() -> None:
    s = bound_smsc(enquire_link_interval=30, response_timeout=10, idle_timeout=1000)
    s.tick(30)
    [el] = frames(s.data_to_send())
    assert s.receive_data(raw(C.enquire_link_resp, el.sequence), 31) == []
    assert s.tick(45) == [] and s.state is B.BOUND_TRX
    assert s.next_deadline() == 61


def test_response_timeout_releases_window() -> None:
    esme, _ = pair(response_timeout=5, enquire_link_interval=100)
    esme.send_request(Pdu.make(C.submit_sm), 1.0)
    [ev] = esme.tick(6.0)
    assert isinstance(ev, ResponseTimeout) and ev.request.command_id == C.submit_sm
    assert esme.outbound_outstanding == 0


def test_idle_timeout_closes() -> None:
    s = bound_smsc(idle_timeout=60, enquire_link_interval=1000)
    assert s.tick(59) == []
    [ev] = s.tick(60)
    assert isinstance(ev, ConnectionShouldClose) and s.state is B.CLOSED


def test_session_init_timeout_closes_unbound_connection() -> None:
    s = SmppSession(Role.SMSC, session_init_timeout=30, now=100.0)
    assert s.next_deadline() == 130
    [ev] = s.tick(130)
    assert isinstance(ev, ConnectionShouldClose)


# --------------------------------------------------------------------------- unbind


def test_unbind_initiated_by_peer() -> None:
    s = bound_smsc()
    events = s.receive_data(bytes.fromhex("00000010000000060000000000000009"), 0.0)
    assert [type(e) for e in events] == [UnbindRequested, ConnectionShouldClose]
    assert s.data_to_send().hex() == "00000010800000060000000000000009"
    assert s.state is B.UNBOUND
    s.receive_data(submit(10), 0.0)
    assert frames(s.data_to_send())[0].command_status == S.ESME_RINVBNDSTS


def test_unbind_initiated_by_us_and_timeout_when_peer_never_answers() -> None:
    esme, smsc = pair(response_timeout=10)
    esme.unbind(1.0)
    assert esme.state is B.UNBOUND
    events = smsc.receive_data(esme.data_to_send(), 1.0)
    assert isinstance(events[0], UnbindRequested)
    events = esme.receive_data(smsc.data_to_send(), 1.0)
    assert [type(e) for e in events] == [Unbound, ConnectionShouldClose]
    other = bound_smsc(response_timeout=10)
    other.unbind(0.0)
    [ev] = other.tick(10.0)  # python-smpplib never answers unbind: do not block
    assert isinstance(ev, ConnectionShouldClose) and other.state is B.CLOSED


def test_outbind_and_alert_notification_reach_esme_without_response() -> None:
    esme = SmppSession(Role.ESME)
    [ev] = esme.receive_data(
        bytes.fromhex("0000001c0000000b000000000000000161636d650073656372657400"), 0
    )
    assert isinstance(ev, RequestReceived) and ev.pdu.command_id == C.outbind
    assert esme.inbound_outstanding == 0 and esme.data_to_send() == b""


def test_tables_print() -> None:
    text = format_tables()
    assert "BOUND_TX" in text and "submit_sm" in text


# --------------------------------------------------------------------------- properties


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, prev = [], 0
    for p in points + [len(data)]:
        chunks.append(data[prev:p])
        prev = p
    return chunks


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8), st.sampled_from(list(Role)))
def test_receive_data_never_raises_on_arbitrary_bytes(chunks, role) -> None:
    s = SmppSession(role, max_pdu_size=4096)
    t = 0.0
    closes = 0
    for chunk in chunks:
        events = s.receive_data(chunk, t)
        assert all(not isinstance(e, ProtocolError) or e.status for e in events)
        t += 1
        events += s.tick(t)
        closes += sum(isinstance(e, ConnectionShouldClose) for e in events)
        for pdu in frames(s.data_to_send()):  # whatever we answer is a valid PDU
            assert pdu.command_id & 0x80000000 or pdu.command_id == C.enquire_link
    assert closes <= 1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 0x7FFFFFFF), min_size=1, max_size=12),
    st.lists(st.integers(0, 10_000), max_size=10),
)
def test_valid_stream_split_anywhere_gives_same_events(seqs, cuts) -> None:
    stream = b"".join(submit(q, b"x" * (q % 50)) for q in seqs) + raw(C.enquire_link, 77)
    whole = bound_smsc(window=100)
    ref = whole.receive_data(stream, 1.0)
    ref_out = whole.data_to_send()
    split = bound_smsc(window=100)
    got = []
    for chunk in _split(stream, cuts):
        got += split.receive_data(chunk, 1.0)
    assert got == ref
    assert [e.pdu.sequence for e in got] == seqs
    assert split.data_to_send() == ref_out == raw(C.enquire_link_resp, 77)
    assert split.inbound_outstanding == len(seqs)


@st.composite
def mixed_stream(draw: st.DrawFn) -> list[bytes]:
    """Valid and invalid PDUs an ESME might send once bound."""
    kinds = st.sampled_from(["submit", "enquire", "unknown", "bad_body", "resp", "query"])
    out = []
    for i, kind in enumerate(draw(st.lists(kinds, max_size=15))):
        seq = i + 1
        if kind == "submit":
            out.append(submit(seq))
        elif kind == "enquire":
            out.append(raw(C.enquire_link, seq))
        elif kind == "unknown":
            out.append(raw(0x112, seq))
        elif kind == "bad_body":
            out.append(raw(C.submit_sm, seq, b"\x00\x05"))
        elif kind == "resp":
            out.append(raw(C.deliver_sm_resp, seq, b"\x00"))
        else:
            out.append(encode(Pdu.make(C.query_sm, sequence=seq, message_id="1")))
    return out


@settings(max_examples=300, deadline=None)
@given(mixed_stream(), st.lists(st.integers(0, 10_000), max_size=6))
def test_mixed_streams_answer_every_request_exactly_once(pdus, cuts) -> None:
    s = bound_smsc(max_garbage=100)
    events = []
    for chunk in _split(b"".join(pdus), cuts):
        events += s.receive_data(chunk, 1.0)
    requests = [e.pdu for e in events if isinstance(e, RequestReceived)]
    assert s.inbound_outstanding == len(requests)
    for pdu in requests:
        s.send_response(pdu, message_id="m")
    assert s.inbound_outstanding == 0
    answered = [p.sequence for p in frames(s.data_to_send())]
    expected = [
        i + 1
        for i, p in enumerate(pdus)
        if int.from_bytes(p[4:8], "big") != C.deliver_sm_resp  # responses are never answered
    ]
    assert sorted(answered) == sorted(expected)
