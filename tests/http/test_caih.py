"""Vendor 002 中国东信 (CAIH): the seed's examples, every return code, the JSON status push."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import uuid
from typing import Any

from protocols.http.common import beijing
from tests.http.harness import Receiver, run, vendor_env

ACCOUNT = "843ba3f014d111eaa2a5286ed488c9ac"  # the seed's account and appId
APP_ID = "53484d4f168a11eaa2a5286ed488c9ac"
TOKEN = "acme-token-0001"  # ours: the seed's token is not given
CONTENT_TYPE = "application/json;charset=utf-8"
SUCCESS = "发送成功"

ACME = f"""
[[accounts]]
name = "acme"
service_codes = ["10690001"]
[accounts.http.caih]
account = "{ACCOUNT}"
app_id = "{APP_ID}"
token = "{TOKEN}"
[[accounts.signatures]]
text = "中国东信"
[[accounts.signatures]]
text = "东信在线"
[[accounts.signatures]]
text = "东信易通"
status = "pending"
[[accounts.templates]]
id = "T1"
text = "您的验证码为:{{$var}}"
kind = "verification"
[[accounts.templates]]
id = "T2"
text = "尊敬的:{{$var}},欢迎注册东信在线!"
kind = "notification"
[[accounts.templates]]
id = "T3"
text = "您的订单{{$var}}已发货,快递单号{{$var}}"
kind = "notification"
[[accounts.templates]]
id = "T4"
text = "新品上市全场八折,回复TD退订"
kind = "marketing"
[[accounts.templates]]
id = "T5"
text = "活动待审核{{$var}}"
status = "pending"
"""


def others(base_ip_whitelist: str = "10.1.2.3") -> str:
    """Accounts for the codes that depend on account settings."""
    out = []
    for name, extra in (
        ("poor", "balance = 1"),
        ("walled", f'ip_whitelist = ["{base_ip_whitelist}"]'),
        ("off", "enabled = false"),
        ("unpriced", ""),
        ("compat", ""),
        ("auto", 'review = "auto"'),
    ):
        settings = ""
        if name == "unpriced":
            settings = "priced = false\n"
        if name == "compat":
            settings = 'auth_failure_code = "-2"\n'
        out.append(
            f"""
