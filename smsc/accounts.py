"""Accounts: who may bind, with which credentials, and the limits that apply to them.

The database is the one source of truth; ``AccountStore`` keeps an in-memory copy for the
hot path (bind auth, throughput, routing) and refreshes it when the table changes, so
accounts managed with the CLI against the same database show up in a running server.

Passwords that protocols send in the clear (SMPP, SGIP) are stored as salted PBKDF2 hashes.
CMPP and SMGP authenticate with MD5 over a shared secret, so those secrets are stored as
given; they are never logged and are masked wherever an account is shown.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from smsc.errors import ConfigError
from storage.schema import accounts as accounts_table

_PBKDF2_ROUNDS = 20_000

# Settings kept in the JSON column, with their defaults (the config contract's names).
SETTING_DEFAULTS: dict[str, Any] = {
    "service_codes": [],
    "ip_whitelist": [],
    "max_binds": 8,
    "window": 100,
    "cmpp_window": 16,
    "throughput": 0,
    "message_id_format": "decimal",
    "long_receipts": "per_part",
    "rules": [],
    "review": "manual",
    "verify_hourly_cap": 0,
    "balance_alert": None,
    "callbacks": {},
    "http": {},
}
# Vendor HTTP secrets: hashed when the vendor sends them in the clear, kept when they key an MD5.
HTTP_VENDORS = ("zrwinfo", "juxiang", "caih", "chuangrui")
_HTTP_HASHED = {"zrwinfo": ("secret",), "juxiang": ("pwd",), "chuangrui": ("pwd",)}
_HTTP_PLAIN = {"caih": ("token",), "chuangrui": ("access_secret", "dlr_pwd", "mo_pwd")}
# The field that identifies the account in each vendor's requests.
HTTP_LOGIN = {"zrwinfo": "accesskey", "juxiang": "name", "caih": "account", "chuangrui": "name"}
MESSAGE_ID_FORMATS = ("decimal", "hex", "HEX", "uuid")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${_PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _algo, rounds, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


@dataclass(slots=True)
class Account:
    """The runtime view of one account (rules are parsed by ``smsc.rules``)."""

    name: str
    enabled: bool = True
    service_codes: tuple[str, ...] = ()
    ip_whitelist: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_binds: int = 8
    window: int = 100
    cmpp_window: int = 16
    throughput: float = 0.0
    balance: int | None = None
    message_id_format: str = "decimal"
    long_receipts: str = "per_part"
    rules: tuple[Any, ...] = ()
    raw_rules: list[Any] = field(default_factory=list)
    smpp_system_id: str | None = None
    smpp_password_hash: str | None = field(default=None, repr=False)
    cmpp_sp_id: str | None = None
    cmpp_secret: str | None = field(default=None, repr=False)
    sgip_login: str | None = None
    sgip_password_hash: str | None = field(default=None, repr=False)
    smgp_client_id: str | None = None
    smgp_secret: str | None = field(default=None, repr=False)
    review: str = "manual"
    balance_epoch: int = 0  # bumped by every explicit balance set (see AccountStore.upsert)
    verify_hourly_cap: int = 0
    balance_alert: int | None = None
    callbacks: dict[str, str] = field(default_factory=dict)
    http: dict[str, dict[str, Any]] = field(default_factory=dict)  # vendor -> public settings
    http_secrets: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _verified: set[str] = field(default_factory=set, repr=False)

    def ip_allowed(self, ip: str) -> bool:
        if not self.ip_whitelist:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.ip_whitelist)

    def check_smpp_password(self, password: str) -> bool:
        """Verify with a small cache: re-binding clients should not pay PBKDF2 every time."""
        key = "smpp:" + password
        if key in self._verified:
            return True
        ok = verify_password(password, self.smpp_password_hash)
        if ok:
            self._verified.add(key)
        return ok

    def check_sgip_password(self, password: str) -> bool:
        return verify_password(password, self.sgip_password_hash)

    def check_http_secret(self, vendor: str, name: str, value: str) -> bool:
        """Verify a vendor API secret sent in the clear (PBKDF2, cached like SMPP passwords)."""
        stored = self.http_secrets.get(vendor, {}).get(name)
        if stored is None:
            return False
        if name in _HTTP_PLAIN.get(vendor, ()):
            return hmac.compare_digest(stored.encode(), value.encode())
        key = f"{vendor}:{name}:{stored}:{value}"
        if key in self._verified:
            return True
        ok = verify_password(value, stored)
        if ok:
            self._verified.add(key)
        return ok

    def http_secret(self, vendor: str, name: str) -> str:
        """A secret kept as given (CAIH token, Chuangrui AccessSecret): "" when unset."""
        return self.http_secrets.get(vendor, {}).get(name, "")

    def public(self) -> dict[str, Any]:
        """The account as shown by the CLI and admin API: secrets masked."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "service_codes": list(self.service_codes),
            "ip_whitelist": [str(n) for n in self.ip_whitelist],
            "max_binds": self.max_binds,
            "window": self.window,
            "cmpp_window": self.cmpp_window,
            "throughput": self.throughput,
            "balance": self.balance,
            "message_id_format": self.message_id_format,
            "long_receipts": self.long_receipts,
            "smpp": {"system_id": self.smpp_system_id, "password": "****"}
            if self.smpp_system_id
            else None,
            "cmpp": {"sp_id": self.cmpp_sp_id, "secret": "****"} if self.cmpp_sp_id else None,
            "sgip": {"login_name": self.sgip_login, "password": "****"}
            if self.sgip_login
            else None,
            "smgp": {"client_id": self.smgp_client_id, "secret": "****"}
            if self.smgp_client_id
            else None,
            "rules": self.raw_rules,
            "review": self.review,
            "verify_hourly_cap": self.verify_hourly_cap,
            "balance_alert": self.balance_alert,
            "callbacks": self.callbacks,
            "http": {
                v: {**pub, **{k: "****" for k in self.http_secrets.get(v, {})}}
                for v, pub in self.http.items()
            },
        }


