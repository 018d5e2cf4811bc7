"""The gate's column checks (``quality.rowcheck``) give the scalar validators' verdicts, value for value, on
object and on Arrow-backed text columns (the gate hands GE the latter)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quality.rowcheck import id_frame, mobile_ok, pair_ok
from quality.validators import cn_id, phone

TODAY = dt.date(2026, 9, 1)
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
DTYPES = [object, pd.StringDtype("pyarrow", na_value=float("nan"))]


@st.composite
def id_like(draw: st.DrawFn) -> str | None:
    """Valid 18- and 15-digit numbers, and the ways departments get them wrong."""
    region = draw(st.sampled_from(sorted(cn_id.PROVINCES) + ["00", "99"])) + draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(dt.date(1850, 1, 1), dt.date(2030, 12, 31)))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = f"{region}{born:%Y%m%d}{seq}"
    value = first17 + cn_id.check_char(first17)
    kind = draw(st.sampled_from(["ok", "digit", "lower", "legacy", "space", "fullwidth", "month", "short", "none"]))
    if kind == "digit":
        pos = draw(st.integers(0, 17))
        value = value[:pos] + draw(st.sampled_from("0123456789X")) + value[pos + 1:]
    elif kind == "lower":
        value = value.lower()
    elif kind == "legacy":
        value = f"{region}{born:%y%m%d}{seq}"
    elif kind == "space":
        value = f" {value[:6]} {value[6:]}\t"
    elif kind == "fullwidth":
        value = value.translate(FULLWIDTH)
    elif kind == "month":
        value = value[:10] + draw(st.sampled_from(["00", "13", "02"])) + draw(st.sampled_from(["00", "29", "30", "31"])) + value[14:]
    elif kind == "short":
        value = value[:draw(st.integers(0, 17))]
    elif kind == "none":
        return None
    return value


@pytest.mark.parametrize("dtype", DTYPES, ids=["object", "arrow"])
@settings(deadline=None, max_examples=60)
@given(values=st.lists(id_like(), min_size=1, max_size=40), allow_15=st.booleans())
def test_id_frame_agrees_with_the_scalar_validator(dtype: object, values: list[str | None], allow_15: bool) -> None:
    column = pd.Series(values, dtype=dtype, index=range(5, 5 + len(values)))
    frame = id_frame(column, TODAY, allow_15)
    assert list(frame.index) == list(column.index)
    for value, valid, gender, birth in zip(values, frame["valid"], frame["gender"], frame["birth"], strict=True):
        expected = value is not None and cn_id.problem(value, allow_15=allow_15, today=TODAY) is None
        assert bool(valid) == expected, value
        if expected:
            clean = cn_id.clean(value)
            assert birth == pd.Timestamp(cn_id.birth_date(clean)) and gender == cn_id.gender(clean), value
        else:
            assert pd.isna(birth) and pd.isna(gender), value


@pytest.mark.parametrize("dtype", DTYPES, ids=["object", "arrow"])
def test_mobile_check_agrees_with_the_scalar_validator(dtype: object) -> None:
    values = ["13800138000", "+86 138 0013 8000", "0086-13800138000", "８６13800138000", "(138)0013.8000",
              "0755-1234567", "12800138000", "1380013800", "138001380000", "+8613800138000x", "", None]
    ok = mobile_ok(pd.Series(values, dtype=dtype))
    assert list(ok) == [v is None or phone.is_valid_mobile(v) for v in values]


def test_cross_field_checks_pass_where_either_side_is_missing_or_invalid() -> None:
    first17 = "44030419900102123"
    male = first17 + cn_id.check_char(first17)  # 17th digit 3: male
    ids = pd.Series([male, male, male, None, "bad", male], dtype=DTYPES[1])
    genders = pd.Series(["男", "女", None, "女", "女", "F"], dtype=DTYPES[1])
    assert list(pair_ok("cn_id_gender", ids, genders)) == [True, False, True, True, True, False]
    births = pd.Series(pd.to_datetime(["1990-01-02", "1990-01-03", None, "1990-01-02", "1990-01-02", "1990-01-02"]))
    assert list(pair_ok("cn_id_birth_date", ids, births)) == [True, False, True, True, True, True]
