"""Content rules shared by every vendor dialect: signatures, templates, variables, filters.

The seeds disagree on spelling (001–003 were crawled through a simplified→traditional
conversion, 000 and 004 are simplified) and customers type full-width letters, so every
comparison here goes through :func:`fold`; a rule written once in simplified Chinese then holds
for both scripts. Pure functions only: the dialects decide which vendor code a problem maps to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from functools import lru_cache

from zhconv import convert

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space map 1:1 to their half-width forms.
# A plain table rather than NFKC: NFKC also rewrites ①, ™, … and the like, which would change
# lengths and captured variable values for no benefit.
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    """Traditional → simplified Chinese; cached because zhconv scans a large phrase table."""
    if text.isascii():
        return text
    return convert(text, "zh-cn")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """The form every comparison uses: simplified script, full-width ASCII made half-width.

    【】 and other CJK punctuation outside the full-width ASCII block are kept as written.
    """
    return simplified(text).translate(_HALF_WIDTH)


# --- templates and variables -------------------------------------------------------------


class Syntax(StrEnum):
    """How a vendor writes variable slots in its templates."""

    NUMBERED = "numbered"  # {1}..{n}, vendor 000; a repeated number repeats the same value
    DOLLAR = "dollar"  # {$var}, vendor 002; every occurrence is its own slot
    HASH_STAR = "hash_star"  # #*#, vendor 004; every occurrence is its own slot


# {0} and {01} are left as literal text: 000's slots count from 1 (A000-1).
_SLOT = {
    Syntax.NUMBERED: re.compile(r"\{([1-9][0-9]*)\}"),
    Syntax.DOLLAR: re.compile(re.escape("{$var}")),
    Syntax.HASH_STAR: re.compile(re.escape("#*#")),
}


class VariableCountError(ValueError):
    """The number of values given differs from the template's slot count."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"template needs {expected} value(s), got {got}")
        self.expected = expected
        self.got = got


def _parse(template: str, syntax: Syntax) -> tuple[list[str], list[int]]:
    """Split into literals (one more than slots) and each slot's 0-based value index."""
    literals: list[str] = []
    slots: list[int] = []
    pos = 0
    for found in _SLOT[syntax].finditer(template):
        literals.append(template[pos : found.start()])
        slots.append(int(found.group(1)) - 1 if syntax is Syntax.NUMBERED else len(slots))
        pos = found.end()
    literals.append(template[pos:])
    return literals, slots


def slot_count(template: str, syntax: Syntax) -> int:
    """How many values the template takes: the highest {n} for NUMBERED, else occurrences."""
    _, slots = _parse(template, syntax)
    return max(slots, default=-1) + 1


def fill(template: str, syntax: Syntax, values: Sequence[str]) -> str:
    """Render the template; the count must be exact (§1.7: our decision, also 002's -13)."""
    literals, slots = _parse(template, syntax)
    expected = max(slots, default=-1) + 1
    if len(values) != expected:
        raise VariableCountError(expected, len(values))
    parts = [literals[0]]
    for index, literal in zip(slots, literals[1:], strict=True):
        parts += (values[index], literal)
    return "".join(parts)


def split_values(content: str) -> list[str]:
    """Vendor 000's ``content``: ``##`` wins when present, else ``$$`` (A000-1).

    Empty values are kept, so ``a####b`` is three values and fails a two-slot template.
    """
    if not content:
        return []
    return content.split("##" if "##" in content else "$$")


@lru_cache(maxsize=1024)
def _matcher(template: str, syntax: Syntax) -> tuple[tuple[str, ...], re.Pattern[str], int]:
    """Folded literals, the full-match regex and the slot count; cached per template."""
    literals, slots = _parse(template, syntax)
    folded = tuple(fold(literal) for literal in literals)
    pattern = [re.escape(folded[0])]
    seen: set[int] = set()
    for index, literal in zip(slots, folded[1:], strict=True):
        if syntax is not Syntax.NUMBERED:
            pattern.append("(.+?)")
        elif index in seen:
            pattern.append(f"(?P=v{index})")
        else:
            seen.add(index)
            pattern.append(f"(?P<v{index}>.+?)")
        pattern.append(re.escape(literal))
    return folded, re.compile("".join(pattern), re.DOTALL), max(slots, default=-1) + 1