[[accounts]]
name = "{name}"
{extra}
[accounts.http.caih]
account = "{name}-acct"
app_id = "{name}-app"
token = "{name}-token"
{settings}[[accounts.signatures]]
text = "中国东信"
[[accounts.templates]]
id = "T1"
text = "您的验证码为:{{$var}}"
kind = "verification"
"""
        )
    return "".join(out)


def stamp(offset: float = 0.0) -> str:
    return beijing(time.time() + offset, "%Y%m%d%H%M%S")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def auth(
    account: str = ACCOUNT, app_id: str = APP_ID, token: str = TOKEN, offset: float = 0.0
) -> dict[str, str]:
    ts = stamp(offset)
    return {"account": account, "password": md5(token + ts), "appId": app_id, "timestamp": ts}


def seed_sendsms(**over: Any) -> dict[str, Any]:
    """The seed's sendsms example with our own token, hence a password we can derive."""
    body: dict[str, Any] = {
        **auth(),
        "phone": "13800138000,13800138001,19800138002,19800138003",
        "content": "【中國東信】您的驗證碼為:1234",
        "sendtime": "2019-11-01 09:00:00",
        "extend": "00",
        "uid": "1234",
        "batchid": "1234",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def seed_varsms(**over: Any) -> dict[str, Any]:
    body = seed_sendsms(
        phone=None,
        params="13800138000,張三;13800138001,李四",
        content="【東信在線】尊敬的:{$var},歡迎注冊東信在線!",
    )
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


async def post(env: Any, path: str, body: Any, **kw: Any) -> tuple[dict[str, Any], Any]:
    if isinstance(body, (dict, list)):
        data = json.dumps(body, ensure_ascii=False).encode()
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body
    headers = kw.pop("headers", {"Content-Type": "application/json;charset=utf-8;"})
    resp = await env.client.post(path, data=data, headers=headers, **kw)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    raw = await resp.read()
    return json.loads(raw), raw


def is_uuid(text: str) -> bool:
    return str(uuid.UUID(text)) == text


async def expect(env: Any, path: str, body: Any, code: str, msg: str | None = None) -> None:
    got, _ = await post(env, path, body)
    assert got["code"] == code, (body, got)
    assert list(got) == ["code", "msg", "msgid", "uid"], got
    assert is_uuid(got["msgid"])
    if msg is not None:
        assert got["msg"] == msg
    assert all(isinstance(v, str) for v in got.values())


# -- the seed's examples ----------------------------------------------------------------------


def test_seed_sendsms_example_success_body_and_messages() -> None:
    async def main() -> None:
        async with vendor_env(ACME) as env:
            got, raw = await post(env, "/sendsms", seed_sendsms())
            msgid = got["msgid"]
            assert is_uuid(msgid)
            expected = f'{{"code": "0", "msg": "{SUCCESS}", "msgid": "{msgid}", "uid": "1234"}}'
            assert raw == expected.encode()
            rows = await env.messages()
            assert sorted(r["destination"] for r in rows) == [
                "13800138000",
                "13800138001",
                "19800138002",
                "19800138003",
            ]
            for r in rows:
                assert r["message_id"] == msgid  # one msgid per request (A002-6)
                assert r["source"] == "1069000100"  # service code + extend
                assert r["text"] == "【中國東信】您的驗證碼為:1234"
                assert r["schedule_at"] is None  # a past sendtime means now
                extra = json.loads(r["extra"])
                assert extra["uid"] == "1234" and extra["vendor"] == "caih"
            batches = await env.smsc.records.batches("acme")
            assert batches[0]["client_batch"] == "1234" and batches[0]["template_id"] == "T1"
            # Content-Type missing: the body is still JSON, so it is accepted.
            got, _ = await post(env, "/sendsms", seed_sendsms(), headers={})
            assert got["code"] == "0"
            # GET is a transport error, not a business one.
            assert (await env.client.get("/sendsms")).status == 405

    run(main)


def test_seed_varsms_example_and_groups() -> None:
    async def main() -> None:
        async with vendor_env(ACME) as env:
            got, raw = await post(env, "/varsms", seed_varsms())
            msgid = got["msgid"]
            expected = (
                f'{{"code": "0", "msg": "{SUCCESS}", "failnum": "0", "successnum": "2", '
                f'"msgid": "{msgid}", "uid": "1234"}}'
            )
            assert raw == expected.encode()
            texts = {r["destination"]: r["text"] for r in await env.messages()}
            assert texts == {
                "13800138000": "【東信在線】尊敬的:張三,歡迎注冊東信在線!",
                "13800138001": "【東信在線】尊敬的:李四,歡迎注冊東信在線!",
            }
            # The seed's own 10-digit first number (A002-4) is filtered: failnum 1.
            got, _ = await post(
                env, "/varsms", seed_varsms(params="1380013800,張三;13800138001,李四")
            )
            assert (got["code"], got["failnum"], got["successnum"]) == ("0", "1", "1")
            # Two variables; a group with the wrong count and a blank trailing group.
            got, _ = await post(
                env,
                "/varsms",
                seed_varsms(
                    content="【中国东信】您的订单{$var}已发货,快递单号{$var}",
                    params="13900000001,A100,SF1;13900000002,A200;13900000003,A300,SF3;",
                    uid=None,
                ),
            )
            assert (got["failnum"], got["successnum"], got["uid"]) == ("1", "2", "")
            texts = {r["destination"]: r["text"] for r in await env.messages()}
            assert texts["13900000003"] == "【中国东信】您的订单A300已发货,快递单号SF3"
            assert "13900000002" not in texts

    run(main)


# -- every return code ---------------------------------------------------------------------------


def test_parse_and_auth_codes() -> None:
    async def main() -> None:
        async with vendor_env(ACME + others()) as env:
            # -2: not JSON at all; nothing to echo.
            got, _ = await post(env, "/sendsms", "account=1&password=2")
            assert (got["code"], got["msg"], got["uid"]) == ("-2", "解析json失败", "")
            await expect(env, "/sendsms", b"", "-2")
            await expect(env, "/varsms", b"\x00\xff\xfe garbage", "-2")
            await expect(env, "/sendsms", "[" * 100_000, "-2")
            # -1: not an object, missing or wrongly typed fields; uid echoed when readable.
            await expect(env, "/sendsms", [1, 2], "-1", "json格式错误")
            await expect(env, "/sendsms", "12345678901234567890", "-1")
            got, _ = await post(env, "/sendsms", seed_sendsms(phone=None))
            assert (got["code"], got["uid"]) == ("-1", "1234")
            await expect(env, "/sendsms", seed_sendsms(phone=13800138000), "-1")
            await expect(env, "/sendsms", seed_sendsms(content=""), "-1")
            await expect(env, "/sendsms", seed_sendsms(uid=1234), "-1")
            await expect(env, "/varsms", seed_sendsms(), "-1")  # varsms needs params
            # -8: the body is not UTF-8 (GBK content), or escapes to a lone surrogate.
            gbk = json.dumps(seed_sendsms(), ensure_ascii=False).encode("gbk")
            got, _ = await post(env, "/sendsms", gbk)
            assert (got["code"], got["msg"], got["uid"]) == ("-8", "短信内容编码错误", "1234")
            lone = json.dumps(seed_sendsms(content="【中国东信】您的验证码为:\ud800"))
            await expect(env, "/sendsms", lone, "-8")
            # -4: unknown account.
            await expect(env, "/sendsms", seed_sendsms(account="nobody"), "-4", "账号不存在")
            # -5: appId, MD5, timestamp window (51 min either way) and format.
            await expect(env, "/sendsms", seed_sendsms(appId="other"), "-5", "鉴权失败")
            await expect(env, "/sendsms", seed_sendsms(password=md5("wrong" + stamp())), "-5")
            await expect(env, "/sendsms", seed_sendsms(password=md5(TOKEN + stamp()).upper()), "-5")
            await expect(env, "/sendsms", seed_sendsms(**auth(offset=-51 * 60)), "-5")
            await expect(env, "/sendsms", seed_sendsms(**auth(offset=51 * 60)), "-5")
            got, _ = await post(env, "/sendsms", seed_sendsms(**auth(offset=-49 * 60)))
            assert got["code"] == "0"  # inside the window
            await expect(env, "/sendsms", seed_sendsms(timestamp="20191101090000"), "-5")
            ts = "2019-11-01 09:00"
            await expect(
                env, "/sendsms", seed_sendsms(timestamp=ts, password=md5(TOKEN + ts)), "-5"
            )
            # -5 also for the IP allow-list and a disabled account.
            for name in ("walled", "off"):
                body = seed_sendsms(**auth(f"{name}-acct", f"{name}-app", f"{name}-token"))
                await expect(env, "/sendsms", body, "-5")
            # A002-1 compatibility switch: the seed example's -2 with its message.
            body = seed_sendsms(**auth("compat-acct", "compat-app", "wrong"))
            await expect(env, "/sendsms", body, "-2", "鉴权失败（帐号或密码错误）")
            body = seed_sendsms(**auth("compat-acct", "compat-app", "compat-token"))
            got, _ = await post(env, "/sendsms", body)
            assert got["code"] == "0"
            # -11: no tariff.
            body = seed_sendsms(**auth("unpriced-acct", "unpriced-app", "unpriced-token"))
            await expect(env, "/sendsms", body, "-11", "资费信息不存在")
            # -3: balance 1 < 2 messages needed.
            body = seed_sendsms(
                **auth("poor-acct", "poor-app", "poor-token"), phone="13800138000,13800138001"
            )
            await expect(env, "/sendsms", body, "-3", "账号余额不足")
            body["phone"] = "13800138000"
            got, _ = await post(env, "/sendsms", body)
            assert got["code"] == "0"
            assert env.account("poor").balance == 0

    run(main)


def test_parameter_signature_template_codes() -> None:
    async def main() -> None:
        async with vendor_env(ACME) as env:
            # -7: phone syntax, extend, sendtime, uid/batchid length, content length.
            await expect(env, "/sendsms", seed_sendsms(phone="1380013800"), "-7", "无效的参数值")
            await expect(env, "/sendsms", seed_sendsms(phone="13800138000,abc"), "-7")
            await expect(env, "/sendsms", seed_sendsms(phone=","), "-7")
            await expect(env, "/sendsms", seed_sendsms(extend="12345"), "-7")
            await expect(env, "/sendsms", seed_sendsms(extend="1a"), "-7")
            await expect(env, "/sendsms", seed_sendsms(sendtime="2019/11/01 09:00:00"), "-7")
            await expect(env, "/sendsms", seed_sendsms(sendtime="2019-11-1 9:00:00"), "-7")
            await expect(env, "/sendsms", seed_sendsms(sendtime="2019-13-01 09:00:00"), "-7")
            got, _ = await post(env, "/sendsms", seed_sendsms(uid="u" * 61))
            assert (got["code"], got["uid"]) == ("-7", "u" * 61)
            await expect(env, "/sendsms", seed_sendsms(batchid="b" * 61), "-7")
            long = "【中国东信】您的验证码为:" + "1" * 488  # 501 characters with the signature
            await expect(env, "/sendsms", seed_sendsms(content=long), "-7")
            # -6: no signature, an unapproved one, one of 13 characters.
            await expect(
                env, "/sendsms", seed_sendsms(content="您的验证码为:1234"), "-6", "未找到签名"
            )
            await expect(env, "/sendsms", seed_sendsms(content="【东信易通】您的验证码为:1"), "-6")
            await expect(env, "/sendsms", seed_sendsms(content="【未知签名】您的验证码为:1"), "-6")
            await expect(
                env, "/sendsms", seed_sendsms(content="【" + "东" * 13 + "】您的验证码为:1"), "-6"
            )
            # -12: no approved template (a pending one does not count).
            await expect(
                env, "/sendsms", seed_sendsms(content="【中国东信】随便写点"), "-12", "未匹配到模板"
            )
            await expect(env, "/sendsms", seed_sendsms(content="【中国东信】活动待审核1"), "-12")
            await expect(env, "/sendsms", seed_sendsms(content="【中国东信】"), "-12")
            # -13: a verification code must be digits or letters.
            await expect(
                env,
                "/sendsms",
                seed_sendsms(content="【中国东信】您的验证码为:一二三"),
                "-13",
                "模板参数不匹配",
            )
            await expect(
                env, "/sendsms", seed_sendsms(content="【中国东信】您的验证码为:12 34"), "-13"
            )
            # -9: a value over the 50-character limit.
            over = "【东信在线】尊敬的:" + "张" * 51 + ",欢迎注册东信在线!"
            await expect(env, "/sendsms", seed_sendsms(content=over), "-9", "模板参数超长")
            at = "【东信在线】尊敬的:" + "张" * 50 + ",欢迎注册东信在线!"
            got, _ = await post(env, "/sendsms", seed_sendsms(content=at))
            assert got["code"] == "0"
            await expect(
                env, "/sendsms", seed_sendsms(content="【中国东信】您的验证码为:" + "1" * 51), "-9"
            )
            # -10: more than 1000 numbers.
            many = ",".join(f"1380000{i:04d}" for i in range(1001))
            await expect(env, "/sendsms", seed_sendsms(phone=many), "-10", "发送号码数量超过1000个")
            got, _ = await post(env, "/sendsms", seed_sendsms(phone=many.rsplit(",", 1)[0]))
            assert got["code"] == "0"
            # Duplicates are sent once; a future sendtime schedules.
            future = beijing(time.time() + 3600, "%Y-%m-%d %H:%M:%S")
            got, _ = await post(
                env,
                "/sendsms",
                seed_sendsms(phone="13700000001,13700000001,+8613700000001", sendtime=future),
            )
            assert got["code"] == "0"
            rows = await env.smsc.search_messages(destination="13700000001")
            assert len(rows) == 1 and abs(rows[0]["schedule_at"] - (time.time() + 3600)) < 5
            assert rows[0]["source"] == "1069000100"

    run(main)


def test_varsms_codes() -> None:
    async def main() -> None:
        async with vendor_env(ACME) as env:
            # -13: the content's {$var} count differs from the template's.
            two = "【东信在线】尊敬的:{$var}{$var},欢迎注册东信在线!"
            await expect(env, "/varsms", seed_varsms(content=two), "-13")
            filled = "【东信在线】尊敬的:张三,欢迎注册东信在线!"
            await expect(env, "/varsms", seed_varsms(content=filled), "-13")
            # -13: no group has the right number of values.
            params = "13800138000,张三,多余;13800138001"
            await expect(env, "/varsms", seed_varsms(params=params), "-13")
            # -13: a verification value that is not digits or letters.
            code = "【中国东信】您的验证码为:{$var}"
            await expect(
                env, "/varsms", seed_varsms(content=code, params="13800138000,一二"), "-13"
            )
            # -7: every group has the right count but no valid phone; commas cannot be escaped.
            await expect(env, "/varsms", seed_varsms(params="1380013800,张三"), "-7")
            got, _ = await post(
                env, "/varsms", seed_varsms(params="13800138000,张,三;13800138001,李四")
            )
            assert (got["code"], got["failnum"], got["successnum"]) == ("0", "1", "1")
            # -7: more than 10 variables.
            eleven = "【东信在线】" + "{$var}," * 11
            await expect(env, "/varsms", seed_varsms(content=eleven), "-7")
            # -12, -6, -9, -10.
            await expect(env, "/varsms", seed_varsms(content="【东信在线】没有{$var}模板"), "-12")
            await expect(
                env, "/varsms", seed_varsms(content="尊敬的:{$var},欢迎注册东信在线!"), "-6"
            )
            params = "13800138000," + "张" * 51
            await expect(env, "/varsms", seed_varsms(params=params), "-9")
            params = ";".join(f"1380000{i:04d},张三" for i in range(1001))
            await expect(env, "/varsms", seed_varsms(params=params), "-10")
            # A repeated phone is sent once and the repeat counts as failed.
            params = "13800138000,张三;13800138000,李四"
            got, _ = await post(env, "/varsms", seed_varsms(params=params))
            assert (got["failnum"], got["successnum"]) == ("1", "1")

    run(main)


def test_auto_review_records_signature_and_template() -> None:
    async def main() -> None:
        async with vendor_env(others()) as env:
            body = seed_sendsms(
                **auth("auto-acct", "auto-app", "auto-token"),
                content="【新签名】您的包裹已到达驿站",
            )
            got, _ = await post(env, "/sendsms", body)
            assert got["code"] == "0"
            cat = env.smsc.catalogue
            assert cat.signature("auto", "新签名").status == "approved"
            assert any(t.text == "您的包裹已到达驿站" for t in cat.approved_templates("auto"))
            body = seed_varsms(
                **auth("auto-acct", "auto-app", "auto-token"),
                content="【新签名】{$var}您好,会议改到{$var}",
                params="13800138000,张三,三点",
            )
            got, _ = await post(env, "/varsms", body)
            assert (got["code"], got["successnum"]) == ("0", "1")
            assert cat.match("auto", "李四您好,会议改到四点") is not None
            # Still refused: a signature that could never be approved.
            body["content"] = "【 】{$var}您好,会议改到{$var}"
            await expect(env, "/varsms", body, "-6")

    run(main)


REVIEWED = """
[[accounts]]
name = "auto"
review = "auto"
[accounts.http.caih]
account = "auto-acct"
app_id = "auto-app"
token = "auto-token"
[[accounts.signatures]]
text = "中国东信"
id = "12"
[[accounts.signatures]]
text = "驳回签名"
status = "rejected"
[[accounts.signatures]]
text = "注销签名"
[[accounts.signatures]]
text = "待审签名"
status = "pending"
[[accounts.templates]]
id = "P1"
text = "您的快递{$var}已到"
status = "pending"
kind = "notification"
[[accounts.templates]]
id = "R1"
text = "恭喜中奖{$var}"
status = "rejected"
"""


def test_auto_review_keeps_rejections_and_signatures_are_texts() -> None:
    """Auto review approves what is new or pending, never what a reviewer refused (§7.12)."""

    async def main() -> None:
        async with vendor_env(ACME + REVIEWED) as env:
            cat = env.smsc.catalogue
            cancel = cat.signature("auto", "注销签名")
            await cat.review_signature("auto", cancel.id, "cancelled", "注销")
            creds = auth("auto-acct", "auto-app", "auto-token")
            for sign in ("驳回签名", "注销签名"):
                body = seed_sendsms(**creds, content=f"【{sign}】您的快递SF1已到")
                await expect(env, "/sendsms", body, "-6")
            assert cat.signature("auto", "驳回签名").status == "rejected"
            assert cat.signature("auto", "注销签名").status == "cancelled"
            # a rejected template's text is not turned into a new approved one
            body = seed_sendsms(**creds, content="【中国东信】恭喜中奖100")
            await expect(env, "/sendsms", body, "-12")
            body = seed_varsms(**creds, content="【中国东信】恭喜中奖{$var}")
            await expect(env, "/varsms", body, "-12")
            # a pending signature and template are approved on use; no duplicate template
            count = len(cat.templates("auto"))
            body = seed_sendsms(**creds, content="【待审签名】您的快递SF1已到")
            got, _ = await post(env, "/sendsms", body)
            assert got["code"] == "0"
            assert cat.signature("auto", "待审签名").status == "approved"
            assert cat.template("auto", "P1").status == "approved"
            assert len(cat.templates("auto")) == count
            (batch,) = await env.smsc.records.batches("auto")
            assert batch["template_id"] == "P1"
            # 【12】 is the text "12", not the signature whose id is 12
            acme_sig = env.smsc.catalogue.signature("acme", "中国东信")
            body = seed_sendsms(content=f"【{acme_sig.id}】您的验证码为:1234")
            await expect(env, "/sendsms", body, "-6")
            body = seed_sendsms(**creds, content="【12】您的快递SF1已到")
            await expect(env, "/sendsms", body, "-6")

    run(main)


# -- status-report push ------------------------------------------------------------------------------


def callbacks(receiver: Receiver, mo: bool = False) -> str:
    out = f'[accounts.callbacks]\nreport_url = "{receiver.url("/dlr")}"\n'
    if mo:
        out += f'mo_url = "{receiver.url("/mo")}"\ndialect = "caih"\n'
    return out


RULE = """
[[carrier.rules]]
match = { destination_suffix = "0009" }
outcome = "UNDELIV"
"""


def check_auth_block(body: dict[str, Any]) -> None:
    assert body["account"] == ACCOUNT and body["appId"] == APP_ID
    assert re.fullmatch(r"[0-9]{14}", body["timestamp"])
    assert body["password"] == md5(TOKEN + body["timestamp"])
    assert abs(time.time() - _parse_stamp(body["timestamp"])) < 60


def _parse_stamp(text: str) -> float:
    from protocols.http.common import parse_beijing

    value = parse_beijing(text, "%Y%m%d%H%M%S")
    assert value is not None
    return value


def test_status_push_success_fail_and_blacklist() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        try:
            async with vendor_env(ACME + callbacks(receiver, mo=True) + RULE) as env:
                got, _ = await post(
                    env, "/sendsms", seed_sendsms(phone="13800000001,13800000009", uid="order-7")
                )
                msgid = got["msgid"]
                await receiver.wait_for(2)
                reports = {}
                for req in receiver.got:
                    assert req["method"] == "POST" and req["path"] == "/dlr"
                    assert req["headers"]["Content-Type"] == CONTENT_TYPE
                    body = json.loads(req["body"])
                    assert list(body) == [
                        "account",
                        "password",
                        "appId",
                        "timestamp",
                        "msgid",
                        "uid",
                        "phone",
                        "status",
                        "desc",
                        "reporttime",
                    ]
                    check_auth_block(body)
                    assert body["msgid"] == msgid and body["uid"] == "order-7"
                    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["reporttime"])
                    reports[body["phone"]] = (body["status"], body["desc"])
                assert reports == {
                    "13800000001": ("SUCCESS", "DELIVRD"),
                    "13800000009": ("FAIL", "UNDELIV"),
                }
                # TD unsubscribes; a later marketing send reports FAIL / DTBLACK.
                await env.mo("13800000002", "106900015", "TD")
                mo = (await receiver.wait_for(3))[2]
                assert mo["path"] == "/mo"
                body = json.loads(mo["body"])
                assert list(body) == [
                    "account",
                    "password",
                    "appId",
                    "timestamp",
                    "phone",
                    "content",
                    "extend",
                    "motime",
                ]
                check_auth_block(body)
                assert (body["phone"], body["content"], body["extend"]) == (
                    "13800000002",
                    "TD",
                    "5",
                )
                content = "【中国东信】新品上市全场八折,回复TD退订"
                got, _ = await post(
                    env, "/sendsms", seed_sendsms(phone="13800000002", content=content, uid=None)
                )
                assert got["code"] == "0"
                body = json.loads((await receiver.wait_for(4))[3]["body"])
                assert (body["phone"], body["status"], body["desc"], body["uid"]) == (
                    "13800000002",
                    "FAIL",
                    "DTBLACK",
                    "",
                )
        finally:
            await receiver.stop()

    run(main)


def test_status_push_retried_until_200_then_never_again() -> None:
    async def main() -> None:
        receiver = await Receiver(script=[(500, "no"), (500, "no")]).start()
        try:
            async with vendor_env(ACME + callbacks(receiver)) as env:
                got, _ = await post(env, "/sendsms", seed_sendsms(phone="13800000001"))
                await receiver.wait_for(3)
                bodies = [json.loads(r["body"]) for r in receiver.got]
                assert {b["msgid"] for b in bodies} == {got["msgid"]}
                assert all(b["status"] == "SUCCESS" for b in bodies)
                await asyncio.sleep(1.0)
                assert len(receiver.got) == 3
        finally:
            await receiver.stop()

    run(main)
