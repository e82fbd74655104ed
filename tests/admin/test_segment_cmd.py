"""Tests for admin.segment_cmd (the ``smsc segment`` sub-command)."""

from __future__ import annotations

import argparse
import json

import pytest

from admin import segment_cmd


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="smsc")
    segment_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    args = parse("segment", *argv, "--json")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def test_json_single_gsm(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "Hello world") == {
        "encoding": "gsm7",
        "data_coding": 0,
        "parts": ["48656C6C6F20776F726C64"],
        "billing_count": 1,
    }


def test_json_71_chinese_default_ref_1(capsys: pytest.CaptureFixture[str]) -> None:
    text = ("短信分段测试" * 12)[:71]
    got = run_json(capsys, text)
    assert got["encoding"] == "ucs2" and got["data_coding"] == 8 and got["billing_count"] == 2
    parts = got["parts"]
    assert isinstance(parts, list)
    assert parts[0].startswith("05000301020177ED") and len(parts[0]) == 280
    assert parts[1] == "0500030102024FE152066BB56D4B"


def test_json_16_bit_ref(capsys: pytest.CaptureFixture[str]) -> None:
    got = run_json(capsys, "0123456789" * 16 + "X", "--udh", "16", "--ref", "0x1234")
    assert got["parts"][1] == "06080412340202323334353637383958"  # type: ignore[index]


def test_json_encoding_and_payload(capsys: pytest.CaptureFixture[str]) -> None:
    got = run_json(capsys, "Naïve café", "--encoding", "latin1")
    assert got["data_coding"] == 3 and got["parts"] == ["4E61EF766520636166E9"]
    got = run_json(capsys, "x" * 400, "--udh", "payload")
    assert len(got["parts"]) == 1 and got["billing_count"] == 3  # type: ignore[arg-type]


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("segment", "0123456789" * 16 + "X", "--udh", "sar", "--ref", "42")
    assert segment_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "encoding: gsm7" in out and "data_coding: 0" in out and "billing_count: 2" in out
    assert "sar=42/2/1" in out and "3334353637383958" in out


def test_unrepresentable_text_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("segment", "中文", "--encoding", "gsm7")
    assert segment_cmd.run(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "segment:" in captured.err


def test_bad_options_rejected_by_argparse() -> None:
    with pytest.raises(SystemExit):
        parse("segment", "x", "--udh", "32")
    with pytest.raises(SystemExit):
        parse("segment", "x", "--ref", "abc")
