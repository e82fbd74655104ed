"""The rules every vendor dialect shares (smsc.sends) and the push path (protocols/http/push).

Billing by the 70/67 rule with the signature counted, a balance that concurrent requests can
never overdraw, MO that leaves by HTTP only when the account has no bind that takes it, and
pushes that are retried on schedule, then given up and marked — never pushed again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from smsc.model import OutboxItem
from smsc.sends import Refusal, SendRefused, SendRequest
from storage.schema import accounts as accounts_table
from storage.schema import batches as batches_table
from storage.schema import outbox as outbox_table
from tests.http.harness import Receiver, pushes, run, vendor_env

ACCOUNT = """
[[accounts]]
name = "acme"
balance = {balance}
service_codes = ["1069001"]
http = {{ zrwinfo = {{ accesskey = "ak1", secret = "sk1" }} }}
{callbacks}
"""


def account(balance: int = 1000, callbacks: str = "") -> str:
    return ACCOUNT.format(balance=balance, callbacks=callbacks)


def text_of(n: int, sign: str = "【测试签名】") -> str:
    body = "好" * (n - len(sign))
    return sign + body


def test_billing_counts_the_signature_70_is_one_71_is_two() -> None:
    async def main() -> None:
        async with vendor_env(account(10)) as env:
            acc = env.account()
            r = await env.smsc.sends.send(
                acc, SendRequest("zrwinfo", [("13800138000", text_of(70))])
            )
            assert r.units == 1 and acc.balance == 9
            r = await env.smsc.sends.send(
                acc, SendRequest("zrwinfo", [("13800138000", text_of(71))])
            )
            assert r.units == 2 and acc.balance == 7
            r = await env.smsc.sends.send(
                acc, SendRequest("zrwinfo", [("13800138000", text_of(135))])
            )
            assert r.units == 3 and acc.balance == 4
            with env.smsc.engine.connect() as conn:
                stored = conn.execute(
                    select(accounts_table.c.balance).where(accounts_table.c.name == "acme")
                ).scalar()
                units = conn.execute(select(batches_table.c.units)).scalars().all()
            assert stored == 4
            assert sorted(units) == [1, 2, 3]

    run(main)


def test_balance_never_goes_negative_under_50_concurrent_sends() -> None:
    async def main() -> None:
        async with vendor_env(account(37)) as env:
            acc = env.account()

            async def one(i: int) -> str:
                # 2 units each (71 characters): 18 fit in 37, the 19th would overdraw
                req = SendRequest("zrwinfo", [(f"1380013{i:04d}", text_of(71))])
                try:
                    await env.smsc.sends.send(acc, req)
                    return "ok"
                except SendRefused as exc:
                    return exc.reason.value

            results = await asyncio.gather(*(one(i) for i in range(50)))
            assert results.count("ok") == 18
            assert results.count(Refusal.NO_BALANCE.value) == 32
            assert acc.balance == 1
            with env.smsc.engine.connect() as conn:
                stored = conn.execute(
                    select(accounts_table.c.balance).where(accounts_table.c.name == "acme")
                ).scalar()
            assert stored == 1
            assert len(await env.messages()) == 18

    run(main)


def test_recipients_valid_deduplicated_blacklist_left_out() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:
            acc = env.account()
            await env.smsc.blacklist_add("acme", "13900000002")
            req = SendRequest(
                "zrwinfo",
                [
                    (n, "【签名】你好")
                    for n in ("+8613900000001", "13900000001", "12345", "13900000002")
                ],
            )
            r = await env.smsc.sends.send(acc, req)
            assert r.accepted == ["13900000001"]
            assert r.invalid == ["12345"]
            assert r.blacklisted == ["13900000002"]
            assert r.duplicates == 1
            with pytest.raises(SendRefused) as exc:
                await env.smsc.sends.send(
                    acc, SendRequest("zrwinfo", [("13900000002", "【签名】你好")])
                )
            assert exc.value.reason is Refusal.BLACKLISTED

    run(main)


def test_hourly_verification_cap() -> None:
    async def main() -> None:
        async with vendor_env(account() + "verify_hourly_cap = 2\n") as env:
            acc = env.account()
            for _ in range(2):
                await env.smsc.sends.send(
                    acc,
                    SendRequest("zrwinfo", [("13800138000", "【a】验证码1")], kind="verification"),
                )
            with pytest.raises(SendRefused) as exc:
                await env.smsc.sends.send(
                    acc,
                    SendRequest("zrwinfo", [("13800138000", "【a】验证码1")], kind="verification"),
                )
            assert exc.value.reason is Refusal.HOURLY_CAP
            # other kinds are not capped
            await env.smsc.sends.send(acc, SendRequest("zrwinfo", [("13800138000", "【a】通知")]))

    run(main)


class FakeBind:
    """A binary-protocol receiver (like an SMPP RX bind) that acknowledges what it gets."""

    protocol = "smpp"
    receives = True
    fallback = False

    def __init__(self, smsc: Any) -> None:
        self.smsc = smsc
        self.account = "acme"
        self.bind_id = "fake-smpp"
        self.got: list[OutboxItem] = []

    def takes(self, kind: str) -> bool:
        return True

    def capacity(self) -> int:
        return 10

    def send_item(self, item: OutboxItem) -> None:
        self.got.append(item)
        self.smsc.loop.call_soon(self.smsc.outbox.acked, item.id)

    def close(self, reason: str) -> None:
        pass

    def info(self) -> dict[str, Any]:
        return {"bind_id": self.bind_id}


def test_mo_goes_to_http_only_when_no_bind_takes_it() -> None:
    async def main() -> None:
        rx = await Receiver().start()
        try:
            cb = f'callbacks = {{ mo_url = "{rx.url("/mo")}", dialect = "zrwinfo" }}'
            async with vendor_env(account(callbacks=cb)) as env:
                # no bind: the MO to service code + extension reaches the HTTP MO URL
                await env.mo("13800138000", "1069001123", "hello")
                got = await rx.wait_for(1)
                assert json.loads(got[0]["body"])[0]["extno"] == "123"
                # with a binary bind the same account's MO goes there, not to HTTP
                bind = FakeBind(env.smsc)
                env.smsc.bind_opened(bind)
                await env.mo("13800138000", "1069001", "again")
                await asyncio.sleep(0.5)
                assert [i.payload["text"] for i in bind.got] == ["again"]
                assert len(rx.got) == 1
        finally:
            await rx.stop()

    run(main)


def test_push_retried_on_schedule_then_given_up_and_marked() -> None:
    async def main() -> None:
        rx = await Receiver(default=(500, "no")).start()
        try:
            cb = f'callbacks = {{ mo_url = "{rx.url("/mo")}", dialect = "zrwinfo" }}'
            async with vendor_env(account(callbacks=cb)) as env:
                await env.mo("13800138000", "1069001", "hi")
                await rx.wait_for(4)  # first try + 3 retries (0.2 s apart in the harness)
                await asyncio.sleep(1.0)
                assert len(rx.got) == 4  # given up: never pushed again
                with env.smsc.engine.connect() as conn:
                    row = conn.execute(select(outbox_table)).mappings().one()
                assert row["gave_up_at"] is not None and row["done_at"] is not None
                assert row["attempts"] == 4
                assert "HTTP 500" in row["last_error"]
                assert env.smsc.outbox.gave_up == 1
                assert pushes(env).binds["acme"].failures == 4
        finally:
            await rx.stop()

    run(main)


def test_reloading_accounts_keeps_debits_not_yet_committed() -> None:
    async def main() -> None:
        async with vendor_env(account(100)) as env:
            acc = env.account()
            sending = asyncio.ensure_future(
                env.smsc.sends.send(acc, SendRequest("zrwinfo", [("13800138000", text_of(71))]))
            )
            await asyncio.sleep(0)  # the debit happened in memory; the commit may not have
            env.smsc.accounts.load()  # e.g. an admin change to another field of the account
            assert env.account().balance == 98
            await sending
            env.smsc.accounts.load()
            assert env.account().balance == 98
            # an explicit set is adopted on reload
            env.smsc.accounts.upsert({"name": "acme", "balance": 500})
            assert env.account().balance == 500

    run(main)


def test_fifty_concurrent_caih_requests_never_overdraw() -> None:
    """The acceptance check over the wire: 50 clients at once, balance for 20 of them."""
    import hashlib
    from datetime import datetime, timedelta, timezone

    config = """
