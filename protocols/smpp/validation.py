"""submit_sm / submit_multi / data_sm → the core's ``Submit``, with SMPP 3.4 error codes.

Every check answers with the code SMPP 3.4 §5.1.3 defines for that field (smpp.md §3, §5).

data_coding: v3.4 has no "invalid data_coding" status. Values this SMSC cannot read as text
(reserved codes, JIS, KS C 5601 …) are accepted as 8-bit binary: the octets are stored and
delivered unchanged, billed by octets, and content rules do not match them.
"""

from __future__ import annotations

from typing import Any

from protocols.smpp.pdu import CommandStatus as S
from protocols.smpp.pdu import Pdu, PduError, Tag
from protocols.smpp.timefmt import TimeFormatError, parse_time
from smsc.charsets import decode, encoding_for_data_coding
from smsc.model import ReceiptRequest, Submit
from smsc.segmentation import SegmentationError, parse_udh

VALID_TON = frozenset(range(0, 7))
VALID_NPI = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})
_MESSAGE_TYPES_MT = frozenset({0x00, 0x08, 0x10})  # normal, ESME delivery ack, manual ack
# registered_delivery bits 0-1 (§5.2.17): none, final, failure only; 3 is reserved: final.
# A tuple, not ``ReceiptRequest(mode)``: an enum lookup by value costs ~0.45 µs per submit.
_RECEIPT_BY_MODE = (
    ReceiptRequest.NONE,
    ReceiptRequest.FINAL,
    ReceiptRequest.FAILURE_ONLY,
    ReceiptRequest.FINAL,
)
_TEXT_ENCODINGS = frozenset({"gsm7", "ascii", "latin1", "ucs2", "cyrillic", "hebrew"})