def _literals_fit(literals: Sequence[str], text: str) -> bool:
    """Cheap necessary condition for a match: literals occur in order, slots non-empty.

    Rejecting most candidate templates here keeps the regex engine from backtracking through
    every split of a long text when 002 looks for the one template a message belongs to.
    """
    first, *middle, last = literals
    end = len(text) - len(last)
    if not (text.startswith(first) and text.endswith(last)):
        return False
    pos = len(first)
    for literal in middle:
        found = text.find(literal, pos + 1, end - 1)
        if found < 0:
            return False
        pos = found + len(literal)
    return pos < end


def match(template: str, syntax: Syntax, text: str) -> list[str] | None:
    """The slot values if ``text`` is this template filled in, else None.

    Both sides are folded, so a traditional message fits a simplified template and the other
    way round; the values returned are taken from the folded text. Each slot takes at least
    one character; a repeated NUMBERED slot must repeat the same value.
    """
    literals, pattern, count = _matcher(template, syntax)
    folded = fold(text)
    if count == 0:
        return [] if folded == literals[0] else None
    if not _literals_fit(literals, folded):
        return None
    found = pattern.fullmatch(folded)
    if found is None:
        return None
    if syntax is not Syntax.NUMBERED:
        return list(found.groups())
    named = found.groupdict()
    # A gap such as {1}{3} leaves value 2 unused; it matches as "" (template_problem refuses it).
    return [named.get(f"v{index}", "") for index in range(count)]


# --- signatures ---------------------------------------------------------------------------


def split_signature(content: str) -> tuple[str | None, str]:
    """Separate a ``【signature】`` at the start, or failing that at the end, from the text.

    Chinese gateways accept the signature at either end. The signature is returned exactly as
    written between the brackets (possibly ""), the remaining text stripped.
    """
    content = content.strip()
    if content.startswith("【"):
        close = content.find("】")
        if close > 0 and "【" not in content[1:close]:
            return content[1:close], content[close + 1 :].strip()
    if content.endswith("】"):
        start = content.rfind("【")
        if start >= 0 and "】" not in content[start + 1 : -1]:
            return content[start + 1 : -1], content[:start].strip()
    return None, content


def bare_signature(sign: str) -> str:
    """``【名】`` and ``名`` name the same signature (A000-2); drop one 【】 pair and blanks."""
    sign = sign.strip()
    if sign.startswith("【") and sign.endswith("】"):
        sign = sign[1:-1].strip()
    return sign


NEUTRAL_SIGNATURES = ("客服通知", "客户您好")
_NEUTRAL_FOLDED = frozenset(fold(word) for word in NEUTRAL_SIGNATURES)


