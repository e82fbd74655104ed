"""Raw (unescaped) UTF-8 and GBK bytes in a vendor URL reach the handler decoded.

Legacy clients and curl with a pasted seed URL send Chinese unescaped; the vendor listener's
parser must accept what aiohttp's C parser refuses (protocols/http/lenient.py).
"""

from __future__ import annotations

import asyncio

from tests.http.harness import run, vendor_env

ACCOUNT = """
[[accounts]]
name = "acme"
balance = 100
http = { juxiang = { name = "company", pwd = "1234", charset = "utf-8" } }
"""


async def raw_get(port: int, target: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


def test_raw_utf8_and_gbk_bytes_in_the_query() -> None:
    async def main() -> None:
        async with vendor_env(ACCOUNT) as env:
            port = env.client.port
            assert port is not None
            for encoding in ("utf-8", "gbk"):
                target = "/send/gsend.asp?name=company&pwd=1234&dst=13937100004&msg=你好嗎".encode(
                    encoding
                )
                answer = await raw_get(port, target)
                head, _, body = answer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), answer
                assert body.decode("utf-8").startswith("num=1&success=13937100004&"), body
            texts = sorted(m["text"] for m in await env.messages())
            assert texts == ["你好嗎", "你好嗎"]

    run(main)


def test_a_keep_alive_connection_switches_parser_when_raw_bytes_appear() -> None:
    async def main() -> None:
        async with vendor_env(ACCOUNT) as env:
            port = env.client.port
            assert port is not None
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answers = []
            for msg in (b"plain", "你好".encode("gbk"), b"again"):
                writer.write(
                    b"GET /send/gsend.asp?name=company&pwd=1234&dst=13937100004&msg="
                    + msg
                    + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                )
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                answers.append((head.split(b"\r\n")[0], await reader.readexactly(length)))
            writer.close()
            assert [a[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
            assert all(a[1].startswith(b"num=1&") for a in answers), answers
            texts = sorted(m["text"] for m in await env.messages())
            assert texts == sorted(["plain", "你好", "again"])

    run(main)
