"""Row-level evaluation of the vocabulary's checks on pandas columns (what the GE metrics compute), and the
plain-words explanation of one failing value (what the quarantine reason and feedback file say).

Validators are pure functions of the value, so each distinct value is judged once: delivery files repeat
many values (genders, district codes, dates), and the ID checks cost a few microseconds each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from quality.validators import cn_id, division, enums, phone, uscc


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
        text = _clean(column, phone._FULLWIDTH).str.replace(r"[\-－—()（）.]", "", regex=True)
        ok = text.str.fullmatch(r"(\+86|0086|86)?1[3-9][0-9]{9}")
        return ok.fillna(True).astype(bool) | column.isna()
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


def _clean(column: pd.Series, fullwidth: dict[int, int]) -> pd.Series:
    """Whitespace removed and full-width characters folded, with Arrow kernels (no per-value Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(column.astype(object).where(column.notna(), None), pa.string())
    if not pc.all(pc.fill_null(pc.string_is_ascii(arr), True)).as_py():
        arr = pa.array([None if v is None else v.translate(fullwidth) for v in arr.to_pylist()], pa.string())
    arr = pc.replace_substring_regex(arr, r"\s+", "")
    # set_axis, not Series(..., index=): the latter would re-align by label and shift rows after a gap
    return arr.to_pandas(types_mapper=pd.ArrowDtype).set_axis(column.index).astype("string")


def id_frame(column: pd.Series, today: dt.date, allow_15: bool = True) -> pd.DataFrame:
    """Vectorised GB 11643 over a column (same verdicts as ``cn_id.problem``/``normalize``, ~100× faster):
    ``valid``, and for valid numbers the encoded ``gender`` (男/女) and ``birth`` date."""
    text = _clean(column, cn_id._FULLWIDTH).str.upper()
    out = pd.DataFrame({"valid": False, "gender": pd.Series(pd.NA, index=column.index, dtype="object"),
                        "birth": pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")}, index=column.index)
    is18 = text.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).to_numpy(dtype=bool)
    is15 = text.str.fullmatch(r"[0-9]{15}").fillna(False).to_numpy(dtype=bool) if allow_15 else np.zeros(len(text), bool)
    for mask, width, year in ((is18, 18, None), (is15, 15, "19")):
        if not mask.any():
            continue
        values = text[mask]
        digits = np.frombuffer("".join(values.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48
        ok = np.isin(digits[:, 0] * 10 + digits[:, 1], _PROVINCE_CODES)
        if width == 18:
            last = np.where(digits[:, 17] == 40, 10, digits[:, 17])  # 'X' - '0' = 40
            ok &= _ID_CHECK_VALUE[(digits[:, :17] @ np.array(cn_id.WEIGHTS)) % 11] == last
            born = pd.to_datetime(values.str.slice(6, 14), format="%Y%m%d", errors="coerce")
            ok &= ((born >= pd.Timestamp(1880, 1, 1)) & (born <= pd.Timestamp(today))).to_numpy(dtype=bool)
            sex = digits[:, 16]
        else:
            born = pd.to_datetime(year + values.str.slice(6, 12), format="%Y%m%d", errors="coerce")
            ok &= born.notna().to_numpy(dtype=bool)
            sex = digits[:, 14]
        index = values.index[ok]
        out.loc[index, "valid"] = True
        out.loc[index, "gender"] = np.where(sex[ok] % 2 == 1, "男", "女")
        out.loc[index, "birth"] = born[ok].to_numpy()
    return out
