import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsc.textrules import (
    DEFAULT_SENSITIVE_WORDS,
    DEFAULT_SQL_PATTERNS,
    NEUTRAL_SIGNATURES,
    VERIFICATION_WORDS,
    Syntax,
    VariableCountError,
    bare_signature,
    billing_units,
    fill,
    fold,
    is_verification_text,
    marketing_template_problem,
    match,
    sensitive_hit,
    signature_problem,
    simplified,
    slot_count,
    split_signature,
    split_values,
    sql_hit,
    template_problem,
    verification_template_problem,
    verification_value_ok,
)

# --- folding ---------------------------------------------------------------------------------


def test_simplified_converts_traditional_and_leaves_ascii() -> None:
    assert simplified("您的驗證碼是1234，5分鐘內有效") == "您的验证码是1234，5分钟内有效"
    assert simplified("hello, world") == "hello, world"


def test_fold_makes_full_width_ascii_half_width_but_keeps_signature_brackets() -> None:
    assert fold("【中國東信】ＴＤ退訂１２３，ｏｋ！") == "【中国东信】TD退订123,ok!"
    assert fold("a\u3000b") == "a b"
    assert fold("①") == "①"  # not NFKC: only the full-width ASCII block is mapped


def test_rule_words_are_already_folded() -> None:
    for word in (*VERIFICATION_WORDS, *NEUTRAL_SIGNATURES, *DEFAULT_SENSITIVE_WORDS):
        assert fold(word) == word


@given(st.text())
def test_fold_never_raises_and_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


# --- slots, fill, values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "syntax", "count"),
    [
        ("{1}您好，您的订单于{2}已通过{3}发货，运单号{4}", Syntax.NUMBERED, 4),
        ("{1}{2}{2}", Syntax.NUMBERED, 2),
        ("{1}{3}", Syntax.NUMBERED, 3),
        ("{0}和{01}不是变量", Syntax.NUMBERED, 0),
        ("没有变量", Syntax.NUMBERED, 0),
        ("{$var}到{$var}，{$var}", Syntax.DOLLAR, 3),
        ("{1}{$name}", Syntax.DOLLAR, 0),
        ("您的验证码为: #*#, 5分钟内有效。", Syntax.HASH_STAR, 1),
        ("#*##*#", Syntax.HASH_STAR, 2),
    ],
)
def test_slot_count(template: str, syntax: Syntax, count: int) -> None:
    assert slot_count(template, syntax) == count


def test_fill_numbered_positional_and_repeated() -> None:
    template = "{1}您好，您的订单于{2}已通过{3}发货，运单号{4}"
    values = split_values("先生##9:40##快递公司##1234567")
    assert fill(template, Syntax.NUMBERED, values) == (
        "先生您好，您的订单于9:40已通过快递公司发货，运单号1234567"
    )
    assert fill("{2}-{1}-{2}", Syntax.NUMBERED, ["a", "b"]) == "b-a-b"


def test_fill_dollar_and_hash_star_fill_in_order() -> None:
    assert fill("{$var}到{$var}", Syntax.DOLLAR, ["张三", "北京"]) == "张三到北京"
    assert fill("码#*#，#*#分钟", Syntax.HASH_STAR, ["1234", "5"]) == "码1234，5分钟"


def test_fill_does_not_interpret_values() -> None:
    assert fill("x{1}y", Syntax.NUMBERED, [r"\1{1}"]) == r"x\1{1}y"


def test_fill_wrong_count_raises_with_both_numbers() -> None:
    with pytest.raises(VariableCountError) as caught:
        fill("{1}{2}", Syntax.NUMBERED, ["only one"])
    assert (caught.value.expected, caught.value.got) == (2, 1)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(VariableCountError):
        fill("无变量", Syntax.DOLLAR, ["extra"])


@pytest.mark.parametrize(
    ("content", "values"),
    [
        ("先生##9:40##快递公司##1234567", ["先生", "9:40", "快递公司", "1234567"]),
        ("a$$b", ["a", "b"]),
        ("x##y$$z", ["x", "y$$z"]),
        ("a####b", ["a", "", "b"]),
        ("single", ["single"]),
        ("", []),
    ],
)
def test_split_values(content: str, values: list[str]) -> None:
    assert split_values(content) == values


# --- match -----------------------------------------------------------------------------------


