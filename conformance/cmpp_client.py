"""Independent CMPP 2.0/3.0 SP (client) for end-to-end tests and benchmarks.

Written from cmpp.md alone with ``struct`` and ``hashlib``; it deliberately does NOT import
protocols.cmpp, so a layout or authenticator bug in the server cannot hide behind a shared
codec. Two layers:

* sans-IO builders/parsers: ``build_*`` return whole frames (header included), ``parse_*``
  take whole frames, ``FrameBuffer`` cuts a byte stream into frames;
* ``CmppTestClient``: a small blocking socket client (connect, submit, long submit,
  pipelined ``submit_many``, read_deliver, query, cancel, active_test, terminate) that answers
  ACTIVE_TEST and acknowledges DELIVERs by itself.

Errors: ``CmppClientError`` (bad frame, timeout, unexpected PDU).
"""

from __future__ import annotations

import hashlib
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Command_Id, cmpp.md §1
CONNECT, CONNECT_RESP = 0x00000001, 0x80000001
TERMINATE, TERMINATE_RESP = 0x00000002, 0x80000002
SUBMIT, SUBMIT_RESP = 0x00000004, 0x80000004
DELIVER, DELIVER_RESP = 0x00000005, 0x80000005
QUERY, QUERY_RESP = 0x00000006, 0x80000006
CANCEL, CANCEL_RESP = 0x00000007, 0x80000007
ACTIVE_TEST, ACTIVE_TEST_RESP = 0x00000008, 0x80000008

V20, V30 = 0x20, 0x30
MSG_FMT_ASCII, MSG_FMT_BINARY, MSG_FMT_UCS2, MSG_FMT_GBK = 0, 4, 8, 15


class CmppClientError(Exception):
    """A frame this client cannot parse, a timeout, or an unexpected answer."""


def _is30(version: int) -> bool:
    return version >= 0x30


def _os(value: str | bytes, width: int) -> bytes:
    raw = value.encode("ascii") if isinstance(value, str) else value
    if len(raw) > width:
        raise CmppClientError(f"{value!r} does not fit {width} bytes")
    return raw + b"\x00" * (width - len(raw))


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].rstrip(b" ").decode("latin-1")


def _frame(command_id: int, seq: int, body: bytes = b"") -> bytes:
    return struct.pack(">III", 12 + len(body), command_id, seq) + body


# ----------------------------------------------------------------------------- login, §3


def timestamp_of(moment: datetime | None = None) -> int:
    """MMDDHHMMSS as an integer (§2.1)."""
    m = moment or datetime.now()
    return m.month * 10**8 + m.day * 10**6 + m.hour * 10**4 + m.minute * 100 + m.second


def authenticator_source(sp_id: str, secret: str, timestamp: int) -> bytes:
    """MD5(Source_Addr ‖ 9×0x00 ‖ secret ‖ TS10), §3.1."""
    data = _os(sp_id, 6) + b"\x00" * 9 + secret.encode() + b"%010d" % timestamp
    return hashlib.md5(data).digest()


def authenticator_ismg(status: int, auth_source: bytes, secret: str, version: int) -> bytes:
    """MD5(Status ‖ AuthenticatorSource ‖ secret) with Status 1 byte [2.0] / 4 bytes [3.0]."""
    status_bytes = struct.pack(">I" if _is30(version) else ">B", status)
    return hashlib.md5(status_bytes + auth_source + secret.encode()).digest()


def build_connect(
    seq: int, sp_id: str, secret: str, version: int = V30, timestamp: int | None = None
) -> bytes:
    ts = timestamp_of() if timestamp is None else timestamp
    body = _os(sp_id, 6) + authenticator_source(sp_id, secret, ts) + struct.pack(">BI", version, ts)
    return _frame(CONNECT, seq, body)


# ---------------------------------------------------------------------------- submit, §2.4