def _settings_from_spec(spec: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key in SETTING_DEFAULTS:
        if key in spec and (spec[key] is not None or key == "balance_alert"):
            out[key] = spec[key]
    if out.get("callbacks") is None:
        out["callbacks"] = {}
    if spec.get("http") is not None:  # public part only; secrets go to their own column
        secret = {
            v: set(_HTTP_HASHED.get(v, ())) | set(_HTTP_PLAIN.get(v, ())) for v in HTTP_VENDORS
        }
        out["http"] = {
            vendor: {k: v for k, v in creds.items() if k not in secret[vendor]}
            for vendor, creds in spec["http"].items()
            if creds
        }
    return out


def _http_secrets(http: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Secrets of ``http`` (a spec's vendor tables) ready to store; unchanged hashes are kept."""
    out: dict[str, dict[str, str]] = {}
    for vendor, creds in http.items():
        if not creds:
            continue
        mine: dict[str, str] = {}
        before = old.get(vendor, {})
        for name in _HTTP_HASHED.get(vendor, ()):
            value = creds.get(name)
            if value is None or value == "****":
                if name in before:
                    mine[name] = before[name]
            elif name in before and verify_password(value, before[name]):
                mine[name] = before[name]
            else:
                mine[name] = hash_password(value)
        for name in _HTTP_PLAIN.get(vendor, ()):
            value = creds.get(name)
            if value is None or value == "****":
                if name in before:
                    mine[name] = before[name]
            else:
                mine[name] = value
        out[vendor] = mine
    return out


def validate_spec(spec: Mapping[str, Any], path: str = "account") -> None:
    """Check a runtime account change (admin API / CLI) with the config's rules of thumb."""
    known = set(SETTING_DEFAULTS) | {
        "name",
        "enabled",
        "balance",
        "smpp",
        "cmpp",
        "sgip",
        "smgp",
        "signatures",
        "templates",
    }
    for key in spec:
        if key not in known:
            raise ConfigError(f"{path}.{key}", "unknown key")
    for key in ("max_binds", "window", "cmpp_window"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] < 1):
            raise ConfigError(f"{path}.{key}", f"expected an integer >= 1, got {spec[key]!r}")
    if "throughput" in spec and (
        not isinstance(spec["throughput"], int | float) or spec["throughput"] < 0
    ):
        raise ConfigError(f"{path}.throughput", "expected a number >= 0")
    if "message_id_format" in spec and spec["message_id_format"] not in MESSAGE_ID_FORMATS:
        raise ConfigError(f"{path}.message_id_format", f"expected one of {MESSAGE_ID_FORMATS}")
    for net in spec.get("ip_whitelist") or []:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{path}.ip_whitelist", str(exc)) from None
    if spec.get("rules"):
        from smsc.rules import parse_rules

        parse_rules(spec["rules"], f"{path}.rules")
    _check_like_config(spec, path)
    http = spec.get("http")
    if http is not None and (
        not isinstance(http, dict)
        or any(v not in HTTP_VENDORS or not isinstance(c, dict | None) for v, c in http.items())
    ):
        raise ConfigError(f"{path}.http", f"expected a table of {', '.join(HTTP_VENDORS)} tables")


# Keys whose type and range the configuration declares: a change at run time (admin API, CLI)
# obeys the same rules as the file, so an operator cannot store what a restart would refuse.
_CONFIG_CHECKED = (
    "enabled",
    "balance",
    "ip_whitelist",
    "review",
    "verify_hourly_cap",
    "balance_alert",
    "callbacks",
)


def _check_like_config(spec: Mapping[str, Any], path: str) -> None:
    import dataclasses

    from smsc.config import AccountConfig

    fields = {f.name: f for f in dataclasses.fields(AccountConfig)}
    for key in _CONFIG_CHECKED:
        if key in spec:
            fields[key].metadata["spec"].check(spec[key], f"{path}.{key}", None)


class AccountStore:
    """Accounts in the database plus an in-memory index for the hot path."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._by_name: dict[str, Account] = {}
        self._by_smpp: dict[str, Account] = {}
        self._by_cmpp: dict[str, Account] = {}
        self._by_sgip: dict[str, Account] = {}
        self._by_smgp: dict[str, Account] = {}
        self._by_http: dict[tuple[str, str], Account] = {}
        self._stamp: float = -1.0

    # -- reads (hot path: memory only) ---------------------------------------------------------

    def get(self, name: str) -> Account | None:
        return self._by_name.get(name)

    def by_smpp(self, system_id: str) -> Account | None:
        return self._by_smpp.get(system_id)

    def by_cmpp(self, sp_id: str) -> Account | None:
        return self._by_cmpp.get(sp_id)

    def by_sgip(self, login: str) -> Account | None:
        return self._by_sgip.get(login)

    def by_smgp(self, client_id: str) -> Account | None:
        return self._by_smgp.get(client_id)

    def by_http(self, vendor: str, login: str) -> Account | None:
        """The account whose ``vendor`` credentials have this login (accesskey, name, account)."""
        return self._by_http.get((vendor, login))

    def all(self) -> list[Account]:
        return sorted(self._by_name.values(), key=lambda a: a.name)

    # -- database -------------------------------------------------------------------------------

    def load(self) -> None:
        """(Re)build the index from the table (blocking: call from a thread or at start)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(accounts_table)).mappings().all()
            stamp = conn.execute(select(func.max(accounts_table.c.updated_at))).scalar() or 0.0
        self._index([_account_from_row(r) for r in rows])
        self._stamp = stamp

    def changed(self) -> bool:
        """True when the table was modified since the last load (cheap poll)."""
        with self._engine.connect() as conn:
            stamp = conn.execute(select(func.max(accounts_table.c.updated_at))).scalar() or 0.0
        return stamp != self._stamp

    def _index(self, items: Iterable[Account]) -> None:
        by_name = {a.name: a for a in items}
        for old in self._by_name.values():  # keep verified-password caches across reloads
            new = by_name.get(old.name)
            if new is None:
                continue
            if new.smpp_password_hash == old.smpp_password_hash:
                new._verified = old._verified
            if new.balance_epoch == old.balance_epoch:
                # debits not yet committed exist only in memory: keep the in-memory balance
                new.balance = old.balance
        self._by_name = by_name
        self._by_smpp = {a.smpp_system_id: a for a in by_name.values() if a.smpp_system_id}
        self._by_cmpp = {a.cmpp_sp_id: a for a in by_name.values() if a.cmpp_sp_id}
        self._by_sgip = {a.sgip_login: a for a in by_name.values() if a.sgip_login}
        self._by_smgp = {a.smgp_client_id: a for a in by_name.values() if a.smgp_client_id}
        self._by_http = {
            (vendor, settings[HTTP_LOGIN[vendor]]): a
            for a in by_name.values()
            for vendor, settings in a.http.items()
            if settings.get(HTTP_LOGIN[vendor])
        }

    def upsert(self, spec: Mapping[str, Any], *, from_config: bool = False) -> tuple[Account, bool]:
        """Create or update an account from a plain spec (config contract keys).

        Keys absent from ``spec`` keep their stored value; returns (account, created).
        ``from_config``: the configuration file's balance applies when the account is created
        or when the file's value changed, so a restart does not refill a spent balance.
        """
        name = spec["name"]
        validate_spec(spec, f"accounts.{name}")
        now = time.time()
        with self._engine.begin() as conn:
            row = (
                conn.execute(select(accounts_table).where(accounts_table.c.name == name))
                .mappings()
                .first()
            )
            base = json.loads(row["settings"]) if row else dict(SETTING_DEFAULTS)
            values: dict[str, Any] = {
                "settings": json.dumps(_settings_from_spec(spec, base)),
                "updated_at": now,
            }
            if "enabled" in spec:
                values["enabled"] = bool(spec["enabled"])
            settings = json.loads(values["settings"])
            if "balance" in spec and (
                not from_config or row is None or base.get("config_balance") != spec["balance"]
            ):
                # Memory is the authority for balances (debits land there first); an explicit
                # set bumps the epoch so every process adopts the stored value on reload.
                values["balance"] = spec["balance"]
                settings["balance_epoch"] = int(base.get("balance_epoch", 0)) + 1
            if from_config and "balance" in spec:
                settings["config_balance"] = spec["balance"]
            values["settings"] = json.dumps(settings)
            if spec.get("http") is not None:
                old = json.loads(row["http_secrets"] or "{}") if row else {}
                values["http_secrets"] = json.dumps(_http_secrets(spec["http"], old))
            smpp = spec.get("smpp")
            if smpp:
                values["smpp_system_id"] = smpp["system_id"]
                if smpp.get("password") is not None and not (
                    row and verify_password(smpp["password"], row["smpp_password_hash"])
                ):
                    values["smpp_password_hash"] = hash_password(smpp["password"])
            cmpp = spec.get("cmpp")
            if cmpp:
                values["cmpp_sp_id"] = cmpp["sp_id"]
                if cmpp.get("secret") is not None:
                    values["cmpp_secret"] = cmpp["secret"]
            sgip = spec.get("sgip")
            if sgip:
                values["sgip_login"] = sgip["login_name"]
                if sgip.get("password") is not None and not (
                    row and verify_password(sgip["password"], row["sgip_password_hash"])
                ):
                    values["sgip_password_hash"] = hash_password(sgip["password"])
            smgp = spec.get("smgp")
            if smgp:
                values["smgp_client_id"] = smgp["client_id"]
                if smgp.get("secret") is not None:
                    values["smgp_secret"] = smgp["secret"]
            if row is None:
                values.setdefault("enabled", True)
                conn.execute(insert(accounts_table).values(name=name, created_at=now, **values))
            else:
                conn.execute(
                    update(accounts_table).where(accounts_table.c.name == name).values(**values)
                )
        self.load()
        account = self._by_name[name]
        return account, row is None

    def set_enabled(self, name: str, enabled: bool) -> bool:
        with self._engine.begin() as conn:
            n = conn.execute(
                update(accounts_table)
                .where(accounts_table.c.name == name)
                .values(enabled=enabled, updated_at=time.time())
            ).rowcount
        self.load()
        return bool(n)

    def set_http_secret(self, name: str, vendor: str, field_name: str, value: str) -> bool:
        """Change one vendor secret (Juxiang cpwd.asp); blocking, reloads the index."""
        with self._engine.begin() as conn:
            row = (
                conn.execute(select(accounts_table).where(accounts_table.c.name == name))
                .mappings()
                .first()
            )
            if row is None:
                return False
            old = json.loads(row["http_secrets"] or "{}")
            creds = dict(old.get(vendor, {}))
            if field_name in _HTTP_HASHED.get(vendor, ()):
                creds[field_name] = hash_password(value)
            else:
                creds[field_name] = value
            old[vendor] = creds
            conn.execute(
                update(accounts_table)
                .where(accounts_table.c.name == name)
                .values(http_secrets=json.dumps(old), updated_at=time.time())
            )
        self.load()
        return True

    def add_balance(self, name: str, delta: int) -> None:
        """Adjust a balance in memory; the caller persists it through the writer."""
        acc = self._by_name.get(name)
        if acc is not None and acc.balance is not None:
            acc.balance += delta


def _account_from_row(row: Mapping[str, Any] | Any) -> Account:  # Any: a RowMapping
    settings = dict(SETTING_DEFAULTS)
    settings.update(json.loads(row["settings"] or "{}"))
    rules: tuple[Any, ...] = ()
    if settings["rules"]:
        from smsc.rules import parse_rules

        try:
            rules = tuple(parse_rules(settings["rules"], f"accounts.{row['name']}.rules"))
        except ConfigError:
            rules = ()
    return Account(
        name=row["name"],
        enabled=bool(row["enabled"]),
        service_codes=tuple(settings["service_codes"]),
        ip_whitelist=tuple(ipaddress.ip_network(n, strict=False) for n in settings["ip_whitelist"]),
        max_binds=int(settings["max_binds"]),
        window=int(settings["window"]),
        cmpp_window=int(settings["cmpp_window"]),
        throughput=float(settings["throughput"]),
        balance=row["balance"],
        message_id_format=settings["message_id_format"],
        long_receipts=settings["long_receipts"],
        rules=rules,
        raw_rules=list(settings["rules"]),
        smpp_system_id=row["smpp_system_id"],
        smpp_password_hash=row["smpp_password_hash"],
        cmpp_sp_id=row["cmpp_sp_id"],
        cmpp_secret=row["cmpp_secret"],
        sgip_login=row["sgip_login"],
        sgip_password_hash=row["sgip_password_hash"],
        smgp_client_id=row["smgp_client_id"],
        smgp_secret=row["smgp_secret"],
        review=settings["review"],
        balance_epoch=int(settings.get("balance_epoch", 0)),
        verify_hourly_cap=int(settings["verify_hourly_cap"] or 0),
        balance_alert=settings["balance_alert"],
        callbacks=dict(settings["callbacks"] or {}),
        http=dict(settings["http"] or {}),
        http_secrets=json.loads(row.get("http_secrets") or "{}"),
    )
