"""The operator's admin API for the vendor side: review, balance, push URLs, records, pushes.

Each test runs the real core, storage and vendor app (tests/http/harness.py) with the admin
app served beside them on the same loop, and checks what an operator does in the vendors'
consoles (vendor-apis.md §1.8, §5.3, §7.11-12) through HTTP, then in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from admin.api import make_app
from protocols.http.common import beijing
from smsc.sends import Refusal, SendRefused, SendRequest
from storage.schema import accounts as accounts_table
from storage.schema import signatures as signatures_table
from storage.schema import templates as templates_table
from tests.http.harness import Receiver, VendorEnv, run, vendor_env

CAIH_ACCOUNT = "acme-caih"
CAIH_APP = "acme-app"
CAIH_TOKEN = "acme-token"

ACME = f"""
[[accounts]]
name = "acme"
service_codes = ["10690001"]
balance = 100
[accounts.http.caih]
account = "{CAIH_ACCOUNT}"
app_id = "{CAIH_APP}"
token = "{CAIH_TOKEN}"
[[accounts.signatures]]
text = "中国东信"
[[accounts.templates]]
id = "T1"
text = "您的验证码为:{{$var}}"
kind = "verification"

[[accounts]]
name = "auto"
review = "auto"
"""


@asynccontextmanager
async def admin_env(toml: str = ACME) -> AsyncIterator[tuple[VendorEnv, TestClient]]:
    async with vendor_env(toml) as env:
        admin = TestClient(TestServer(make_app(env.smsc, CollectorRegistry()), host="127.0.0.1"))
        await admin.start_server()
        try:
            yield env, admin
        finally:
            await admin.close()


async def call(
    admin: TestClient, method: str, path: str, body: Any = None, status: int = 200, **kw: Any
) -> Any:
    if body is not None:
        kw["data"] = body if isinstance(body, bytes | str) else json.dumps(body)
    resp = await admin.request(method, path, **kw)
    text = await resp.text()
    assert resp.status == status, (method, path, resp.status, text)
    assert resp.content_type == "application/json", text
    return json.loads(text)


def row(env: VendorEnv, table: Any, **where: Any) -> dict[str, Any]:
    stmt = select(table)
    for key, value in where.items():
        stmt = stmt.where(table.c[key] == value)
    with env.smsc.engine.connect() as conn:
        found = conn.execute(stmt).mappings().first()
    assert found is not None, where
    return dict(found)


async def caih_send(env: VendorEnv, phones: str, content: str) -> dict[str, Any]:
    ts = beijing(time.time(), "%Y%m%d%H%M%S")
    body = {
        "account": CAIH_ACCOUNT,
        "password": hashlib.md5((CAIH_TOKEN + ts).encode()).hexdigest(),
        "appId": CAIH_APP,
        "timestamp": ts,
        "phone": phones,
        "content": content,
    }
    resp = await env.client.post("/sendsms", json=body)
    assert resp.status == 200
    return json.loads(await resp.read())


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# -- signatures ---------------------------------------------------------------------------------


def test_signature_review_workflow() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            base = "/api/accounts/acme/signatures"
            # Review standards (002 §3.7): 2-8 characters, not all digits, not neutral.
            got = await call(admin, "POST", base, {"text": "12345"}, status=400)
            assert got == {"error": "signature must not be all digits"}
            got = await call(admin, "POST", base, {"text": "【一二三四五六七八九】"}, status=400)
            assert "2-8 characters" in got["error"]
            await call(admin, "POST", base, {"text": "  "}, status=400)
            await call(admin, "POST", base, {"text": 5}, status=400)
            await call(admin, "POST", base, {"text": "东信在线", "scenario": "x"}, status=400)
            await call(admin, "POST", base, b"not json", status=400)
            await call(admin, "POST", base, [1], status=400)
            await call(admin, "POST", "/api/accounts/nobody/signatures", {"text": "好"}, 404)

            sig = await call(
                admin,
                "POST",
                base,
                {"text": "【东信在线】", "source": "东信公司", "scenario": "verification"},
                status=201,
            )
            assert (sig["text"], sig["status"], sig["source"], sig["scenario"]) == (
                "东信在线",
                "pending",
                "东信公司",
                "verification",
            )
            sid = sig["id"]
            assert row(env, signatures_table, id=sid)["status"] == "pending"
            got = await call(admin, "POST", base, {"text": "東信在線"}, status=400)
            assert "already exists" in got["error"]  # traditional = simplified

            # Pending signatures do not send (CAIH -6), approved ones do.
            got = await caih_send(env, "13800138000", "【东信在线】您的验证码为:1234")
            assert got["code"] == "-6"
            # A rejection needs a reason; approve needs no body.
            got = await call(admin, "POST", f"{base}/{sid}/reject", status=400)
            assert got == {"error": "reason is required"}
            await call(admin, "POST", f"{base}/{sid}/reject", {"reason": ""}, status=400)
            got = await call(admin, "POST", f"{base}/{sid}/reject", {"reason": "与执照不一致"})
            assert (got["status"], got["reason"]) == ("rejected", "与执照不一致")
            assert row(env, signatures_table, id=sid)["reason"] == "与执照不一致"
            got = await call(admin, "POST", f"{base}/{sid}/approve")
            assert (got["status"], got["reason"]) == ("approved", "")
            assert row(env, signatures_table, id=sid)["status"] == "approved"
            got = await caih_send(env, "13800138000", "【东信在线】您的验证码为:1234")
            assert got["code"] == "0"
            # Cancelled (注销) stops sends again.
            got = await call(admin, "POST", f"{base}/{sid}/cancel")
            assert got["status"] == "cancelled"
            got = await caih_send(env, "13800138000", "【东信在线】您的验证码为:1234")
            assert got["code"] == "-6"

            listed = await call(admin, "GET", base)
            assert [s["text"] for s in listed] == ["中国东信", "东信在线"]
            for bad in ("999999", "abc"):
                await call(admin, "POST", f"{base}/{bad}/approve", status=404)
                await call(admin, "DELETE", f"{base}/{bad}", status=404)
            assert await call(admin, "DELETE", f"{base}/{sid}") == {"deleted": True}
            await call(admin, "DELETE", f"{base}/{sid}", status=404)
            assert [s["text"] for s in await call(admin, "GET", base)] == ["中国东信"]

            # review = "auto": approved at once.
            sig = await call(
                admin, "POST", "/api/accounts/auto/signatures", {"text": "自动审核"}, status=201
            )
            assert sig["status"] == "approved"

    run(main)


# -- templates ----------------------------------------------------------------------------------


def test_template_create_edit_review() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            base = "/api/accounts/acme/templates"
            text = "您的验证码为{$var}，5分钟内有效"
            tpl = await call(admin, "POST", base, {"text": text, "kind": "verification"}, 201)
            assert (tpl["status"], tpl["kind"], tpl["syntax"], tpl["slots"]) == (
                "pending",
                "verification",
                "dollar",
                1,
            )
            tid = tpl["template_id"]
            assert row(env, templates_table, template_id=tid)["text"] == text
            named = await call(admin, "POST", base, {"text": "您的订单已发货", "id": "T9"}, 201)
            assert (named["template_id"], named["kind"]) == ("T9", "general")
            got = await call(admin, "POST", base, {"text": "别的", "id": "T9"}, status=400)
            assert "already exists" in got["error"]
            got = await call(admin, "POST", base, {"text": "您好{$var}", "kind": "x"}, status=400)
            assert got["error"].startswith("kind must be one of")
            got = await call(
                admin, "POST", base, {"text": "您好{$var}", "kind": "verification"}, status=400
            )
            assert "验证码" in got["error"]
            got = await call(admin, "POST", base, {"text": "新品八折", "kind": "marketing"}, 400)
            assert "unsubscribe" in got["error"]
            await call(admin, "POST", base, {"text": "x", "id": "a/b"}, status=400)
            await call(admin, "POST", base, {"kind": "general"}, status=400)

            got = await call(admin, "POST", f"{base}/{tid}/reject", {}, status=400)
            assert got == {"error": "reason is required"}
            got = await call(admin, "POST", f"{base}/{tid}/approve")
            assert got["status"] == "approved"
            # The approved template sends (with an approved signature) ...
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为8888，5分钟内有效")
            assert got["code"] == "0"
            # ... an edit sends it back to review, and the old text no longer matches it.
            new = "您的验证码为{$var}，10分钟内有效"
            got = await call(admin, "PUT", f"{base}/{tid}", {"text": new})
            assert (got["status"], got["text"], got["kind"]) == ("pending", new, "verification")
            assert row(env, templates_table, template_id=tid)["status"] == "pending"
            got = await call(admin, "PUT", f"{base}/{tid}", {"text": new, "kind": "x"}, 400)
            assert got["error"].startswith("kind must be one of")
            got = await call(
                admin, "PUT", f"{base}/{tid}", {"text": "无变量", "kind": "verification"}, 400
            )
            assert "variable" in got["error"]
            await call(admin, "PUT", f"{base}/nope", {"text": new}, status=404)
            got = await call(admin, "POST", f"{base}/{tid}/reject", {"reason": "缺少平台名称"})
            assert (got["status"], got["reason"]) == ("rejected", "缺少平台名称")
            got = await call(admin, "POST", f"{base}/{tid}/approve", {"reason": "ok"})
            assert (got["status"], got["reason"]) == ("approved", "ok")
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为8888，10分钟内有效")
            assert got["code"] == "0"

            ids = [t["template_id"] for t in await call(admin, "GET", base)]
            assert ids == ["T1", tid, "T9"]
            assert await call(admin, "DELETE", f"{base}/T9") == {"deleted": True}
            await call(admin, "DELETE", f"{base}/T9", status=404)
            await call(admin, "POST", f"{base}/T9/approve", status=404)
            tpl = await call(admin, "POST", "/api/accounts/auto/templates", {"text": "你好"}, 201)
            assert tpl["status"] == "approved"

    run(main)


# -- balance ------------------------------------------------------------------------------------


def stored_balance(env: VendorEnv, name: str) -> int | None:
    return row(env, accounts_table, name=name)["balance"]


def test_balance_top_up_and_set_are_stored() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            path = "/api/accounts/acme/balance"
            got = await call(admin, "POST", path, {"add": 50})
            assert got == {"name": "acme", "balance": 150}
            assert (await call(admin, "GET", "/api/accounts/acme"))["balance"] == 150
            assert stored_balance(env, "acme") == 150
            assert (await call(admin, "POST", path, {"set": 7}))["balance"] == 7
            assert stored_balance(env, "acme") == 7
            assert (await call(admin, "POST", path, {"add": -7}))["balance"] == 0
            for bad in (
                {"add": -1},
                {"add": 1.5},
                {"add": True},
                {"add": "5"},
                {"set": -1},
                {"set": 2**63},
                {"add": 2**62 + 1},
                {"set": "x"},
                {"add": 1, "set": 2},
                {},
            ):
                await call(admin, "POST", path, bad, status=400)
            await call(admin, "POST", path, b"[", status=400)
            await call(admin, "POST", "/api/accounts/nobody/balance", {"add": 1}, status=404)
            assert stored_balance(env, "acme") == 0 and env.account().balance == 0

            # A send with no balance is refused; after a top-up it goes through and is debited.
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为:1234")
            assert got["code"] == "-3"
            await call(admin, "POST", path, {"add": 2})
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为:1234")
            assert got["code"] == "0"
            assert (await call(admin, "GET", "/api/accounts/acme"))["balance"] == 1
            assert stored_balance(env, "acme") == 1

            # Unlimited: null; "add" needs a number first.
            assert (await call(admin, "POST", path, {"set": None}))["balance"] is None
            assert stored_balance(env, "acme") is None
            got = await call(admin, "POST", path, {"add": 5}, status=400)
            assert "unlimited" in got["error"]
            assert (await call(admin, "POST", path, {"set": 3}))["balance"] == 3
            assert stored_balance(env, "acme") == 3

    run(main)


def test_balance_set_between_sends_in_one_commit_keeps_memory_and_database_equal() -> None:
    """The writer may run a later send's debit before an earlier top-up when they share a
    commit (ops are grouped by statement); the stored balance must still end where memory is."""

    async def main() -> None:
        async with admin_env() as (env, admin):
            smsc, acc = env.smsc, env.account()
            req = SendRequest(vendor="caih", recipients=[("13800138000", "【中国东信】hi")])
            lock = smsc.engine.raw_connection()  # hold SQLite's write lock: jobs pile up
            try:
                lock.cursor().execute("BEGIN IMMEDIATE")
                blocker = smsc.writer.write([smsc._event_op("test", None, None, {})])
                await eventually(lambda: _true(smsc.writer.pending == 0))
                first = asyncio.create_task(smsc.sends.send(acc, req))
                await asyncio.sleep(0)
                setting = asyncio.create_task(
                    call(admin, "POST", "/api/accounts/acme/balance", {"set": 500})
                )
                await eventually(lambda: _true(acc.balance == 500))
                second = asyncio.create_task(smsc.sends.send(acc, req))
                await asyncio.sleep(0)
                assert smsc.writer.pending >= 4  # both sends and the top-up wait together
            finally:
                lock.rollback()
                lock.close()
            await asyncio.gather(blocker, first, setting, second)
            await smsc.writer.write([])
            assert acc.balance == 499
            assert stored_balance(env, "acme") == 499

    run(main)


async def _true(value: bool) -> bool:
    return value


# -- callbacks and IP whitelist -------------------------------------------------------------------


def test_callbacks_register_a_push_bind_and_validate() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        try:
            async with admin_env() as (env, admin):
                path = "/api/accounts/acme/callbacks"
                assert not [
                    b for b in await call(admin, "GET", "/api/binds") if b["type"] == "push"
                ]
                got = await call(admin, "PUT", path, {"report_url": receiver.url("/dlr")})
                assert got["callbacks"] == {
                    "report_url": receiver.url("/dlr"),
                    "mo_url": "",
                    "dialect": "",
                }
                binds = await call(admin, "GET", "/api/binds")
                push = [b for b in binds if b["type"] == "push"]
                assert len(push) == 1
                assert (push[0]["account"], push[0]["report_url"]) == (
                    "acme",
                    receiver.url("/dlr"),
                )
                # Reports now reach the customer's URL.
                got = await caih_send(env, "13800138000", "【中国东信】您的验证码为:1234")
                assert got["code"] == "0"
                (push_req,) = await receiver.wait_for(1)
                assert push_req["path"] == "/dlr"

                got = await call(admin, "PUT", path, {"report_url": "ftp://x"}, status=400)
                assert got["key"] == "accounts.acme.callbacks.report_url"
                got = await call(admin, "PUT", path, {"dialect": "nope"}, status=400)
                assert got["key"] == "accounts.acme.callbacks.dialect"
                got = await call(admin, "PUT", path, {"push_url": "http://x"}, status=400)
                assert got["key"] == "accounts.acme.callbacks.push_url"
                await call(admin, "PUT", path, {"mo_url": 5}, status=400)
                await call(admin, "PUT", path, "[]", status=400)
                await call(admin, "PUT", "/api/accounts/nobody/callbacks", {}, status=404)

                got = await call(
                    admin, "PUT", path, {"mo_url": receiver.url("/mo"), "dialect": "caih"}
                )
                assert got["callbacks"]["report_url"] == ""  # PUT replaces the whole table
                assert env.account().callbacks["mo_url"] == receiver.url("/mo")
                await call(admin, "PUT", path, {})
                binds = await call(admin, "GET", "/api/binds")
                assert not [b for b in binds if b["type"] == "push"]
                stored = json.loads(row(env, accounts_table, name="acme")["settings"])
                assert stored["callbacks"] == {"report_url": "", "mo_url": "", "dialect": ""}
        finally:
            await receiver.stop()

    run(main)


def test_ip_whitelist() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            path = "/api/accounts/acme/ip_whitelist"
            got = await call(admin, "PUT", path, ["1.2.3.4", "10.0.0.0/8"])
            assert got["ip_whitelist"] == ["1.2.3.4/32", "10.0.0.0/8"]
            assert env.account().ip_allowed("10.9.8.7")
            assert not env.account().ip_allowed("127.0.0.1")
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为:1234")
            assert got["code"] == "-5"  # CAIH: the allow-list refuses as an auth failure
            got = await call(admin, "PUT", path, ["1.2.3.400"], status=400)
            assert got["key"].startswith("accounts.acme.ip_whitelist")
            await call(admin, "PUT", path, "1.2.3.4", status=400)
            await call(admin, "PUT", path, [5], status=400)
            await call(admin, "PUT", path, {"ip_whitelist": "1.2.3.4"}, status=400)
            got = await call(admin, "PUT", path, {"ip_whitelist": []})
            assert got["ip_whitelist"] == []
            got = await caih_send(env, "13800138000", "【中国东信】您的验证码为:1234")
            assert got["code"] == "0"

    run(main)


# -- send records, MO, pushes -------------------------------------------------------------------


def test_batches_and_pushes_after_vendor_sends() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        try:
            async with admin_env() as (env, admin):
                await call(
                    admin, "PUT", "/api/accounts/acme/callbacks", {"report_url": receiver.url()}
                )
                got = await caih_send(
                    env, "13800138000,+8613800138001,13800138000", "【中国东信】您的验证码为:1234"
                )
                assert got["code"] == "0"
                msgid = got["msgid"]
                batches = await call(admin, "GET", "/api/batches?account=acme")
                assert len(batches) == 1
                b = batches[0]
                assert (b["batch_id"], b["vendor"], b["sign"], b["template_id"]) == (
                    msgid,
                    "caih",
                    "中国东信",
                    "T1",
                )
                assert (b["requested"], b["accepted"], b["invalid"], b["units"]) == (3, 2, 0, 2)
                assert await call(admin, "GET", "/api/batches?vendor=zrwinfo") == []
                assert len(await call(admin, "GET", f"/api/batches?batch_id={msgid}")) == 1
                created = b["created_at"]
                assert len(await call(admin, "GET", f"/api/batches?since={created}")) == 1
                assert await call(admin, "GET", f"/api/batches?until={created}") == []
                await call(admin, "GET", "/api/batches?since=soon", status=400)
                await call(admin, "GET", "/api/batches?limit=0", status=400)
                await call(admin, "GET", "/api/batches/nope", status=404)

                async def delivered() -> Any:
                    view = await call(admin, "GET", f"/api/batches/{msgid}")
                    states = {m["effective_state"] for m in view["messages"]}
                    return view if states == {"DELIVRD"} else None

                view = await eventually(delivered)
                assert sorted(m["destination"] for m in view["messages"]) == [
                    "13800138000",
                    "13800138001",
                ]
                assert view["messages"][0]["extra"]["vendor"] == "caih"
                assert "body" not in view["messages"][0]

                # One report per phone (CAIH), acknowledged with HTTP 200: done.
                await receiver.wait_for(2)

                async def done() -> Any:
                    rows = await call(admin, "GET", "/api/pushes?account=acme&state=done")
                    return rows if len(rows) == 2 else None

                rows = await eventually(done)
                assert {r["kind"] for r in rows} == {"receipt"}
                assert {r["payload"]["destination"] for r in rows} == {
                    "13800138000",
                    "13800138001",
                }
                assert all(r["state"] == "done" and r["attempts"] == 1 for r in rows)
                assert rows[0]["payload"]["extra"]["batch"] == msgid

                # The customer's endpoint fails every retry: the push is given up and marked.
                receiver.default = (500, "busy")
                got = await caih_send(env, "13800138002", "【中国东信】您的验证码为:5678")
                assert got["code"] == "0"

                async def gave_up() -> Any:
                    rows = await call(admin, "GET", "/api/pushes?state=gave_up")
                    return rows or None

                (failed,) = await eventually(gave_up)
                assert failed["payload"]["destination"] == "13800138002"
                assert failed["attempts"] == 4  # the first try and three retries
                assert "HTTP 500" in failed["last_error"]
                assert failed["gave_up_at"] is not None and failed["state"] == "gave_up"
                assert await call(admin, "GET", "/api/pushes?state=pending") == []
                assert len(await call(admin, "GET", "/api/pushes?kind=receipt&protocol=http")) == 3
                assert await call(admin, "GET", "/api/pushes?kind=mo") == []
                await call(admin, "GET", "/api/pushes?state=lost", status=400)
                await call(admin, "GET", "/api/pushes?kind=x", status=400)
        finally:
            await receiver.stop()

    run(main)


def test_batch_with_per_message_ids_lists_its_messages() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            req = SendRequest(
                vendor="zrwinfo",
                recipients=[("13800138000", "【中国东信】a"), ("+8613800138001", "【中国东信】b")],
                per_message_ids=True,
                batch_id="B-1%_",
            )
            result = await env.smsc.sends.send(env.account(), req)
            other = SendRequest(vendor="zrwinfo", recipients=[("13800138002", "【中国东信】c")])
            await env.smsc.sends.send(env.account(), other)
            view = await call(admin, "GET", "/api/batches/B-1%25_")
            assert view["accepted"] == 2
            ids = [m["message_id"] for m in view["messages"]]
            assert ids == result.message_ids and "B-1%_" not in ids
            assert [m["text"] for m in view["messages"]] == ["【中国东信】a", "【中国东信】b"]
            view = await call(admin, "GET", "/api/batches/B-1%25_?account=auto", status=404)

    run(main)


def test_messages_filters() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            acc = env.account()
            await env.smsc.sends.send(
                acc, SendRequest(vendor="caih", recipients=[("13800138000", "【中国东信】a")])
            )
            await env.smsc.sends.send(
                acc, SendRequest(vendor="caih", recipients=[("13800138001", "【东信在线】b")])
            )
            rows = await call(admin, "GET", "/api/messages?account=acme")
            assert [r["destination"] for r in rows] == ["13800138001", "13800138000"]
            assert all("body" not in r and "effective_state" in r for r in rows)
            rows = await call(admin, "GET", "/api/messages?sign=中国东信")
            assert [r["text"] for r in rows] == ["【中国东信】a"]
            rows = await call(
                admin, "GET", "/api/messages?sign=【东信在线】&destination=13800138001"
            )
            assert len(rows) == 1
            first = rows[0]["submitted_at"]
            assert len(await call(admin, "GET", f"/api/messages?since={first}")) >= 1
            assert await call(admin, "GET", "/api/messages?until=0") == []
            assert await call(admin, "GET", "/api/messages?account=auto") == []
            assert len(await call(admin, "GET", "/api/messages?limit=1")) == 1
            await call(admin, "GET", "/api/messages?limit=x", status=400)
            await call(admin, "GET", "/api/messages?until=inf", status=400)

    run(main)


def test_mo_list_by_account_source_and_extension() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            await env.mo("13900000001", "1069000123", "好的")
            await env.mo("13900000002", "1069000145", "收到")
            await env.mo("13900000001", "10690001", "TD")
            await env.mo("13900000003", "95555", "谁")  # no account owns it
            rows = await call(admin, "GET", "/api/mo?account=acme")
            assert [(r["source"], r["extension"], r["text"]) for r in rows] == [
                ("13900000001", "", "TD"),
                ("13900000002", "45", "收到"),
                ("13900000001", "23", "好的"),
            ]
            rows = await call(admin, "GET", "/api/mo?account=acme&extension=23")
            assert [r["text"] for r in rows] == ["好的"]
            rows = await call(admin, "GET", "/api/mo?extension=45")
            assert [r["text"] for r in rows] == ["收到"]
            rows = await call(admin, "GET", "/api/mo?source=13900000001")
            assert [r["text"] for r in rows] == ["TD", "好的"]
            rows = await call(admin, "GET", "/api/mo?limit=10")
            assert len(rows) == 4 and rows[0]["account"] is None and rows[0]["extension"] is None
            assert await call(admin, "GET", "/api/mo?until=0") == []
            await call(admin, "GET", "/api/mo?extension=4x", status=400)
            # TD blacklisted the sender for acme (vendor 002's unsubscribe words).
            entries = await call(admin, "GET", "/api/blacklist?account=acme")
            assert entries == [{"account": "acme", "number": "13900000001"}]

    run(main)


def test_blacklist_per_account_add_and_remove() -> None:
    async def main() -> None:
        async with admin_env() as (env, admin):
            body = {"account": "acme", "number": "13800138000", "reason": "投诉"}
            assert await call(admin, "POST", "/api/blacklist", body, status=201) == {"added": True}
            assert await call(admin, "POST", "/api/blacklist", body) == {"added": False}
            req = SendRequest(vendor="caih", recipients=[("13800138000", "【中国东信】hi")])
            try:
                await env.smsc.sends.send(env.account(), req)
            except SendRefused as exc:
                assert exc.reason is Refusal.BLACKLISTED
            else:
                raise AssertionError("a blacklisted number was sent to")
            assert env.smsc.blacklist.contains("acme", "13800138000")
            assert not env.smsc.blacklist.contains("auto", "13800138000")
            await call(admin, "POST", "/api/blacklist", {"account": "nobody", "number": "1"}, 400)
            await call(admin, "POST", "/api/blacklist", {"number": " "}, status=400)
            await call(admin, "POST", "/api/blacklist", {"number": "1", "reason": 5}, status=400)
            # "" is the global list, like null.
            got = await call(admin, "POST", "/api/blacklist", {"account": "", "number": "139"}, 201)
            assert got == {"added": True}
            entries = await call(admin, "GET", "/api/blacklist")
            assert {"account": None, "number": "139"} in entries
            assert await call(admin, "GET", "/api/blacklist?account=acme") == [
                {"account": "acme", "number": "13800138000"}
            ]
            assert await call(admin, "DELETE", "/api/blacklist/139?account=") == {"removed": True}
            # The global entry is not the account's.
            await call(admin, "DELETE", "/api/blacklist/13800138000", status=404)
            got = await call(admin, "DELETE", "/api/blacklist/13800138000?account=acme")
            assert got == {"removed": True}
            result = await env.smsc.sends.send(env.account(), req)
            assert result.accepted == ["13800138000"]

    run(main)


def test_openapi_is_served() -> None:
    async def main() -> None:
        async with admin_env() as (_env, admin):
            spec = await call(admin, "GET", "/api/openapi.json")
            assert spec["openapi"].startswith("3.0")
            assert "/api/accounts/{name}/balance" in spec["paths"]

    run(main)


GARBAGE = (
    b"",
    b"\xff\xfe",
    b"[1",
    b"null",
    b'"text"',
    b"[]",
    b'{"text": 1, "reason": [], "add": {}, "set": "x", "report_url": 1, "id": 5, "kind": [1]}',
    b'{"text": "\\ud800", "kind": "general", "id": "", "reason": "", "number": 5, "account": 1}',
    b'{"callbacks": "x", "http": [1], "balance": "lots", "enabled": "yes", "review": 1}',
)


def test_garbage_never_breaks_the_admin_api() -> None:
    """Every route answers bad bodies and queries with 4xx JSON, never a 500."""
    from admin.api import ROUTES

    async def main() -> None:
        async with admin_env() as (_env, admin):
            values = {
                "name": "acme",
                "sid": "1",
                "tid": "T1",
                "batch_id": "x",
                "number": "1",
                "message_id": "1",
            }
            for route in ROUTES:
                path = route.path.format(**values)
                if route.method == "GET":
                    for query in ("limit=-5", "limit=x", "since=x&until=nan", "state=x&kind=y"):
                        resp = await admin.get(f"{path}?{query}")
                        assert resp.status < 500, (path, query, await resp.text())
                    continue
                for body in GARBAGE:
                    resp = await admin.request(route.method, path, data=body)
                    assert resp.status < 500, (route.method, path, body, await resp.text())
                    if resp.status == 400:
                        assert "error" in json.loads(await resp.text()), (route.method, path)

    run(main)


def test_low_balance_alert_once_per_crossing_in_the_event_log() -> None:
    toml = ACME.replace("balance = 100", "balance = 4\nbalance_alert = 2", 1)

    async def main() -> None:
        async with admin_env(toml) as (env, admin):
            acc = env.account()
            for i in range(4):  # 4 → 3 → 2 → 1 (alert) → 0 (still below: no second alert)
                await env.smsc.sends.send(
                    acc, SendRequest("caih", [(f"1380013800{i}", "【中国东信】您的验证码为:1")])
                )
            alerts = await call(admin, "GET", "/api/events?kind=balance_alert&account=acme")
            assert [a["detail"] for a in alerts] == [{"balance": 1, "threshold": 2}]
            await call(admin, "POST", "/api/accounts/acme/balance", {"add": 10})
            await env.smsc.sends.send(
                acc, SendRequest("caih", [("13800138009", "【中国东信】您的验证码为:1")])
            )
            # back above the threshold after the top-up: armed again, no new alert yet
            alerts = await call(admin, "GET", "/api/events?kind=balance_alert")
            assert len(alerts) == 1

    run(main)


def test_metrics_count_vendor_requests_and_send_results() -> None:
    from admin.metrics import SmscCollector, render

    async def main() -> None:
        async with admin_env() as (env, _admin):
            registry = CollectorRegistry()
            registry.register(SmscCollector(env.smsc, {}))
            ts = beijing(time.time(), "%Y%m%d%H%M%S")
            good = {
                "account": CAIH_ACCOUNT,
                "password": hashlib.md5((CAIH_TOKEN + ts).encode()).hexdigest(),
                "appId": CAIH_APP,
                "timestamp": ts,
                "phone": "13800138000",
                "content": "【中国东信】您的验证码为:1234",
            }
            assert (await (await env.client.post("/sendsms", json=good)).json())["code"] == "0"
            env.account().balance = 0
            assert (await (await env.client.post("/sendsms", json=good)).json())["code"] == "-3"
            await (await env.client.get("/nope")).read()
            text = render(registry).decode()
            assert 'smsc_http_requests_total{route="/sendsms",status="200"} 2.0' in text
            assert 'smsc_http_requests_total{route="other",status="404"} 1.0' in text
            assert 'smsc_vendor_sends_total{result="accepted",vendor="caih"} 1.0' in text
            assert 'smsc_vendor_sends_total{result="no_balance",vendor="caih"} 1.0' in text

    run(main)


def test_cancel_a_scheduled_batch_refunds_and_pushes_nothing() -> None:
    async def main() -> None:
        rx = await Receiver().start()
        toml = ACME + f'\n[accounts.callbacks]\nreport_url = "{rx.url("/dlr")}"\n'
        toml = toml.replace('[[accounts]]\nname = "auto"', "", 1).replace('review = "auto"\n', "")
        try:
            async with admin_env(toml) as (env, admin):
                acc = env.account()
                later = env.smsc.clock() + 3600
                text = "【中国东信】您的验证码为:1"
                sent = await env.smsc.sends.send(
                    acc,
                    SendRequest(
                        "caih", [("13800138000", text), ("13800138001", text)], schedule_at=later
                    ),
                )
                assert acc.balance == 98
                got = await call(admin, "POST", f"/api/batches/{sent.batch_id}/cancel")
                assert got == {"batch_id": sent.batch_id, "cancelled": 2, "refunded": 2}
                assert acc.balance == 100
                assert row(env, accounts_table, name="acme")["balance"] == 100
                view = await call(admin, "GET", f"/api/batches/{sent.batch_id}")
                assert {m["effective_state"] for m in view["messages"]} == {"DELETED"}
                again = await call(admin, "POST", f"/api/batches/{sent.batch_id}/cancel")
                assert again["cancelled"] == 0 and again["refunded"] == 0
                await call(admin, "POST", "/api/batches/nope/cancel", status=404)
                await asyncio.sleep(0.5)
                assert rx.got == []  # no report for a cancelled message
        finally:
            await rx.stop()

    run(main)


CHUANGRUI_REVIEW = """
[[accounts]]
name = "acme"
balance = 100
[accounts.http.chuangrui]
name = "cr"
pwd = "pw1"
access_secret = "as1"
review_messages = true
review_threshold = 1
"""


def test_chuangrui_manual_review_holds_then_approve_sends_and_reject_reports_reject() -> None:
    from urllib.parse import parse_qs

    async def main() -> None:
        rx = await Receiver().start()
        toml = CHUANGRUI_REVIEW + f'\n[accounts.callbacks]\nreport_url = "{rx.url("/dlr")}"\n'
        try:
            async with admin_env(toml) as (env, admin):

                async def send(numbers: str) -> str:
                    resp = await env.client.post(
                        "/sms",
                        data={
                            "name": "cr",
                            "pwd": "pw1",
                            "type": "pt",
                            "mobile": numbers,
                            "content": "新品上市",
                            "sign": "签名",
                        },
                    )
                    line = await resp.text()
                    assert line.startswith("0,"), line
                    return line.split(",")[1]

                small = await send("13800138000")  # at the threshold: released at once
                held = await send("13800138001,13800138002")
                rejected = await send("13800138003,13800138004")
                assert env.account().balance == 95  # billed at acceptance, held or not
                await rx.wait_for(1)
                await asyncio.sleep(0.5)
                assert [parse_qs(g["body"].decode())["sendid"][0] for g in rx.got] == [small]

                listed = await call(admin, "GET", "/api/batches?held=true")
                assert sorted(b["batch_id"] for b in listed) == sorted([held, rejected])
                view = await call(admin, "GET", f"/api/batches/{held}")
                assert {m["effective_state"] for m in view["messages"]} == {"HELD"}

                await call(admin, "POST", f"/api/batches/{rejected}/reject", {}, status=400)
                got = await call(admin, "POST", f"/api/batches/{held}/approve")
                assert got == {"batch_id": held, "released": 2, "refunded": 0}
                got = await call(
                    admin, "POST", f"/api/batches/{rejected}/reject", {"reason": "营销内容"}
                )
                assert got == {"batch_id": rejected, "released": 2, "refunded": 2}
                assert env.account().balance == 97
                await rx.wait_for(3)
                await asyncio.sleep(0.6)
                reports = {}
                for g in rx.got[1:]:
                    form = parse_qs(g["body"].decode())
                    for mobile in form["mobile"][0].split(","):
                        reports[mobile] = (form["sendid"][0], form["state"][0])
                assert reports == {
                    "13800138001": (held, "DELIVRD"),
                    "13800138002": (held, "DELIVRD"),
                    "13800138003": (rejected, "REJECT"),
                    "13800138004": (rejected, "REJECT"),
                }
                again = await call(admin, "POST", f"/api/batches/{held}/approve")
                assert again["released"] == 0
        finally:
            await rx.stop()

    run(main)
