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


# ---- array forms: the same answers over a whole column ---------------------------------------------------------
# Values already in the plain form (17 ASCII digits + digit/X/x, or 15 digits) are checked with NumPy on an
# (n, 18) byte matrix; anything else (spaces, full-width digits, other lengths) goes through the scalar
# function, so every value gets exactly the scalar answer.

_PLAIN = r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$"


def _province_table():  # noqa: ANN202 - a NumPy array; numpy is imported lazily
    import numpy as np

    table = np.zeros(100, dtype=bool)
    table[[int(p) for p in PROVINCES]] = True
    return table


def _plain_18(values, mask):  # noqa: ANN001, ANN202 - (indices, (n, 18) uint8 matrix) of plain values
    """The plain values at ``mask`` as 18 upper-case characters: 15-digit numbers get 19 inserted and their
    check character computed (what :func:`upgrade_15_to_18` does)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from quality.validators._arrays import char_matrix

    idx = np.flatnonzero(mask)
    plain = values.take(pa.array(idx, pa.int64()))
    is18 = (pc.binary_length(plain).to_numpy(zero_copy_only=False) == 18) if len(plain) else np.zeros(0, bool)
    matrix = np.empty((len(idx), 18), dtype=np.uint8)
    matrix[is18] = char_matrix(plain.filter(pa.array(is18)), 18)
    legacy = char_matrix(plain.filter(pa.array(~is18)), 15)
    matrix[~is18, :6], matrix[~is18, 6:8], matrix[~is18, 8:17] = legacy[:, :6], (ord("1"), ord("9")), legacy[:, 6:]
    matrix[~is18, 17] = _check_bytes(legacy[:, :6], legacy[:, 6:], upgraded=True)
    matrix[matrix[:, 17] == ord("x"), 17] = ord("X")
    return idx, matrix, is18


def _check_bytes(head, rest, *, upgraded: bool = False):  # noqa: ANN001, ANN202
    """Check characters (ASCII codes) of 17 digits given as ``head`` (first 6) and the rest (11, or 9 for a
    15-digit number whose 19 is inserted by ``upgraded``)."""
    import numpy as np

    digits = np.concatenate([head, np.full((len(head), 2), ord("1"), np.uint8)] if upgraded else [head], axis=1)
    if upgraded:
        digits[:, 7] = ord("9")
    digits = np.concatenate([digits, rest[:, : 17 - digits.shape[1]]], axis=1).astype(np.int64) - 48
    codes = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
    return codes[(digits @ np.array(WEIGHTS, dtype=np.int64)) % 11]


def _valid_18(matrix, today: dt.date):  # noqa: ANN001, ANN202 - (valid, days since epoch of the birth date)
    """:func:`is_valid` over an (n, 18) matrix of 17 ASCII digits + digit/X: region, check character, real
    birth date in [1880-01-01, today]."""

    from quality.validators._arrays import digits_value, real_dates

    ok = _province_table()[digits_value(matrix[:, :2])]
    ok &= _check_bytes(matrix[:, :6], matrix[:, 6:17]) == matrix[:, 17]
    real, days = real_dates(digits_value(matrix[:, 6:10]), digits_value(matrix[:, 10:12]), digits_value(matrix[:, 12:14]))
    low = (dt.date(1880, 1, 1) - dt.date(1970, 1, 1)).days
    high = (today - dt.date(1970, 1, 1)).days
    return ok & real & (days >= low) & (days <= high), days


def normalize_array(values, *, today: dt.date | None = None):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`normalize` over a string array (nulls stay null): the valid 18-character forms, else null.

    ``today`` bounds birth dates as in :func:`is_valid` (default: today's date)."""
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, merged, plain_mask, scalar_part, strings_from_matrix

    values = as_string_array(values)
    today = today or dt.date.today()
    mask = plain_mask(values, _PLAIN)
    idx, matrix, _ = _plain_18(values, mask)
    ok, _ = _valid_18(matrix, today)
    other = _other_rows(values, mask)
    return merged(len(values), pa.string(), [
        (idx, strings_from_matrix(matrix, ok)),
        (other, scalar_part(values, other, lambda v: _normalize_on(v, today), pa.string())),
    ])


def _normalize_on(value: str | None, today: dt.date) -> str | None:
    """:func:`normalize` with birth dates bounded by ``today``."""
    value = clean(value)
    if len(value) == 15 and value.isdigit():
        if birth_date(value) is None or not region_valid(value):
            return None
        value = upgrade_15_to_18(value)
    return value if is_valid(value, today=today) else None


def _other_rows(values, mask):  # noqa: ANN001, ANN202 - indices of non-null values outside the plain form
    import numpy as np

    return np.flatnonzero(~mask & ~values.is_null().to_numpy(zero_copy_only=False))


def is_valid_array(values, *, today: dt.date | None = None):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`is_valid` over a string array: a boolean array without nulls (a null value is not valid)."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, plain_mask, scalar_part

    values = as_string_array(values)
    today = today or dt.date.today()
    mask = plain_mask(values, _PLAIN)
    idx, matrix, is18 = _plain_18(values, mask)
    ok, _ = _valid_18(matrix, today)
    out = np.zeros(len(values), dtype=bool)
    out[idx] = ok & is18  # a 15-digit number is not valid as it stands
    other = _other_rows(values, mask)
    out[other] = scalar_part(values, other, lambda v: is_valid(v, today=today), pa.bool_()).to_numpy(zero_copy_only=False)
    return pa.array(out, pa.bool_())


def birth_date_array(values):  # noqa: ANN001, ANN201 - pa.Array in, date32 array out
    """:func:`birth_date` over a string array of 18- or 15-character numbers (as :func:`clean` leaves them);
    null where the value is null or encodes no real date."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, digits_value, merged, plain_mask, real_dates, scalar_part

    values = as_string_array(values)
    # birth_date does not clean: only upper-case X counts as plain here, x goes through the scalar function
    mask = plain_mask(values, r"^(?:[0-9]{17}[0-9X]|[0-9]{15})$")
    idx, matrix, _ = _plain_18(values, mask)
    real, days = real_dates(digits_value(matrix[:, 6:10]), digits_value(matrix[:, 10:12]), digits_value(matrix[:, 12:14]))
    dates = pa.array(days.astype(np.int32), pa.int32(), mask=~real).cast(pa.date32())
    other = _other_rows(values, mask)
    return merged(len(values), pa.date32(), [(idx, dates), (other, scalar_part(values, other, birth_date, pa.date32()))])