def test_match_returns_values() -> None:
    template = "{1}您好，您的订单于{2}已通过{3}发货，运单号{4}"
    text = "先生您好，您的订单于9:40已通过快递公司发货，运单号1234567"
    assert match(template, Syntax.NUMBERED, text) == ["先生", "9:40", "快递公司", "1234567"]
    assert match(template, Syntax.NUMBERED, text.replace("发货", "送达")) is None
    assert (
        match(template, Syntax.NUMBERED, "您好，您的订单于9:40已通过快递公司发货，运单号1") is None
    )


def test_match_traditional_text_against_simplified_template_and_back() -> None:
    assert match(
        "您的验证码是{$var}，5分钟内有效", Syntax.DOLLAR, "您的驗證碼是8888，5分鐘內有效"
    ) == ["8888"]
    assert match(
        "您的驗證碼是#*#，5分鐘內有效", Syntax.HASH_STAR, "您的验证码是ab12，5分钟内有效"
    ) == ["ab12"]


def test_match_values_come_from_folded_text() -> None:
    assert match("验证码{1}", Syntax.NUMBERED, "验证码１２３４") == ["1234"]


def test_match_repeated_numbered_slot_needs_the_same_value() -> None:
    template = "{1}先生，{2}已到，请{1}先生签收"
    assert match(template, Syntax.NUMBERED, "王先生，快递已到，请王先生签收") == ["王", "快递"]
    assert match(template, Syntax.NUMBERED, "王先生，快递已到，请李先生签收") is None


def test_match_slot_takes_at_least_one_character() -> None:
    assert match("码{1}有效", Syntax.NUMBERED, "码有效") is None
    assert match("{1}{2}", Syntax.NUMBERED, "a") is None
    assert match("{1}{2}", Syntax.NUMBERED, "ab") == ["a", "b"]


def test_match_spans_lines_and_handles_literal_regex_characters() -> None:
    assert match("(a.b){1}*", Syntax.NUMBERED, "(a.b)x\ny*") == ["x\ny"]
    assert match("(a.b){1}*", Syntax.NUMBERED, "(aXb)x*") is None


def test_match_without_variables_is_equality_after_folding() -> None:
    assert match("回复TD退订", Syntax.DOLLAR, "回復ＴＤ退訂") == []
    assert match("回复TD退订", Syntax.DOLLAR, "回复TD退订!") is None


def test_match_gap_in_numbers_yields_empty_value() -> None:
    assert match("{1}和{3}", Syntax.NUMBERED, "甲和乙") == ["甲", "", "乙"]


def test_match_many_slots_fails_fast_on_long_text() -> None:
    template = ",".join(f"{{{n}}}" for n in range(1, 16)) + "END"
    assert match(template, Syntax.NUMBERED, "," * 500) is None


_LITERAL = st.text(
    alphabet="您好的验证码是为分钟内有效请勿泄露订单已通过发货", min_size=1, max_size=6
)
_VALUE = st.text(alphabet="0123456789", min_size=1, max_size=8)


@st.composite
def _template_and_values(draw: st.DrawFn) -> tuple[str, Syntax, list[str]]:
    """A template whose literals are Chinese and non-empty, with digit values: unambiguous."""
    syntax = draw(st.sampled_from(Syntax))
    n_slots = draw(st.integers(min_value=0, max_value=5))
    literals = draw(st.lists(_LITERAL, min_size=n_slots + 1, max_size=n_slots + 1))
    if syntax is Syntax.NUMBERED:
        # Every number 1..count appears, some again: {1}..{count} in any order plus repeats.
        count = draw(st.integers(min_value=min(n_slots, 1), max_value=n_slots))
        extra = n_slots - count
        repeats = draw(st.lists(st.integers(1, max(count, 1)), min_size=extra, max_size=extra))
        numbers = draw(st.permutations([*range(1, count + 1), *repeats]))
        placeholders = [f"{{{n}}}" for n in numbers]
    else:
        count = n_slots
        placeholders = ["{$var}" if syntax is Syntax.DOLLAR else "#*#"] * n_slots
    template = literals[0] + "".join(
        p + lit for p, lit in zip(placeholders, literals[1:], strict=True)
    )
    values = draw(st.lists(_VALUE, min_size=count, max_size=count))
    return template, syntax, values


@given(_template_and_values())
def test_fill_then_match_round_trips(case: tuple[str, Syntax, list[str]]) -> None:
    template, syntax, values = case
    assert match(template, syntax, fill(template, syntax, values)) == values
    assert match(template, syntax, simplified(fill(template, syntax, values))) == values


