"""Garbage never breaks a vendor endpoint: arbitrary and mutated requests get the vendor's
own error (HTTP 200 with its code) or a transport status, never a 500, and the server keeps
answering valid requests afterwards.
"""

from __future__ import annotations

import random
from urllib.parse import quote_from_bytes

from tests.http.harness import run, vendor_env

CONFIG = """
[[accounts]]
name = "acme"
balance = 100000
service_codes = ["1069001"]
signatures = [{ text = "测试签名", status = "approved" }, { text = "中国东信", status = "approved" }]
templates = [
  { id = "123456", text = "{1}您好，您的订单于{2}已通过{3}发货，运单号{4}" },
  { id = "2", text = "您的验证码为:{$var}", kind = "verification" },
]

[accounts.http]
zrwinfo   = { accesskey = "ak1", secret = "sk1" }
juxiang   = { name = "acme", pwd = "pw1", extensions = ["*"] }
caih      = { account = "acc1", app_id = "app1", token = "tok1" }
chuangrui = { name = "acme", pwd = "pw1", access_secret = "as1" }
"""

VALID = {
    "/api/v2/single_send": b"accesskey=ak1&secret=sk1&sign=%E6%B5%8B%E8%AF%95%E7%AD%BE%E5%90%8D"
    b"&templateId=123456&mobile=13900000000&content=a%23%23b%23%23c%23%23d",
    "/query/account": b"accesskey=ak1&secret=sk1",
    "/send/gsend.asp": b"name=acme&pwd=pw1&dst=13900000000&msg=hi&sender=12&time=200505241713",
    "/send/checkcontent.asp": b"name=acme&pwd=pw1&content=hi",
    "/send/getfee.asp": b"name=acme&pwd=pw1",
    "/send/readsms.asp": b"name=acme&pwd=pw1",
    "/sms": b"name=acme&pwd=pw1&type=pt&mobile=13900000000&content=hi&sign=x&stime=&extno=1",
    "/sendsms": b'{"account":"acc1","password":"x","appId":"app1","timestamp":"20191101090000",'
    b'"phone":"13800138000","content":"\xe3\x80\x90\xe4\xb8\xad\xe5\x9b\xbd\xe4\xb8\x9c\xe4\xbf'
    b'\xa1\xe3\x80\x91\xe6\x82\xa8\xe7\x9a\x84\xe9\xaa\x8c\xe8\xaf\x81\xe7\xa0\x81\xe4\xb8\xba:1"}',
    "/varsms": b'{"account":"acc1","password":"x","appId":"app1","timestamp":"2019",'
    b'"params":"13800138000,1;13800138001,2","content":"x{$var}"}',
}
SPECIAL = [b"", b"\x00", b"\xff\xfe", b"%", b"%zz", b"&&&", b"=", b"a=%E4", b"[]", b"null", b"{}"]
SPECIAL += [b'{"phone": 1e999}', b'{"account": {"a": []}}', b"\xef\xbb\xbf{}", b"a" * 70000]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(b) + 1)
        if op < 0.4 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op < 0.7:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        else:
            del b[pos : pos + rng.randint(1, 10)]
    return bytes(b)


def test_mutated_and_arbitrary_requests_never_500() -> None:
    rng = random.Random(20261202)

    async def main() -> None:
        async with vendor_env(CONFIG) as env:
            statuses: dict[int, int] = {}
            for path, valid in VALID.items():
                bodies = [mutate(rng, valid) for _ in range(60)] + SPECIAL
                bodies += [
                    bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))) for _ in range(20)
                ]
                for body in bodies:
                    for how in ("post", "get"):
                        if how == "post":
                            ctype = rng.choice(
                                [
                                    "application/json",
                                    "application/x-www-form-urlencoded",
                                    "text/plain",
                                    "",
                                ]
                            )
                            headers = {"Content-Type": ctype} if ctype else {}
                            resp = await env.client.post(path, data=body, headers=headers)
                        else:
                            resp = await env.client.get(
                                path + "?" + quote_from_bytes(body[:2000], safe="=&")
                            )
                        await resp.read()
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                        assert resp.status in (200, 400, 405, 413), (
                            path,
                            how,
                            body[:80],
                            resp.status,
                        )
            assert statuses.get(200, 0) > 1000, statuses
            # still serving: a valid zrwinfo send succeeds
            resp = await env.client.post(
                "/api/v2/single_send",
                data=VALID["/api/v2/single_send"],
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert (await resp.json())["code"] == "0"

    run(main)
