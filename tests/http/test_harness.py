"""The harness itself: the app starts with no dialects' routes missing and stops cleanly."""

from __future__ import annotations

from tests.http.harness import run, vendor_env


def test_unknown_path_is_404_and_business_is_200() -> None:
    async def main() -> None:
        async with vendor_env('[[accounts]]\nname = "acme"\n') as env:
            resp = await env.client.get("/nope")
            assert resp.status == 404

    run(main)
