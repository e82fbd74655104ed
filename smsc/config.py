"""Configuration: one TOML file, every key overridable by an ``SMSC_*`` environment variable.

The file shape is a public contract (docs/configuration.md). Each key is declared once, on the
frozen dataclass field that holds it, together with a *spec* that checks its type and range,
converts an environment string to that type and masks it if it is a secret. The loader, the
environment overrides, ``to_dict`` and the documentation test all walk those declarations, so
they cannot drift apart.

Errors are :class:`smsc.errors.ConfigError` whose ``key`` is the dotted path the user wrote
(``listeners.smpp.port``, ``accounts[0].smpp.password``); values from the environment name the
variable in the message.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smsc.errors import ConfigError

if TYPE_CHECKING:
    from smsc.rules import CarrierConfig, Rule

__all__ = [
    "ENV_PREFIX",
    "ENV_SEPARATOR",
    "MASK",
    "AccountConfig",
    "CmppConfig",
    "CmppCredentials",
    "Config",
    "Listener",
    "ListenersConfig",
    "LoggingConfig",
    "SgipCredentials",
    "SmgpCredentials",
    "SmppConfig",
    "SmppCredentials",
    "StorageConfig",
    "env_name",
    "load_config",
    "parse_config",
    "schema_keys",
]

ENV_PREFIX = "SMSC_"
ENV_SEPARATOR = "__"
MASK = "****"

_ABSENT: Any = object()
_DIGITS = re.compile(r"[0-9]+")


# --------------------------------------------------------------------------- value specs


def _given(value: Any, secret: bool = False) -> str:
    """Describe a rejected value; never echo a secret."""
    if secret and isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "nothing"
    return type(value).__name__


class _Spec:
    """How one key is checked, converted from an environment string and described."""

    secret: bool = False

    def expected(self) -> str:
        raise NotImplementedError

    def check(self, value: Any, key: str, base: Any) -> Any:
        raise NotImplementedError

    def from_env(self, text: str, key: str) -> Any:
        raise NotImplementedError

    def reject(self, key: str, value: Any) -> ConfigError:
        return ConfigError(key, f"expected {self.expected()}, got {_given(value, self.secret)}")


@dataclass(frozen=True)
class _Int(_Spec):
    min: int | None = None
    max: int | None = None
    optional: bool = False  # None (key omitted) is meaningful, e.g. unlimited balance

    def expected(self) -> str:
        text = "an integer"
        if self.min is not None and self.max is not None:
            text += f" in {self.min}..{self.max}"
        elif self.min is not None:
            text += f" >= {self.min}"
        return text

    def check(self, value: Any, key: str, base: Any) -> int | None:
        if value is None and self.optional:
            return None
        # bool is an int subclass in Python; `port = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.reject(key, value)
        if (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max
        ):
            raise self.reject(key, value)
        return value

    def from_env(self, text: str, key: str) -> int | None:
        if self.optional and text.strip().lower() in ("", "none", "unlimited"):
            return None
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise self.reject(key, text) from None


@dataclass(frozen=True)
class _Float(_Spec):
    min: float = 0.0
    min_exclusive: bool = False

    def expected(self) -> str:
        return f"a number {'>' if self.min_exclusive else '>='} {self.min:g}"

    def check(self, value: Any, key: str, base: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.reject(key, value)
        number = float(value)
        if not math.isfinite(number) or number < self.min:
            raise self.reject(key, value)
        if self.min_exclusive and number == self.min:
            raise self.reject(key, value)
        return number

    def from_env(self, text: str, key: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise self.reject(key, text) from None


@dataclass(frozen=True)
class _Bool(_Spec):
    def expected(self) -> str:
        return "a boolean (true/false; 1/0 in the environment)"

    def check(self, value: Any, key: str, base: Any) -> bool:
        if not isinstance(value, bool):
            raise self.reject(key, value)
        return value

    def from_env(self, text: str, key: str) -> bool:
        return _env_bool(text, key, self)


def _env_bool(text: str, key: str, spec: _Spec | None = None) -> bool:
    word = text.strip().lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise ConfigError(key, f"expected true, false, 1 or 0, got {_given(text)}")


@dataclass(frozen=True)
class _Str(_Spec):
    choices: tuple[str, ...] = ()
    fold_case: bool = False  # match choices case-insensitively, store the canonical spelling
    pattern: str | None = None
    pattern_text: str = ""
    min_len: int = 0
    max_len: int | None = None
    validator: Callable[[str], str | None] | None = None  # returns a problem or None
    secret: bool = False
    redact: Callable[[str], str] | None = None  # how to show a rejected value (URL passwords)

    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.pattern_text:
            return self.pattern_text
        if self.max_len is not None:
            return f"a string of {self.min_len}..{self.max_len} characters"
        if self.min_len:
            return "a non-empty string"
        return "a string"

    def check(self, value: Any, key: str, base: Any) -> str:
        if not isinstance(value, str):
            raise self.reject(key, value)
        if self.choices:
            for choice in self.choices:
                if value == choice or (self.fold_case and value.lower() == choice.lower()):
                    return choice
            raise self.reject(key, value)
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            size = f"{len(value)} characters"
            shown = size if self.secret else f"{value!r} ({size})"
            raise ConfigError(key, f"expected {self.expected()}, got {shown}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise self.reject(key, value)
        if self.validator is not None:
            problem = self.validator(value)
            if problem is not None:
                shown = self.redact(value) if self.redact is not None else value
                raise ConfigError(key, f"{problem}, got {_given(shown, self.secret)}")
        return value

    def from_env(self, text: str, key: str) -> str:
        return text


@dataclass(frozen=True)
class _List(_Spec):
    item: _Str

    def expected(self) -> str:
        return f"an array of strings, each {self.item.expected()}"

    def check(self, value: Any, key: str, base: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected {self.expected()}, got {_given(value)}")
        return tuple(self.item.check(v, f"{key}[{i}]", None) for i, v in enumerate(value))

    def from_env(self, text: str, key: str) -> list[Any]:
        return _env_list(text, key)


def _env_list(text: str, key: str) -> list[Any]:
    """A JSON array (``["a","b"]``) or comma-separated words (``a, b``); empty means []."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(key, f"expected a JSON array, got invalid JSON ({exc.msg})") from None
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a JSON array, got {_given(value)}")
        return value
    return [part.strip() for part in stripped.split(",") if part.strip()]


