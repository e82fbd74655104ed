"""Vendor 003 创瑞 Chuangrui (vendor-apis.md §4): send, balance, merged DLR and batched MO pushes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from protocols.http.chuangrui import mo_content
from protocols.http.common import BEIJING, decode_form
from smsc.sends import Refusal, SendRefused
from tests.http.harness import Receiver, VendorEnv, run, vendor_env

SUCCESS = re.compile(r"0,(\d{26}),(\d+),(\d+),(\d+),提交成功")
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")

# The seed's example request (§4.3 / seed 1.8).
SEED_SEND = {
    "name": "test",
    "pwd": "112345",
    "content": "testmsg",
    "mobile": "18266878877,18655555555",
    "stime": "2012-08-01 8:20:23",
    "sign": "testsign",
    "type": "pt",
    "extno": "",
}


def accounts(dlr: str = "", mo: str = "", **acme: str) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in acme.items())
    callbacks = ""
    if dlr or mo:
        callbacks = f'[accounts.callbacks]\nreport_url = "{dlr}"\nmo_url = "{mo}"\n'
    return f"""
[[accounts]]
name = "acme"
service_codes = ["10690001"]
balance = 100
[accounts.http.chuangrui]
name = "test"
pwd = "112345"
access_secret = "AS-0123456789"
dlr_pwd = "12345"
mo_name = "admin"
mo_pwd = "mopwd"
system_ext = "008"
{extra}{callbacks}
[[accounts]]
name = "spaced"
[accounts.http.chuangrui]
name = "spaced"
pwd = "p"
space_after_code = true

[[accounts]]
name = "walled"
ip_whitelist = ["10.0.0.0/8"]
[accounts.http.chuangrui]
name = "walled"
pwd = "p"

[[accounts]]
name = "off"
enabled = false
[accounts.http.chuangrui]
name = "off"
pwd = "p"

[[accounts]]
name = "strict"
signatures = [{{ text = "好公司", status = "approved" }}, {{ text = "待审", status = "pending" }}]
[accounts.http.chuangrui]
name = "strict"
pwd = "p"
strict_sign = true
max_recipients = 2

