"""GB 11643 citizen identity numbers (公民身份号码).

18 characters: 6-digit division code, 8-digit birth date, 3-digit sequence (odd = male), check character
``"10X98765432"[sum(d_i * w_i) % 11]``. Legacy 15-digit numbers have a 2-digit year (19xx) and no check
character; they upgrade to 18 by inserting "19" and computing the check.
"""

from __future__ import annotations

import datetime as dt

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")
# GB/T 2260 province-level codes (first two digits of every division code, hence of every ID number).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})


def check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def clean(value: str | None) -> str:
    """Strip spaces, full-width digits and a lowercase x; no other change."""
    if value is None:
        return ""
    return "".join(str(value).translate(_FULLWIDTH).split()).upper()


def birth_date(value: str) -> dt.date | None:
    """The birth date encoded in an 18- or 15-digit number, or None if it is not a real date."""
    digits = value[6:14] if len(value) == 18 else ("19" + value[6:12] if len(value) == 15 else "")
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def gender(value: str) -> str | None:
    """男 / 女 from the sequence digit (odd = male), for an 18- or 15-digit number."""
    pos = 16 if len(value) == 18 else 14 if len(value) == 15 else None
    if pos is None or not value[pos].isdigit():
        return None
    return "男" if int(value[pos]) % 2 == 1 else "女"


def upgrade_15_to_18(value: str) -> str:
    """A legacy 15-digit number as its 18-digit form (year 19xx, check character computed)."""
    value = clean(value)
    if len(value) != 15 or not value.isdigit():
        raise ValueError(f"not a 15-digit legacy ID number: {value!r}")
    first17 = value[:6] + "19" + value[6:]
    return first17 + check_char(first17)


def region_valid(value: str) -> bool:
    """The division code starts with a GB/T 2260 province code (the exact county may since be retired)."""
    return value[:2] in PROVINCES


def is_valid(value: str | None, *, today: dt.date | None = None) -> bool:
    """18 digits (last may be X) with a correct check character, a province-level region code and a real,
    non-future birth date."""
    value = clean(value)
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    if not region_valid(value):
        return False
    if check_char(value[:17]) != value[17]:
        return False
    born = birth_date(value)
    return born is not None and dt.date(1880, 1, 1) <= born <= (today or dt.date.today())


def normalize(value: str | None) -> str | None:
    """The valid 18-character form (15-digit numbers upgraded, x → X), or None when invalid."""
    value = clean(value)
    if len(value) == 15 and value.isdigit():
        if birth_date(value) is None or not region_valid(value):
            return None
        value = upgrade_15_to_18(value)
    return value if is_valid(value) else None


def problem(value: str | None, *, allow_15: bool = True, today: dt.date | None = None) -> str | None:
    """Why ``value`` is not a valid ID number, in plain words (Chinese / English), or None when it is."""
    text = clean(value)
    if len(text) == 15 and text.isdigit():
        if not allow_15:
            return "15 位旧号码不被接受 / a legacy 15-digit number is not accepted here; give the 18-digit number"
        text = text[:6] + "19" + text[6:] + "0"  # check character is computed on upgrade: judge the rest
        if not region_valid(text):
            return "地区码无效 / the region code (first 6 digits) is not a GB/T 2260 code"
        return None if birth_date(text) is not None else "出生日期无效 / the birth date (digits 7-12) is not a real date"
    if len(text) != 18:
        return f"长度应为 18 位，实际 {len(text)} 位 / must be 18 characters, got {len(text)}"
    if not text[:17].isdigit() or text[17] not in "0123456789X":
        return "含非法字符 / only digits and a final X are allowed"
    if not region_valid(text):
        return "地区码无效 / the region code (first 6 digits) is not a GB/T 2260 code"
    born = birth_date(text)
    if born is None:
        return "出生日期无效 / the birth date (digits 7-14) is not a real date"
    if not dt.date(1880, 1, 1) <= born <= (today or dt.date.today()):
        return "出生日期不合理 / the birth date is in the future or before 1880"
    if check_char(text[:17]) != text[17]:
        return "校验码错误 / the check character (last digit) does not match: a digit was probably mistyped"
    return None
