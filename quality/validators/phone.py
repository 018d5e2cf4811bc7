"""Mainland China mobile numbers: 11 digits starting 1[3-9], after removing +86/0086, spaces and dashes."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[\s\-－—()（）.]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalize_mobile(value: str | None) -> str | None:
    """The 11-digit number, or None when it is not a mainland mobile number."""
    if value is None:
        return None
    digits = _STRIP.sub("", str(value).translate(_FULLWIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.match(digits) else None


def is_valid_mobile(value: str | None) -> bool:
    return normalize_mobile(value) is not None


def problem(value: str | None) -> str | None:
    """Why ``value`` is not a mainland mobile number, in plain words, or None when it is."""
    if is_valid_mobile(value):
        return None
    digits = _STRIP.sub("", str(value or "").translate(_FULLWIDTH))
    if digits.startswith("0"):
        return "不是手机号（疑似固定电话）/ not a mobile number (looks like a landline); give an 11-digit mobile"
    return f"手机号应为 1 开头的 11 位数字 / a mobile number has 11 digits starting 13-19, got {len(digits)} characters"


_PLAIN = r"^1[3-9][0-9]{9}$"


def normalize_mobile_array(values):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`normalize_mobile` over a string array (nulls stay null): a plain 11-digit number is its own
    normal form, anything else goes through the scalar function."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, merged, plain_mask, scalar_part

    values = as_string_array(values)
    mask = plain_mask(values, _PLAIN)
    idx = np.flatnonzero(mask)
    other = np.flatnonzero(~mask & ~values.is_null().to_numpy(zero_copy_only=False))
    return merged(len(values), pa.string(), [(idx, values.take(pa.array(idx, pa.int64()))),
                                             (other, scalar_part(values, other, normalize_mobile, pa.string()))])


def is_valid_mobile_array(values):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`is_valid_mobile` over a string array: a boolean array without nulls."""
    import pyarrow.compute as pc

    return pc.is_valid(normalize_mobile_array(values))