def build_submit(
    seq: int,
    version: int,
    *,
    dest: str | list[str],
    content: bytes,
    msg_fmt: int = MSG_FMT_UCS2,
    src_id: str = "",
    msg_src: str = "",
    service_id: str = "",
    registered_delivery: int = 1,
    pk_total: int = 1,
    pk_number: int = 1,
    tp_udhi: int = 0,
    msg_level: int = 0,
    fee_usertype: int = 2,
    fee_terminal_id: str = "",
    feetype: str = "01",
    feecode: str = "000000",
    valid_time: str = "",
    at_time: str = "",
    link_id: str = "",
) -> bytes:
    dests = [dest] if isinstance(dest, str) else list(dest)
    term = 32 if _is30(version) else 21
    parts = [
        struct.pack(">QBBBB", 0, pk_total, pk_number, registered_delivery, msg_level),
        _os(service_id, 10),
        bytes([fee_usertype]),
        _os(fee_terminal_id, term),
    ]
    if _is30(version):
        parts.append(b"\x00")  # Fee_terminal_type
    parts += [
        bytes([0, tp_udhi, msg_fmt]),  # TP_pId, TP_udhi, Msg_Fmt
        _os(msg_src, 6),
        _os(feetype, 2),
        _os(feecode, 6),
        _os(valid_time, 17),
        _os(at_time, 17),
        _os(src_id, 21),
        bytes([len(dests)]),
        *(_os(d, term) for d in dests),
    ]
    if _is30(version):
        parts.append(b"\x00")  # Dest_terminal_type
    parts += [bytes([len(content)]), content, _os(link_id, 20) if _is30(version) else b"\0" * 8]
    return _frame(SUBMIT, seq, b"".join(parts))


def split_text(text: str, reference: int = 0) -> tuple[int, list[tuple[int, bytes]]]:
    """Encode ``text`` the way an SP does (§5.1, §5.2): ASCII up to 160 chars in one part
    (Msg_Fmt 0), else UCS2, 70 chars in one part or 67-char parts behind an 8-bit-reference
    UDH ``05 00 03 RR TT SS``. A surrogate pair is never split. Returns
    (msg_fmt, [(tp_udhi, content), ...])."""
    if text.isascii() and len(text) <= 160:
        return MSG_FMT_ASCII, [(0, text.encode("ascii"))]
    data = text.encode("utf-16-be")
    if len(data) <= 140:
        return MSG_FMT_UCS2, [(0, data)]
    chunks: list[bytes] = []
    pos = 0
    while pos < len(data):
        end = min(pos + 134, len(data))
        if end < len(data) and 0xD8 <= data[end - 2] <= 0xDB:  # high surrogate last: keep pair
            end -= 2
        chunks.append(data[pos:end])
        pos = end
    total = len(chunks)
    ref = reference & 0xFF
    return MSG_FMT_UCS2, [
        (1, bytes([5, 0, 3, ref, total, i + 1]) + chunk) for i, chunk in enumerate(chunks)
    ]


# ------------------------------------------------------------------ other requests / resps


def build_deliver_resp(seq: int, version: int, msg_id: int, result: int = 0) -> bytes:
    fmt = ">QI" if _is30(version) else ">QB"
    return _frame(DELIVER_RESP, seq, struct.pack(fmt, msg_id, result))


def build_active_test(seq: int) -> bytes:
    return _frame(ACTIVE_TEST, seq)


def build_active_test_resp(seq: int) -> bytes:
    return _frame(ACTIVE_TEST_RESP, seq, b"\x00")


def build_terminate(seq: int) -> bytes:
    return _frame(TERMINATE, seq)


def build_terminate_resp(seq: int) -> bytes:
    return _frame(TERMINATE_RESP, seq)


def build_query(seq: int, day: str, query_type: int = 0, query_code: str = "") -> bytes:
    return _frame(QUERY, seq, _os(day, 8) + bytes([query_type]) + _os(query_code, 10) + b"\0" * 8)


def build_cancel(seq: int, msg_id: int) -> bytes:
    return _frame(CANCEL, seq, struct.pack(">Q", msg_id))


# --------------------------------------------------------------------------------- parsing


def parse_header(frame: bytes) -> tuple[int, int, int]:
    """(Total_Length, Command_Id, Sequence_Id); checks Total_Length against the frame."""
    if len(frame) < 12:
        raise CmppClientError(f"{len(frame)}-byte frame is shorter than the header")
    total, cid, seq = struct.unpack_from(">III", frame)
    if total != len(frame):
        raise CmppClientError(f"Total_Length {total} but {len(frame)} bytes")
    return total, cid, seq


def _need(frame: bytes, size: int, what: str) -> None:
    if len(frame) != size:
        raise CmppClientError(f"{what} must be {size} bytes, got {len(frame)}")