[[accounts]]
name = "poor"
balance = 1
[accounts.http.chuangrui]
name = "poor"
pwd = "p"
"""


async def get(env: VendorEnv, params: dict[str, str], path: str = "/sms") -> str:
    resp = await env.client.get(path + "?" + urlencode(params))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain;charset=utf-8"
    return await resp.text()


async def post(env: VendorEnv, params: dict[str, str]) -> str:
    resp = await env.client.post("/sms", data=params)
    assert resp.status == 200
    return await resp.text()


def send(**changes: str) -> dict[str, str]:
    return {**SEED_SEND, "stime": "", **changes}


def check_sendid(sendid: str) -> None:
    """yyyyMMddHHmmssSSS (Beijing, now) + 9 digits."""
    stamp = datetime.strptime(sendid[:17], "%Y%m%d%H%M%S%f").replace(tzinfo=BEIJING)
    assert abs(stamp.timestamp() - time.time()) < 10


def test_seed_example_get_post_and_raw_body() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            body = await get(env, SEED_SEND)
            found = SUCCESS.fullmatch(body)
            assert found, body
            assert found.groups()[1:] == ("0", "2", "0")
            check_sendid(found.group(1))

            body2 = await post(env, SEED_SEND)
            found2 = SUCCESS.fullmatch(body2)
            assert found2 and found2.groups()[1:] == ("0", "2", "0"), body2
            assert found2.group(1) != found.group(1)

            # C#/Java samples: raw UTF-8 in the form body, content and mobile unencoded.
            raw = "name=test&pwd=112345&content=您的订单已发货&mobile=13800138000&sign=好店&type=pt"
            resp = await env.client.post(
                "/sms",
                data=raw.encode("utf-8"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            body3 = await resp.text()
            found3 = SUCCESS.fullmatch(body3)
            assert found3 and found3.groups()[1:] == ("0", "1", "0"), body3

            msgs = await env.messages()
            assert len(msgs) == 5
            by_id: dict[str, list[dict[str, Any]]] = {}
            for m in msgs:
                by_id.setdefault(m["message_id"], []).append(m)
            first = by_id[found.group(1)]
            assert sorted(m["destination"] for m in first) == ["18266878877", "18655555555"]
            assert {m["text"] for m in first} == {"【testsign】testmsg"}
            assert {m["source"] for m in first} == {"10690001008"}
            assert by_id[found3.group(1)][0]["text"] == "【好店】您的订单已发货"
            assert env.account().balance == 95

    run(main)


def test_space_after_code_switch_extno_and_stime() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            body = await get(env, send(name="spaced", pwd="p"))
            assert re.fullmatch(r"0, \d{26},0,2,0,提交成功", body), body

            body = await get(env, send(extno="123", mobile="13800138000"))
            sendid = SUCCESS.fullmatch(body).group(1)  # type: ignore[union-attr]
            later = time.time() + 86400
            stime = datetime.fromtimestamp(later, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
            body = await post(env, send(stime=stime, mobile="13800138001"))
            scheduled = SUCCESS.fullmatch(body).group(1)  # type: ignore[union-attr]
            msgs = {m["message_id"]: m for m in await env.messages()}
            assert msgs[sendid]["source"] == "10690001008123"
            assert msgs[sendid]["schedule_at"] is None
            assert abs(msgs[scheduled]["schedule_at"] - int(later)) < 1

    run(main)


def test_every_send_code() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            env.smsc.blacklist.add("acme", "13900000001")
            cases: list[tuple[dict[str, str], str]] = [
                # 14: format
                ({k: v for k, v in SEED_SEND.items() if k != "type"}, "14,格式错误"),
                (send(type="sms"), "14,格式错误"),
                (send(name=""), "14,格式错误"),
                ({k: v for k, v in SEED_SEND.items() if k != "pwd"}, "14,格式错误"),
                ({k: v for k, v in SEED_SEND.items() if k != "content"}, "14,格式错误"),
                (send(content="   "), "14,格式错误"),
                ({k: v for k, v in SEED_SEND.items() if k != "mobile"}, "14,格式错误"),
                (send(sign=""), "14,格式错误"),
                (send(extno="12a"), "14,格式错误"),
                (send(extno="１２"), "14,格式错误"),  # full-width digits
                (send(extno="1" * 12), "14,格式错误"),  # source would exceed 20 digits
                (send(stime="2012/08/01 8:20:23"), "14,格式错误"),
                (send(stime="2012-08-01"), "14,格式错误"),
                (send(content="字" * 501), "14,格式错误"),
                (send(name="strict", pwd="p", sign="别家"), "14,格式错误"),
                (send(name="strict", pwd="p", sign="待审"), "14,格式错误"),
                (
                    send(name="strict", pwd="p", sign="好公司", mobile="13800138000," * 3),
                    "14,格式错误",
                ),
                # 10: account and password
                (send(name="nobody"), "10,账号不存在"),
                (send(pwd="wrong"), "10,账号不存在"),
                # 13 / 12
                (send(name="walled", pwd="p"), "13,IP鉴权失败"),
                (send(name="off", pwd="p"), "12,账号停用"),
                # 2 / 1 / 4: sign and content filters (either script)
                (send(sign="赌博公司"), "2,含有敏感词汇"),
                (send(content="代開發票"), "1,含有敏感词汇"),
                (send(content="hi; SELECT name FROM users"), "4,包含sql语句"),
                (send(content="x'; drop table t"), "4,包含sql语句"),
                # 3: no numbers
                (send(mobile=""), "3,没有号码"),
                (send(mobile=" , ,"), "3,没有号码"),
                (send(mobile="123,abc,1380013800"), "3,没有号码"),
                (send(mobile="13900000001"), "3,没有号码"),  # only a blacklisted one
                # -1: balance
                (send(name="poor", pwd="p"), "-1,余额不足"),
            ]
            for params, want in cases:
                assert await get(env, params) == want, params
                assert await post(env, params) == want, params
            assert await env.messages() == []

            # The strict account's approved signature and exactly max_recipients numbers pass.
            body = await get(
                env,
                send(name="strict", pwd="p", sign="【好公司】", mobile="13800138000,13800138001"),
            )
            assert SUCCESS.fullmatch(body), body

            # Invalid and blacklisted numbers are counted, not fatal.
            body = await get(env, send(mobile="13900000001,12345,+8613800138002,13800138002"))
            found = SUCCESS.fullmatch(body)
            assert found and found.groups()[1:] == ("1", "1", "1"), body

            # -1 system exception: the store failed.
            async def broken(*_a: Any, **_k: Any) -> Any:
                raise SendRefused(Refusal.STORAGE, "disk on fire")

            env.smsc.sends.send = broken  # type: ignore[method-assign]
            assert await get(env, send()) == "-1,系统异常"

    run(main)


STRICT_AUTO = """
[[accounts]]
name = "sa"
review = "auto"
signatures = [
    { text = "好公司", id = "7" },
    { text = "驳回", status = "rejected" },
    { text = "待审", status = "pending" },
]
[accounts.http.chuangrui]
name = "sa"
pwd = "p"
strict_sign = true
"""


def test_strict_sign_auto_review_keeps_rejections_and_takes_texts_only() -> None:
    """Auto review approves new or pending signatures, never a refused one (§7.12)."""

    async def main() -> None:
        async with vendor_env(STRICT_AUTO) as env:
            cat = env.smsc.catalogue
            await cat.review_signature("sa", cat.signature("sa", "好公司").id, "cancelled")
            for sign in ("驳回", "好公司", "7"):
                assert await get(env, send(name="sa", pwd="p", sign=sign)) == "14,格式错误", sign
            assert cat.signature("sa", "驳回").status == "rejected"
            assert cat.signature("sa", "好公司").status == "cancelled"
            for sign in ("待审", "新公司"):
                assert SUCCESS.fullmatch(await get(env, send(name="sa", pwd="p", sign=sign)))
                assert cat.signature("sa", sign).status == "approved"
            texts = {m["text"] for m in await env.messages(account="sa")}
            assert texts == {"【待审】testmsg", "【新公司】testmsg"}

    run(main)


def test_garbage_never_500() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            bodies: list[tuple[bytes, str]] = [
                (b"\xff\xfe\x00\x01garbage", "application/octet-stream"),
                (b"%%%&&&==", "application/x-www-form-urlencoded"),
                (b"--xx\r\nbroken multipart", "multipart/form-data; boundary=xx"),
                (b'{"type": "pt"}', "application/json"),
                (b"type=pt&name=test&pwd=112345&content=\xb2\xe2\xca\xd4&mobile=1&sign=s", ""),
            ]
            for raw, ctype in bodies:
                headers = {"Content-Type": ctype} if ctype else {}
                resp = await env.client.post("/sms", data=raw, headers=headers)
                assert resp.status == 200, raw
                text = await resp.text()
                assert re.fullmatch(r"-?\d+,[^,]+", text), (raw, text)
            resp = await env.client.put("/sms", data=b"type=pt")
            assert resp.status == 405

    run(main)


def test_balance() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            q = {"name": "test", "pwd": "112345", "type": "balance"}
            assert await get(env, q) == "0,100"
            assert SUCCESS.fullmatch(await get(env, SEED_SEND))
            assert await post(env, q) == "0,98"
            assert await get(env, {**q, "pwd": "testpwd"}) == "10,账户不存在"
            assert await get(env, {**q, "name": "nobody"}) == "10,账户不存在"
            assert await get(env, {"name": "test", "type": "balance"}) == "10,账户不存在"
            assert await get(env, {**q, "name": "walled", "pwd": "p"}) == "13,IP鉴权失败"
            assert await get(env, {**q, "name": "off", "pwd": "p"}) == "12,账号停用"
            assert await get(env, {**q, "name": "spaced", "pwd": "p"}) == "0,999999999"

    run(main)


def parse(got: dict[str, Any]) -> dict[str, str]:
    assert got["method"] == "POST"
    assert got["content_type"] == "application/x-www-form-urlencoded"
    return decode_form(got["body"])


def test_report_merged_signed_and_split_by_state() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        toml = accounts(dlr=receiver.url("/dlr"))
        toml += (
            '\n[[carrier.rules]]\nmatch = { destination_suffix = "0003" }\noutcome = "UNDELIV"\n'
        )
        try:
            async with vendor_env(toml) as env:
                found = SUCCESS.fullmatch(await get(env, SEED_SEND))
                assert found, found
                sendid = found.group(1)
                await receiver.wait_for(1)
                await asyncio.sleep(0.6)  # no second push for the same sendid and state
                assert len(receiver.got) == 1
                form = parse(receiver.got[0])
                assert set(form) == {
                    "name",
                    "pwd",
                    "sendid",
                    "time",
                    "mobile",
                    "state",
                    "random",
                    "timestamp",
                }
                assert form["sendid"] == sendid
                assert sorted(form["mobile"].split(",")) == ["18266878877", "18655555555"]
                assert form["state"] == "DELIVRD"
                assert form["pwd"] == "12345"
                assert TIME.fullmatch(form["time"])
                assert re.fullmatch(r"[A-Za-z0-9]{16}", form["random"])
                assert abs(int(form["timestamp"]) / 1000 - time.time()) < 10
                want = hashlib.md5(
                    ("AS-0123456789" + form["random"] + form["timestamp"]).encode()
                ).hexdigest()
                assert form["name"] == want

                # Different states of one send: one push each.
                body = await get(env, send(mobile="13800000003,13800000004"))
                sendid = SUCCESS.fullmatch(body).group(1)  # type: ignore[union-attr]
                await receiver.wait_for(3)
                await asyncio.sleep(0.4)
                assert len(receiver.got) == 3
                forms = [parse(g) for g in receiver.got[1:]]
                assert {(f["sendid"], f["mobile"], f["state"]) for f in forms} == {
                    (sendid, "13800000003", "UNDELIV"),
                    (sendid, "13800000004", "DELIVRD"),
                }
        finally:
            await receiver.stop()

    run(main)


def test_report_static_mode() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        toml = accounts(dlr=receiver.url("/dlr"), dlr_auth_mode='"static"', dlr_name='"admin"')
        try:
            async with vendor_env(toml) as env:
                found = SUCCESS.fullmatch(await get(env, send(mobile="13900210021")))
                assert found
                await receiver.wait_for(1)
                form = parse(receiver.got[0])
                assert form == {
                    "name": "admin",
                    "pwd": "12345",
                    "sendid": found.group(1),
                    "time": form["time"],
                    "mobile": "13900210021",
                    "state": "DELIVRD",
                }
                assert TIME.fullmatch(form["time"])
        finally:
            await receiver.stop()

    run(main)


def test_report_retried_until_http_200() -> None:
    async def main() -> None:
        receiver = await Receiver(script=[(500, "no")]).start()
        try:
            async with vendor_env(accounts(dlr=receiver.url("/dlr"))) as env:
                assert SUCCESS.fullmatch(await get(env, send(mobile="13900210021")))
                got = await receiver.wait_for(2)
                assert parse(got[0])["sendid"] == parse(got[1])["sendid"]
        finally:
            await receiver.stop()

    run(main)


def test_mo_batch() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        toml = accounts(mo=receiver.url("/mo"))
        try:
            async with vendor_env(toml) as env:
                await env.mo("13800210021", "10690001008123", "content1")
                await env.mo("+8613978767656", "10690001008456", "a#@#b#@@#c")
                await receiver.wait_for(1)
                await asyncio.sleep(0.4)
                assert len(receiver.got) == 1
                form = parse(receiver.got[0])
                assert form["name"] == "admin"
                assert form["pwd"] == "mopwd"
                records = form["args"].split("#@@#")
                assert len(records) == 2
                first = records[0].split("#@#")
                second = records[1].split("#@#")
                assert first[0] == "13800210021" and first[1] == "content1"
                assert TIME.fullmatch(first[2]) and first[3] == "008123"
                assert second[0] == "13978767656" and second[1] == "a# @#b# @@#c"
                assert TIME.fullmatch(second[2]) and second[3] == "008456"
                # A third MO after the window is its own push.
                await env.mo("13800210021", "10690001008", "TD")
                await receiver.wait_for(2)
                args = parse(receiver.got[1])["args"]
                assert args.startswith("13800210021#@#TD#@#") and args.endswith("#@#008")
                assert "#@@#" not in args
        finally:
            await receiver.stop()

    run(main)


def test_mo_content_cannot_break_args() -> None:
    for text in ("#@#", "#@@#", "x#@", "@@#y", "@#", "##@@##", "#@#@@#"):
        packed = "m#@#" + mo_content(text) + "#@#t#@#e"
        assert "#@@#" not in packed, text
        assert packed.split("#@#") == ["m", mo_content(text), "t", "e"], text


def test_get_url_with_literal_space() -> None:
    """The seed's URL has a raw space in ``stime``; clients that encode it as %20 or + work."""

    async def main() -> None:
        async with vendor_env(accounts()) as env:
            query = "&".join(f"{k}={quote(v, safe=',')}" for k, v in SEED_SEND.items())
            resp = await env.client.get("/sms?" + query)
            assert SUCCESS.fullmatch(await resp.text())
            resp = await env.client.get("/sms?" + query.replace("%20", "+"))
            assert SUCCESS.fullmatch(await resp.text())

    run(main)