@dataclass(frozen=True)
class _Table(_Spec):
    cls: type
    optional: bool = False

    def expected(self) -> str:
        return "a table"

    def check(self, value: Any, key: str, base: Any) -> Any:
        if value is None and self.optional:
            return None
        return _build(self.cls, value, key, base)

    def from_env(self, text: str, key: str) -> Any:  # pragma: no cover - routed elsewhere
        raise ConfigError(key, "is a table; set one of its keys")


@dataclass(frozen=True)
class _Array(_Spec):
    cls: type

    def expected(self) -> str:
        return "an array of tables"

    def check(self, value: Any, key: str, base: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected an array of tables ([[{key}]]), got {_given(value)}")
        return tuple(_build(self.cls, item, f"{key}[{i}]", None) for i, item in enumerate(value))

    def from_env(self, text: str, key: str) -> Any:  # pragma: no cover - routed elsewhere
        raise ConfigError(key, "is an array of tables; give an index")


@dataclass(frozen=True)
class _Parsed(_Spec):
    """A section whose schema belongs to :mod:`smsc.rules` (``carrier``, ``rules``)."""

    kind: str  # "carrier" | "rules"

    def expected(self) -> str:
        return "a table" if self.kind == "carrier" else "an array of tables"

    def check(self, value: Any, key: str, base: Any) -> Any:
        from smsc.rules import parse_carrier, parse_rules

        if self.kind == "carrier":
            if not isinstance(value, dict):
                raise ConfigError(key, f"expected a table, got {_given(value)}")
            return parse_carrier(value, key)
        if not isinstance(value, list):
            raise ConfigError(key, f"expected an array of tables ([[{key}]]), got {_given(value)}")
        return parse_rules(value, key)

    def export(self, value: Any) -> Any:
        from smsc.rules import carrier_to_dict, rules_to_dict

        return carrier_to_dict(value) if self.kind == "carrier" else rules_to_dict(value)

    def sample(self) -> Any:
        """Defaults used to guess the type of an environment value inside this section."""
        if self.kind == "carrier":
            from smsc.rules import parse_carrier

            return parse_carrier({}, "carrier")
        return None

    def from_env(self, text: str, key: str) -> Any:  # pragma: no cover - routed elsewhere
        raise ConfigError(key, "handled by _set_opaque")


def _key(spec: _Spec, default: Any = MISSING, *, factory: Any = MISSING, mask: Any = None) -> Any:
    """Declare a configuration key: a dataclass field carrying its spec."""
    meta = {"spec": spec, "mask": mask}
    if factory is not MISSING:
        return field(default_factory=factory, repr=not spec.secret, metadata=meta)
    return field(default=default, repr=not spec.secret, metadata=meta)


# --------------------------------------------------------------------------- validators


def _check_network(text: str) -> str | None:
    try:
        # strict=False: "10.0.0.5/24" plainly means that /24; refusing it helps nobody.
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return "expected an IP address or CIDR network (e.g. 10.0.0.0/8)"
    return None


def _check_db_url(text: str) -> str | None:
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme.split("+", 1)[0] not in ("sqlite", "postgresql"):
        return (
            "expected an SQLAlchemy URL starting with sqlite:// or postgresql+psycopg:// "
            "(only SQLite and PostgreSQL are supported)"
        )
    return None


_URL_TEXT = "an SQLAlchemy URL (sqlite:///path or postgresql+psycopg://user@host/db)"


def _mask_url(url: str) -> str:
    """Hide the password in ``scheme://user:password@host/db``."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", rf"\g<1>{MASK}@", url, count=1)


_ASCII_SAFE = r"[\x20-\x7e]"


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class StorageConfig:
    """Where messages live; the group-commit knobs trade latency for throughput."""

    url: str = _key(
        _Str(min_len=1, validator=_check_db_url, pattern_text=_URL_TEXT, redact=_mask_url),
        "sqlite:///smsc.db",
        mask=_mask_url,
    )
    commit_max_wait_ms: float = _key(_Float(min=0.0), 0.0)
    commit_max_batch: int = _key(_Int(min=1), 2000)
    commit_on_loop: bool = _key(_Bool(), True)
    commit_process: bool = _key(_Bool(), True)
    sqlite_synchronous: str = _key(_Str(choices=("FULL", "NORMAL"), fold_case=True), "FULL")
    pool_size: int = _key(_Int(min=1), 5)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


# Port 0 asks the OS for a free port (tests); the bound port is logged and in --ready-file.
_PORT = _Int(min=0, max=65535)


@dataclass(frozen=True)
class Listener:
    """One listening socket. ``enabled = false`` turns the protocol off entirely."""

    host: str = _key(_Str(min_len=1))
    port: int = _key(_PORT)
    enabled: bool = _key(_Bool(), True)


@dataclass(frozen=True)
class ListenersConfig:
    smpp: Listener = _key(_Table(Listener), factory=lambda: Listener("0.0.0.0", 2775))
    cmpp: Listener = _key(_Table(Listener), factory=lambda: Listener("0.0.0.0", 7890))
    sgip: Listener = _key(_Table(Listener), factory=lambda: Listener("0.0.0.0", 8801))
    smgp: Listener = _key(_Table(Listener), factory=lambda: Listener("0.0.0.0", 8890))
    http: Listener = _key(_Table(Listener), factory=lambda: Listener("0.0.0.0", 8080))
    # The admin API can inject MO and top up balances: loopback unless the operator says so.
    admin: Listener = _key(_Table(Listener), factory=lambda: Listener("127.0.0.1", 8081))

    def items(self) -> Iterator[tuple[str, Listener]]:
        for f in dataclasses.fields(self):
            yield f.name, getattr(self, f.name)


@dataclass(frozen=True)
class SmppCredentials:
    # SMPP 3.4 section 4.1.1: system_id C-Octet String max 16 (15 + NUL), password max 9 (8 + NUL).
    system_id: str = _key(
        _Str(
            min_len=1,
            max_len=15,
            pattern=f"{_ASCII_SAFE}+",
            pattern_text="printable ASCII, 1..15 characters",
        )
    )
    password: str = _key(_Str(max_len=8, secret=True))


@dataclass(frozen=True)
class CmppCredentials:
    # CMPP 2.0 section 7.4.1: Source_Addr is the 6-digit SP enterprise code.
    sp_id: str = _key(_Str(pattern=r"[0-9]{6}", pattern_text="exactly 6 digits"))
    secret: str = _key(_Str(secret=True))


@dataclass(frozen=True)
class SgipCredentials:
    # SGIP 1.2 Bind: Login_Name and Login_Password are 16-octet fields.
    login_name: str = _key(_Str(min_len=1, max_len=16))
    password: str = _key(_Str(max_len=16, secret=True))


@dataclass(frozen=True)
class SmgpCredentials:
    # SMGP 3.0 Login: ClientID is an 8-octet field.
    client_id: str = _key(_Str(min_len=1, max_len=8))
    secret: str = _key(_Str(secret=True))


_REVIEW_STATUS = _Str(choices=("pending", "approved", "rejected"))


@dataclass(frozen=True)
class SignatureConfig:
    """A signature (签名) the account may send with; the text is stored without 【】."""

    text: str = _key(_Str(min_len=1, max_len=64))
    status: str = _key(_REVIEW_STATUS, "approved")
    id: str = _key(_Str(pattern=r"[0-9]{0,16}", pattern_text="digits (a signature id)"), "")
    reason: str = _key(_Str(), "")


@dataclass(frozen=True)
class TemplateConfig:
    """A template (模板). Variables: {1}..{n} (zrwinfo), {$var} (CAIH) or #*# (Ronghe)."""

    id: str = _key(_Str(min_len=1, max_len=32))
    text: str = _key(_Str(min_len=1))
    status: str = _key(_REVIEW_STATUS, "approved")
    kind: str = _key(
        _Str(choices=("general", "verification", "notification", "marketing")), "general"
    )
    reason: str = _key(_Str(), "")


@dataclass(frozen=True)
class ZrwinfoCredentials:
    accesskey: str = _key(_Str(min_len=1, max_len=64))
    secret: str = _key(_Str(min_len=1, secret=True))


@dataclass(frozen=True)
class JuxiangCredentials:
    name: str = _key(_Str(min_len=1, max_len=64))
    pwd: str = _key(_Str(min_len=1, secret=True))
    short: str = _key(_Str(max_len=16), "")  # 企业简称, prefixed as 【short】 to every message
    charset: str = _key(_Str(choices=("gbk", "utf-8")), "gbk")  # response body encoding
    long_sms: bool = _key(_Bool(), True)  # txt=ccdx allowed
    # Registered (备案) extensions for `sender`; "*" allows any digits. Others get 6021.
    extensions: tuple[str, ...] = _key(
        _List(_Str(pattern=r"\*|[0-9]{1,8}", pattern_text="digits (< 9) or *")), ()
    )
    protected: tuple[str, ...] = _key(_List(_Str(min_len=1)), ())  # 保护名单 → 6004
    min_poll_s: float = _key(_Float(), 0.0)  # readsms.asp: calls closer than this get id=0


@dataclass(frozen=True)
class CaihCredentials:
    account: str = _key(_Str(min_len=1, max_len=64))
    app_id: str = _key(_Str(min_len=1, max_len=64))
    token: str = _key(_Str(min_len=1, secret=True))
    # A002-1: the table says -5 for bad auth; the seed's example says -2.
    auth_failure_code: str = _key(_Str(choices=("-5", "-2")), "-5")
    priced: bool = _key(_Bool(), True)  # false → every send gets -11 (no tariff)


@dataclass(frozen=True)
class ChuangruiCredentials:
    name: str = _key(_Str(min_len=1, max_len=64))
    pwd: str = _key(_Str(min_len=1, secret=True))
    access_secret: str = _key(_Str(secret=True), "")
    # A003-2: "signed" = name is MD5(AccessSecret+random+timestamp); "static" = dlr_name/dlr_pwd
    dlr_auth_mode: str = _key(_Str(choices=("signed", "static")), "signed")
    dlr_name: str = _key(_Str(), "")
    dlr_pwd: str = _key(_Str(secret=True), "")
    mo_name: str = _key(_Str(), "")
    mo_pwd: str = _key(_Str(secret=True), "")
    strict_sign: bool = _key(_Bool(), False)  # sign must be an approved signature, else 14
    space_after_code: bool = _key(_Bool(), False)  # A003-5: "0, 2014…" as in the seed
    system_ext: str = _key(_Str(pattern=r"[0-9]{0,8}", pattern_text="digits"), "")
    max_recipients: int = _key(_Int(min=0), 0)  # 0 = unlimited
    # A003-1: self-written content may be held for manual review (人工审核); requests with at
    # most review_threshold numbers are released at once (小规模数量免审自动下发).
    review_messages: bool = _key(_Bool(), False)
    review_threshold: int = _key(_Int(min=0), 0)


@dataclass(frozen=True)
class HttpCredentials:
    """Per-vendor credentials of one account (`[accounts.http]`)."""

    zrwinfo: ZrwinfoCredentials | None = _key(_Table(ZrwinfoCredentials, optional=True), None)
    juxiang: JuxiangCredentials | None = _key(_Table(JuxiangCredentials, optional=True), None)
    caih: CaihCredentials | None = _key(_Table(CaihCredentials, optional=True), None)
    chuangrui: ChuangruiCredentials | None = _key(_Table(ChuangruiCredentials, optional=True), None)


def _check_push_url(text: str) -> str | None:
    if text and not re.match(r"https?://", text):
        return "expected an http:// or https:// URL"
    return None


_PUSH_URL = _Str(validator=_check_push_url, pattern_text="an http(s) URL or empty")


@dataclass(frozen=True)
class CallbacksConfig:
    """Where status reports and MO are pushed, in which vendor's format."""

    report_url: str = _key(_PUSH_URL, "")
    mo_url: str = _key(_PUSH_URL, "")
    # Format of MO pushes (reports use the vendor the message was sent through). Empty: the
    # first vendor the account has credentials for, in the order zrwinfo, juxiang, caih, chuangrui.
    dialect: str = _key(_Str(choices=("", "zrwinfo", "juxiang", "caih", "chuangrui")), "")


_NAME = _Str(pattern=r"[A-Za-z0-9_.-]{1,32}", pattern_text="1..32 characters from A-Za-z0-9_.-")
# 20 digits: SMPP source_addr is 21 octets with its NUL, CMPP Src_Id 21 octets.
_SERVICE_CODE = _Str(pattern=r"[0-9]{1,20}", pattern_text="a string of 1..20 digits")


@dataclass(frozen=True)
class AccountConfig:
    """An ESME / SP / HTTP API user: its credentials, limits and carrier rules."""

    name: str = _key(_NAME)
    service_codes: tuple[str, ...] = _key(_List(_SERVICE_CODE), ())
    ip_whitelist: tuple[str, ...] = _key(
        _List(_Str(validator=_check_network, pattern_text="an IP address or CIDR network")), ()
    )
    max_binds: int = _key(_Int(min=1), 8)
    window: int = _key(_Int(min=1), 100)
    throughput: float = _key(_Float(min=0.0), 0.0)
    balance: int | None = _key(_Int(min=0, optional=True), None)
    enabled: bool = _key(_Bool(), True)
    message_id_format: str = _key(_Str(choices=("decimal", "hex", "HEX", "uuid")), "decimal")
    long_receipts: str = _key(_Str(choices=("per_part", "per_message")), "per_part")
    cmpp_window: int = _key(_Int(min=1), 16)
    smpp: SmppCredentials | None = _key(_Table(SmppCredentials, optional=True), None)
    cmpp: CmppCredentials | None = _key(_Table(CmppCredentials, optional=True), None)
    sgip: SgipCredentials | None = _key(_Table(SgipCredentials, optional=True), None)
    smgp: SmgpCredentials | None = _key(_Table(SmgpCredentials, optional=True), None)
    rules: tuple[Rule, ...] = _key(_Parsed("rules"), ())
    # -- vendor HTTP APIs (protocols/http) --
    review: str = _key(_Str(choices=("manual", "auto")), "manual")
    signatures: tuple[SignatureConfig, ...] = _key(_Array(SignatureConfig), ())
    templates: tuple[TemplateConfig, ...] = _key(_Array(TemplateConfig), ())
    http: HttpCredentials | None = _key(_Table(HttpCredentials, optional=True), None)
    callbacks: CallbacksConfig | None = _key(_Table(CallbacksConfig, optional=True), None)
    verify_hourly_cap: int = _key(_Int(min=0), 0)  # verification codes per clock hour; 0 = no cap
    balance_alert: int | None = _key(_Int(min=0, optional=True), None)  # alert below this

    @cached_property
    def _networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.ip_whitelist)

    def allows_address(self, address: str) -> bool:
        """True if a peer at ``address`` may bind/call (an empty whitelist allows anyone)."""
        if not self.ip_whitelist:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self._networks if c.version == net.version
        )

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """Plain data (JSON/TOML friendly) for the admin API; ``balance`` None = unlimited."""
        return _plain(self, mask_secrets)