class SubmitError(Exception):
    """A submit the SMSC refuses: ``status`` goes into the response, ``message`` into the log."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check_address(ton: int, npi: int, addr: str, *, source: bool) -> None:
    if ton not in VALID_TON:
        raise SubmitError(S.ESME_RINVSRCTON if source else S.ESME_RINVDSTTON, f"bad TON {ton}")
    if npi not in VALID_NPI:
        raise SubmitError(S.ESME_RINVSRCNPI if source else S.ESME_RINVDSTNPI, f"bad NPI {npi}")
    if source:
        if ton != 5 and addr and not (addr.lstrip("+").isdigit()):
            raise SubmitError(S.ESME_RINVSRCADR, f"source_addr {addr!r} is not numeric (TON {ton})")
        return
    if not addr:
        raise SubmitError(S.ESME_RINVDSTADR, "destination_addr is empty")
    if not addr.lstrip("+").isdigit():
        raise SubmitError(S.ESME_RINVDSTADR, f"destination_addr {addr!r} is not a number")


def _receipt(registered_delivery: int) -> tuple[ReceiptRequest, bool]:
    if registered_delivery & 0xE0:
        raise SubmitError(
            S.ESME_RINVREGDLVFLG,
            f"registered_delivery 0x{registered_delivery:02x} sets reserved bits",
        )
    return _RECEIPT_BY_MODE[registered_delivery & 0x03], bool(registered_delivery & 0x10)


def _times(p: dict[str, Any], now: float) -> tuple[float | None, float | None]:
    try:
        schedule_at = parse_time(p.get("schedule_delivery_time", ""), now)
    except TimeFormatError as exc:
        raise SubmitError(S.ESME_RINVSCHED, f"schedule_delivery_time: {exc}") from None
    try:
        validity_at = parse_time(p.get("validity_period", ""), now)
    except TimeFormatError as exc:
        raise SubmitError(S.ESME_RINVEXPIRY, f"validity_period: {exc}") from None
    return schedule_at, validity_at


def _body(pdu: Pdu) -> bytes:
    sm: bytes = pdu.params.get("short_message", b"")
    if not pdu.tlvs:  # the usual submit: no TLV to look through
        return sm
    try:
        payload = pdu.tlv(Tag.message_payload)
    except PduError as exc:
        raise SubmitError(exc.status, str(exc)) from None
    if payload is not None:
        if sm:
            raise SubmitError(
                S.ESME_RINVMSGLEN, "both short_message and message_payload are present"
            )
        return bytes(payload)
    return sm


def _group(pdu: Pdu, esm_class: int, body: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """Concatenation info from a UDH (esm_class 0x40) or the sar_* TLVs; returns the text part."""
    if esm_class & 0x40:
        try:
            concat, rest = parse_udh(body)
        except SegmentationError as bad_udh:
            raise SubmitError(
                S.ESME_RINVESMCLASS, f"UDHI set but the UDH is malformed: {bad_udh}"
            ) from None
        if concat is not None and concat.total > 1:
            return (concat.ref, concat.total, concat.seq), rest
        return None, rest
    if not pdu.tlvs:
        return None, body
    try:
        ref = pdu.tlv(Tag.sar_msg_ref_num)
        total = pdu.tlv(Tag.sar_total_segments)
        seq = pdu.tlv(Tag.sar_segment_seqnum)
    except PduError as exc:
        raise SubmitError(exc.status, str(exc)) from None
    if ref is None and total is None and seq is None:
        return None, body
    if ref is None or total is None or seq is None or total < 1 or not 1 <= seq <= total:
        raise SubmitError(
            S.ESME_RINVOPTPARAMVAL,
            f"sar_* TLVs incomplete or inconsistent (ref={ref}, total={total}, seq={seq})",
        )
    return ((ref, total, seq) if total > 1 else None), body


def common_checks(pdu: Pdu) -> None:
    p = pdu.params
    if p.get("priority_flag", 0) > 3:
        raise SubmitError(S.ESME_RINVPRTFLG, f"priority_flag {p['priority_flag']} > 3")
    if p.get("replace_if_present_flag", 0) not in (0, 1):
        raise SubmitError(S.ESME_RINVREPFLAG, "replace_if_present_flag must be 0 or 1")
    esm = p.get("esm_class", 0)
    if (esm & 0x3C) not in _MESSAGE_TYPES_MT:
        raise SubmitError(
            S.ESME_RINVESMCLASS, f"esm_class 0x{esm:02x}: not a message type an ESME submits"
        )


def decode_text(body: bytes, data_coding: int) -> str | None:
    enc = encoding_for_data_coding(data_coding)
    if enc not in _TEXT_ENCODINGS:
        return None
    return decode(body, enc)


def to_submits(
    pdu: Pdu, *, bind_id: str, now: float
) -> tuple[list[Submit], list[tuple[int, int, str, int]]]:
    """Map a submit_sm / submit_multi / data_sm onto one ``Submit`` per good destination.

    Returns (submits, failures); failures are (ton, npi, address, status) for submit_multi's
    unsuccess_sme list. A problem with the message itself raises ``SubmitError``; so does a
    bad destination of submit_sm / data_sm.
    """
    p = pdu.params
    common_checks(pdu)
    _check_address(p["source_addr_ton"], p["source_addr_npi"], p["source_addr"], source=True)
    failures: list[tuple[int, int, str, int]] = []
    destinations: list[tuple[int, int, str]] = []
    if "dest_address" in p:  # submit_multi
        if not p["dest_address"]:
            raise SubmitError(S.ESME_RINVNUMDESTS, "submit_multi with no destinations")
        for d in p["dest_address"]:
            addr = getattr(d, "destination_addr", None)
            if addr is None:  # a distribution list name: this SMSC keeps none
                failures.append((0, 0, getattr(d, "dl_name", ""), S.ESME_RINVDLNAME))
                continue
            try:
                _check_address(d.dest_addr_ton, d.dest_addr_npi, addr, source=False)
            except SubmitError as exc:
                failures.append((d.dest_addr_ton, d.dest_addr_npi, addr, exc.status))
                continue
            destinations.append((d.dest_addr_ton, d.dest_addr_npi, addr))
    else:
        _check_address(p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"], source=False)
        destinations.append((p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"]))
    receipt, intermediate = _receipt(p.get("registered_delivery", 0))
    schedule_at, validity_at = _times(p, now)
    esm_class = p.get("esm_class", 0)
    body = _body(pdu)
    data_coding = p.get("data_coding", 0)
    group, text_part = _group(pdu, esm_class, body)
    text = decode_text(text_part, data_coding)
    extra = {"service_type": p["service_type"]} if p.get("service_type") else None
    submits = [
        Submit(  # positional: per message (tests/smsc/test_hot_dataclasses.py)
            "smpp",
            bind_id,
            p["source_addr"],
            addr,
            body,
            data_coding,
            esm_class,
            text,
            group,
            receipt,
            intermediate,
            schedule_at,
            validity_at,
            None,
            None,
            extra,
        )
        for _ton, _npi, addr in destinations
    ]
    return submits, failures