def parse_connect_resp(frame: bytes, version: int) -> dict[str, Any]:
    _, cid, seq = parse_header(frame)
    if _is30(version):
        _need(frame, 33, "3.0 CONNECT_RESP")
        status, auth, ver = struct.unpack_from(">I16sB", frame, 12)
    else:
        _need(frame, 30, "2.0 CONNECT_RESP")
        status, auth, ver = struct.unpack_from(">B16sB", frame, 12)
    return {"seq": seq, "status": status, "authenticator_ismg": auth, "version": ver}


def parse_submit_resp(frame: bytes, version: int) -> dict[str, Any]:
    _, _, seq = parse_header(frame)
    _need(frame, 24 if _is30(version) else 21, "SUBMIT_RESP")
    msg_id, result = struct.unpack_from(">QI" if _is30(version) else ">QB", frame, 12)
    return {"seq": seq, "msg_id": msg_id, "result": result}


def parse_report(content: bytes, version: int) -> dict[str, Any]:
    """The §2.7 report: 60 bytes [2.0] / 71 bytes [3.0] (by length first, as gateways vary)."""
    if len(content) == 60:
        term = 21
    elif len(content) == 71:
        term = 32
    else:
        raise CmppClientError(f"status report of {len(content)} bytes (want 60/71)")
    msg_id, stat, submit_time, done_time = struct.unpack_from(">Q7s10s10s", content)
    dest = content[35 : 35 + term]
    (smsc_sequence,) = struct.unpack_from(">I", content, 35 + term)
    return {
        "msg_id": msg_id,
        "stat": _text(stat),
        "submit_time": _text(submit_time),
        "done_time": _text(done_time),
        "dest_terminal_id": _text(dest),
        "smsc_sequence": smsc_sequence,
    }


def parse_deliver(frame: bytes, version: int) -> dict[str, Any]:
    """MO or status report (Registered_Delivery = 1 -> ``report`` holds the parsed body)."""
    _, _, seq = parse_header(frame)
    term = 32 if _is30(version) else 21
    fixed = 12 + 8 + 21 + 10 + 3 + term + (1 if _is30(version) else 0) + 2
    if len(frame) < fixed:
        raise CmppClientError("DELIVER too short")
    msg_id, dest_id, service_id, tp_pid, tp_udhi, msg_fmt = struct.unpack_from(
        ">Q21s10sBBB", frame, 12
    )
    off = 12 + 8 + 21 + 10 + 3
    src = frame[off : off + term]
    off += term
    src_type = 0
    if _is30(version):
        src_type = frame[off]
        off += 1
    registered_delivery, length = frame[off], frame[off + 1]
    off += 2
    trailer = 20 if _is30(version) else 8
    if len(frame) != off + length + trailer:
        raise CmppClientError(f"DELIVER Msg_Length {length} disagrees with Total_Length")
    content = frame[off : off + length]
    out: dict[str, Any] = {
        "seq": seq,
        "msg_id": msg_id,
        "dest_id": _text(dest_id),
        "service_id": _text(service_id),
        "tp_pid": tp_pid,
        "tp_udhi": tp_udhi,
        "msg_fmt": msg_fmt,
        "src_terminal_id": _text(src),
        "src_terminal_type": src_type,
        "registered_delivery": registered_delivery,
        "msg_content": content,
        "link_id": _text(frame[off + length :]) if _is30(version) else "",
        "report": parse_report(content, version) if registered_delivery == 1 else None,
    }
    return out


def parse_query_resp(frame: bytes) -> dict[str, Any]:
    _, _, seq = parse_header(frame)
    _need(frame, 63, "QUERY_RESP")
    day, qtype, code, *counts = struct.unpack_from(">8sB10s8I", frame, 12)
    names = ("mt_tlmsg", "mt_tlusr", "mt_scs", "mt_wt", "mt_fl", "mo_scs", "mo_wt", "mo_fl")
    return {
        "seq": seq,
        "time": _text(day),
        "query_type": qtype,
        "query_code": _text(code),
        **dict(zip(names, counts, strict=True)),
    }


def parse_cancel_resp(frame: bytes, version: int) -> dict[str, Any]:
    _, _, seq = parse_header(frame)
    _need(frame, 16 if _is30(version) else 13, "CANCEL_RESP")
    (success,) = struct.unpack_from(">I" if _is30(version) else ">B", frame, 12)
    return {"seq": seq, "success_id": success}


