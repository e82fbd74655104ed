"""CMPP Msg_Id: the 64-bit id an ISMG assigns to every accepted SUBMIT and every DELIVER (§4).

Layout (§4.1, MSB first): month 4 · day 5 · hour 5 · minute 6 · second 6 · ISMG code 22 ·
sequence 16. The time is the ISMG's local wall clock (China, UTC+8), second precision, no year.

Uniqueness, and how this generator keeps it:

* Within one process an id is (second slot, sequence). The slot never moves backwards, even if
  the wall clock does (NTP step), and when 65 536 ids have been taken in one slot the generator
  borrows the next second, so it can never hand out the same pair twice.
* Across restarts the sequence counter continues instead of restarting at 0: persist
  ``generator.next_sequence`` (e.g. every N ids, or at shutdown) and pass it back as
  ``start_sequence``; add the persistence interval N as a margin when the saved value may be
  stale. A restart inside the same second then continues the counter where the previous
  process stopped, so the two processes' ids in that second differ in the sequence field
  (only a single second with more than 65 536 ids across both processes could collide).
* Processes sharing one database should use different ``gateway_id`` values (22-bit ISMG code
  field), which makes their ids disjoint by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["MsgIdFields", "MsgIdGenerator", "pack", "unpack", "id_range"]

MAX_GATEWAY_ID = (1 << 22) - 1
SEQUENCE_SPACE = 1 << 16
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class MsgIdFields:
    """The seven fields packed into a Msg_Id (§4.1)."""

    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway_id: int
    sequence: int


def pack(
    month: int, day: int, hour: int, minute: int, second: int, gateway_id: int, sequence: int
) -> int:
    """Assemble a Msg_Id; every field must fit its bit width (ValueError otherwise)."""
    limits = ((month, 15), (day, 31), (hour, 31), (minute, 63), (second, 63))
    if any(not 0 <= v <= hi for v, hi in limits):
        raise ValueError("time field out of range for Msg_Id")
    if not 0 <= gateway_id <= MAX_GATEWAY_ID or not 0 <= sequence < SEQUENCE_SPACE:
        raise ValueError("gateway id or sequence out of range for Msg_Id")
    return (
        (month << 60)
        | (day << 55)
        | (hour << 50)
        | (minute << 44)
        | (second << 38)
        | (gateway_id << 16)
        | sequence
    )


def unpack(msg_id: int) -> MsgIdFields:
    """Split a Msg_Id (an unsigned 64-bit int) into its fields (§4.1)."""
    return MsgIdFields(
        month=msg_id >> 60 & 0xF,
        day=msg_id >> 55 & 0x1F,
        hour=msg_id >> 50 & 0x1F,
        minute=msg_id >> 44 & 0x3F,
        second=msg_id >> 38 & 0x3F,
        gateway_id=msg_id >> 16 & MAX_GATEWAY_ID,
        sequence=msg_id & 0xFFFF,
    )


def id_range(first: int, count: int) -> list[int]:
    """The ids M … M+(n−1) a group SUBMIT stands for (§4.3): only the sequence counts, wrapping."""
    base = first & ~0xFFFF
    return [base | ((first + i) & 0xFFFF) for i in range(count)]


class MsgIdGenerator:
    """Hands out unique Msg_Ids for one ISMG code; time is passed in (sans-IO)."""

    __slots__ = ("gateway_id", "_sequence", "_slot", "_used")

    def __init__(self, gateway_id: int, start_sequence: int = 0) -> None:
        if not 0 <= gateway_id <= MAX_GATEWAY_ID:
            raise ValueError(f"gateway_id {gateway_id} does not fit 22 bits")
        self.gateway_id = gateway_id
        self._sequence = start_sequence % SEQUENCE_SPACE
        self._slot: datetime | None = None  # second the last id was stamped with
        self._used = 0  # ids taken in that second

    @property
    def next_sequence(self) -> int:
        """The sequence the next id will carry: persist it to continue after a restart."""
        return self._sequence

    def next(self, now: datetime, count: int = 1) -> int:
        """The next Msg_Id stamped with ``now`` (ISMG local time).

        ``count`` > 1 reserves a block for a group SUBMIT to ``count`` destinations; the
        returned id is the first, :func:`id_range` lists them all (§4.3).
        """
        if not 1 <= count <= SEQUENCE_SPACE:
            raise ValueError("count must be 1..65536")
        slot = now.replace(microsecond=0, tzinfo=None)
        if self._slot is None or slot > self._slot:
            self._slot, self._used = slot, 0
        elif self._used + count > SEQUENCE_SPACE:
            self._slot, self._used = self._slot + _ONE_SECOND, 0
        slot = self._slot
        seq = self._sequence
        self._sequence = (seq + count) % SEQUENCE_SPACE
        self._used += count
        return (
            (slot.month << 60)
            | (slot.day << 55)
            | (slot.hour << 50)
            | (slot.minute << 44)
            | (slot.second << 38)
            | (self.gateway_id << 16)
            | seq
        )

    unpack = staticmethod(unpack)
