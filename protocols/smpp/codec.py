"""Fast SMPP 3.4 codec generated from the Construct declarations in ``pdu.BODIES``.

Interpreted Construct costs ~150 µs per submit_sm body; this module walks every declared
``Struct`` once at import time and generates one straight-line Python function per PDU body
(decode and encode), so the hot path is a handful of ``bytes.find`` / index / slice operations
(a few µs). Adding or changing a field in a declaration changes the generated code; an unknown
construct type in a declaration fails at import, never silently. Equality with the declared
path is proven by the property tests in tests/protocols/smpp/test_codec_properties.py.

Supported declaration vocabulary: ``Int8ub/Int16ub/Int32ub``, ``COctetString``,
``ShortMessage``, ``CountedArray`` of ``Record`` or ``TaggedUnion`` of ``Record``, and a final
``TlvStream``. Error semantics mirror the custom constructs in pdu.py exactly.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from construct import Construct, FormatField, Struct

from .pdu import (
    BODIES,
    COctetString,
    CommandId,
    CountedArray,
    Pdu,
    PduError,
    Record,
    ShortMessage,
    TaggedUnion,
    TlvStream,
    _status,
    is_response,
)
from .pdu import CommandStatus as S

__all__ = ["decode", "encode", "generated_source"]

_HEADER = struct.Struct(">IIII")
_TLV_HEAD = struct.Struct(">HH")
_INT_SIZES = {">B": 1, ">H": 2, ">L": 4, ">I": 4}

_ENCODE_ERRORS = (
    TypeError,
    ValueError,
    OverflowError,
    KeyError,
    AttributeError,
    struct.error,
    UnicodeError,
)


# --------------------------------------------------------------------------- error helpers
# Called from generated code; they only ever raise.


def _cstr_fail(b: bytes, p: int, size: int, end: int, status: int, name: str) -> None:
    if end - p < size:
        raise PduError(S.ESME_RINVCMDLEN, f"C-Octet String {name} runs past the PDU")
    raise PduError(status, f"{name} longer than {size - 1} octets")


def _overrun(name: str) -> PduError:
    return PduError(S.ESME_RINVCMDLEN, f"{name} runs past the PDU")


def _bad_len(name: str, status: int, sizes: tuple[int, ...], n: int) -> PduError:
    return PduError(status, f"{name} must be {sizes} octets, got {n}")


def _bad_str(name: str, status: int, size: int) -> PduError:
    return PduError(status, f"{name}: longer than {size - 1} octets or contains NUL")


def _bad(status: int, message: str) -> PduError:
    return PduError(status, message)


# --------------------------------------------------------------------------- generator


class _Gen:
    """Emits Python source for the decode/encode functions of each declared body."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            "PduError": PduError,
            "_cstr_fail": _cstr_fail,
            "_overrun": _overrun,
            "_bad_len": _bad_len,
            "_bad_str": _bad_str,
            "_bad": _bad,
            "_u16": struct.Struct(">H").unpack_from,
            "_u32": struct.Struct(">I").unpack_from,
            "_tlvh": _TLV_HEAD.unpack_from,
            "_tlvp": _TLV_HEAD.pack,
            "_p16": struct.Struct(">H").pack,
            "_p32": struct.Struct(">I").pack,
        }
        self.src: list[str] = []
        self.counter = 0
        self.cache: dict[int, str] = {}

    def const(self, value: Any, prefix: str = "k") -> str:
        self.counter += 1
        name = f"_{prefix}{self.counter}"
        self.ns[name] = value
        return name

    # -- decode ---------------------------------------------------------------------------

    def decoder(self, fields: list[Construct], fname: str, ret: str) -> None:
        """Straight-line decoder for ``fields``; ``ret`` is 'body' (params, tlvs) or a class
        constant name (a Record element returning (obj, p))."""
        out: list[str] = []  # own buffer: element functions are emitted while we run
        head = "b, end" if ret == "body" else "b, p, end"
        out.append(f"def {fname}({head}):")
        if ret == "body":
            out.append("    p = 16")
        names: list[tuple[str, str]] = []
        tlvs = "[]"
        pend: list[tuple[str, str, int]] = []  # run of fixed-size ints not yet emitted

        def flush() -> None:
            if not pend:
                return
            total = sum(n for _, _, n in pend)
            out.append(f"    if p + {total} > end: raise _overrun({pend[0][1]!r})")
            if len(pend) >= 3 and all(n == 1 for _, _, n in pend):
                # one unpack_from beats 3+ index operations
                fmt = self.const(struct.Struct(f">{len(pend)}B").unpack_from, "ub")
                out.append(f"    {', '.join(v for v, _, _ in pend)} = {fmt}(b, p)")
                out.append(f"    p += {total}")
                pend.clear()
                return
            off = 0
            for var, _, n in pend:
                at = f"p + {off}" if off else "p"
                if n == 1:
                    out.append(f"    {var} = b[{at}]")
                elif n == 2:
                    out.append(f"    {var} = _u16(b, {at})[0]")
                else:
                    out.append(f"    {var} = _u32(b, {at})[0]")
                off += n
            out.append(f"    p += {total}")
            pend.clear()

        for i, rn in enumerate(fields):
            name, sub = rn.name, rn.subcon
            var = f"v{i}"
            if isinstance(sub, FormatField):
                size = _INT_SIZES[sub.fmtstr]
                pend.append((var, name, size))
                names.append((name, var))
                continue
            flush()
            if isinstance(sub, COctetString):
                m = sub.max_size
                ind = "    "
                if sub.sizes is None or 0 in sub.sizes:
                    # empty strings (service_type, times) are the common case: skip find()
                    out.append(f"    if p < end and not b[p]: {var} = ''; p += 1")
                    out.append("    else:")
                    ind = "        "
                out.append(f"{ind}z = b.find(0, p, p + {m})")
                out.append(
                    f"{ind}if z < 0: _cstr_fail(b, p, {m}, end, {int(sub.status)}, {name!r})"
                )
                if sub.sizes is not None:
                    cond = " and ".join(f"z - p != {s}" for s in sub.sizes)
                    out.append(
                        f"{ind}if {cond}: raise _bad_len({name!r}, {int(sub.status)}, "
                        f"{sub.sizes!r}, z - p)"
                    )
                out.append(f"{ind}{var} = b[p:z].decode('latin-1')")
                out.append(f"{ind}p = z + 1")
            elif isinstance(sub, ShortMessage):
                mx = sub.max_length
                out.append("    if p >= end: raise _overrun('sm_length')")
                out.append("    n = b[p]")
                out.append(
                    f"    if n > {mx}: raise _bad({int(S.ESME_RINVMSGLEN)}, "
                    f"f'sm_length {{n}} > {mx}')"
                )
                out.append("    q = p + 1 + n")
                out.append(
                    f"    if q > end: raise _bad({int(S.ESME_RINVMSGLEN)}, "
                    "f'sm_length {n} overruns the PDU')"
                )
                out.append(f"    {var} = b[p + 1:q]")
                out.append("    p = q")
            elif isinstance(sub, CountedArray):
                el = self.element_decoder(sub.element)
                out.append(f"    if p >= end: raise _overrun({name!r})")
                out.append("    n = b[p]")
                out.append("    p += 1")
                out.append(
                    f"    if n < {sub.min_count} or n > {sub.max_count}: "
                    f"raise _bad({int(sub.status)}, f'{name} count {{n}} out of range')"
                )
                out.append(f"    {var} = []")
                out.append("    for _ in range(n):")
                out.append(f"        o, p = {el}(b, p, end)")
                out.append(f"        {var}.append(o)")
            elif isinstance(sub, TlvStream):
                if i != len(fields) - 1:
                    raise TypeError("TlvStream must be the last field")
                st = int(S.ESME_RINVOPTPARSTREAM)
                out.append("    t = []")
                out.append("    while p < end:")
                out.append(f"        if p + 4 > end: raise _bad({st}, 'truncated TLV header')")
                out.append("        tag, n = _tlvh(b, p)")
                out.append("        q = p + 4 + n")
                out.append(
                    f"        if q > end: raise _bad({st}, f'TLV 0x{{tag:04x}} overruns the PDU')"
                )
                out.append("        t.append((tag, b[p + 4:q]))")
                out.append("        p = q")
                tlvs = "t"
                continue
            else:
                raise TypeError(f"codec cannot generate {type(sub).__name__} ({name})")
            names.append((name, var))
        flush()
        if ret == "body":
            if tlvs == "[]":
                out.append("    if p != end: raise _overrun('body')")
            body = ", ".join(f"{n!r}: {v}" for n, v in names)
            out.append(f"    return {{{body}}}, {tlvs}")
        else:
            out.append(f"    return {ret}({', '.join(v for _, v in names)}), p")
        out.append("")
        self.src += out

    def element_decoder(self, el: Construct) -> str:
        if id(el) in self.cache:
            return self.cache[id(el)]
        if isinstance(el, Record):
            self.counter += 1
            fname = f"_del{self.counter}"
            self.decoder(list(el.struct.subcons), fname, self.const(el.cls, "cls"))
        elif isinstance(el, TaggedUnion):
            table = {flag: self.element_decoder(rec) for flag, rec in el.variants.items()}
            self.counter += 1
            fname = f"_dun{self.counter}"
            tname = self.const(None, "tbl")
            self.src += [
                f"def {fname}(b, p, end):",
                "    if p >= end: raise _overrun('flag')",
                f"    fn = {tname}.get(b[p])",
                f"    if fn is None: raise _bad({int(el.status)}, f'unknown flag {{b[p]}}')",
                "    return fn(b, p + 1, end)",
                "",
            ]
            self._late.append((tname, table))
        else:
            raise TypeError(f"codec cannot generate array element {type(el).__name__}")
        self.cache[id(el)] = fname
        return fname

    # -- encode ---------------------------------------------------------------------------

    def encoder(self, fields: list[Construct], fname: str, record: bool) -> None:
        """Encoder appending ``fields`` to bytearray ``out``; for a Record the source is the
        dataclass instance ``d`` (attributes) instead of the params dict."""
        out: list[str] = []
        out.append(f"def {fname}({'d, out' if record else 'd, t, out'}):")
        has_tlvs = False
        for rn in fields:
            name, sub = rn.name, rn.subcon
            get = f"d.{name}" if record else f"d[{name!r}]"
            if isinstance(sub, FormatField):
                size = _INT_SIZES[sub.fmtstr]
                if size == 1:
                    out.append(f"    out.append({get})")
                else:
                    out.append(f"    out += _p{size * 8}({get})")
            elif isinstance(sub, COctetString):
                m = sub.max_size
                st = int(sub.status)
                out.append(f"    e = {get}.encode('latin-1')")
                out.append(f"    if len(e) >= {m} or 0 in e: raise _bad_str({name!r}, {st}, {m})")
                if sub.sizes is not None:
                    cond = " and ".join(f"len(e) != {s}" for s in sub.sizes)
                    out.append(
                        f"    if {cond}: raise _bad_len({name!r}, {st}, {sub.sizes!r}, len(e))"
                    )
                out.append("    out += e")
                out.append("    out.append(0)")
            elif isinstance(sub, ShortMessage):
                ml = int(S.ESME_RINVMSGLEN)
                out.append(f"    e = {get}")
                out.append(
                    f"    if not isinstance(e, (bytes, bytearray)): "
                    f"raise _bad({ml}, 'short_message must be bytes')"
                )
                out.append(
                    f"    if len(e) > {sub.max_length}: "
                    f"raise _bad({ml}, 'short_message longer than {sub.max_length}')"
                )
                out.append("    out.append(len(e))")
                out.append("    out += e")
            elif isinstance(sub, CountedArray):
                el = self.element_encoder(sub.element)
                out.append(f"    a = {get}")
                out.append(
                    f"    if not isinstance(a, (list, tuple)) or not "
                    f"{sub.min_count} <= len(a) <= {sub.max_count}: "
                    f"raise _bad({int(sub.status)}, "
                    f"'{name}: need a list of {sub.min_count}..{sub.max_count}')"
                )
                out.append("    out.append(len(a))")
                out.append("    for o in a:")
                out.append(f"        {el}(o, out)")
            elif isinstance(sub, TlvStream):
                has_tlvs = True
                st = int(S.ESME_RINVOPTPARAMVAL)
                out.append("    for tag, val in t:")
                out.append(
                    "        if not isinstance(val, (bytes, bytearray)): "
                    f"raise _bad({st}, f'TLV 0x{{tag:04x}} value is not bytes')"
                )
                out.append("        out += _tlvp(tag, len(val))")
                out.append("        out += val")
            else:
                raise TypeError(f"codec cannot generate {type(sub).__name__} ({name})")
        if not record and not has_tlvs:
            out.append(f"    if t: raise _bad({int(S.ESME_RINVCMDLEN)}, 'PDU carries no TLVs')")
        out.append("    return out")
        out.append("")
        self.src += out

    def element_encoder(self, el: Construct) -> str:
        key = ("enc", id(el))
        if key in self._enc_cache:
            return self._enc_cache[key]
        if isinstance(el, Record):
            self.counter += 1
            fname = f"_eel{self.counter}"
            self.ns[f"_cls{fname}"] = el.cls
            self.encoder(list(el.struct.subcons), fname + "_body", record=True)
            self.src += [
                f"def {fname}(d, out):",
                f"    if type(d) is not _cls{fname}: "
                f"raise _bad({int(S.ESME_RSYSERR)}, f'expected {el.cls.__name__}, got {{d!r}}')",
                f"    return {fname}_body(d, out)",
                "",
            ]
        elif isinstance(el, TaggedUnion):
            self.counter += 1
            fname = f"_eun{self.counter}"
            tname = self.const(None, "etbl")
            table = {
                rec.cls: (flag, self.element_encoder(rec)) for flag, rec in el.variants.items()
            }
            self.src += [
                f"def {fname}(d, out):",
                f"    hit = {tname}.get(type(d))",
                f"    if hit is None: raise _bad({int(el.status)}, "
                "f'not a dest_address entry: {d!r}')",
                "    out.append(hit[0])",
                "    hit[1](d, out)",
                "",
            ]
            self._late.append((tname, table))
        else:
            raise TypeError(f"codec cannot generate array element {type(el).__name__}")
        self._enc_cache[key] = fname
        return fname

    _late: list[tuple[str, dict[Any, Any]]]
    _enc_cache: dict[tuple[str, int], str]

    def build(
        self, bodies: dict[CommandId, Struct]
    ) -> tuple[dict[int, Callable[..., Any]], dict[int, Callable[..., Any]], str]:
        self._late = []
        self._enc_cache = {}
        dec_names: dict[int, str] = {}
        enc_names: dict[int, str] = {}
        by_struct: dict[int, tuple[str, str]] = {}
        for cid, body in bodies.items():
            if id(body) not in by_struct:
                self.counter += 1
                d, e = f"_dec_{cid.name}", f"_enc_{cid.name}"
                fields = list(body.subcons)
                self.decoder(fields, d, "body")
                self.encoder(fields, e, record=False)
                by_struct[id(body)] = (d, e)
            dec_names[cid], enc_names[cid] = by_struct[id(body)]
        source = "\n".join(self.src)
        exec(compile(source, "<smpp-codec>", "exec"), self.ns)  # noqa: S102 - generated above
        for tname, table in self._late:  # dispatch tables need the compiled functions
            self.ns[tname] = {
                k: (self.ns[v] if isinstance(v, str) else (v[0], self.ns[v[1]]))
                for k, v in table.items()
            }
        decs = {cid: self.ns[n] for cid, n in dec_names.items()}
        encs = {cid: self.ns[n] for cid, n in enc_names.items()}
        return decs, encs, source


