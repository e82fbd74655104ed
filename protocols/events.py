"""Events every protocol's sans-IO session shares (the h11 / hyper-h2 school).

A session's ``receive_data`` and ``tick`` return these; each protocol adds its own (bind or
connect requested, unbind or terminate, protocol error with its own code). One class per
concept means a binding handles requests, responses, timeouts and closes the same way for
every protocol (``protocols.bindbase``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Event:
    """Base class of everything ``receive_data`` / ``tick`` return."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RequestReceived(Event):
    """A request for the application; answer each with ``send_response`` (SUBMIT, submit_sm,
    QUERY, … — except PDUs that have no response, such as SMPP outbind)."""

    pdu: Any


@dataclass(frozen=True, slots=True)
class ResponseReceived(Event):
    """A response to one of our requests; ``request`` is what we sent, None when the sequence
    number matches nothing outstanding (log and drop)."""

    pdu: Any
    request: Any | None


@dataclass(frozen=True, slots=True)
class ResponseTimeout(Event):
    """Our ``request`` got no response in time (after the protocol's retries); its window
    slot is free again."""

    request: Any


@dataclass(frozen=True, slots=True)
class ConnectionShouldClose(Event):
    """Write pending data, then close the transport (emitted once)."""

    reason: str