class FrameBuffer:
    """Cuts a TCP byte stream into whole frames (§1 framing)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames = []
        pos = 0
        while len(self._buf) - pos >= 4:
            (total,) = struct.unpack_from(">I", self._buf, pos)
            if total < 12 or total > 65536:
                raise CmppClientError(f"Total_Length {total} out of bounds")
            if len(self._buf) - pos < total:
                break
            frames.append(bytes(self._buf[pos : pos + total]))
            pos += total
        del self._buf[:pos]
        return frames


# ------------------------------------------------------------------------- blocking client


@dataclass
class SubmitOutcome:
    """One SUBMIT's answer plus the time it took (seconds)."""

    seq: int
    result: int
    msg_id: int
    latency: float


@dataclass
class _Pending:
    sent_at: float
    frame: bytes
    extra: dict[str, Any] = field(default_factory=dict)


class CmppTestClient:
    """Blocking SP client. ACTIVE_TEST is answered transparently; DELIVERs are acknowledged
    (``deliver_result``) and queued for :meth:`read_deliver`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7890,
        version: int = V30,
        timeout: float = 10.0,
        deliver_result: int | None = 0,
    ) -> None:
        self.version = version
        self.timeout = timeout
        self.deliver_result = deliver_result
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._frames = FrameBuffer()
        self._inbox: deque[bytes] = deque()
        self.delivers: deque[dict[str, Any]] = deque()
        self._seq = 0
        self.connect_response: dict[str, Any] | None = None
        self.closed_by_peer = False

    # -- plumbing
    def next_seq(self) -> int:
        self._seq = self._seq % 0xFFFFFFFF + 1
        return self._seq

    def send(self, frame: bytes) -> None:
        self.sock.sendall(frame)

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        if not data:
            self.closed_by_peer = True
            raise CmppClientError("connection closed by the ISMG")
        self._inbox.extend(self._frames.feed(data))
        return True

    def _handle_unsolicited(self, frame: bytes) -> bool:
        """Answer ACTIVE_TEST, ack + queue DELIVER; True when the frame was consumed."""
        _, cid, seq = parse_header(frame)
        if cid == ACTIVE_TEST:
            self.send(build_active_test_resp(seq))
            return True
        if cid == DELIVER:
            deliver = parse_deliver(frame, self.version)
            if self.deliver_result is not None:
                self.send(
                    build_deliver_resp(seq, self.version, deliver["msg_id"], self.deliver_result)
                )
            self.delivers.append(deliver)
            return True
        if cid == TERMINATE:
            self.send(build_terminate_resp(seq))
            self.closed_by_peer = True
            raise CmppClientError("ISMG sent TERMINATE")
        return False

    def read_frame(self, timeout: float | None = None) -> bytes | None:
        """Next frame that is not an ACTIVE_TEST/DELIVER, or None on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while self._inbox:
                frame = self._inbox.popleft()
                if not self._handle_unsolicited(frame):
                    return frame
            if not self._fill(deadline):
                return None

    def expect(self, command_id: int, seq: int, timeout: float | None = None) -> bytes:
        frame = self.read_frame(timeout)
        if frame is None:
            raise CmppClientError(f"no answer 0x{command_id:08x} to seq {seq}")
        _, cid, got = parse_header(frame)
        if cid != command_id or got != seq:
            raise CmppClientError(f"expected 0x{command_id:08x}/{seq}, got 0x{cid:08x}/{got}")
        return frame

    # -- operations
    def connect(self, sp_id: str, secret: str, timestamp: int | None = None) -> int:
        """CONNECT; returns Status. On Status 0 the AuthenticatorISMG is verified too."""
        seq = self.next_seq()
        ts = timestamp_of() if timestamp is None else timestamp
        self.send(build_connect(seq, sp_id, secret, self.version, ts))
        resp = parse_connect_resp(self.expect(CONNECT_RESP, seq), self.version)
        self.connect_response = resp
        if resp["status"] == 0:
            want = authenticator_ismg(
                0, authenticator_source(sp_id, secret, ts), secret, self.version
            )
            if resp["authenticator_ismg"] != want:
                raise CmppClientError("AuthenticatorISMG does not verify")
        self.sp_id = sp_id
        return resp["status"]

    def submit(
        self,
        dest: str | list[str],
        text: str | None = None,
        content: bytes | None = None,
        **fields: Any,
    ) -> tuple[int, int]:
        """One SUBMIT; ``text`` must fit one part (use submit_long otherwise).
        Returns (Result, Msg_Id)."""
        if content is None:
            fmt, parts = split_text(text or "")
            if len(parts) != 1:
                raise CmppClientError("text needs several parts: use submit_long")
            fields.setdefault("msg_fmt", fmt)
            content = parts[0][1]
        fields.setdefault("msg_src", getattr(self, "sp_id", ""))
        seq = self.next_seq()
        self.send(build_submit(seq, self.version, dest=dest, content=content, **fields))
        resp = parse_submit_resp(self.expect(SUBMIT_RESP, seq), self.version)
        return resp["result"], resp["msg_id"]

    def submit_long(
        self, dest: str | list[str], text: str, reference: int = 0, **fields: Any
    ) -> list[tuple[int, int]]:
        """Split ``text`` (§5.2) and SUBMIT every part; one (Result, Msg_Id) per part."""
        fmt, parts = split_text(text, reference)
        fields.setdefault("msg_src", getattr(self, "sp_id", ""))
        out = []
        for i, (udhi, content) in enumerate(parts, start=1):
            out.append(
                self.submit(
                    dest,
                    content=content,
                    msg_fmt=fmt,
                    tp_udhi=udhi,
                    pk_total=len(parts),
                    pk_number=i,
                    **fields,
                )
            )
        return out

    def submit_many(
        self,
        n: int,
        window: int = 16,
        dest: str = "13800138000",
        text: str = "hello",
        **fields: Any,
    ) -> list[SubmitOutcome]:
        """Pipelined SUBMITs, at most ``window`` unanswered at once (§6 "Window");
        returns one outcome per SUBMIT in the order answers arrived."""
        fmt, parts = split_text(text)
        fields.setdefault("msg_src", getattr(self, "sp_id", ""))
        fields.setdefault("msg_fmt", fmt)
        content = parts[0][1]
        pending: dict[int, float] = {}
        outcomes: list[SubmitOutcome] = []
        sent = 0
        while len(outcomes) < n:
            batch = []
            while sent < n and len(pending) < window:
                seq = self.next_seq()
                batch.append(build_submit(seq, self.version, dest=dest, content=content, **fields))
                pending[seq] = time.monotonic()
                sent += 1
            if batch:
                self.send(b"".join(batch))
            frame = self.read_frame()
            if frame is None:
                raise CmppClientError(f"{len(pending)} SUBMITs unanswered")
            _, cid, seq = parse_header(frame)
            if cid != SUBMIT_RESP or seq not in pending:
                raise CmppClientError(f"unexpected 0x{cid:08x}/{seq} during submit_many")
            resp = parse_submit_resp(frame, self.version)
            outcomes.append(
                SubmitOutcome(
                    seq, resp["result"], resp["msg_id"], time.monotonic() - pending.pop(seq)
                )
            )
        return outcomes

    def read_deliver(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Next DELIVER (MO or report, already acknowledged), or None on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.delivers:
            while self._inbox:
                frame = self._inbox.popleft()
                if not self._handle_unsolicited(frame):
                    raise CmppClientError(f"unexpected frame 0x{parse_header(frame)[1]:08x}")
            if self.delivers or not self._fill(deadline):
                break
        return self.delivers.popleft() if self.delivers else None

    def query(self, day: str, query_type: int = 0, query_code: str = "") -> dict[str, Any]:
        seq = self.next_seq()
        self.send(build_query(seq, day, query_type, query_code))
        return parse_query_resp(self.expect(QUERY_RESP, seq))

    def cancel(self, msg_id: int) -> int:
        seq = self.next_seq()
        self.send(build_cancel(seq, msg_id))
        return parse_cancel_resp(self.expect(CANCEL_RESP, seq), self.version)["success_id"]

    def active_test(self) -> bool:
        seq = self.next_seq()
        self.send(build_active_test(seq))
        frame = self.expect(ACTIVE_TEST_RESP, seq)
        return len(frame) in (12, 13)

    def terminate(self) -> None:
        seq = self.next_seq()
        self.send(build_terminate(seq))
        self.expect(TERMINATE_RESP, seq)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> CmppTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
