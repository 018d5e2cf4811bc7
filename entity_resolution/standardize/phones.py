"""Phone numbers for matching: mainland mobiles as 11 digits, landlines as ``area-number``.

Mobiles come from ``quality.validators.phone.normalize_mobile``. Landlines are a weaker, secondary signal (a
household or an office shares one), so they are returned separately: ``0755-88886666``. A landline written
without its area code is taken to be local (Shenzhen, 0755) unless told otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from entity_resolution.standardize._text import nfkc, unify_dashes
from entity_resolution.standardize._vector import Column, map_unique, map_unique_array
from quality.validators.phone import normalize_mobile

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_AREA_CODE = "0755"
# 010 and 020–029 are three-digit area codes; every other area code has four digits (0755, 0371 …).
_THREE_DIGIT_AREAS = re.compile(r"^0(10|2\d)")
_EXTENSION = re.compile(r"(转|分机|ext\.?|x|#).*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-()\[\]]")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
_LIST_SPLIT = re.compile(r"[,，;；/、|]+")
# An ASCII mobile number with nothing around it: every phone rule gives it back unchanged.
_PLAIN_MOBILE = r"^1[3-9][0-9]{9}$"


def mobile_for_matching(value: object) -> str | None:
    """The 11-digit mainland mobile number, or None."""
    if value is None:
        return None
    return normalize_mobile(nfkc(str(value)))


def landline_for_matching(value: object, *, default_area_code: str = DEFAULT_AREA_CODE) -> str | None:
    """``area-number`` for a mainland landline (0755-88886666, 010-12345678), extension dropped; None for
    a mobile or anything that is not a landline."""
    if value is None:
        return None
    text = _EXTENSION.sub("", unify_dashes(nfkc(str(value))).strip())
    digits = _SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix):].lstrip("0")
            break
    if not digits.isdigit():
        return None
    if not digits.startswith("0"):
        return f"{default_area_code}-{digits}" if _LOCAL.match(digits) else None
    area_len = 3 if _THREE_DIGIT_AREAS.match(digits) else 4
    area, number = digits[:area_len], digits[area_len:]
    return f"{area}-{number}" if _LOCAL.match(number) else None


def phone_for_matching(value: object) -> str | None:
    """The mobile number when the value is one, else the landline, else None."""
    return mobile_for_matching(value) or landline_for_matching(value)


def phones_in(value: object) -> list[str]:
    """Every phone number in a cell that lists several (``13800138000/0755-88886666``), normalised,
    mobiles first, without duplicates."""
    if value is None:
        return []
    found = [p for p in (phone_for_matching(part) for part in _LIST_SPLIT.split(nfkc(str(value)))) if p]
    mobiles = [p for p in found if "-" not in p]
    return list(dict.fromkeys(mobiles + [p for p in found if "-" in p]))


# ---- column forms -----------------------------------------------------------------------------------------

def _first_mobile(value: object) -> str | None:
    # most cells hold one number: try it whole before splitting the cell
    return mobile_for_matching(value) or next((p for p in phones_in(value) if "-" not in p), None)


def _plain_or(values: pa.Array, fn: Callable[[object], str | None]) -> pa.Array:
    """``fn`` over a string array, where a plain 11-digit mobile number is known to give itself."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, merged, plain_mask, scalar_part

    values = as_string_array(values)
    mask = plain_mask(values, _PLAIN_MOBILE)
    idx = np.flatnonzero(mask)
    other = np.flatnonzero(~mask & ~values.is_null().to_numpy(zero_copy_only=False))
    return merged(len(values), pa.string(), [(idx, values.take(pa.array(idx, pa.int64()))),
                                             (other, scalar_part(values, other, fn, pa.string()))])


def phones_array(values: pa.Array) -> pa.Array:
    """:func:`phone_for_matching` over a string array (the distinct values of a column)."""
    return _plain_or(values, phone_for_matching)


def phones_for_matching(values: Column) -> Column:
    """:func:`phone_for_matching` over a column."""
    return map_unique_array(values, phones_array, phone_for_matching, "string")


def mobiles_for_matching(values: Column) -> Column:
    """The first mobile number in each cell (cells may list several numbers)."""
    return map_unique_array(values, lambda v: _plain_or(v, _first_mobile), _first_mobile, "string")


def landlines_for_matching(values: Column) -> Column:
    """The first landline in each cell, as ``area-number``."""
    return map_unique(values, lambda v: next((p for p in phones_in(v) if "-" in p), None), "string")
