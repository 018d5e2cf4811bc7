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
_ANY_DASH = re.compile("[－—–‐‑‒―−ー~～]")
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


def to_simplified_many(texts: list[str]) -> list[str]:
    """:func:`to_simplified` over many texts with one OpenCC call per few thousand texts instead of one per
    text (4× faster): texts joined by newlines convert exactly as they do one by one, because no OpenCC
    dictionary entry contains a newline, so no phrase spans two texts."""
    out = list(texts)
    todo = [i for i, t in enumerate(texts) if "\n" not in t and _HAN.search(t)]
    for start in range(0, len(todo), 5000):
        chunk = todo[start: start + 5000]
        converted = _t2s().convert("\n".join(texts[i] for i in chunk)).split("\n")
        if len(converted) != len(chunk):  # cannot happen by the argument above; stay correct if it does
            converted = [to_simplified(texts[i]) for i in chunk]
        for i, text in zip(chunk, converted, strict=True):
            out[i] = text
    for i, t in enumerate(texts):
        if "\n" in t:
            out[i] = to_simplified(t)
    return out


@lru_cache(maxsize=65536)
def _char_t2s(char: str) -> str:
    return _t2s().convert(char)


def to_simplified_chars(text: str) -> str:
    """Traditional → simplified one character at a time, for names: OpenCC's phrase table would read the
    name 沈靜 as the word 沉静 (calm) and change the surname."""
    return text.translate(_SIMPLIFIED_CHARS)


class _SimplifiedChars(dict[int, str]):
    """A ``str.translate`` table filled on first use: code point → :func:`_char_t2s` of a Han character,
    the character itself otherwise (one dict lookup per character instead of a regex and a cache call)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = value = _char_t2s(char) if _HAN.match(char) else char
        return value


_SIMPLIFIED_CHARS = _SimplifiedChars()


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def nfkc(text: str) -> str:
    """NFKC: full-width letters, digits, brackets and the ideographic space become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def unify_interpuncts(text: str) -> str:
    return text.translate(_TO_INTERPUNCT)


def unify_dashes(text: str) -> str:
    # translate() with a dict table costs ~3 µs per text; most texts have no dash at all
    return text.translate(_DASHES) if _ANY_DASH.search(text) else text


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


def int_to_cn(n: int) -> str:
    """Positional Chinese numeral for 0 <= n < 10000: 12 → 十二, 1001 → 一千零一, 230 → 二百三十."""
    digits = "零一二三四五六七八九"
    if not 0 <= n < 10_000:
        raise ValueError(f"need 0 <= n < 10000, got {n}")
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            out += ("零" if zero and out else "") + digits[d] + unit
            zero = False
        elif out:
            zero = True
    return out


def int_to_cn_digits(n: int) -> str:
    """Digit-by-digit Chinese numerals, as room numbers and years are read: 202 → 二〇二."""
    return "".join("〇一二三四五六七八九"[int(d)] for d in str(n))


@lru_cache(maxsize=16)
def _numeral_pattern(before: str) -> re.Pattern[str]:
    return re.compile(f"(?:第)?([{CN_NUMERAL_CHARS}]+)(?=(?:{before}))")


_ANY_NUMERAL = re.compile(f"[{CN_NUMERAL_CHARS}]")


def replace_cn_numerals(text: str, before: str) -> str:
    """Replace runs of Chinese numerals that are directly followed by one of the markers in the regex
    alternation ``before`` (e.g. ``栋|单元|室``) with Arabic digits; other numerals (八卦岭, 三元里) stay."""
    if not _ANY_NUMERAL.search(text):
        return text

    def repl(m: re.Match[str]) -> str:
        value = cn_numeral_to_int(m.group(1))
        return m.group(0) if value is None else str(value)

    return _numeral_pattern(before).sub(repl, text)
