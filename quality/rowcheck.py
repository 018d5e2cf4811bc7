"""Row-level evaluation of the vocabulary's checks on pandas columns (what the GE metrics compute), and the
plain-words explanation of one failing value (what the quarantine reason and feedback file say).

Validators are pure functions of the value, so each distinct value is judged once: delivery files repeat
many values (genders, district codes, dates), and the ID checks cost a few microseconds each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quality.validators import cn_id, division, enums, phone, uscc

if TYPE_CHECKING:
    import pyarrow as pa


def by_unique(column: pd.Series, func: Callable[[Any], bool]) -> pd.Series:
    """``func`` applied to each distinct value of ``column``, broadcast back (True for missing values)."""
    values = pd.unique(column.dropna())
    verdict = {v: bool(func(v)) for v in values}
    return column.map(verdict).fillna(True).astype(bool)


def bound(text: Any, reference: dt.date) -> dt.date:
    return enums.parse_bound(text, reference)


def as_dates(column: pd.Series, formats: list[str] | None) -> pd.Series:
    """Dates of a datetime column, or of a string column parsed with the field's formats (NaT if none fits)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    out = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    rest = column.notna()
    for fmt in formats or ["%Y-%m-%d"]:
        if not rest.any():
            break
        parsed = pd.to_datetime(column[rest], format=fmt, errors="coerce")
        out[parsed.index] = out[parsed.index].fillna(parsed)
        rest = rest & out.isna()
    return out


def date_ok(column: pd.Series, low: dt.date, high: dt.date, formats: list[str] | None = None) -> pd.Series:
    dates = as_dates(column, formats)
    inside = (dates >= pd.Timestamp(low)) & (dates <= pd.Timestamp(high))
    return inside | dates.isna()  # unparseable dates are staging's business, not a range problem


def single_ok(check: str, column: pd.Series, params: dict[str, Any], reference: dt.date) -> pd.Series:
    """True where the value passes ``check`` (missing values pass: required-ness is a check of its own)."""
    if check == "cn_id_number":
        return id_frame(column, reference, params.get("allow_15", True))["valid"] | column.isna()
    if check == "cn_uscc":
        org = params.get("check_org_code", True)
        return by_unique(column, lambda v: uscc.is_valid(v, check_org_code=org))
    if check == "cn_mobile":
        return mobile_ok(column) | column.isna()
    if check == "cn_division_code":
        on = bound(params.get("on", "delivery"), reference)
        retired = params.get("allow_retired", False)
        return by_unique(column, lambda v: division.is_valid(v, on=on, allow_retired=retired))
    if check == "gender":
        return by_unique(column, lambda v: enums.normalize_gender(v) is not None)
    if check in ("date_range", "date_plausible"):
        low = bound(params.get("min", "1900-01-01"), reference)
        high = bound(params.get("max", "2100-12-31"), reference)
        return date_ok(column, low, high, params.get("formats"))
    raise ValueError(f"no row check named {check!r}")


def pair_ok(check: str, ids: pd.Series, other: pd.Series) -> pd.Series:
    """Cross-field agreement; an invalid ID or an unreadable partner passes (their own checks report them)."""
    if check == "cn_id_gender":
        from_id = id_frame(ids, _FAR_FUTURE)["gender"]
        given = other.map({v: enums.normalize_gender(v) for v in pd.unique(other.dropna())})
        return (from_id.isna() | given.isna() | (from_id == given)).astype(bool)
    if check == "cn_id_birth_date":
        from_id = id_frame(ids, _FAR_FUTURE)["birth"]
        given = as_dates(other, None).dt.normalize()
        return (from_id.isna() | given.isna() | (from_id == given)).astype(bool)
    raise ValueError(f"no cross-field check named {check!r}")


def explain(check: str, value: Any, params: dict[str, Any], reference: dt.date, column: str) -> str:
    """What is wrong with ``value`` for ``check``, Chinese then English; never repeats the value itself."""
    if check == "cn_id_number":
        detail = cn_id.problem(value, allow_15=params.get("allow_15", True), today=reference)
    elif check == "cn_uscc":
        detail = uscc.problem(value, check_org_code=params.get("check_org_code", True))
    elif check == "cn_mobile":
        detail = phone.problem(value)
    elif check == "cn_division_code":
        detail = division.problem(value, on=bound(params.get("on", "delivery"), reference),
                                  allow_retired=params.get("allow_retired", False))
    elif check == "gender":
        detail = enums.gender_problem(value)
    elif check in ("date_range", "date_plausible"):
        low = bound(params.get("min", "1900-01-01"), reference)
        high = bound(params.get("max", "2100-12-31"), reference)
        detail = f"日期应在 {low} 至 {high} 之间 / the date must lie between {low} and {high}"
    elif check == "cn_id_gender":
        detail = "身份证号第 17 位所示性别与性别字段不一致 / the gender encoded in the ID number differs from the gender field"
    elif check == "cn_id_birth_date":
        detail = "身份证号中的出生日期与出生日期字段不一致 / the birth date in the ID number differs from the birth date field"
    elif check == "allowed_values":
        allowed = "、".join(str(v) for v in params.get("values", []))
        detail = f"允许的取值：{allowed} / allowed values: {allowed}"
    elif check == "required":
        detail = "必填字段为空 / a required value is missing"
    elif check == "duplicate_record_key":
        detail = "同一记录标识在本批次出现多次 / the record key occurs more than once in this delivery"
    else:
        detail = None
    return f"{column}: {detail or check}"