[[accounts]]
name = "acme"
balance = 20
signatures = [{ text = "中国东信", status = "approved" }]
templates = [{ id = "1", text = "您的验证码为:{$var}", kind = "verification" }]
http = { caih = { account = "acc1", app_id = "app1", token = "tok1" } }
"""

    async def main() -> None:
        async with vendor_env(config) as env:
            ts = datetime.now(timezone(timedelta(hours=8))).strftime("%Y%m%d%H%M%S")

            async def one(i: int) -> str:
                body = {
                    "account": "acc1",
                    "password": hashlib.md5(f"tok1{ts}".encode()).hexdigest(),
                    "appId": "app1",
                    "timestamp": ts,
                    "phone": f"1380013{i:04d}",
                    "content": "【中国东信】您的验证码为:1234",
                }
                resp = await env.client.post("/sendsms", json=body)
                return (await resp.json())["code"]

            codes = await asyncio.gather(*(one(i) for i in range(50)))
            assert codes.count("0") == 20 and codes.count("-3") == 30, codes
            assert env.account().balance == 0
            assert len(await env.messages()) == 20
            with env.smsc.engine.connect() as conn:
                stored = conn.execute(
                    select(accounts_table.c.balance).where(accounts_table.c.name == "acme")
                ).scalar()
            assert stored == 0

    run(main)


def test_free_text_vendors_count_verification_texts_toward_the_hourly_cap() -> None:
    config = """
