"""Outbox items → deliver_sm PDUs (SMPP 3.4 §4.6, receipts per Appendix B; smpp.md §7).

A receipt is one deliver_sm with esm_class 0x04 (0x20 for an intermediate notification), the
de-facto receipt text, and the receipted_message_id / message_state TLVs (network_error_code
on failure). Source and destination are swapped: the receipt comes *from* the handset.

An MO is split by the segmentation module (8-bit reference UDH, esm_class 0x40 when long);
every part is a deliver_sm, and the outbox item is acknowledged when all parts are.
"""

from __future__ import annotations

import time
from typing import Any

from protocols.smpp.pdu import CommandId, CommandStatus, Pdu, PduError, Tag
from smsc.segmentation import ReferenceAllocator, split

ESM_RECEIPT = 0x04
ESM_INTERMEDIATE = 0x20
ESM_UDHI = 0x40


_dates: dict[tuple[int, bool], str] = {}


def _date(epoch: float, seconds: bool = False) -> str:
    """Cached per second: at high rates most receipts share their submit and done seconds,
    and gmtime + strftime twice per receipt showed in the loop's profile."""
    key = (int(epoch), seconds)
    text = _dates.get(key)
    if text is None:
        if len(_dates) >= 4096:
            _dates.clear()
        fmt = "%y%m%d%H%M%S" if seconds else "%y%m%d%H%M"
        text = _dates[key] = time.strftime(fmt, time.gmtime(key[0]))
    return text


def receipt_text(p: dict[str, Any], *, seconds: bool = False) -> str:
    """``id:… sub:001 dlvrd:… submit date:… done date:… stat:… err:… text:…`` (Appendix B).

    Dates are UTC, YYMMDDhhmm (or YYMMDDhhmmss with ``seconds``, a common variation).
    """
    delivered = "001" if p["state"] == "DELIVRD" else "000"
    submit = _date(p["submitted_at"], seconds)
    done = _date(p["done_at"], seconds)
    return (
        f"id:{p['message_id']} sub:001 dlvrd:{delivered} submit date:{submit} "
        f"done date:{done} stat:{p['smpp_stat']} err:{int(p['err']):03d} "
        f"text:{p.get('text', '')[:20]}"
    )


_RECEIPTED_MESSAGE_ID = int(Tag.receipted_message_id)
_MESSAGE_STATE = int(Tag.message_state)
_NETWORK_ERROR_CODE = int(Tag.network_error_code)
_DELIVER_SM = CommandId.deliver_sm
_STATE_OCTET = [bytes([n]) for n in range(256)]


def receipt_pdu(p: dict[str, Any], *, seconds: bool = False) -> Pdu:
    """The receipt's deliver_sm, built directly: one per message at high rates, and
    ``Pdu.make`` (merging the defaults of 17 parameters) with two ``set_tlv`` calls was most
    of its cost. ``tests/protocols/smpp/test_render.py`` holds it equal to that build."""
    text = receipt_text(p, seconds=seconds).encode("latin-1", "replace")
    handset = p["destination"]
    numeric = 1 if handset.isdigit() else 0
    message_id = p["message_id"]
    try:
        receipted = message_id.encode("latin-1") + b"\0"
    except UnicodeError as exc:
        raise PduError(
            CommandStatus.ESME_RINVOPTPARAMVAL, f"bad value for TLV 0x001e: {exc}"
        ) from exc
    state = int(p["message_state"])
    if not 0 <= state < 256:
        raise PduError(CommandStatus.ESME_RINVOPTPARAMVAL, f"message_state {state} is not 1 octet")
    tlvs = [(_RECEIPTED_MESSAGE_ID, receipted), (_MESSAGE_STATE, _STATE_OCTET[state])]
    nec = int(p.get("network_error_code") or 0)
    if nec:
        # network_error_code: network type (3 = GSM) + 2-octet error code
        tlvs.append((_NETWORK_ERROR_CODE, bytes([3]) + (nec & 0xFFFF).to_bytes(2, "big")))
    return Pdu(
        _DELIVER_SM,
        0,
        0,
        {
            "service_type": "",
            "source_addr_ton": numeric,
            "source_addr_npi": numeric,
            "source_addr": handset,
            "dest_addr_ton": 0,
            "dest_addr_npi": 0,
            "destination_addr": p["source"],
            "esm_class": ESM_RECEIPT if p.get("final", True) else ESM_INTERMEDIATE,
            "protocol_id": 0,
            "priority_flag": 0,
            "schedule_delivery_time": "",
            "validity_period": "",
            "registered_delivery": 0,
            "replace_if_present_flag": 0,
            "data_coding": 0,
            "sm_default_msg_id": 0,
            "short_message": text[:254],
        },
        tlvs,
    )


def mo_pdus(p: dict[str, Any], refs: ReferenceAllocator, account: str) -> list[Pdu]:
    coding = p.get("coding", "auto")
    encoding = {"auto": "auto", "gsm7": "gsm7", "ucs2": "ucs2"}.get(coding, "auto")
    first = split(p["text"], encoding=encoding, udh="8", ref=1)
    result = first
    if len(first.parts) > 1:
        ref = refs.next((account, p["source"], p["destination"]), bits=8)
        result = split(p["text"], encoding=encoding, udh="8", ref=ref)
    pdus = []
    for seg in result.parts:
        pdus.append(
            Pdu.make(
                CommandId.deliver_sm,
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=p["source"],
                dest_addr_ton=0,
                dest_addr_npi=1,
                destination_addr=p["destination"],
                esm_class=ESM_UDHI if seg.udh else 0,
                data_coding=result.data_coding,
                short_message=seg.short_message,
            )
        )
    return pdus


def item_pdus(
    kind: str,
    payload: dict[str, Any],
    refs: ReferenceAllocator,
    account: str,
    *,
    seconds: bool = False,
) -> list[Pdu]:
    """The deliver_sm PDUs that carry one outbox item (a receipt, or an MO in 1..n parts)."""
    if kind == "receipt":
        return [receipt_pdu(payload, seconds=seconds)]
    return mo_pdus(payload, refs, account)
