"""Msg_Id layout (cmpp.md §4) and uniqueness of MsgIdGenerator."""

from __future__ import annotations

from datetime import datetime, timedelta

import cmpp_vectors as v
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.cmpp.msgid import MsgIdFields, MsgIdGenerator, id_range, pack, unpack

T0 = datetime(2025, 11, 22, 10, 30, 5)


def test_spec_example() -> None:
    gen = MsgIdGenerator(79101, start_sequence=1)
    assert gen.next(T0) == v.SUBMIT_MSG_ID == 13486558229315780609
    assert unpack(v.MO_MSG_ID) == MsgIdFields(11, 22, 10, 31, 0, 79101, 2)
    assert pack(11, 22, 10, 31, 0, 79101, 2) == v.MO_MSG_ID
    assert gen.unpack(v.REPORT_DELIVER_MSG_ID).sequence == 3


FIELDS = st.tuples(
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, (1 << 22) - 1),
    st.integers(0, 0xFFFF),
)


@settings(max_examples=300, deadline=None)
@given(FIELDS)
def test_pack_unpack_round_trip(fields: tuple[int, ...]) -> None:
    f = unpack(pack(*fields))
    assert (f.month, f.day, f.hour, f.minute, f.second, f.gateway_id, f.sequence) == fields
    assert 0 <= pack(*fields) < 1 << 64


def test_sequence_wraps_and_ids_stay_unique_in_one_second() -> None:
    gen = MsgIdGenerator(1, start_sequence=65530)
    ids = [gen.next(T0) for _ in range(65536 + 10)]
    assert len(set(ids)) == len(ids)
    assert unpack(ids[0]).sequence == 65530 and unpack(ids[6]).sequence == 0
    # the 65537th id of the same second borrows the next second instead of repeating
    assert unpack(ids[65536]).second == T0.second + 1


def test_clock_going_back_never_repeats() -> None:
    gen = MsgIdGenerator(1)
    ids = {gen.next(T0) for _ in range(3)}
    ids |= {gen.next(T0 - timedelta(seconds=30)) for _ in range(3)}
    assert len(ids) == 6
    assert {unpack(i).second for i in ids} == {5}


def test_restart_in_same_second_continues_sequence() -> None:
    first = MsgIdGenerator(7)
    before = {first.next(T0) for _ in range(100)}
    second = MsgIdGenerator(7, start_sequence=first.next_sequence)
    after = {second.next(T0) for _ in range(100)}
    assert not before & after


def test_group_block() -> None:
    gen = MsgIdGenerator(5, start_sequence=65534)
    first = gen.next(T0, count=3)
    block = id_range(first, 3)
    assert [unpack(i).sequence for i in block] == [65534, 65535, 0]
    assert unpack(gen.next(T0)).sequence == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        MsgIdGenerator(1 << 22)
    with pytest.raises(ValueError):
        pack(13 + 3, 1, 1, 1, 1, 1, 1)
