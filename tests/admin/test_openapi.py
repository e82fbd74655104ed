"""The admin API's OpenAPI description and its route table cannot drift apart."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client import CollectorRegistry

from admin.api import make_app
from admin.openapi import SPEC

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def registered_routes() -> set[tuple[str, str]]:
    """(method, path template) of every route the aiohttp app serves (HEAD comes with GET)."""
    app = make_app(None, CollectorRegistry())  # type: ignore[arg-type]
    out = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        out.add((route.method.lower(), info.get("path") or info["formatter"]))
    return out


def documented_routes() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in METHODS
    }


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    registered, documented = registered_routes(), documented_routes()
    assert registered - documented == set(), "routes missing from admin/openapi.py"
    assert documented - registered == set(), "documented routes the app does not serve"
    assert ("get", "/api/openapi.json") in registered


def test_path_parameters_match_the_templates() -> None:
    for method, path, op in operations():
        in_path = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, (method, path)
        for p in op.get("parameters", []):
            if p["in"] == "path":
                assert p["required"] is True, (method, path, p["name"])


def test_operations_are_complete_and_refs_resolve() -> None:
    schemas = SPEC["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC)
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    tags = {t["name"] for t in SPEC["tags"]}
    for method, path, op in operations():
        assert op["summary"] and set(op["tags"]) <= tags, (method, path)
        codes = set(op["responses"])
        assert any(c.startswith("2") for c in codes), (method, path)
        assert all(r["description"] for r in op["responses"].values()), (method, path)
        if method in ("get", "delete"):
            assert "requestBody" not in op, (method, path)
        if (
            any(p["name"] == "name" for p in op.get("parameters", []))
            and path != "/api/accounts/{name}"
        ):
            assert "404" in codes, (method, path)  # every per-account route names its 404


def test_spec_is_json_and_openapi_3_0() -> None:
    assert SPEC["openapi"].startswith("3.0.")
    assert json.loads(json.dumps(SPEC, ensure_ascii=False)) == SPEC
    assert SPEC["info"]["title"] and SPEC["info"]["version"]