def _signature_char_ok(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or (char.isascii() and char.isalnum())


def signature_problem(sig: str, *, min_len: int = 2, max_len: int = 8) -> str | None:
    """002's review standard for a bare signature (§3.7), as English text, or None if fine.

    The length bounds are parameters because the send API checks 2–12 (A002-3).
    """
    if not min_len <= len(sig) <= max_len:
        return f"signature must be {min_len}-{max_len} characters long, not {len(sig)}"
    bad = next((char for char in sig if not _signature_char_ok(char)), None)
    if bad is not None:
        return f"signature may hold only Chinese characters, letters and digits, not {bad!r}"
    if sig.isdigit():
        return "signature must not be all digits"
    if fold(sig) in _NEUTRAL_FOLDED:
        return f"signature {sig!r} is too neutral to identify the sender"
    return None


# --- template review ----------------------------------------------------------------------

VERIFICATION_WORDS = ("验证码", "注册码", "校验码", "动态码")
# "States the platform, purpose or expiry" reduced to words that say one of them. Checked after
# removing the keyword itself, since 验证码 alone would otherwise satisfy 验证.
_CONTEXT_WORDS = ("有效", "分钟", "小时", "用于", "注册", "登录", "登陆", "平台", "验证")
SPECIAL_SYMBOLS = "★※→●"
MAX_TEMPLATE_CHARS = 500
TEMPLATE_KINDS = ("verification", "notification", "marketing", "general")


def is_verification_text(text: str) -> bool:
    """True if the text names a verification code in either script (驗證碼 counts)."""
    folded = fold(text)
    return any(word in folded for word in VERIFICATION_WORDS)


def _literal_text(template: str, syntax: Syntax) -> str:
    """Folded template text without its slots; NUL between parts so words cannot join."""
    literals, _ = _parse(template, syntax)
    return fold("\0".join(literals))


def _bracket_problem(template: str) -> str | None:
    if "【" in template or "】" in template:
        return "template must not contain 【 or 】 (reserved for the signature)"
    return None


def verification_template_problem(template: str, syntax: Syntax) -> str | None:
    """002's verification-code template rules (§3.7), as English text, or None if fine."""
    count = slot_count(template, syntax)
    if count != 1:
        return f"a verification template needs exactly one variable, not {count}"
    if problem := _bracket_problem(template):
        return problem
    text = _literal_text(template, syntax)
    if not any(word in text for word in VERIFICATION_WORDS):
        return "a verification template must contain 验证码, 注册码, 校验码 or 动态码"
    for word in VERIFICATION_WORDS:
        text = text.replace(word, "\0")
    if not any(word in text for word in _CONTEXT_WORDS):
        return "a verification template must state its platform, purpose or expiry"
    return None


def verification_value_ok(value: str) -> bool:
    """A verification code may only be ASCII digits and letters (§3.7)."""
    return value.isascii() and value.isalnum()


def marketing_template_problem(template: str, syntax: Syntax) -> str | None:
    """002's promotion template rules: no variables, ends with a TD/TN unsubscribe hint."""
    count = slot_count(template, syntax)
    if count:
        return f"a marketing template must not have variables, found {count}"
    tail = fold(template).rstrip()[-20:]
    if "退订" not in tail or not ("TD" in tail.upper() or "TN" in tail.upper()):
        return "a marketing template must end with an unsubscribe hint such as 回复TD退订"
    return None


def template_problem(template: str, syntax: Syntax, kind: str) -> str | None:
    """All review rules for a template of ``kind`` (one of TEMPLATE_KINDS), or None if fine.

    Placeholders count toward the 500 characters as written, values being unknown at review.
    """
    if kind not in TEMPLATE_KINDS:
        raise ValueError(f"unknown template kind {kind!r}; expected one of {TEMPLATE_KINDS}")
    if not template.strip():
        return "template is empty"
    if len(template) > MAX_TEMPLATE_CHARS:
        return f"template is {len(template)} characters, at most {MAX_TEMPLATE_CHARS} allowed"
    if problem := _bracket_problem(template):
        return problem
    if symbol := next((char for char in template if char in SPECIAL_SYMBOLS), None):
        return f"template contains the unsupported symbol {symbol}"
    _, slots = _parse(template, syntax)
    if syntax is Syntax.NUMBERED and set(slots) != set(range(len(set(slots)))):
        return "numbered variables must run {1}..{n} without gaps"
    if kind == "verification":
        return verification_template_problem(template, syntax)
    if kind == "marketing":
        return marketing_template_problem(template, syntax)
    if kind == "notification" and syntax is Syntax.NUMBERED and len(slots) != len(set(slots)):
        return "in a notification template each variable may appear only once"
    return None


# --- content filters ----------------------------------------------------------------------

DEFAULT_SENSITIVE_WORDS: tuple[str, ...] = ("发票", "赌博", "代开", "贷款", "六合彩", "法轮")


def sensitive_hit(text: str, words: Iterable[str]) -> str | None:
    """The first listed word found in the text (either script, ASCII case-blind), as listed."""
    folded = fold(text).lower()
    for word in words:
        needle = fold(word).lower()
        if needle and needle in folded:
            return word
    return None


# Word boundaries are ASCII-only (re.ASCII) so keywords glued to Chinese text still count.
DEFAULT_SQL_PATTERNS: tuple[str, ...] = (
    r"\bselect\b.+?\bfrom\b",
    r"\binsert\s+into\b",
    r"\bdrop\s+table\b",
    r"\bdelete\s+from\b",
    r"\bupdate\b.+?\bset\b",
    r"\btruncate\s+table\b",
    r"\bunion\s+(?:all\s+)?select\b",
)


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    flags = re.IGNORECASE | re.ASCII | re.DOTALL
    return tuple(re.compile(pattern, flags) for pattern in patterns)


def sql_hit(text: str, patterns: Iterable[str] = DEFAULT_SQL_PATTERNS) -> str | None:
    """The first SQL-looking fragment of the folded text (003's code 4), or None.

    Raises ``re.error`` for an invalid configured pattern, so config checks can call it once.
    """
    folded = fold(text)
    for pattern in _compiled(tuple(patterns)):
        if found := pattern.search(folded):
            return found.group(0)
    return None


# --- billing ------------------------------------------------------------------------------


def billing_units(text: str) -> int:
    """Messages charged for ``text``: 70 code points fit one, longer text goes per 67 (§7.8).

    Empty text is refused before billing; it still counts as one so callers never charge 0.
    """
    length = len(text)
    return 1 if length <= 70 else -(-length // 67)