@dataclass(frozen=True)
class SmppConfig:
    """Server-side SMPP behaviour (timers per SMPP 3.4 section 2.9 / 7.2)."""

    system_id: str = _key(_Str(min_len=1, max_len=15), "SMSCEMU")
    enquire_link_interval_s: float = _key(_Float(min=0.0, min_exclusive=True), 30.0)
    idle_timeout_s: float = _key(_Float(min=0.0, min_exclusive=True), 120.0)
    response_timeout_s: float = _key(_Float(min=0.0, min_exclusive=True), 10.0)
    retry_initial_s: float = _key(_Float(min=0.0, min_exclusive=True), 1.0)
    retry_max_s: float = _key(_Float(min=0.0, min_exclusive=True), 60.0)
    max_pdu_size: int = _key(_Int(min=64, max=16 * 1024 * 1024), 65536)
    # Receipt dates as YYMMDDhhmmss instead of Appendix B's YYMMDDhhmm (smpp.md §7.3).
    receipt_seconds: bool = _key(_Bool(), False)


@dataclass(frozen=True)
class CmppConfig:
    """Server-side CMPP behaviour (timers per CMPP 2.0 section 6.1: T=60 s, N=3, C=180 s)."""

    # Msg_Id layout: month 4 + day 5 + hour 5 + minute 6 + second 6 bits, gateway 22, sequence 16.
    gateway_id: int = _key(_Int(min=0, max=(1 << 22) - 1), 1)
    active_test_interval_s: float = _key(_Float(min=0.0, min_exclusive=True), 180.0)
    idle_timeout_s: float = _key(_Float(min=0.0, min_exclusive=True), 300.0)
    response_timeout_s: float = _key(_Float(min=0.0, min_exclusive=True), 60.0)
    max_retries: int = _key(_Int(min=0), 3)


