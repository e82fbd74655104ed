"""Reassembling concatenated parts into whole texts, and the receipt policy for long messages.

Implements segmentation.md §5: parts keyed per (reference kind, source, destination, reference,
total, encoding), any order, duplicate-safe, decoded once after joining the raw units, bounded,
and never silently dropped — an incomplete set surfaces flagged ``complete=False`` when it times
out or is evicted to make room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from smsc.charsets import CharsetError, decode, normalize_encoding
from smsc.segmentation import MAX_PARTS, SegmentationError, parse_udh

__all__ = [
    "GAP",
    "IncomingPart",
    "LongReceiptMode",
    "Reassembled",
    "Reassembler",
    "worst_state",
]

#: Shown in place of missing parts in the text of an incomplete set (§5.6 deliver_partial).
GAP = "…"


class LongReceiptMode(StrEnum):
    """How receipts are produced for a message sent as several parts.

    ``per_part`` (default) is what SMPP does with UDH parts: each part has its own message_id and
    its own receipt (§4.2). ``per_message`` sends one receipt for the whole message carrying
    ``worst_state`` of its parts, as vendors do for message_payload and HTTP submissions.
    """

    PER_PART = "per_part"
    PER_MESSAGE = "per_message"


# Worst first. A long message is delivered only if every part is, so the combined receipt
# reports the part that most needs the sender's attention: an outright refusal (policy,
# blacklist) first, because retrying cannot help; then a failed delivery; then the softer
# outcomes; then still-pending; DELIVRD only when every part says so.
_STATE_ORDER = (
    "REJECTD",
    "DTBLACK",
    "UNDELIV",
    "SKIPPED",
    "EXPIRED",
    "DELETED",
    "UNKNOWN",
    "ACCEPTD",
    "ENROUTE",
    "SCHEDULED",
    "DELIVRD",
)
_STATE_RANK = {s: i for i, s in enumerate(_STATE_ORDER)}
# Vendor error codes we do not know (CMPP "MK:0001", "ID:0076", …) are failures: as bad as
# UNDELIV, since they say the handset did not get it.
_UNLISTED_RANK = _STATE_RANK["UNDELIV"]


def worst_state(states: Iterable[str]) -> str:
    """The worst of the parts' receipt states (see ``_STATE_ORDER``); ``UNKNOWN`` if none.

    Comparison ignores case and surrounding spaces; the state is returned as given. Among equal
    ranks the first one seen wins, so a specific vendor code is kept rather than replaced.
    """
    worst: str | None = None
    worst_rank = len(_STATE_ORDER)
    for state in states:
        rank = _STATE_RANK.get(state.strip().upper(), _UNLISTED_RANK)
        if rank < worst_rank:
            worst, worst_rank = state, rank
    return "UNKNOWN" if worst is None else worst


@dataclass(frozen=True, slots=True)
class IncomingPart:
    """One received part, UDH already stripped. ``token`` is the caller's id for it.

    ``kind`` (``ref8``, ``ref16`` or ``sar``) is part of the key so an 8-bit reference 0x2A and a
    16-bit 0x002A never merge (§5.2). Raises SegmentationError for impossible counters or an
    unknown encoding.
    """

    source: str
    destination: str
    ref: int
    total: int
    seq: int
    payload: bytes
    encoding: str
    token: object = None
    kind: str = "ref8"

    def __post_init__(self) -> None:
        if not 1 <= self.total <= MAX_PARTS:
            raise SegmentationError(f"total {self.total} outside 1..{MAX_PARTS}")
        if not 1 <= self.seq <= self.total:
            raise SegmentationError(f"sequence {self.seq} outside 1..{self.total}")
        if self.ref < 0:
            raise SegmentationError(f"negative reference {self.ref}")
        try:
            object.__setattr__(self, "encoding", normalize_encoding(self.encoding))
        except CharsetError as exc:
            raise SegmentationError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Reassembled:
    """A whole message, or what arrived of one (``complete=False``: timed out or evicted).

    ``payload`` is the parts' octets joined in sequence order; ``tokens`` are in the same order;
    ``missing`` lists absent sequence numbers; ``anomaly`` says what looked wrong (a duplicate
    with a different payload, a malformed UDH passed through), else None.
    """

    source: str
    destination: str
    ref: int
    total: int
    text: str
    parts_received: int
    complete: bool
    tokens: tuple[object, ...]
    payload: bytes = b""
    missing: tuple[int, ...] = ()
    duplicates: int = 0
    anomaly: str | None = None


@dataclass(slots=True)
class _Pending:
    first_seen: float
    parts: dict[int, IncomingPart] = field(default_factory=dict)
    duplicates: int = 0
    anomaly: str | None = None


_Key = tuple[str, str, str, int, int, str]


class Reassembler:
    """Collects parts until a set is complete (§5). Time is passed in; nothing reads a clock.

    ``expire(now)`` surfaces sets older than ``timeout_s`` (from their first part); when
    ``max_pending`` sets are open, a part for a new set first surfaces the oldest one.
    """

    def __init__(self, timeout_s: float = 300.0, max_pending: int = 10000) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max(1, max_pending)
        # Insertion order is first-arrival order, so the oldest set is always first.
        self._pending: dict[_Key, _Pending] = {}

    @property
    def pending_count(self) -> int:
        """Sets waiting for more parts."""
        return len(self._pending)

    def add(self, part: IncomingPart, now: float) -> list[Reassembled]:
        """Store ``part``; return what became ready: a completed set, and/or an evicted one.

        A duplicate sequence number keeps the first payload; a different payload is recorded
        as an anomaly. After a set completes its key is free again (the reference wrapped).
        """
        out: list[Reassembled] = []
        if part.total == 1:
            return [_surface(part, _Pending(now, {1: part}))]
        key = (part.kind, part.source, part.destination, part.ref, part.total, part.encoding)
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                oldest = next(iter(self._pending))
                old = self._pending.pop(oldest)
                out.append(_surface(next(iter(old.parts.values())), old))
            pending = self._pending[key] = _Pending(now)
        first = pending.parts.get(part.seq)
        if first is None:
            pending.parts[part.seq] = part
        else:
            pending.duplicates += 1
            if first.payload != part.payload and pending.anomaly is None:
                pending.anomaly = f"duplicate part {part.seq} with a different payload"
        if len(pending.parts) == part.total:
            del self._pending[key]
            out.append(_surface(part, pending))
        return out

    def expire(self, now: float) -> list[Reassembled]:
        """Surface every set whose first part arrived ``timeout_s`` or more before ``now``.

        Assumes ``now`` does not go backwards between calls (sets are checked oldest first).
        """
        out: list[Reassembled] = []
        deadline = now - self.timeout_s
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if pending.first_seen > deadline:
                break
            del self._pending[key]
            out.append(_surface(next(iter(pending.parts.values())), pending))
        return out

    def add_from_udh(
        self,
        source: str,
        destination: str,
        user_data: bytes,
        encoding: str,
        token: object,
        now: float,
        *,
        has_udh: bool = True,
    ) -> list[Reassembled]:
        """Parse the UDH of ``user_data`` and add the part; never raises.

        A message without a concatenation IE (or with ``has_udh=False``) passes straight through
        as complete. A malformed UDH (§5.1) passes through as one complete message whose
        payload is the raw user data, UDH included, with ``anomaly`` saying what was wrong. An
        unknown encoding is read as ``binary`` and flagged the same way.
        """
        anomaly: str | None = None
        try:
            encoding = normalize_encoding(encoding)
        except CharsetError as exc:
            encoding, anomaly = "binary", str(exc)
        user_data = bytes(user_data)
        if not has_udh:
            return [_single(source, destination, user_data, encoding, token, anomaly)]
        try:
            concat, payload = parse_udh(user_data)
        except SegmentationError as exc:
            return [
                _single(source, destination, user_data, encoding, token, f"malformed UDH: {exc}")
            ]
        if concat is None:
            return [_single(source, destination, payload, encoding, token, anomaly)]
        part = IncomingPart(
            source,
            destination,
            concat.ref,
            concat.total,
            concat.seq,
            payload,
            encoding,
            token,
            concat.kind,
        )
        return self.add(part, now)


def _single(
    source: str,
    destination: str,
    payload: bytes,
    encoding: str,
    token: object,
    anomaly: str | None,
) -> Reassembled:
    return Reassembled(
        source,
        destination,
        0,
        1,
        decode(payload, encoding),
        1,
        True,
        (token,),
        payload,
        anomaly=anomaly,
    )


def _surface(sample: IncomingPart, pending: _Pending) -> Reassembled:
    """Join the raw units in sequence order and decode once (§5.5), marking gaps with GAP."""
    total = sample.total
    seqs = sorted(pending.parts)
    parts = [pending.parts[s] for s in seqs]
    payload = b"".join(p.payload for p in parts)
    complete = len(seqs) == total
    if complete:
        text = decode(payload, sample.encoding)
        missing: tuple[int, ...] = ()
    else:
        missing = tuple(s for s in range(1, total + 1) if s not in pending.parts)
        pieces: list[str] = []
        run: list[bytes] = []
        in_gap = False
        for s in range(1, total + 1):
            got = pending.parts.get(s)
            if got is not None:
                run.append(got.payload)
                in_gap = False
                continue
            if run:
                pieces.append(decode(b"".join(run), sample.encoding))
                run = []
            if not in_gap:  # a run of missing parts shows as one GAP
                pieces.append(GAP)
                in_gap = True
        if run:
            pieces.append(decode(b"".join(run), sample.encoding))
        text = "".join(pieces)
    return Reassembled(
        sample.source,
        sample.destination,
        sample.ref,
        total,
        text,
        len(seqs),
        complete,
        tuple(p.token for p in parts),
        payload,
        missing,
        pending.duplicates,
        pending.anomaly,
    )
