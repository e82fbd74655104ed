"""Fast CMPP codec, generated at import time from the Construct declarations in pdu.py.

Interpreted Construct costs ~100 µs per SUBMIT; the hot path needs a few µs (DESIGN.md
"Declarative PDUs, fast paths"). Instead of hand-writing a second layout that could drift, this
module walks each declared body Struct, merges runs of fixed-width fields into one
``struct.Struct`` and emits straight-line Python for the variable parts (Destinations,
Msg_Length + Msg_Content). The declaration stays the single source of truth; property tests in
tests/protocols/cmpp/test_codec.py prove both paths equal. ``generated_source()`` shows the code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from construct import FormatField, Terminated

from protocols.cmpp.pdu import (
    BAD_LENGTH_RESULT,
    BODIES,
    COMMANDS,
    HEADER_LENGTH,
    MALFORMED_RESULT,
    MAX_DESTINATIONS,
    REPORT,
    CommandId,
    Content,
    Destinations,
    FixedBytes,
    Layout,
    OctetString,
    Pdu,
    PduError,
    StatusReport,
    _report_layout,
    layout_of,
    os_decode,
)

__all__ = [
    "decode",
    "decode_at",
    "encode",
    "decode_report",
    "encode_report",
    "generated_source",
]

_HEADER = struct.Struct(">LLL")
Decoder = Callable[[bytes, int, int, int], dict[str, Any]]
Encoder = Callable[[dict[str, Any], int], bytes]


class _Gen:
    """Emit decode/encode source for one declared Struct."""

    def __init__(self, name: str, declared: Any, cid: CommandId | None, defaults: dict) -> None:
        self.name = name
        self.cid = cid
        self.consts: dict[str, Any] = {}
        self.fields: list[tuple[str, Any]] = []  # (name, inner construct) or ("", Terminated)
        for sub in declared.subcons:
            self.fields.append((sub.name or "", sub.subcon if sub.name else sub))
        self.defaults = defaults
        malformed = MALFORMED_RESULT.get(cid) if cid is not None else None
        bad_length = BAD_LENGTH_RESULT.get(cid, malformed) if cid is not None else None
        # plain ints: their repr() is pasted into the generated source
        self.malformed = None if malformed is None else int(malformed)
        self.bad_length = None if bad_length is None else int(bad_length)

    def _const(self, value: Any) -> str:
        key = f"_K{len(self.consts)}"
        self.consts[key] = value
        return key

    def _segments(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        """Group the field list into ("fixed", [...]) runs and single variable fields."""
        segs: list[tuple[str, list[tuple[str, Any]]]] = []
        for fname, con in self.fields:
            if con is Terminated:
                continue
            if isinstance(con, Destinations):
                segs.append(("dests", [(fname, con)]))
            elif con is Content:
                segs.append(("content", [(fname, con)]))
            else:
                if not segs or segs[-1][0] != "fixed":
                    segs.append(("fixed", []))
                segs[-1][1].append((fname, con))
        return segs

    @staticmethod
    def _fmt(con: Any) -> str:
        if isinstance(con, FormatField):
            return con.fmtstr[1:]
        if isinstance(con, OctetString):
            return f"{con.width}s"
        if isinstance(con, FixedBytes):
            return f"{con.length}s"
        raise TypeError(f"no fast path for {con!r}")

    def decoder_source(self) -> str:
        lines = [f"def {self.name}_decode(b, o, end, seq):"]
        values: dict[str, str] = {}
        seen_content = False
        for i, (kind, items) in enumerate(self._segments()):
            result = self.bad_length if seen_content else self.malformed
            if kind == "fixed":
                fmt = ">" + "".join(self._fmt(c) for _, c in items)
                st = struct.Struct(fmt)
                key = self._const(st)
                lines.append(f"    if end - o < {st.size}:")
                lines.append(f"        raise _short({result!r}, seq, {items[0][0]!r})")
                names = [f"v{i}_{j}" for j in range(len(items))]
                lines.append(f"    {', '.join(names)}, = {key}.unpack_from(b, o)")
                lines.append(f"    o += {st.size}")
                for (fname, con), var in zip(items, names, strict=True):
                    values[fname] = (
                        f"{var}.split(b'\\0', 1)[0].rstrip(b' ').decode('latin-1')"
                        if isinstance(con, OctetString)
                        else var
                    )
            elif kind == "dests":
                fname, con = items[0]
                w = con.width
                lines += [
                    "    if o >= end:",
                    f"        raise _short({result!r}, seq, 'DestUsr_tl')",
                    "    n = b[o]",
                    "    o += 1",
                    f"    if n < 1 or n > {MAX_DESTINATIONS}:",
                    f"        raise _bad({result!r}, seq, f'DestUsr_tl {{n}} outside 1..99')",
                    f"    if end - o < n * {w}:",
                    f"        raise _short({result!r}, seq, {fname!r})",
                    "    if n == 1:",
                    f"        d{i} = [_os(b[o:o + {w}])]",
                    "    else:",
                    f"        d{i} = [_os(b[p:p + {w}]) for p in range(o, o + n * {w}, {w})]",
                    f"    o += n * {w}",
                ]
                values[fname] = f"d{i}"
            else:  # content
                seen_content = True
                result = self.bad_length
                fname = items[0][0]
                lines += [
                    "    if o >= end:",
                    f"        raise _short({result!r}, seq, 'Msg_Length')",
                    "    n = b[o]",
                    "    o += 1",
                    "    if end - o < n:",
                    f"        raise _short({result!r}, seq, {fname!r})",
                    f"    c{i} = bytes(b[o:o + n])",
                    "    o += n",
                ]
                values[fname] = f"c{i}"
        result = self.bad_length if seen_content else self.malformed
        lines.append("    if o != end:")
        lines.append(f"        raise _bad({result!r}, seq, f'{{end - o}} bytes after the body')")
        entries = []
        for fname, default in self.defaults.items():
            if fname in values:
                entries.append(f"{fname!r}: {values[fname]}")
            else:
                assert isinstance(default, int | str | bytes), fname  # immutable constants only
                entries.append(f"{fname!r}: {default!r}")
        lines.append("    return {" + ", ".join(entries) + "}")
        return "\n".join(lines) + "\n"

    def encoder_source(self, with_header: bool) -> str:
        """Encoder: ``f(fields, seq) -> bytes``; the header is packed with the first segment."""
        lines = [f"def {self.name}_encode(f, seq):"]
        segs = self._segments()
        fixed_size = HEADER_LENGTH if with_header else 0
        var_len: list[str] = []
        pre: list[str] = []
        parts: list[str] = []
        for i, (kind, items) in enumerate(segs):
            if kind == "fixed":
                fixed_size += struct.calcsize(">" + "".join(self._fmt(c) for _, c in items))
            elif kind == "dests":
                fname, con = items[0]
                w = con.width
                pre += [
                    f"    d{i} = f[{fname!r}]",
                    f"    if not 1 <= len(d{i}) <= 99 or isinstance(d{i}, (str, bytes)):",
                    f"        raise _enc({fname!r} + ' needs 1..99 numbers')",
                    f"    e{i} = [x.encode('latin-1') for x in d{i}]",
                    f"    if max(map(len, e{i})) > {w}:",
                    f"        raise _enc({fname!r} + ' entry wider than {w} bytes')",
                ]
                var_len.append(f"len(d{i}) * {w} + 1")
            else:
                fname = items[0][0]
                pre += [
                    f"    c{i} = f[{fname!r}]",
                    f"    if not isinstance(c{i}, (bytes, bytearray)) or len(c{i}) > 255:",
                    f"        raise _enc({fname!r} + ' must be bytes of at most 255')",
                ]
                var_len.append(f"len(c{i}) + 1")
        total = " + ".join([str(fixed_size), *var_len])
        pre.append(f"    total = {total}")
        first = True
        for i, (kind, items) in enumerate(segs):
            if kind == "fixed":
                fmt = "".join(self._fmt(c) for _, c in items)
                if first and with_header:
                    fmt = "LLL" + fmt
                args = ["total", "cid", "seq"] if first and with_header else []
                for fname, con in items:
                    if isinstance(con, OctetString):
                        var = f"s_{fname}"
                        pre.append(f"    {var} = f[{fname!r}].encode('latin-1')")
                        pre.append(f"    if len({var}) > {con.width}:")
                        pre.append(f"        raise _enc({fname!r} + ' wider than {con.width}')")
                        args.append(var)
                    elif isinstance(con, FixedBytes):
                        var = f"s_{fname}"
                        pre.append(f"    {var} = f[{fname!r}]")
                        pre.append(
                            f"    if not isinstance({var}, (bytes, bytearray))"
                            f" or len({var}) != {con.length}:"
                        )
                        pre.append(f"        raise _enc({fname!r} + ' must be {con.length} bytes')")
                        args.append(var)
                    else:
                        args.append(f"f[{fname!r}]")
                key = self._const(struct.Struct(">" + fmt))
                parts.append(f"{key}.pack({', '.join(args)})")
            elif kind == "dests":
                w = items[0][1].width
                parts.append(f"bytes((len(d{i}),))")
                parts.append(f"b''.join([x.ljust({w}, b'\\0') for x in e{i}])")
            else:
                parts.append(f"bytes((len(c{i}),))")
                parts.append(f"c{i}")
            first = False
        if first and with_header:  # empty body: header only
            parts.append(f"{self._const(_HEADER)}.pack(total, cid, seq)")
        if not with_header:
            pre.append("    del total")
        lines += pre
        if len(parts) == 1:
            lines.append(f"    return {parts[0]}")
        else:
            lines.append(f"    return b''.join(({', '.join(parts)},))")
        return "\n".join(lines) + "\n"


def _short(result: int | None, seq: int, what: str) -> PduError:
    return PduError(f"body ends before {what}", result=result, sequence=seq)


def _bad(result: int | None, seq: int, message: str) -> PduError:
    return PduError(message, result=result, sequence=seq)


def _enc(message: str) -> PduError:
    return PduError(message)


_SOURCES: list[str] = []


def _build(gen: _Gen, cid_value: int | None, with_header: bool) -> tuple[Decoder, Encoder]:
    src = gen.decoder_source() + "\n" + gen.encoder_source(with_header)
    _SOURCES.append(src)
    ns: dict[str, Any] = {
        "_os": os_decode,
        "_short": _short,
        "_bad": _bad,
        "_enc": _enc,
        "cid": cid_value,
        **gen.consts,
    }
    exec(compile(src, f"<cmpp codec {gen.name}>", "exec"), ns)  # noqa: S102 - our own source
    return ns[f"{gen.name}_decode"], ns[f"{gen.name}_encode"]


_DECODERS: dict[Layout, dict[int, tuple[CommandId, Decoder]]] = {}
_ENCODERS: dict[Layout, dict[int, tuple[CommandId, Encoder]]] = {}
_REPORT_CODEC: dict[Layout, tuple[Decoder, Encoder]] = {}


def _generate() -> None:
    from protocols.cmpp.pdu import DEFAULTS

    for layout in Layout:
        _DECODERS[layout] = {}
        _ENCODERS[layout] = {}
        for cid, declared in BODIES[layout].items():
            gen = _Gen(f"{cid.name}_{layout.name}", declared, cid, DEFAULTS[cid])
            dec, enc = _build(gen, int(cid), with_header=True)
            _DECODERS[layout][int(cid)] = (cid, dec)
            _ENCODERS[layout][int(cid)] = (cid, enc)
        report_defaults = {s.name: None for s in REPORT[layout].subcons if s.name}
        gen = _Gen(f"REPORT_{layout.name}", REPORT[layout], None, report_defaults)
        _REPORT_CODEC[layout] = _build(gen, None, with_header=False)


_generate()
_LAYOUTS = {v: layout_of(v) for v in range(0x20, 0x31)}
_ENCODE_ERRORS = (struct.error, UnicodeError, AttributeError, TypeError, KeyError, ValueError)


def generated_source() -> str:
    """The Python source of every generated decoder/encoder (for reading and debugging)."""
    return "\n".join(_SOURCES)


def _layout(version: int) -> Layout:
    layout = _LAYOUTS.get(version)
    return layout if layout is not None else layout_of(version)


def decode_at(buf: bytes, start: int, end: int, layout: Layout) -> Pdu:
    """Decode the frame ``buf[start:end]`` without copying it (the session's hot path)."""
    if end - start < HEADER_LENGTH:
        raise PduError(f"frame of {end - start} bytes is shorter than the header")
    total, cid_value, seq = _HEADER.unpack_from(buf, start)
    entry = _DECODERS[layout].get(cid_value)
    if entry is None:
        raise PduError(
            f"unknown Command_Id 0x{cid_value:08x}",
            result=2,
            command_id=cid_value,
            sequence=seq,
        )
    cid, dec = entry
    if total != end - start:
        raise PduError(
            f"Total_Length {total} but frame is {end - start} bytes",
            result=MALFORMED_RESULT.get(cid),
            command_id=cid,
            sequence=seq,
        )
    if cid is CommandId.ACTIVE_TEST_RESP and total == HEADER_LENGTH:
        return Pdu(cid, seq, {"reserved": 0})  # tolerated 12-byte RESP (§2.11)
    try:
        return Pdu(cid, seq, dec(buf, start + HEADER_LENGTH, end, seq))
    except PduError as exc:
        exc.command_id = cid
        exc.message = f"malformed {cid.name}: {exc.message}"
        exc.args = (exc.message,)
        raise


def decode(frame: bytes, version: int) -> Pdu:
    """Decode one whole frame (header included) in the layout of ``version`` (0x20/0x21/0x30)."""
    return decode_at(frame, 0, len(frame), _layout(version))


def encode(pdu: Pdu, version: int) -> bytes:
    """Encode a Pdu in the layout of ``version``; bad field values raise PduError."""
    entry = _ENCODERS[_layout(version)].get(pdu.command_id)
    if entry is None:
        raise PduError(f"unknown Command_Id 0x{pdu.command_id:08x}", command_id=pdu.command_id)
    cid, enc = entry
    try:
        return enc(pdu.fields, pdu.sequence)
    except PduError as exc:
        exc.command_id, exc.sequence = cid, pdu.sequence
        raise
    except _ENCODE_ERRORS as exc:
        raise PduError(
            f"cannot encode {cid.name}: {exc!r}", command_id=cid, sequence=pdu.sequence
        ) from None


def decode_report(content: bytes, version: int) -> StatusReport:
    """Decode the §2.7 status report carried in a DELIVER's Msg_Content.

    The layout is chosen by length first (60 -> 2.0, 71 -> 3.0), then by ``version``:
    some 3.0 gateways send the 60-byte report (cmpp.md §8 pitfall 4).
    """
    dec = _REPORT_CODEC[_report_layout(content, version)][0]
    try:
        return StatusReport(**dec(content, 0, len(content), 0))
    except PduError as exc:
        exc.sequence = None
        raise PduError(f"malformed status report: {exc.message}") from None


def encode_report(report: StatusReport, version: int) -> bytes:
    """Encode a StatusReport as the Msg_Content of a DELIVER with Registered_Delivery = 1."""
    enc = _REPORT_CODEC[_layout(version)][1]
    try:
        return enc(
            {
                "msg_id": report.msg_id,
                "stat": report.stat,
                "submit_time": report.submit_time,
                "done_time": report.done_time,
                "dest_terminal_id": report.dest_terminal_id,
                "smsc_sequence": report.smsc_sequence,
            },
            0,
        )
    except PduError:
        raise
    except _ENCODE_ERRORS as exc:
        raise PduError(f"cannot encode status report: {exc!r}") from None


def command_of(value: int) -> CommandId | None:
    """CommandId for a raw Command_Id, or None when unknown."""
    return COMMANDS.get(value)