@dataclass(frozen=True)
class _Numbers(_Spec):
    """An array of numbers >= 0 (push retry delays)."""

    def expected(self) -> str:
        return "an array of numbers >= 0"

    def check(self, value: Any, key: str, base: Any) -> tuple[float, ...]:
        if not isinstance(value, list | tuple):
            raise self.reject(key, value)
        item = _Float()
        return tuple(item.check(v, f"{key}[{i}]", None) for i, v in enumerate(value))

    def from_env(self, text: str, key: str) -> list[Any]:
        return [float(v) if not isinstance(v, int | float) else v for v in _env_list(text, key)]


@dataclass(frozen=True)
class VendorPorts:
    """Serve one vendor on its own port too (0 = only on listeners.http)."""

    zrwinfo: int = _key(_Int(min=0, max=65535), 0)
    juxiang: int = _key(_Int(min=0, max=65535), 0)
    caih: int = _key(_Int(min=0, max=65535), 0)
    chuangrui: int = _key(_Int(min=0, max=65535), 0)


@dataclass(frozen=True)
class HttpConfig:
    """The vendor HTTP facade (vendor-apis.md §7)."""

    chuangrui_path: str = _key(
        _Str(pattern=r"/[!-~]*", pattern_text="a path starting with /"), "/sms"
    )
    ports: VendorPorts = _key(_Table(VendorPorts), factory=VendorPorts)
    push_timeout_s: float = _key(_Float(min=0.0, min_exclusive=True), 10.0)
    # Retries after a failed push (seconds after the previous try); then give up and mark it.
    push_retry_s: tuple[float, ...] = _key(_Numbers(), (60.0, 300.0, 900.0))
    push_concurrency: int = _key(_Int(min=1), 16)  # pushes in flight per account
    merge_window_s: float = _key(_Float(), 1.0)  # Chuangrui: same sendid+state merged
    max_variable_length: int = _key(_Int(min=1), 50)  # CAIH -9
    sensitive_words: tuple[str, ...] = _key(_List(_Str(min_len=1)), ())  # empty: built-in list
    sql_patterns: tuple[str, ...] = _key(_List(_Str(min_len=1)), ())  # empty: built-in list
    zrwinfo_balance_field: str = _key(_Str(min_len=1), "balance")
    # zrwinfo's error codes (its list is not in the seed): "condition=code:message" entries
    # replace built-in ones (protocols/http/zrwinfo.py ERRORS, which checks the names).
    zrwinfo_errors: tuple[str, ...] = _key(
        _List(_Str(pattern=r"[a-z_]+=[^:=\s]+:.+", pattern_text="condition=code:message")), ()
    )
    # HTTPS on the vendor listeners (zrwinfo documents HTTP or HTTPS): PEM files; both or none.
    tls_cert: str = _key(_Str(), "")
    tls_key: str = _key(_Str(), "")


