"""Vendor 001 Juxiang (vendor-apis.md §2): the seed's examples byte for byte, every errid.

Bodies are compared as the bytes on the wire (GBK unless the account chose UTF-8), because a
legacy ASP client parses exactly those.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

from protocols.http.common import beijing
from tests.http.harness import Receiver, run, vendor_env

SERVICE_CODE = "10690001"

ACCOUNTS = """
[[accounts]]
name = "acme"
service_codes = ["{code}"]
balance = {balance}
{callbacks}
[accounts.http.juxiang]
name = "company"
pwd = "1234"
short = "企业简称"
extensions = ["00", "12345678"]
protected = ["13900000009"]
{extra}

[[accounts]]
name = "utf"
service_codes = ["10690002"]
[accounts.http.juxiang]
name = "utfco"
pwd = "secret"
charset = "utf-8"
long_sms = false

[[accounts]]
name = "off"
enabled = false
[accounts.http.juxiang]
name = "offco"
pwd = "1234"

[[accounts]]
name = "walled"
ip_whitelist = ["10.9.9.9"]
[accounts.http.juxiang]
name = "walledco"
pwd = "1234"
"""

GBK_HEADER = "text/html;charset=gbk"
A = "13937100004"
B = "13937100005"


def accounts(
    balance: str = "1000", callbacks: str = "", extra: str = "", code: str = SERVICE_CODE
) -> str:
    return ACCOUNTS.format(balance=balance, callbacks=callbacks, extra=extra, code=code)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def get(env: Any, op: str, **params: str) -> bytes:
    resp = await env.client.get(f"/send/{op}.asp", params=params)
    assert resp.status == 200
    return await resp.read()


async def raw_get(env: Any, target: bytes) -> tuple[bytes, bytes]:
    """Send a request line exactly as given (raw UTF-8 in the URL, like the seed's example)."""
    url = env.client.make_url("")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return head, body


def gbk(text: str) -> bytes:
    return text.encode("gbk")


def failed(numbers: str, errid: int, err: str) -> bytes:
    return gbk(f"num=0&success=&faile={numbers}&err={err}&errid={errid}")


# --- gsend: the seed's example -------------------------------------------------------------


def test_seed_gsend_with_raw_chinese_in_the_url() -> None:
    """The seed's URL as written, stray space included; the client sends it as UTF-8."""

    async def main() -> None:
        async with vendor_env(accounts()) as env:
            resp = await env.client.get(
                f"/send/gsend.asp?name=company&pwd=1234&dst={A},{B} "
                "&sender=&time=&txt=ccdx&msg=你好嗎"
            )
            assert resp.status == 200
            assert resp.headers["Content-Type"] == GBK_HEADER
            assert await resp.read() == gbk(f"num=2&success={A},{B}&faile=&err=发送成功&errid=0")
            msgs = await env.messages()
            assert sorted(m["destination"] for m in msgs) == [A, B]
            assert {m["text"] for m in msgs} == {"【企业简称】你好嗎"}
            assert {m["source"] for m in msgs} == {SERVICE_CODE}
            assert env.account().balance == 998

    run(main)


def test_gsend_gbk_percent_escapes_and_form_post() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            msg = quote("你好嗎".encode("gbk"))
            resp = await env.client.get(f"/send/gsend.asp?name=company&pwd=1234&dst={A}&msg={msg}")
            assert resp.headers["Content-Type"] == GBK_HEADER
            assert await resp.read() == gbk(f"num=1&success={A}&faile=&err=发送成功&errid=0")
            resp = await env.client.post(
                "/send/gsend.asp",
                data={"name": "company", "pwd": "1234", "dst": B, "msg": "再见"},
            )
            assert await resp.read() == gbk(f"num=1&success={B}&faile=&err=发送成功&errid=0")
            texts = sorted(m["text"] for m in await env.messages())
            assert texts == ["【企业简称】你好嗎", "【企业简称】再见"]

    run(main)


def test_utf8_account_answers_in_utf8() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            resp = await env.client.get(
                "/send/gsend.asp", params={"name": "utfco", "pwd": "secret", "dst": A, "msg": "好"}
            )
            assert resp.headers["Content-Type"] == "text/html;charset=utf-8"
            assert await resp.read() == f"num=1&success={A}&faile=&err=发送成功&errid=0".encode()
            body = await get(env, "getfee", name="utfco", pwd="secret")
            assert body == "id=999999999&err=成功&errid=0&short=".encode()

    run(main)


# --- gsend: content -------------------------------------------------------------------------


def test_truncation_to_60_and_40_for_phs_and_long_sms() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            text = "".join(chr(0x4E00 + i) for i in range(80))
            body = await get(env, "gsend", name="company", pwd="1234", dst=A, msg=text)
            assert body == gbk(f"num=1&success={A}&faile=&err=发送成功&errid=0")
            (m,) = await env.smsc.search_messages(destination=A)
            assert m["text"] == "【企业简称】" + text[:60]
            phs = "02012345678"
            body = await get(env, "gsend", name="company", pwd="1234", dst=phs, msg=text)
            assert body == gbk(f"num=1&success={phs}&faile=&err=发送成功&errid=0")
            (m,) = await env.smsc.search_messages(destination=phs)
            assert m["text"] == "【企业简称】" + text[:40]
            # txt=ccdx: up to 240 kept whole (billed 70/67: 6 + 80 = 86 → 2 units) ...
            body = await get(env, "gsend", name="company", pwd="1234", dst=B, msg=text, txt="ccdx")
            assert body == gbk(f"num=1&success={B}&faile=&err=发送成功&errid=0")
            (m,) = await env.smsc.search_messages(destination=B)
            assert m["text"] == "【企业简称】" + text
            assert env.account().balance == 1000 - 1 - 1 - 2
            # ... and over 240 refused.
            long = "好" * 241
            body = await get(env, "gsend", name="company", pwd="1234", dst=B, msg=long, txt="ccdx")
            assert body == failed(B, 6015, "短信内容超过了最大长度限制")
            # An account without long SMS: ccdx over 60 is refused, not cut.
            body = await get(env, "gsend", name="utfco", pwd="secret", dst=B, msg=text, txt="ccdx")
            assert (
                body
                == f"num=0&success=&faile={B}&err=短信内容超过了最大长度限制&errid=6015".encode()
            )

    run(main)


def test_content_errors_6014_6005() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            body = await get(env, "gsend", name="company", pwd="1234", dst=f"{A},{B}", msg=" ")
            assert body == failed(f"{A},{B}", 6014, "发送短信内容不能为空")
            body = await get(env, "gsend", name="company", pwd="1234", dst=A)
            assert body == failed(A, 6014, "发送短信内容不能为空")
            body = await get(env, "gsend", name="company", pwd="1234", dst=A, msg="代开發票")
            assert body == failed(A, 6005, "发送内容中含非法字符")
            # Content rules come before recipient rules (§7.6), PHS mixing included.
            mixed = f"{A},02012345678"
            body = await get(env, "gsend", name="company", pwd="1234", dst=mixed, msg="")
            assert body == failed(mixed, 6014, "发送短信内容不能为空")
            body = await get(env, "gsend", name="company", pwd="1234", dst=mixed, msg="发票")
            assert body == failed(mixed, 6005, "发送内容中含非法字符")
            assert await env.messages() == []

    run(main)


# --- gsend: authentication ------------------------------------------------------------------


def test_auth_errors_6001_6003_6002_6012() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            body = await get(env, "gsend", name="nobody", pwd="1234", dst=A, msg="好")
            assert body == failed(A, 6001, "该企业用户无效")
            body = await get(env, "gsend", pwd="1234", dst=A, msg="好")
            assert body == failed(A, 6001, "该企业用户无效")
            body = await get(env, "gsend", name="company", pwd="12345", dst=f"{A},{B}", msg="好")
            assert body == failed(f"{A},{B}", 6003, "此用户密码错误")
            body = await get(env, "gsend", name="offco", pwd="1234", dst=A, msg="好")
            assert body == failed(A, 6002, "此用户账号已经被停用")
            body = await get(env, "gsend", name="offco", pwd="bad", dst=A, msg="好")
            assert body == failed(A, 6003, "此用户密码错误")
            body = await get(env, "gsend", name="walledco", pwd="1234", dst=A, msg="好")
            assert body == failed(A, 6012, "该企业用户设置了ip限制")
            body = await get(env, "getfee", name="walledco", pwd="1234")
            assert body == gbk("id=-9999&err=该企业用户设置了ip限制&errid=6012&short=")
            body = await get(env, "getfee", name="company", pwd="x")
            assert body == gbk("id=-9999&err=此用户密码错误&errid=6003&short=")
            body = await get(env, "readsms", name="offco", pwd="1234")
            assert body == gbk("id=0&err=此用户账号已经被停用")
            body = await get(env, "checkcontent", name="nobody", pwd="1", content="好")
            assert body == gbk("errid=6001&err=该企业用户无效")
            assert await env.messages(account="acme") == []

    run(main)


# --- gsend: recipients ----------------------------------------------------------------------


def test_recipient_rules_6008_6004_and_partial_success() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            # invalid numbers fail, the request still succeeds if one was sent
            body = await get(env, "gsend", name="company", pwd="1234", dst=f"123,{A},{A}", msg="好")
            assert body == gbk(f"num=1&success={A}&faile=123&err=发送成功&errid=0")
            body = await get(env, "gsend", name="company", pwd="1234", dst="123,abc", msg="好")
            assert body == failed("123,abc", 6008, "无效的手机号码")
            body = await get(env, "gsend", name="company", pwd="1234", dst="", msg="好")
            assert body == failed("", 6008, "无效的手机号码")
            # PHS and mobiles mixed: everything fails
            body = await get(
                env, "gsend", name="company", pwd="1234", dst=f"{A},02012345678", msg="好"
            )
            assert body == failed(f"{A},02012345678", 6008, "无效的手机号码")
            # protection list
            body = await get(env, "gsend", name="company", pwd="1234", dst="13900000009", msg="好")
            assert body == failed("13900000009", 6004, "目标手机号码在保护名单内")
            body = await get(
                env, "gsend", name="company", pwd="1234", dst=f"13900000009,{B}", msg="好"
            )
            assert body == gbk(f"num=1&success={B}&faile=13900000009&err=发送成功&errid=0")
            assert len(await env.messages()) == 2

    run(main)


def test_numbers_from_the_100th_on_fail() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            numbers = [f"1380000{i:04d}" for i in range(101)]
            body = await get(
                env, "gsend", name="company", pwd="1234", dst=",".join(numbers), msg="好"
            )
            expected = (
                f"num=99&success={','.join(numbers[:99])}&faile={','.join(numbers[99:])}"
                "&err=发送成功&errid=0"
            )
            assert body == gbk(expected)
            assert len(await env.messages()) == 99

    run(main)


def test_balance_6013() -> None:
    async def main() -> None:
        async with vendor_env(accounts(balance="1")) as env:
            body = await get(env, "gsend", name="company", pwd="1234", dst=f"{A},{B}", msg="好")
            assert body == failed(f"{A},{B}", 6013, "该企业用户余额不足")
            assert env.account().balance == 1
            body = await get(env, "getfee", name="company", pwd="1234")
            assert body == gbk("id=1&err=成功&errid=0&short=企业简称")

    run(main)


def test_sender_extension_6021_and_schedule() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            for sender in ("99", "0a", "123456789"):
                body = await get(
                    env, "gsend", name="company", pwd="1234", dst=A, msg="好", sender=sender
                )
                assert body == failed(A, 6021, "扩展号码未备案"), sender
            # registered, but 10690001 + 12345678 is 16 digits: fine
            body = await get(
                env, "gsend", name="company", pwd="1234", dst=A, msg="好", sender="12345678"
            )
            assert body == gbk(f"num=1&success={A}&faile=&err=发送成功&errid=0")
            (m,) = await env.messages()
            assert m["source"] == SERVICE_CODE + "12345678"
            later = time.time() + 3600
            body = await get(
                env,
                "gsend",
                name="company",
                pwd="1234",
                dst=B,
                msg="好",
                sender="00",
                time=beijing(later, "%Y%m%d%H%M"),
            )
            assert body == gbk(f"num=1&success={B}&faile=&err=发送成功&errid=0")
            (m,) = await env.smsc.search_messages(destination=B)
            assert m["source"] == SERVICE_CODE + "00"
            assert abs(m["schedule_at"] - later) < 60
            # malformed time: sent now
            body = await get(env, "gsend", name="company", pwd="1234", dst=B, msg="好", time="2005")
            assert body == gbk(f"num=1&success={B}&faile=&err=发送成功&errid=0")
            rows = await env.smsc.search_messages(destination=B)
            assert rows[0]["schedule_at"] is None

    run(main)


def test_full_source_number_must_be_under_17_digits() -> None:
    async def main() -> None:
        async with vendor_env(accounts(code="106900011")) as env:
            body = await get(
                env, "gsend", name="company", pwd="1234", dst=A, msg="好", sender="12345678"
            )
            assert body == failed(A, 6021, "扩展号码未备案")

    run(main)


# --- MO: push, unsubscribe, pull ------------------------------------------------------------


def test_mo_push_retried_until_the_page_prints_0() -> None:
    async def main() -> None:
        receiver = await Receiver(script=[(200, "-1")], default=(200, "0\r\n")).start()
        try:
            callbacks = f'callbacks = {{ mo_url = "{receiver.url("/recv.asp")}" }}'
            async with vendor_env(accounts(callbacks=callbacks)) as env:
                await env.mo("13903710009", SERVICE_CODE + "12", "你好 & 再见")
                got = await receiver.wait_for(2)
                for request in got:
                    assert request["method"] == "GET"
                    assert request["path"] == "/recv.asp"
                    assert request["query"] == {
                        "src": "13903710009",
                        "dst": SERVICE_CODE + "12",
                        "msg": "你好 & 再见",
                    }
                assert "%E4%BD%A0%E5%A5%BD" in got[0]["raw_query"]  # UTF-8 escapes
                await asyncio.sleep(0.5)
                assert len(receiver.got) == 2  # acknowledged: not pushed again
        finally:
            await receiver.stop()

    run(main)


def test_mo_push_one_per_request() -> None:
    async def main() -> None:
        receiver = await Receiver(default=(200, "0")).start()
        try:
            callbacks = f'callbacks = {{ mo_url = "{receiver.url()}" }}'
            async with vendor_env(accounts(callbacks=callbacks)) as env:
                await env.mo("13903710001", SERVICE_CODE, "一")
                await env.mo("13903710002", SERVICE_CODE, "二")
                got = await receiver.wait_for(2)
                assert sorted(r["query"]["msg"] for r in got) == ["一", "二"]
        finally:
            await receiver.stop()

    run(main)


def test_mo_0000_blacklists_then_gsend_6009() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            await env.mo(A, SERVICE_CODE, "0000")
            body = await get(env, "gsend", name="company", pwd="1234", dst=A, msg="好")
            assert body == failed(A, 6009, "手机号码是黑名单")
            body = await get(env, "gsend", name="company", pwd="1234", dst=f"{A},{B}", msg="好")
            assert body == gbk(f"num=1&success={B}&faile={A}&err=发送成功&errid=0")

    run(main)


def test_readsms_one_at_a_time_and_min_poll() -> None:
    async def main() -> None:
        clock = Clock()
        extra = "min_poll_s = 5.0"
        async with vendor_env(accounts(extra=extra), clock=clock) as env:
            body = await get(env, "readsms", name="company", pwd="1234")
            assert body == gbk("id=0&err=")
            first = await env.mo("13939040001", SERVICE_CODE + "00", "你好嗎")
            await env.mo("13939040002", SERVICE_CODE, "第二条")
            stamp = beijing(clock.now, "%Y%m%d%H%M")
            body = await get(env, "readsms", name="company", pwd="1234")
            assert body == gbk("id=0&err=")  # 5 s have not passed since the last poll
            clock.now += 5
            body = await get(env, "readsms", name="company", pwd="1234")
            assert body == gbk(
                f"id={first['mo_id']}&err=成功&src=13939040001&msg=你好嗎"
                f"&dst={SERVICE_CODE}00&time={stamp}"
            )
            clock.now += 5
            body = await get(env, "readsms", name="company", pwd="1234")
            assert body.startswith(gbk(f"id={first['mo_id'] + 1}&err=成功&src=13939040002"))
            clock.now += 5
            body = await get(env, "readsms", name="company", pwd="1234")
            assert body == gbk("id=0&err=")

    run(main)


# --- checkcontent, getfee, cpwd -------------------------------------------------------------


def test_checkcontent() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            body = await get(env, "checkcontent", name="company", pwd="1234", content="發送內容")
            assert body == gbk("errid=0&err=成功")
            body = await get(env, "checkcontent", name="company", pwd="1234", content="可代開發票")
            assert body == gbk("errid=6005&err=发票")
            body = await get(
                env, "checkcontent", name="company", pwd="1234", content="回复1订购彩铃"
            )
            assert body == gbk("errid=6022&err=短信内容疑似SP短信:含回复订购业务用语")
            body = await get(env, "checkcontent", name="company", pwd="1234", content="包月10元")
            assert body.startswith(gbk("errid=6022&err=短信内容疑似SP短信"))
            body = await get(env, "checkcontent", name="company", pwd="1234", content="好" * 540)
            assert body == gbk("errid=0&err=成功")
            body = await get(env, "checkcontent", name="company", pwd="1234", content="好" * 541)
            assert body == gbk("errid=6015&err=短信内容超过了最大长度限制")
            body = await get(env, "checkcontent", name="company", pwd="1234")
            assert body == gbk("errid=6014&err=发送短信内容不能为空")

    run(main)


def test_getfee_seed_shape_and_balance_after_sending() -> None:
    async def main() -> None:
        async with vendor_env(accounts(balance="9586")) as env:
            body = await get(env, "getfee", name="company", pwd="1234")
            assert body == gbk("id=9586&err=成功&errid=0&short=企业简称")
            await get(env, "gsend", name="company", pwd="1234", dst=f"{A},{B}", msg="好")
            body = await get(env, "getfee", name="company", pwd="1234")
            assert body == gbk("id=9584&err=成功&errid=0&short=企业简称")
            body = await get(env, "getfee", name="nobody", pwd="1234")
            assert body == gbk("id=-9999&err=该企业用户无效&errid=6001&short=")

    run(main)


def test_cpwd_then_login_with_the_new_password() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            for bad in ("1234", "x" * 20, ""):
                body = await get(env, "cpwd", name="company", pwd="1234", newpwd=bad)
                assert body == gbk("errid=6016&err=企业密码必须大于4个字符"), bad
            body = await get(env, "cpwd", name="company", pwd="1234", newpwd="12345")
            assert body == gbk("errid=0&err=成功")
            body = await get(env, "getfee", name="company", pwd="1234")
            assert body == gbk("id=-9999&err=此用户密码错误&errid=6003&short=")
            body = await get(env, "getfee", name="company", pwd="12345")
            assert body == gbk("id=1000&err=成功&errid=0&short=企业简称")
            body = await get(env, "cpwd", name="company", pwd="1234", newpwd="abcdef")
            assert body == gbk("errid=6003&err=此用户密码错误")

    run(main)


# --- robustness and the non-faithful report push ----------------------------------------------


def test_garbage_never_gives_500() -> None:
    async def main() -> None:
        async with vendor_env(accounts()) as env:
            for op in ("gsend", "checkcontent", "getfee", "readsms", "cpwd"):
                resp = await env.client.post(
                    f"/send/{op}.asp",
                    data=b"\xff\xfe%%%&&==\x00name=company&pwd=\x81",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                assert resp.status == 200, op
                assert b"err" in await resp.read()
                resp = await env.client.post(
                    f"/send/{op}.asp", data=b"{]", headers={"Content-Type": "application/json"}
                )
                assert resp.status == 200, op
            _, body = await raw_get(env, b"/send/gsend.asp?name=%ZZ&pwd=%&dst=,,,&msg=%E4")
            assert body == failed("", 6001, "该企业用户无效")

    run(main)


def test_report_push_non_faithful_get() -> None:
    async def main() -> None:
        receiver = await Receiver(default=(200, "0")).start()
        try:
            callbacks = f'callbacks = {{ report_url = "{receiver.url("/dlr")}" }}'
            async with vendor_env(accounts(callbacks=callbacks)) as env:
                await get(env, "gsend", name="company", pwd="1234", dst=A, msg="好")
                (request,) = await receiver.wait_for(1)
                (m,) = await env.messages()
                assert request["method"] == "GET"
                assert request["query"]["msgid"] == m["message_id"]
                assert request["query"]["mobile"] == A
                assert request["query"]["stat"] == "DELIVRD"
                assert len(request["query"]["time"]) == 12
        finally:
            await receiver.stop()

    run(main)