[[accounts]]
name = "acme"
verify_hourly_cap = 1
http = { juxiang = { name = "jx", pwd = "pw1", charset = "utf-8" }, chuangrui = { name = "cr", pwd = "pw1" } }
"""

    async def main() -> None:
        async with vendor_env(config) as env:

            async def juxiang(msg: str) -> str:
                resp = await env.client.get(
                    "/send/gsend.asp",
                    params={"name": "jx", "pwd": "pw1", "dst": "13800138000", "msg": msg},
                )
                return (await resp.read()).decode()

            async def chuangrui(content: str) -> str:
                resp = await env.client.post(
                    "/sms",
                    data={
                        "name": "cr",
                        "pwd": "pw1",
                        "type": "pt",
                        "mobile": "13800138000",
                        "content": content,
                        "sign": "签名",
                    },
                )
                return (await resp.read()).decode()

            assert (await juxiang("您的验证码是1234")).startswith("num=1&")
            assert (await juxiang("您的验证码是5678")).startswith("num=0&")  # cap of 1 reached
            assert (await juxiang("明天见")).startswith("num=1&")  # not a verification code
            assert (await chuangrui("您的验证码是1234")).startswith("-1,")
            assert (await chuangrui("明天见")).startswith("0,")

    run(main)


def test_throughput_limit_counts_http_requests_not_recipients() -> None:
    async def main() -> None:
        async with vendor_env(account() + "throughput = 1\n") as env:
            acc = env.account()
            numbers = [(f"1380013800{i}", "【a】hi") for i in range(5)]
            r = await env.smsc.sends.send(acc, SendRequest("zrwinfo", numbers))
            assert len(r.accepted) == 5  # one request: sent whole
            with pytest.raises(SendRefused) as exc:
                await env.smsc.sends.send(acc, SendRequest("zrwinfo", numbers[:1]))
            assert exc.value.reason is Refusal.THROTTLED
            assert len(await env.messages()) == 5

    run(main)


def test_a_large_same_state_send_is_merged_into_one_push() -> None:
    """Merged reports wait in their window without holding push slots (Chuangrui, 100 numbers)."""
    from urllib.parse import parse_qs

    async def main() -> None:
        rx = await Receiver().start()
        try:
            config = f"""
[[accounts]]
name = "acme"
http = {{ chuangrui = {{ name = "cr", pwd = "pw1", access_secret = "as1" }} }}
callbacks = {{ report_url = "{rx.url("/dlr")}" }}
"""
            async with vendor_env(config) as env:
                numbers = ",".join(f"1380013{i:04d}" for i in range(100))
                resp = await env.client.post(
                    "/sms",
                    data={
                        "name": "cr",
                        "pwd": "pw1",
                        "type": "pt",
                        "mobile": numbers,
                        "content": "hello",
                        "sign": "签名",
                    },
                )
                assert (await resp.text()).startswith("0,")
                await rx.wait_for(1)
                await asyncio.sleep(1.0)
                pushed = [parse_qs(g["body"].decode())["mobile"][0].split(",") for g in rx.got]
                assert sum(len(m) for m in pushed) == 100
                assert len(pushed) <= 2, [len(m) for m in pushed]
        finally:
            await rx.stop()

    run(main)


def test_an_unsubscribe_from_an_international_number_blocks_vendor_sends() -> None:
    """TD from +8613800138000 (as an SMPP MO writes it) stops sends to 13800138000."""

    async def main() -> None:
        async with vendor_env(account()) as env:
            acc = env.account()
            await env.mo("+8613900000007", "1069001", "TD")
            with pytest.raises(SendRefused) as exc:
                await env.smsc.sends.send(acc, SendRequest("zrwinfo", [("13900000007", "【a】x")]))
            assert exc.value.reason is Refusal.BLACKLISTED
            # "receipt" policy: sent, and the carrier reports DTBLACK
            r = await env.smsc.sends.send(
                acc, SendRequest("caih", [("13900000007", "【a】x")], blacklisted="receipt")
            )
            [msg] = [m for m in await env.messages() if m["message_id"] == r.batch_id]
            assert msg["outcome"] == "DTBLACK"

    run(main)