_ID_CHECK_VALUE = np.array([1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2])  # "10X98765432" as numbers (X = 10)
_PROVINCE_CODES = np.array(sorted(int(p) for p in cn_id.PROVINCES))
_FAR_FUTURE = dt.date(2200, 1, 1)  # cross-field checks judge agreement only; future births are cn_id_number's


def _clean_arrow(column: pd.Series, fullwidth: dict[int, int]) -> pa.Array:
    """Whitespace removed and full-width characters folded, with Arrow kernels (per-value Python only for the
    rare column holding non-ASCII text, and then only for the non-ASCII values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _as_arrow(column)
    ascii_ok = pc.fill_null(pc.string_is_ascii(arr), True)
    if not pc.all(ascii_ok).as_py():
        values = arr.to_pylist()
        for pos in pc.indices_nonzero(pc.invert(ascii_ok)).to_pylist():
            values[pos] = values[pos].translate(fullwidth)
        arr = pa.array(values, pa.string())
    return pc.replace_substring_regex(arr, r"\s+", "")


def _as_arrow(column: pd.Series) -> pa.Array:
    """A pandas text column as one Arrow string array (nulls where pandas has NA/None/NaN)."""
    import pyarrow as pa

    if isinstance(column.dtype, pd.ArrowDtype) or getattr(column.dtype, "storage", None) == "pyarrow":
        arr = pa.array(column.array)
    else:
        values = column.to_numpy(dtype=object, na_value=None)
        arr = pa.array(values, pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string())


def _clean(column: pd.Series, fullwidth: dict[int, int]) -> pd.Series:
    """Whitespace removed and full-width characters folded, with Arrow kernels (no per-value Python)."""
    arr = _clean_arrow(column, fullwidth)
    # set_axis, not Series(..., index=): the latter would re-align by label and shift rows after a gap
    return arr.to_pandas(types_mapper=pd.ArrowDtype).set_axis(column.index).astype("string")


def mobile_ok(column: pd.Series) -> pd.Series:
    """``cn_mobile`` over a column: True where the value (after +86, spaces and dashes) is a mainland
    mobile number or missing. Arrow kernels; the same verdicts as ``phone.is_valid_mobile``."""
    import pyarrow.compute as pc

    text = pc.replace_substring_regex(_clean_arrow(column, phone._FULLWIDTH), r"[\-－—()（）.]", "")
    ok = pc.fill_null(pc.match_substring_regex(text, r"^(\+86|0086|86)?1[3-9][0-9]{9}$"), True)
    return pd.Series(ok.to_numpy(zero_copy_only=False), index=column.index, dtype=bool)


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which (year, month, day) triples are real calendar dates, and those dates as datetime64[D]."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok = (year >= 1) & month_ok & (day >= 1) & (day <= last)
    safe_y = np.where(ok, year, 1970)
    months = (safe_y - 1970) * 12 + np.where(ok, month, 1) - 1
    dates = months.astype("datetime64[M]").astype("datetime64[D]") + (np.where(ok, day, 1) - 1).astype("timedelta64[D]")
    return ok, dates


def id_frame(column: pd.Series, today: dt.date, allow_15: bool = True) -> pd.DataFrame:
    """Vectorised GB 11643 over a column (same verdicts as ``cn_id.problem``/``normalize``, ~100× faster):
    ``valid``, and for valid numbers the encoded ``gender`` (男/女) and ``birth`` date."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_upper(_clean_arrow(column, cn_id._FULLWIDTH))
    n = len(text)
    valid = np.zeros(n, dtype=bool)
    gender = np.full(n, pd.NA, dtype=object)
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    is18 = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{17}[0-9X]$"), False)
    masks = [(is18, 18)]
    if allow_15:
        masks.append((pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{15}$"), False), 15))
    for mask, width in masks:
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if not len(rows):
            continue
        picked = text.take(pa.array(rows, pa.int64()))
        digits = _fixed_width_digits(picked, width)
        ok = np.isin(digits[:, 0] * 10 + digits[:, 1], _PROVINCE_CODES)
        if width == 18:
            last = np.where(digits[:, 17] == 40, 10, digits[:, 17])  # 'X' - '0' = 40
            ok &= _ID_CHECK_VALUE[(digits[:, :17] @ np.array(cn_id.WEIGHTS)) % 11] == last
            year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
            real, born = _ymd(year, digits[:, 10] * 10 + digits[:, 11], digits[:, 12] * 10 + digits[:, 13])
            ok &= real & (born >= np.datetime64("1880-01-01")) & (born <= np.datetime64(today, "D"))
            sex = digits[:, 16]
        else:
            year = 1900 + digits[:, 6] * 10 + digits[:, 7]
            real, born = _ymd(year, digits[:, 8] * 10 + digits[:, 9], digits[:, 10] * 10 + digits[:, 11])
            ok &= real
            sex = digits[:, 14]
        hit = rows[ok]
        valid[hit] = True
        gender[hit] = np.where(sex[ok] % 2 == 1, "男", "女")
        birth[hit] = born[ok]
    return pd.DataFrame({"valid": valid, "gender": gender, "birth": birth}, index=column.index)


def _fixed_width_digits(arr: pa.Array, width: int) -> np.ndarray:
    """An ASCII string array whose values all have ``width`` characters, as an (n, width) array of digit values."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return data.reshape(-1, width).astype(np.int64) - 48
