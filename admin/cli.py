"""The ``smsc`` command: serve, accounts, database, config, segmentation, MO injection.

Account and database commands work on the configured storage directly (the running server
picks account changes up within seconds); ``smsc mo send`` talks to a running server's admin
API, because an MO must go through the live outbox to reach binds.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from admin import segment_cmd
from smsc.errors import ConfigError

EXIT_CONFIG = 2


def _config(args: argparse.Namespace) -> Any:
    from smsc.config import load_config

    return load_config(getattr(args, "config", None))


def _engine(args: argparse.Namespace, *, upgrade: bool = True) -> Any:
    from storage import db

    cfg = _config(args)
    st = cfg.storage
    engine = db.make_engine(
        st.url, sqlite_synchronous=st.sqlite_synchronous, pool_size=st.pool_size
    )
    if upgrade:
        db.upgrade(engine)
    return engine


def cmd_serve(args: argparse.Namespace) -> int:
    from admin.logs import setup_logging
    from admin.server import run

    cfg = _config(args)
    setup_logging(cfg.logging.level, cfg.logging.format)
    return run(cfg, ready_file=args.ready_file)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _engine(args)
    print("database is up to date")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    data = _config(args).to_dict(mask_secrets=not args.show_secrets)
    print(json.dumps(_drop_none(data), indent=2, ensure_ascii=False, default=str))
    return 0


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list | tuple):
        return [_drop_none(v) for v in obj]
    return obj


def _store(args: argparse.Namespace) -> Any:
    from smsc.accounts import AccountStore

    store = AccountStore(_engine(args))
    store.load()
    return store


def _spec_from_args(args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": args.name}
    for key in (
        "max_binds",
        "window",
        "cmpp_window",
        "throughput",
        "balance",
        "message_id_format",
        "long_receipts",
    ):
        value = getattr(args, key, None)
        if value is not None:
            spec[key] = value
    if args.service_code:
        spec["service_codes"] = args.service_code
    if args.ip:
        spec["ip_whitelist"] = args.ip
    if args.system_id:
        spec["smpp"] = {"system_id": args.system_id, "password": args.password}
    if args.sp_id:
        spec["cmpp"] = {"sp_id": args.sp_id, "secret": args.secret}
    if getattr(args, "enable", False):
        spec["enabled"] = True
    return spec


def cmd_account_add(args: argparse.Namespace) -> int:
    store = _store(args)
    if store.get(args.name) is not None:
        print(f"account {args.name} already exists (use 'smsc account set')", file=sys.stderr)
        return 1
    acc, _ = store.upsert(_spec_from_args(args))
    print(json.dumps(acc.public(), ensure_ascii=False))
    return 0


def cmd_account_set(args: argparse.Namespace) -> int:
    store = _store(args)
    if store.get(args.name) is None:
        print(f"no such account {args.name}", file=sys.stderr)
        return 1
    acc, _ = store.upsert(_spec_from_args(args))
    print(json.dumps(acc.public(), ensure_ascii=False))
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    accounts = _store(args).all()
    if args.json:
        print(json.dumps([a.public() for a in accounts], ensure_ascii=False))
        return 0
    print(f"{'NAME':<20} {'ENABLED':<8} {'SMPP':<16} {'CMPP':<8} SERVICE CODES")
    for a in accounts:
        print(
            f"{a.name:<20} {('yes' if a.enabled else 'no'):<8} {a.smpp_system_id or '-':<16} "
            f"{a.cmpp_sp_id or '-':<8} {','.join(a.service_codes) or '-'}"
        )
    return 0


def cmd_account_show(args: argparse.Namespace) -> int:
    acc = _store(args).get(args.name)
    if acc is None:
        print(f"no such account {args.name}", file=sys.stderr)
        return 1
    print(json.dumps(acc.public(), indent=2, ensure_ascii=False))
    return 0


def cmd_account_disable(args: argparse.Namespace) -> int:
    if not _store(args).set_enabled(args.name, False):
        print(f"no such account {args.name}", file=sys.stderr)
        return 1
    print(f"account {args.name} disabled")
    return 0


def cmd_mo_send(args: argparse.Namespace) -> int:
    body = {"from": args.sender, "to": args.to, "text": args.text, "coding": args.coding}
    if args.account:
        body["account"] = args.account
    req = urllib.request.Request(
        args.admin.rstrip("/") + "/api/mo",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(resp.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(f"admin API refused the MO: {exc.code} {exc.read().decode()}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach the admin API at {args.admin}: {exc}", file=sys.stderr)
        return 1


def _account_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--system-id", help="SMPP system_id")
    p.add_argument("--password", help="SMPP password (max 8 characters)")
    p.add_argument("--sp-id", help="CMPP SP id (6 digits)")
    p.add_argument("--secret", help="CMPP shared secret")
    p.add_argument("--service-code", action="append", help="service code owned (repeatable)")
    p.add_argument("--ip", action="append", help="allowed peer address or CIDR (repeatable)")
    p.add_argument("--max-binds", type=int)
    p.add_argument("--window", type=int)
    p.add_argument("--cmpp-window", type=int)
    p.add_argument("--throughput", type=float, help="msg/s, 0 = unlimited")
    p.add_argument("--balance", type=int, help="billed segments left")
    p.add_argument("--message-id-format", choices=("decimal", "hex", "HEX", "uuid"))
    p.add_argument("--long-receipts", choices=("per_part", "per_message"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsc", description="Carrier SMSC and SMS gateway emulator."
    )
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "serve", help="run the server", description="Run the SMSC (Ctrl-C or SIGTERM stops it)."
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML configuration file", default=argparse.SUPPRESS
    )
    p.add_argument(
        "--ready-file", metavar="PATH", help="write the bound ports as JSON here once listening"
    )
    p.set_defaults(func=cmd_serve)

    acc = sub.add_parser("account", help="manage accounts").add_subparsers(
        dest="account_command", required=True
    )
    p = acc.add_parser("add", help="create an account")
    _account_options(p)
    p.set_defaults(func=cmd_account_add)
    p = acc.add_parser("set", help="change an account")
    _account_options(p)
    p.add_argument("--enable", action="store_true", help="re-enable a disabled account")
    p.set_defaults(func=cmd_account_set)
    p = acc.add_parser("list", help="list accounts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_account_list)
    p = acc.add_parser("show", help="show one account (secrets masked)")
    p.add_argument("name")
    p.set_defaults(func=cmd_account_show)
    p = acc.add_parser("disable", help="disable an account (its binds are closed)")
    p.add_argument("name")
    p.set_defaults(func=cmd_account_disable)
    for sp in acc.choices.values():
        sp.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)

    dbp = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    p = dbp.add_parser("upgrade", help="apply schema migrations")
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_db_upgrade)

    cp = sub.add_parser("config", help="configuration").add_subparsers(
        dest="config_command", required=True
    )
    p = cp.add_parser("show", help="print the effective configuration (secrets masked)")
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    p.add_argument("--show-secrets", action="store_true")
    p.set_defaults(func=cmd_config_show)

    segment_cmd.add_parser(sub)

    mop = sub.add_parser("mo", help="handset replies").add_subparsers(
        dest="mo_command", required=True
    )
    p = mop.add_parser("send", help="inject an MO through a running server's admin API")
    p.add_argument("--from", dest="sender", required=True, help="handset number")
    p.add_argument("--to", required=True, help="service code + extension")
    p.add_argument("--coding", choices=("auto", "gsm7", "ucs2"), default="auto")
    p.add_argument("--account", help="deliver to this account instead of routing by service code")
    p.add_argument("--admin", default="http://127.0.0.1:8081", help="admin API base URL")
    p.add_argument("text")
    p.set_defaults(func=cmd_mo_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"config error: {exc.key}: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