_decoders, _encoders, generated_source = _Gen().build(BODIES)

# Response bodies may be absent on the wire (header only, §2.2/§2.3).
_RESPONSES = frozenset(c for c in BODIES if is_response(c))
_CID: dict[int, CommandId] = {int(c): c for c in BODIES}
_EMPTY = frozenset(c for c, b in BODIES.items() if not b.subcons)
_hdr = _HEADER.unpack_from
_hdr_into = _HEADER.pack_into


def decode(frame: bytes | bytearray) -> Pdu:
    """Decode one whole PDU (header included) on the fast path. Raises only ``PduError``."""
    if type(frame) is not bytes:
        frame = bytes(frame)
    n = len(frame)
    if n < 16:
        raise PduError(S.ESME_RINVCMDLEN, f"PDU of {n} octets is shorter than 16")
    length, cid, status, seq = _hdr(frame)
    if length != n:
        raise PduError(S.ESME_RINVCMDLEN, f"command_length {length} != {n} octets", cid, seq)
    dec = _decoders.get(cid)
    if dec is None:
        raise PduError(S.ESME_RINVCMDID, f"unknown command_id 0x{cid:08x}", cid, seq)
    if n == 16 and cid in _RESPONSES:
        return Pdu(_CID[cid], _status(status), seq, {}, [])
    try:
        params, tlvs = dec(frame, n)
    except PduError as exc:
        exc.command_id, exc.sequence = cid, seq
        raise
    return Pdu(_CID[cid], _status(status), seq, params, tlvs)


def encode(pdu: Pdu) -> bytes:
    """Encode one PDU on the fast path. Raises only ``PduError``."""
    cid = pdu.command_id
    try:
        enc = _encoders[cid]
    except (KeyError, TypeError):
        raise PduError(
            S.ESME_RINVCMDID, f"unknown command_id {cid!r}", None, pdu.sequence
        ) from None
    out = bytearray(16)
    try:
        params, tlvs = pdu.params, pdu.tlvs
        if params or tlvs or cid not in _RESPONSES:
            if cid in _EMPTY:
                if tlvs:
                    raise PduError(S.ESME_RINVCMDLEN, f"{_CID[cid].name} carries no TLVs")
            else:
                enc(params, tlvs, out)
        _hdr_into(out, 0, len(out), cid, pdu.command_status, pdu.sequence)
    except PduError as exc:
        exc.command_id, exc.sequence = cid, pdu.sequence
        raise
    except _ENCODE_ERRORS as exc:
        raise PduError(S.ESME_RSYSERR, f"cannot encode: {exc!r}", cid, pdu.sequence) from exc
    return bytes(out)
