"""CMPP listener: the shared Twisted adapter with a ``CmppBind`` per connection.

One Msg_Id generator serves every connection of this process. Its 16-bit sequence starts
from the next message key, which only grows across restarts, so a restart within the same
second does not hand out an id that was already acknowledged (up to 65,536 ids a second).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from protocols.adapter import BindFactory
from protocols.cmpp.binding import CmppBind
from protocols.cmpp.msgid import MsgIdGenerator
from smsc.segmentation import ReferenceAllocator


def make_factory(smsc: Any, config: Any, counters: dict[str, int]) -> BindFactory:
    ids = MsgIdGenerator(config.cmpp.gateway_id, start_sequence=smsc.peek_id("messages"))
    return BindFactory(
        partial(CmppBind, smsc, config, counters=counters, refs=ReferenceAllocator(), ids=ids)
    )