@given(st.text(max_size=30), st.sampled_from(Syntax), st.text(max_size=60))
def test_match_never_raises(template: str, syntax: Syntax, text: str) -> None:
    result = match(template, syntax, text)
    assert result is None or len(result) == slot_count(template, syntax)


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("【测试签名】您好", ("测试签名", "您好")),
        ("您好【测试签名】", ("测试签名", "您好")),
        ("  【测试签名】 您好 \n", ("测试签名", "您好")),
        ("【前】中间【后】", ("前", "中间【后】")),
        ("您好", (None, "您好")),
        ("【未闭合您好", (None, "【未闭合您好")),
        ("您好【中】间", (None, "您好【中】间")),
        ("【】您好", ("", "您好")),
        ("【签名】", ("签名", "")),
    ],
)
def test_split_signature(content: str, expected: tuple[str | None, str]) -> None:
    assert split_signature(content) == expected


@pytest.mark.parametrize(
    ("sign", "bare"),
    [("【名字】", "名字"), ("名字", "名字"), (" 【 名字 】 ", "名字"), ("[名字]", "[名字]")],
)
def test_bare_signature(sign: str, bare: str) -> None:
    assert bare_signature(sign) == bare


@pytest.mark.parametrize(
    "sig", ["中国东信", "东信易通", "ABC", "ab", "QQ音乐", "12306铁路", "一二三四五六七八"]
)
def test_signature_ok(sig: str) -> None:
    assert signature_problem(sig) is None


@pytest.mark.parametrize(
    ("sig", "fragment"),
    [
        ("信", "2-8"),
        ("一二三四五六七八九", "2-8"),
        ("中国 东信", "' '"),
        ("中国-东信", "'-'"),
        ("【东信】", "'【'"),
        ("ｂｂ", "'ｂ'"),
        ("12306", "all digits"),
        ("客服通知", "neutral"),
        ("客戶您好", "neutral"),
    ],
)
def test_signature_problems(sig: str, fragment: str) -> None:
    problem = signature_problem(sig)
    assert problem is not None and fragment in problem


def test_signature_length_bounds_are_configurable() -> None:
    assert signature_problem("一二三四五六七八九十", max_len=12) is None


# --- template review -------------------------------------------------------------------------


def test_is_verification_text_in_both_scripts() -> None:
    assert is_verification_text("您的驗證碼是1234")
    assert is_verification_text("动态码：5678")
    assert is_verification_text("您的注冊碼")
    assert not is_verification_text("您的订单已发货")


@pytest.mark.parametrize(
    ("template", "syntax"),
    [
        ("您的验证码为: #*#, 5分钟内有效。", Syntax.HASH_STAR),
        ("您的驗證碼是{$var}，5分鐘內有效", Syntax.DOLLAR),
        ("{1}是您登录的动态码", Syntax.NUMBERED),
        ("您正在注册，校验码{1}", Syntax.NUMBERED),
    ],
)
def test_verification_template_ok(template: str, syntax: Syntax) -> None:
    assert verification_template_problem(template, syntax) is None
    assert template_problem(template, syntax, "verification") is None


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("您的验证码{1}，{2}分钟内有效", "exactly one"),
        ("您的验证码有效", "exactly one"),
        ("您的密码是{1}，5分钟内有效", "must contain"),
        ("您的验证码是{1}", "platform, purpose or expiry"),
        ("注册码{1}", "platform, purpose or expiry"),
        ("【平台】验证码{1}，5分钟内有效", "【"),
    ],
)
def test_verification_template_problems(template: str, fragment: str) -> None:
    problem = verification_template_problem(template, Syntax.NUMBERED)
    assert problem is not None and fragment in problem


def test_variable_name_does_not_count_as_verification_word() -> None:
    # The placeholder is not text: 验证码 split by a slot is not the keyword.
    assert verification_template_problem("验证{1}码，5分钟内有效", Syntax.NUMBERED) is not None


@pytest.mark.parametrize("value", ["1234", "ab12CD", "0"])
def test_verification_value_ok(value: str) -> None:
    assert verification_value_ok(value)


@pytest.mark.parametrize("value", ["", "12 34", "12-34", "１２３４", "验证"])
def test_verification_value_refused(value: str) -> None:
    assert not verification_value_ok(value)


