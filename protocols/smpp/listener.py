"""SMPP listener: the shared Twisted adapter with an ``SmppBind`` per connection."""

from __future__ import annotations

from functools import partial
from typing import Any

from protocols.adapter import BindFactory
from protocols.smpp.binding import SmppBind
from smsc.segmentation import ReferenceAllocator


def make_factory(smsc: Any, config: Any, counters: dict[str, int]) -> BindFactory:
    return BindFactory(
        partial(SmppBind, smsc, config, counters=counters, refs=ReferenceAllocator())
    )