@dataclass(frozen=True)
class LoggingConfig:
    level: str = _key(
        _Str(choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), fold_case=True), "INFO"
    )
    format: str = _key(_Str(choices=("kv", "json")), "kv")


def _default_carrier() -> CarrierConfig:
    from smsc.rules import parse_carrier

    return parse_carrier({}, "carrier")


@dataclass(frozen=True)
class Config:
    """The whole effective configuration. ``Config()`` is what ``smsc serve`` runs with no file."""

    storage: StorageConfig = _key(_Table(StorageConfig), factory=StorageConfig)
    listeners: ListenersConfig = _key(_Table(ListenersConfig), factory=ListenersConfig)
    accounts: tuple[AccountConfig, ...] = _key(_Array(AccountConfig), ())
    carrier: CarrierConfig = _key(_Parsed("carrier"), factory=_default_carrier)
    smpp: SmppConfig = _key(_Table(SmppConfig), factory=SmppConfig)
    cmpp: CmppConfig = _key(_Table(CmppConfig), factory=CmppConfig)
    http: HttpConfig = _key(_Table(HttpConfig), factory=HttpConfig)
    logging: LoggingConfig = _key(_Table(LoggingConfig), factory=LoggingConfig)

    def account(self, name: str) -> AccountConfig | None:
        """The account called ``name``, or None."""
        for account in self.accounts:
            if account.name == name:
                return account
        return None

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """The effective configuration as plain data (``smsc config show``).

        Secrets (and a password inside ``storage.url``) become ``"****"`` unless
        ``mask_secrets`` is false. Optional values that are unset are ``None``; drop them
        before writing TOML. ``parse_config(c.to_dict(False)) == c``.
        """
        return _plain(self, mask_secrets)