@pytest.mark.parametrize(
    "template", ["新品上市，全场八折，回复TD退订", "周末特惠。退订回td", "优惠多多，回復ＴＮ退訂  "]
)
def test_marketing_template_ok(template: str) -> None:
    assert marketing_template_problem(template, Syntax.DOLLAR) is None
    assert template_problem(template, Syntax.DOLLAR, "marketing") is None


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{$var}，新品上市，回复TD退订", "variables"),
        ("新品上市，全场八折", "unsubscribe"),
        ("新品上市，回复TD退订" + "。" * 20, "unsubscribe"),
        ("新品上市，回复0000退订", "unsubscribe"),
    ],
)
def test_marketing_template_problems(template: str, fragment: str) -> None:
    problem = marketing_template_problem(template, Syntax.DOLLAR)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    ("template", "syntax", "kind", "fragment"),
    [
        ("  ", Syntax.NUMBERED, "general", "empty"),
        ("字" * 501, Syntax.NUMBERED, "general", "501"),
        ("您好【签名】", Syntax.NUMBERED, "general", "【"),
        ("★您好", Syntax.NUMBERED, "general", "★"),
        ("您好→{1}", Syntax.NUMBERED, "notification", "→"),
        ("{1}和{3}", Syntax.NUMBERED, "general", "gaps"),
        ("{1}先生，请{1}先生签收", Syntax.NUMBERED, "notification", "only once"),
        ("您的验证码是{1}", Syntax.NUMBERED, "verification", "expiry"),
        ("新品上市", Syntax.NUMBERED, "marketing", "unsubscribe"),
    ],
)
def test_template_problems(template: str, syntax: Syntax, kind: str, fragment: str) -> None:
    problem = template_problem(template, syntax, kind)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    ("template", "syntax", "kind"),
    [
        ("字" * 500, Syntax.NUMBERED, "general"),
        ("{1}先生，请{1}先生签收", Syntax.NUMBERED, "general"),
        ("{$var}到了，{$var}到了", Syntax.DOLLAR, "notification"),
        ("您的订单{1}已发货", Syntax.NUMBERED, "notification"),
    ],
)
def test_template_ok(template: str, syntax: Syntax, kind: str) -> None:
    assert template_problem(template, syntax, kind) is None


def test_template_kind_must_be_known() -> None:
    with pytest.raises(ValueError, match="unknown template kind"):
        template_problem("您好", Syntax.NUMBERED, "promo")


# --- content filters -------------------------------------------------------------------------


def test_sensitive_hit_returns_listed_word_in_either_script() -> None:
    assert sensitive_hit("代開發票，請聯繫", DEFAULT_SENSITIVE_WORDS) == "发票"
    assert sensitive_hit("你好", DEFAULT_SENSITIVE_WORDS) is None
    assert sensitive_hit("加我ｑｑ", ["", "QQ"]) == "QQ"
    assert sensitive_hit("贷款", ["貸款"]) == "貸款"


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("SELECT * FROM users", "SELECT * FROM"),
        ("你好select name from t", "select name from"),
        ("x; Drop  Table users", "Drop  Table"),
        ("insert into t values (1)", "insert into"),
        ("delete from t", "delete from"),
        ("update t set a=1", "update t set"),
        ("truncate table t", "truncate table"),
        ("1 union all select 2", "union all select"),
        ("ＳＥＬＥＣＴ a ＦＲＯＭ b", "SELECT a FROM"),
    ],
)
def test_sql_hit(text: str, hit: str) -> None:
    assert sql_hit(text) == hit


@pytest.mark.parametrize(
    "text", ["您的订单已发货", "selection from the store", "please update your settings", ""]
)
def test_sql_miss(text: str) -> None:
    assert sql_hit(text) is None


def test_sql_custom_patterns_and_invalid_pattern() -> None:
    assert sql_hit("exec xp_cmdshell", [r"xp_\w+"]) == "xp_cmdshell"
    assert sql_hit("select a from b", []) is None
    with pytest.raises(re.error):
        sql_hit("x", ["("])


def test_default_sql_patterns_compile() -> None:
    assert len(DEFAULT_SQL_PATTERNS) == 7


# --- billing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "units"), [(0, 1), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_billing_units(length: int, units: int) -> None:
    assert billing_units("字" * length) == units


def test_billing_counts_code_points() -> None:
    assert billing_units("😀" * 70) == 1
    assert billing_units("😀" * 71) == 2


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=300))
def test_billing_units_monotonic(length: int, extra: int) -> None:
    assert 1 <= billing_units("a" * length) <= billing_units("a" * (length + extra))
