"""Vendor 000 zrwinfo (api.1cloudsp.com): single_send, query/account and the pushes.

The seed's own example request, byte-exact success bodies, every code of our error table the
emulator can produce, the hourly verification cap, 70/67 billing with the signature counted,
and the (non-faithful) JSON report and MO pushes.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import quote

import pytest
from yarl import URL

from protocols.http import zrwinfo
from protocols.http.zrwinfo import ERRORS
from smsc.routing import extension
from smsc.sends import Refusal, SendRefused
from tests.http.harness import Receiver, run, vendor_env

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
SEED_TEMPLATE = "{1}您好，您的订单于{2}已通过{3}发货，运单号{4}"
SEED_TEXT = "【测试签名】先生您好，您的订单于9:40已通过快递公司发货，运单号1234567"
SEND = "/api/v2/single_send"
BALANCE = "/query/account"

ACCOUNT = """
[[accounts]]
name = "acme"
service_codes = ["1069001"]
{extra}
http = {{ zrwinfo = {{ accesskey = "ak1", secret = "sk1" }} }}
{callbacks}

[[accounts.signatures]]
text = "【测试签名】"
id = "88"

[[accounts.signatures]]
text = "待审签名"
status = "pending"

[[accounts.templates]]
id = "123456"
text = "{template}"

[[accounts.templates]]
id = "200"
text = "您的验证码是{{1}}，5分钟内有效"
kind = "verification"

[[accounts.templates]]
id = "300"
text = "{{1}}"

[[accounts.templates]]
id = "400"
text = "待审模板{{1}}"
status = "pending"

[[accounts.templates]]
id = "500"
text = "无变量通知"
{rules}
"""


def account(extra: str = "", callbacks: str = "", rules: str = "") -> str:
    return ACCOUNT.format(extra=extra, callbacks=callbacks, rules=rules, template=SEED_TEMPLATE)


def seed_params(**overrides: str) -> dict[str, str]:
    params = {
        "accesskey": "ak1",
        "secret": "sk1",
        "sign": "【测试签名】",
        "templateId": "123456",
        "mobile": "13900000000",
        "content": "先生##9:40##快递公司##1234567",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_string(params: dict[str, str]) -> str:
    """Percent-encoded by hand so ``#`` surely travels as ``%23`` (A000-1)."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