# --------------------------------------------------------------------------- building


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return _ABSENT


def _build(cls: type, raw: Any, key: str, base: Any) -> Any:
    """Check ``raw`` (a TOML table) against ``cls`` and construct it.

    ``base`` supplies values for omitted keys (so ``admin = { port = 9000 }`` keeps the admin
    listener's loopback host); otherwise the field's own default applies.
    """
    if not isinstance(raw, dict):
        raise ConfigError(key, f"expected a table, got {_given(raw)}")
    fields = _fields(cls)
    for name in raw:
        if name not in fields:
            raise ConfigError(
                _join(key, name), f"unknown key; expected one of: {', '.join(fields)}"
            )
    values: dict[str, Any] = {}
    for name, f in fields.items():
        spec: _Spec = f.metadata["spec"]
        sub = _join(key, name)
        default = getattr(base, name) if base is not None else _ABSENT
        if name in raw:
            if default is _ABSENT and isinstance(spec, _Table):
                default = _field_default(f)
            values[name] = spec.check(raw[name], sub, default if default is not _ABSENT else None)
        elif default is not _ABSENT:
            values[name] = default
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(sub, f"missing required key; expected {spec.expected()}")
    return cls(**values)


def _check_whole(config: Config) -> None:
    """Rules that span several keys."""
    if bool(config.http.tls_cert) != bool(config.http.tls_key):
        missing = "http.tls_key" if config.http.tls_cert else "http.tls_cert"
        raise ConfigError(missing, "set both http.tls_cert and http.tls_key, or neither")
    for key in ("tls_cert", "tls_key"):
        path = getattr(config.http, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"http.{key}", f"file not found: {path!r}")
    if config.smpp.retry_max_s < config.smpp.retry_initial_s:
        raise ConfigError(
            "smpp.retry_max_s",
            f"expected a number >= smpp.retry_initial_s ({config.smpp.retry_initial_s:g}), "
            f"got {config.smpp.retry_max_s:g}",
        )

    # Two listeners on one port would fail at bind() time with a less helpful message.
    seen: dict[int, tuple[str, str]] = {}
    for name, listener in config.listeners.items():
        if not listener.enabled or listener.port == 0:
            continue
        other = seen.get(listener.port)
        wildcard = ("0.0.0.0", "::", "")
        if other is not None and (
            other[1] == listener.host or other[1] in wildcard or listener.host in wildcard
        ):
            raise ConfigError(
                f"listeners.{name}.port",
                f"port {listener.port} is already used by listeners.{other[0]}",
            )
        seen.setdefault(listener.port, (name, listener.host))

    # Credentials identify the account at bind time, and a service code owns MO routing:
    # a duplicate would make either ambiguous.
    unique: list[tuple[str, Callable[[AccountConfig], str | None], str]] = [
        ("name", lambda a: a.name, "account name"),
        ("smpp.system_id", lambda a: a.smpp.system_id if a.smpp else None, "smpp system_id"),
        ("cmpp.sp_id", lambda a: a.cmpp.sp_id if a.cmpp else None, "cmpp sp_id"),
        ("sgip.login_name", lambda a: a.sgip.login_name if a.sgip else None, "sgip login_name"),
        ("smgp.client_id", lambda a: a.smgp.client_id if a.smgp else None, "smgp client_id"),
        (
            "http.zrwinfo.accesskey",
            lambda a: a.http.zrwinfo.accesskey if a.http and a.http.zrwinfo else None,
            "zrwinfo accesskey",
        ),
        (
            "http.juxiang.name",
            lambda a: a.http.juxiang.name if a.http and a.http.juxiang else None,
            "juxiang name",
        ),
        (
            "http.caih.account",
            lambda a: a.http.caih.account if a.http and a.http.caih else None,
            "caih account",
        ),
        (
            "http.chuangrui.name",
            lambda a: a.http.chuangrui.name if a.http and a.http.chuangrui else None,
            "chuangrui name",
        ),
    ]
    for subkey, get, label in unique:
        owners: dict[str, int] = {}
        for i, account in enumerate(config.accounts):
            value = get(account)
            if value is None:
                continue
            if value in owners:
                raise ConfigError(
                    f"accounts[{i}].{subkey}",
                    f"duplicate {label} {value!r} (also accounts[{owners[value]}])",
                )
            owners[value] = i
    codes: dict[str, int] = {}
    for i, account in enumerate(config.accounts):
        for j, code in enumerate(account.service_codes):
            if code in codes and codes[code] != i:
                raise ConfigError(
                    f"accounts[{i}].service_codes[{j}]",
                    f"duplicate service code {code!r} (also accounts[{codes[code]}])",
                )
            codes[code] = i


