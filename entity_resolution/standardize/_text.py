"""Text helpers shared by the standardizers: width, script, separators and Chinese numerals."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Interpunct look-alikes that clerks type between the parts of a transliterated name (阿依古丽·买买提).
# NFKC leaves most of them alone, so they are mapped explicitly to U+00B7.
INTERPUNCTS = "·・‧•∙⋅･.．﹒。"
_TO_INTERPUNCT = str.maketrans({c: "·" for c in INTERPUNCTS})
_DASHES = str.maketrans({c: "-" for c in "－—–‐‑‒―−ー~～"})
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "Ｏ": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
              "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
              "九": 9, "玖": 9}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10_000}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # loads its dictionaries once, ~30 ms

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC t2s); other text unchanged."""
    return _t2s().convert(text) if _HAN.search(text) else text


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def nfkc(text: str) -> str:
    """NFKC: full-width letters, digits, brackets and the ideographic space become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def unify_interpuncts(text: str) -> str:
    return text.translate(_TO_INTERPUNCT)


def unify_dashes(text: str) -> str:
    return text.translate(_DASHES)


def cn_numeral_to_int(text: str) -> int | None:
    """A Chinese numeral as an int: 十二 → 12, 一千零一 → 1001, 二〇二 → 202, 两百 → 200; None if not one.

    Without unit characters the digits are read one by one (二〇二 → 202), as addresses write room numbers.
    Arabic digits mixed in (3千) are accepted.
    """
    if not text:
        return None
    if all(c in _CN_DIGITS or c.isdigit() for c in text):
        return int("".join(str(_CN_DIGITS[c]) if c in _CN_DIGITS else c for c in text))
    total, section, digit, last_unit = 0, 0, None, 10**9
    for c in text:
        if c in "零〇○":  # a placeholder between units (一千零一): contributes nothing
            digit = None
            continue
        if c in _CN_DIGITS or c.isdigit():
            if digit is not None:  # two digits in a row outside the digit-by-digit form: not a numeral
                return None
            digit = _CN_DIGITS[c] if c in _CN_DIGITS else int(c)
        elif c in _CN_UNITS:
            unit = _CN_UNITS[c]
            if unit == 10_000:
                total += (section + (digit or 0)) * unit
                section, digit, last_unit = 0, None, 10**9
                continue
            if unit >= last_unit:
                return None
            section += (1 if digit is None else digit) * unit  # 十二: a leading 十 means 一十
            digit, last_unit = None, unit
        else:
            return None
    return total + section + (digit or 0)


def replace_cn_numerals(text: str, before: str) -> str:
    """Replace runs of Chinese numerals that are directly followed by one of the markers in the regex
    alternation ``before`` (e.g. ``栋|单元|室``) with Arabic digits; other numerals (八卦岭, 三元里) stay."""
    pattern = re.compile(f"(?:第)?([{CN_NUMERAL_CHARS}]+)(?=(?:{before}))")

    def repl(m: re.Match[str]) -> str:
        value = cn_numeral_to_int(m.group(1))
        return m.group(0) if value is None else str(value)

    return pattern.sub(repl, text)