async def get(env: Any, path: str, params: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    url = URL(f"{env.base_url.rstrip('/')}{path}?{query_string(params)}", encoded=True)
    assert "%23%23" in str(url) or "#" not in "".join(params.values())
    resp = await env.client.session.get(url)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
    raw = await resp.read()
    return raw, json.loads(raw)


async def post(env: Any, path: str, params: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    resp = await env.client.post(path, data=params)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
    raw = await resp.read()
    return raw, json.loads(raw)


def assert_success(raw: bytes, body: dict[str, Any]) -> str:
    assert list(body) == ["code", "msg", "smUuid"]
    assert body["code"] == "0" and body["msg"] == "SUCCESS"
    assert UUID.match(body["smUuid"]), body
    assert raw == b'{"code":"0","msg":"SUCCESS","smUuid":"' + body["smUuid"].encode() + b'"}'
    return str(body["smUuid"])


def assert_error(body: dict[str, Any], condition: str) -> None:
    code, msg = ERRORS[condition]
    assert body == {"code": code, "msg": msg, "smUuid": ""}, (condition, body)


def test_error_table_codes_are_distinct_and_non_zero() -> None:
    codes = [code for code, _ in ERRORS.values()]
    assert len(set(codes)) == len(codes)
    assert "0" not in codes
    assert all(isinstance(c, str) and isinstance(m, str) and m for c, m in ERRORS.values())


def test_error_table_is_configurable() -> None:
    """§1.3: one configuration table, so the vendor's real codes can replace ours."""

    async def main() -> None:
        base = '[http]\nzrwinfo_errors = ["bad_auth=10002:鉴权失败", "mobile=10006:号码错误:x"]\n'
        async with vendor_env(account(), base=base) as env:
            _, body = await post(env, SEND, seed_params(secret="wrong"))
            assert body == {"code": "10002", "msg": "鉴权失败", "smUuid": ""}
            _, body = await get(env, SEND, seed_params(mobile="123"))
            assert body == {"code": "10006", "msg": "号码错误:x", "smUuid": ""}
            _, body = await post(env, SEND, seed_params(sign="【没有这个】"))
            assert_error(body, "sign")  # the others keep the built-in codes
            _, body = await post(env, BALANCE, {"accesskey": "ak1", "secret": "no"})
            assert body == {"code": "10002", "msg": "鉴权失败", "balance": ""}

    run(main)


class _Http:
    def __init__(self, *entries: str) -> None:
        self.zrwinfo_errors = entries


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("nosuch=1:x", "unknown condition"),
        ("bad_auth=0:x", "non-zero code"),
        ("bad_auth=9002:x", "codes used twice: 9002"),  # 9002 is the built-in "ip"
    ],
)
def test_error_table_refuses_bad_entries(entry: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        zrwinfo.error_table(_Http(entry))  # type: ignore[arg-type]


def test_seed_example_get_and_post() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:
            raw, body = await get(env, SEND, seed_params())
            first = assert_success(raw, body)
            raw, body = await post(env, SEND, seed_params())
            second = assert_success(raw, body)
            assert first != second
            msgs = await env.messages()
            assert sorted(m["message_id"] for m in msgs) == sorted([first, second])
            assert all(m["text"] == SEED_TEXT for m in msgs)
            assert all(m["destination"] == "13900000000" for m in msgs)
            assert all(m["source"] == "1069001" for m in msgs)

    run(main)


def test_dollar_separators_signature_by_id_and_bare() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:
            dollars = seed_params(content="先生$$9:40$$快递公司$$1234567")
            assert_success(*await get(env, SEND, dollars))
            assert_success(*await post(env, SEND, seed_params(sign="88")))
            assert_success(*await post(env, SEND, seed_params(sign="测试签名")))
            # ## wins when present: "$$" stays inside a value.
            mixed = seed_params(content="先$$生##9:40##快递公司##1234567")
            assert_success(*await post(env, SEND, mixed))
            texts = sorted(m["text"] for m in await env.messages())
            assert texts == sorted([SEED_TEXT] * 3 + [SEED_TEXT.replace("先生", "先$$生", 1)])

    run(main)


def test_template_without_variables_takes_empty_content() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:
            assert_success(*await post(env, SEND, seed_params(templateId="500", content=None)))
            assert_error(
                (await post(env, SEND, seed_params(templateId="500", content="x")))[1], "variables"
            )
            [msg] = await env.messages()
            assert msg["text"] == "【测试签名】无变量通知"

    run(main)


def test_every_error_condition() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:

            async def check(condition: str, **overrides: str) -> None:
                _, body = await post(env, SEND, seed_params(**overrides))
                assert_error(body, condition)
                _, body = await get(env, SEND, seed_params(**overrides))
                assert_error(body, condition)

            await check("missing", accesskey=None)
            await check("missing", secret="")
            await check("missing", sign=None)
            await check("missing", templateId=" ")
            await check("missing", mobile=None)
            await check("bad_auth", secret="wrong")
            await check("bad_auth", accesskey="nobody")
            await check("sign", sign="【没有这个】")
            await check("sign", sign="999")
            await check("sign", sign="待审签名")
            await check("sign", sign="【】")
            await check("template", templateId="999999")
            await check("template", templateId="400")
            await check("variables", content="先生##9:40##快递公司")
            await check("variables", content="先生##9:40##快递公司##1##2")
            await check("variables", content=None)
            await check("content", content="先生##9:40##发票公司##1234567")
            await check("mobile", mobile="13900000000,13900000001")
            await check("mobile", mobile="12345678901")
            await check("mobile", mobile="abc")
            await env.mo("13900000009", "1069001", "TD")  # unsubscribe → blacklisted
            await check("blacklist", mobile="13900000009")
            assert await env.messages() == []

            # storage: the send service could not store the message
            async def broken(*args: Any, **kwargs: Any) -> Any:
                raise SendRefused(Refusal.STORAGE, "disk on fire")

            env.smsc.sends.send = broken  # type: ignore[method-assign]
            await check("storage")

    run(main)


def test_ip_whitelist_disabled_balance_and_throttle() -> None:
    async def main() -> None:
        async with vendor_env(account('ip_whitelist = ["10.0.0.0/8"]')) as env:
            assert_error((await post(env, SEND, seed_params()))[1], "ip")
            assert_error((await post(env, SEND, seed_params(secret="bad")))[1], "bad_auth")
        async with vendor_env(account("enabled = false")) as env:
            assert_error((await post(env, SEND, seed_params()))[1], "disabled")
        async with vendor_env(account("balance = 0")) as env:
            assert_error((await post(env, SEND, seed_params()))[1], "balance")
            assert env.account().balance == 0
        async with vendor_env(account("throughput = 0.01")) as env:
            assert_success(*await post(env, SEND, seed_params()))
            assert_error((await post(env, SEND, seed_params()))[1], "throttled")

    run(main)


def test_hourly_verification_cap() -> None:
    async def main() -> None:
        start = 1_700_002_800.0  # a whole hour in UTC and so in Beijing time
        base = time.time()
        shift = [0.0]

        def clock() -> float:
            return start + shift[0] + (time.time() - base)

        async with vendor_env(account("verify_hourly_cap = 2"), clock=clock) as env:
            code = seed_params(templateId="200", content="123456")
            assert_success(*await post(env, SEND, code))
            assert_success(*await get(env, SEND, code))
            assert_error((await post(env, SEND, code))[1], "hourly_cap")
            # other templates do not count toward the cap
            assert_success(*await post(env, SEND, seed_params()))
            shift[0] = 3600.0  # next clock hour: a fresh allowance
            assert_success(*await post(env, SEND, code))
            texts = [m["text"] for m in await env.messages()]
            assert texts.count("【测试签名】您的验证码是123456，5分钟内有效") == 3

    run(main)


def test_billing_70_is_one_unit_71_is_two() -> None:
    async def main() -> None:
        async with vendor_env(account("balance = 10")) as env:
            sign = "【测试签名】"
            seventy = "好" * (70 - len(sign))
            seventy_one = "好" * (71 - len(sign))
            assert_success(*await post(env, SEND, seed_params(templateId="300", content=seventy)))
            assert env.account().balance == 9
            params = seed_params(templateId="300", content=seventy_one)
            assert_success(*await post(env, SEND, params))
            assert env.account().balance == 7
            lengths = sorted(len(m["text"]) for m in await env.messages())
            assert lengths == [70, 71]

    run(main)


def test_balance_query() -> None:
    async def main() -> None:
        async with vendor_env(account("balance = 5")) as env:
            raw, body = await get(env, BALANCE, {"accesskey": "ak1", "secret": "sk1"})
            assert raw == b'{"code":"0","msg":"SUCCESS","balance":"5"}'
            assert_success(*await post(env, SEND, seed_params()))
            raw, body = await post(env, BALANCE, {"accesskey": "ak1", "secret": "sk1"})
            assert raw == b'{"code":"0","msg":"SUCCESS","balance":"4"}'
            _, body = await post(env, BALANCE, {"accesskey": "ak1", "secret": "no"})
            code, msg = ERRORS["bad_auth"]
            assert body == {"code": code, "msg": msg, "balance": ""}
            _, body = await get(env, BALANCE, {"accesskey": "ak1"})
            assert body["code"] == ERRORS["missing"][0]
        base = '[http]\nzrwinfo_balance_field = "remain"\n'
        async with vendor_env(account(), base=base) as env:  # unlimited balance
            raw, _ = await post(env, BALANCE, {"accesskey": "ak1", "secret": "sk1"})
            assert raw == b'{"code":"0","msg":"SUCCESS","remain":"-1"}'

    run(main)


def test_auto_review_approves_on_use() -> None:
    async def main() -> None:
        async with vendor_env(account('review = "auto"')) as env:
            acc = "acme"
            cat = env.smsc.catalogue
            assert_success(*await post(env, SEND, seed_params(sign="【新签名】")))
            assert cat.signature(acc, "新签名").status == "approved"
            assert_success(*await post(env, SEND, seed_params(sign="待审签名")))
            assert cat.signature(acc, "待审签名").status == "approved"
            params = seed_params(templateId="777", content="甲##乙")
            assert_success(*await post(env, SEND, params))
            tpl = cat.template(acc, "777")
            assert tpl.status == "approved" and tpl.text == "{1}{2}"
            assert_success(*await post(env, SEND, seed_params(templateId="400", content="x")))
            assert cat.template(acc, "400").status == "approved"
            # an unknown numeric id names no signature; an unknown template needs values
            assert_error((await post(env, SEND, seed_params(sign="4242")))[1], "sign")
            params = seed_params(templateId="778", content=None)
            assert_error((await post(env, SEND, params))[1], "template")
            texts = sorted(m["text"] for m in await env.messages())
            assert "【测试签名】甲乙" in texts and "【测试签名】待审模板x" in texts

    run(main)


def test_garbage_never_crashes() -> None:
    async def main() -> None:
        async with vendor_env(account()) as env:
            for path in (SEND, BALANCE):
                resp = await env.client.post(
                    path, data=b"\xff\xfe%%%&&==\x00", headers={"Content-Type": "text/plain"}
                )
                assert resp.status == 200
                assert json.loads(await resp.read())["code"] == ERRORS["missing"][0]
                resp = await env.client.post(
                    path,
                    data=b"--x\r\ngarbage",
                    headers={"Content-Type": "multipart/form-data; boundary=x"},
                )
                assert resp.status == 200
                assert json.loads(await resp.read())["code"] == ERRORS["missing"][0]
                resp = await env.client.put(path)
                assert resp.status == 405
            # GBK-encoded values are decoded too
            body = query_string(seed_params()).encode()
            sign = quote("【测试签名】").encode()
            gbk = body.replace(sign, quote("【测试签名】".encode("gbk")).encode())
            assert gbk != body
            resp = await env.client.post(
                SEND, data=gbk, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
            assert_success(await resp.read(), json.loads(await resp.read()))

    run(main)


def test_report_push_delivrd_black_and_carrier_code() -> None:
    rules = """
[[accounts.rules]]
match = { destination_suffix = "0001" }
outcome = "DTBLACK"

[[accounts.rules]]
match = { destination_suffix = "0002" }
outcome = "UNDELIV"
cmpp_stat = "CB:0001"
"""

    async def main() -> None:
        receiver = await Receiver().start()
        try:
            callbacks = f'callbacks = {{ report_url = "{receiver.url("/dlr")}" }}'
            async with vendor_env(account(callbacks=callbacks, rules=rules)) as env:
                ids = {}
                for mobile in ("13900000000", "13900000001", "13900000002"):
                    ids[mobile] = assert_success(*await post(env, SEND, seed_params(mobile=mobile)))
                got = await receiver.wait_for(3)
                reports = {}
                for req in got:
                    assert req["method"] == "POST" and req["path"] == "/dlr"
                    assert req["content_type"] == "application/json"
                    items = json.loads(req["body"])
                    assert isinstance(items, list) and len(items) == 1
                    assert list(items[0]) == ["smUuid", "mobile", "status", "desc", "reportTime"]
                    reports[items[0]["mobile"]] = items[0]
                ok = reports["13900000000"]
                assert ok["smUuid"] == ids["13900000000"]
                assert ok["status"] == "DELIVRD" and ok["desc"] == zrwinfo.STATUS_DESC["DELIVRD"]
                assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ok["reportTime"])
                black = reports["13900000001"]
                assert black["smUuid"] == ids["13900000001"]
                assert black["status"] == "BLACK" and black["desc"] == "黑名单号码"
                failed = reports["13900000002"]
                assert failed["status"] == "UNDELIV" and failed["desc"] == "CB:0001"
        finally:
            await receiver.stop()

    run(main)


def test_report_push_retried_until_http_200() -> None:
    async def main() -> None:
        receiver = await Receiver(script=[(500, "no"), (404, "no")]).start()
        try:
            callbacks = f'callbacks = {{ report_url = "{receiver.url("/dlr")}" }}'
            async with vendor_env(account(callbacks=callbacks)) as env:
                _, body = await post(env, SEND, seed_params())
                got = await receiver.wait_for(3)
                assert all(json.loads(r["body"])[0]["smUuid"] == body["smUuid"] for r in got)
        finally:
            await receiver.stop()

    run(main)


def test_mo_push() -> None:
    async def main() -> None:
        receiver = await Receiver().start()
        try:
            callbacks = f'callbacks = {{ mo_url = "{receiver.url("/mo")}" }}'
            async with vendor_env(account(callbacks=callbacks)) as env:
                await env.mo("13900000000", "106900188", "收到，谢谢")
                [req] = await receiver.wait_for(1)
                assert req["method"] == "POST" and req["path"] == "/mo"
                [item] = json.loads(req["body"])
                assert list(item) == ["mobile", "content", "extno", "moTime"]
                assert item["mobile"] == "13900000000"
                assert item["content"] == "收到，谢谢"
                assert item["extno"] == "88"
                assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", item["moTime"])
        finally:
            await receiver.stop()

    run(main)


@pytest.mark.parametrize(
    ("codes", "destination", "ext"),
    [(("1069001", "106900123"), "10690012345", "45"), (("1069001",), "1069001", ""), ((), "1", "")],
)
def test_extension_uses_longest_service_code(
    codes: tuple[str, ...], destination: str, ext: str
) -> None:
    class Acc:
        service_codes = codes

    assert extension(Acc().service_codes, destination) == ext