# --------------------------------------------------------------------------- environment


def env_name(dotted: str) -> str:
    """The variable overriding a dotted key: ``accounts[0].smpp.port`` → ``SMSC_ACCOUNTS__0__SMPP__PORT``."""
    parts = re.split(r"\.|\[|\]\.?", dotted)
    return ENV_PREFIX + ENV_SEPARATOR.join(p.upper() for p in parts if p)


def _env_items(env: Mapping[str, str]) -> list[tuple[list[str], str, str]]:
    items: list[tuple[tuple[tuple[int, int | str], ...], list[str], str, str]] = []
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        if ENV_SEPARATOR not in rest:
            continue
        parts = [p.lower() for p in rest.split(ENV_SEPARATOR)]
        if any(not p for p in parts):
            raise ConfigError(name, "malformed variable name; expected SMSC_<SECTION>__<KEY>")
        order = tuple(
            (0, int(p)) if _DIGITS.fullmatch(p) else (1, p) for p in parts
        )  # numeric indices sort numerically so accounts 0, 1, ..., 10 are appended in order
        items.append((order, parts, name, text))
    items.sort(key=lambda item: item[0])
    return [(parts, name, text) for _, parts, name, text in items]


@dataclass
class _EnvResult:
    """What the overrides did: where each value came from, and guesses to take back."""

    origins: dict[str, str] = field(default_factory=dict)  # dotted key -> variable name
    # Values guessed from the text inside [carrier]/rules (no schema here): if the section's
    # parser rejects a guessed number/bool at exactly that key, the plain string is retried.
    guesses: dict[str, tuple[Any, Any, str]] = field(default_factory=dict)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> _EnvResult:
    """Write ``SMSC_*__*`` overrides into ``raw``."""
    result = _EnvResult()
    for parts, name, text in _env_items(env):
        try:
            result.origins[_set_from_env(raw, parts, text, name, result)] = name
        except ConfigError as err:
            if name in err.message:
                raise
            raise ConfigError(
                err.key, f"{err.message} (from environment variable {name})"
            ) from None
    return result


def _index(parts: list[str], i: int, key: str, size: int, var: str) -> int:
    if i >= len(parts) or not _DIGITS.fullmatch(parts[i]):
        raise ConfigError(key, f"is an array; {var} must continue with an index (…__0__…)")
    idx = int(parts[i])
    if idx > size:
        raise ConfigError(
            f"{key}[{idx}]",
            f"index {idx} skips entries: there are {size}, so {var} may use at most {size}",
        )
    return idx


def _set_from_env(
    root: dict[str, Any], parts: list[str], text: str, var: str, result: _EnvResult
) -> str:
    container: dict[str, Any] = root
    cls: type = Config
    key = ""
    i = 0
    while True:
        part = parts[i]
        last = i == len(parts) - 1
        fields = _fields(cls)
        sub = _join(key, part)
        if part not in fields:
            raise ConfigError(
                sub,
                f"unknown key (environment variable {var}); expected one of: {', '.join(fields)}",
            )
        spec: _Spec = fields[part].metadata["spec"]
        if isinstance(spec, _Parsed):
            return _set_opaque(container, key, parts[i:], text, var, spec.sample(), result)
        if isinstance(spec, _Table):
            if last:
                raise ConfigError(sub, f"is a table; set one of its keys, e.g. {var}__<KEY>")
            child = container.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(sub, f"expected a table, got {_given(child)}")
            container, cls, key, i = child, spec.cls, sub, i + 1
            continue
        if isinstance(spec, _Array):
            array = container.setdefault(part, [])
            if not isinstance(array, list):
                raise ConfigError(
                    sub, f"expected an array of tables ([[{sub}]]), got {_given(array)}"
                )
            idx = _index(parts, i + 1, sub, len(array), var)
            if idx == len(array):
                array.append({})
            key = f"{sub}[{idx}]"
            if i + 2 >= len(parts):
                raise ConfigError(key, f"is a table; set one of its keys, e.g. {var}__NAME")
            if not isinstance(array[idx], dict):
                raise ConfigError(key, f"expected a table, got {_given(array[idx])}")
            container, cls, i = array[idx], spec.cls, i + 2
            continue
        if not last:
            raise ConfigError(sub, f"is a single value, not a table (environment variable {var})")
        container[part] = spec.from_env(text, sub)
        return sub


def _sample_child(sample: Any, part: str) -> Any:
    if sample is None:
        return None
    if isinstance(sample, dict):
        return sample.get(part)
    if isinstance(sample, list | tuple):
        return sample[0] if sample and _DIGITS.fullmatch(part) else None
    return getattr(sample, part, None)


