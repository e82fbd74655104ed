"""Error types shared across the domain layer."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value is wrong; ``key`` is the dotted path users see (``listeners.smpp.port``).

    The CLI prints ``config error: <key>: <message>`` on one line and exits 2.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