def _set_opaque(
    container: dict[str, Any],
    key: str,
    parts: list[str],
    text: str,
    var: str,
    sample: Any,
    result: _EnvResult,
) -> str:
    """Override inside a section whose schema is in :mod:`smsc.rules`.

    The target type is taken from the value already there, else from the section's default,
    else guessed from the text (JSON literal, or a plain string). The section's own parser then
    validates as usual, and errors are annotated with ``var`` by the caller.
    """
    node: Any = container
    for j, part in enumerate(parts):
        last = j == len(parts) - 1
        if isinstance(node, list):
            idx = _index(parts, j, key, len(node), var)
            key = f"{key}[{idx}]"
            existing = node[idx] if idx < len(node) else _ABSENT
            slot: int | str = idx
        else:
            key = _join(key, part)
            existing = node.get(part, _ABSENT)
            slot = part
        sample = _sample_child(sample, part) if j else sample
        if last:
            value = _guess_env_value(text, key, existing if existing is not _ABSENT else sample)
        elif existing is _ABSENT:
            value = [] if _DIGITS.fullmatch(parts[j + 1]) else {}
        elif isinstance(existing, dict | list):
            value = existing
        else:
            raise ConfigError(key, f"is a single value, not a table (environment variable {var})")
        if isinstance(node, list) and slot == len(node):
            node.append(value)
        else:
            node[slot] = value
        if last:
            if not isinstance(value, str):
                result.guesses[key] = (node, slot, text)
            return key
        node = value
    raise AssertionError("unreachable")  # pragma: no cover


def _guess_env_value(text: str, key: str, like: Any) -> Any:
    if isinstance(like, bool):
        return _env_bool(text, key)
    if isinstance(like, str | Enum):
        return text
    if isinstance(like, list | tuple):
        return _env_list(text, key)
    if isinstance(like, dict) or dataclasses.is_dataclass(like):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(key, "expected a JSON object for a table value") from None
        return value
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _annotate(err: ConfigError, origins: Mapping[str, str]) -> ConfigError:
    """Name the environment variable behind a rejected value, if one was involved."""
    best: str | None = None
    how = "from"
    for path, var in origins.items():
        if var in err.message:
            return err
        inside = err.key == path or err.key.startswith((path + ".", path + "["))
        if inside and (best is None or len(path) > len(best)):
            best = path
    if best is None:
        # e.g. "accounts[0].name: missing" when SMSC_ACCOUNTS__0__WINDOW created accounts[0]
        parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", err.key)
        for path in sorted(origins):
            if parent and path.startswith((parent + ".", parent + "[")):
                best, how = path, "see"
                break
    if best is None:
        return err
    return ConfigError(err.key, f"{err.message} ({how} environment variable {origins[best]})")


# --------------------------------------------------------------------------- public API


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Build a :class:`Config` from already-parsed TOML data, then ``env`` overrides.

    Useful in tests: ``parse_config({"accounts": [{"name": "a"}]})``. ``raw`` is not modified.
    """
    data: dict[str, Any] = copy.deepcopy(dict(raw))
    applied = _apply_env(data, env or {})
    while True:
        try:
            config: Config = _build(Config, data, "", None)
            _check_whole(config)
        except ConfigError as err:
            guess = applied.guesses.pop(err.key, None)
            if guess is None:
                raise _annotate(err, applied.origins) from None
            node, slot, text = guess
            node[slot] = text  # the parser wanted something else: give it the text as written
            continue
        return config


def load_config(path: str | os.PathLike[str] | None, env: Mapping[str, str] = os.environ) -> Config:
    """Read the TOML file at ``path`` (None: defaults only), apply ``SMSC_*`` overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        where = os.fspath(path)
        try:
            with Path(where).open("rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(where, "configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(where, f"invalid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(where, "invalid TOML: the file is not UTF-8") from None
        except OSError as exc:
            raise ConfigError(where, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_config(raw, env)


def schema_keys() -> list[tuple[str, str, str]]:
    """Every scalar key as (dotted key, environment variable, expected type), for docs and help.

    Account keys are shown for ``accounts[0]``; ``carrier`` and ``rules`` belong to smsc.rules.
    """
    out: list[tuple[str, str, str]] = []

    def walk(cls: type, key: str) -> None:
        for name, f in _fields(cls).items():
            spec: _Spec = f.metadata["spec"]
            sub = _join(key, name)
            if isinstance(spec, _Table):
                walk(spec.cls, sub)
            elif isinstance(spec, _Array):
                walk(spec.cls, f"{sub}[0]")
            else:
                out.append((sub, env_name(sub), spec.expected()))

    walk(Config, "")
    return out


# --------------------------------------------------------------------------- plain data


def _plain(value: Any, mask: bool) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        own = all("spec" in f.metadata for f in dataclasses.fields(value))
        if not own and hasattr(value, "to_dict"):
            return value.to_dict()
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            spec = f.metadata.get("spec")
            if isinstance(spec, _Parsed):
                out[f.name] = spec.export(item)
                continue
            masker = f.metadata.get("mask")
            secret = spec.secret if spec is not None else not f.repr
            if mask and secret and item is not None:
                out[f.name] = MASK
            elif mask and masker is not None and isinstance(item, str):
                out[f.name] = masker(item)
            else:
                out[f.name] = _plain(item, mask)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v, mask) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_plain(v, mask) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v, mask) for k, v in value.items()}
    return value
