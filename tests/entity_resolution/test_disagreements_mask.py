"""material_mask agrees with material row for row (it is the correction loop's fast path)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.disagreements import material, material_mask

ROWS = [
    ("gender", "男", "1"), ("gender", "男", "女"), ("phone", "+86 139-1234-5678", "13912345678"),
    ("phone", "13912345678", "13912345679"), ("name", "張偉", "张伟"), ("name", "张伟", "张玮"),
    ("id_number", "110101199003076616", "110101900307661"), ("id_number", "bad", "BAD"), ("id_number", None, "x"),
    ("residence_address", "南山区科苑路十五号科兴科学园A幢1203", "南山区科苑路15号科兴科学园A座1203"),
    ("residence_address", "南山区科苑路15号", "福田区深南大道1号"), ("residence_address", None, "  "),
    ("registered_address", "", "福田区深南大道1号"), ("birth_date", "1990年1月2日", "1990-01-02"),
    ("birth_date", "1990-01-02", "not a date"), ("lon", "114.05", "114.0501"), ("lat", "22.5", "x"),
    ("uscc", "91440300MA5FXXXX1X", "91440300ma5fxxxx1x"), ("employer_name", "深圳市腾讯计算机系统有限公司",
                                                          "腾讯计算机系统有限责任公司"), ("floors", "12", "12 "),
]


def test_the_mask_is_material_row_for_row() -> None:
    fields, left, right = (pa.array([r[i] for r in ROWS], pa.string()) for i in range(3))
    expected = [material(*r) for r in ROWS]
    assert material_mask(fields, left, right).tolist() == expected
    assert any(expected) and not all(expected)


MORE_ROWS = [
    # equal texts (after trimming) are never material, and need no normalizing
    ("residence_address", "南山区科苑路15号", " 南山区科苑路15号\u3000"), ("gender", "x", "x"), ("lon", "nan", "nan"),
    ("lat", None, " "), ("floors", " 12", "12\t"), (None, "a", "a"), (None, "a", "b"),
    # one address in several fields is parsed once, and keeps its field's answer
    ("hukou_address", "南山区科苑路十五号科兴科学园A幢1203", "南山区科苑路15号科兴科学园A座1203"),
    ("business_address", "南山区科苑路15号", "南山区科苑路十五号"), ("address", "无", "不详"),
    ("address", "无", "福田区深南大道1号"), ("residence_address", "南山区科苑路15号科兴科学园A座1203", None),
    ("phone", "", "  "), ("phone", "abc", "ABC"), ("employer_uscc", "91440300ma5fxxxx1x", None),
]


@pytest.mark.parametrize("rows", [ROWS + MORE_ROWS, MORE_ROWS[::-1], MORE_ROWS[:1], []])
def test_the_mask_is_material_on_any_mix(rows: list[tuple]) -> None:
    fields, left, right = (pa.array([r[i] for r in rows], pa.string()) for i in range(3))
    assert material_mask(fields, left, right).tolist() == [material(*r) for r in rows]


VALUES = ["男", "1", "女", " 13912345678", "+86 139-1234-5678", "南山区科苑路15号科兴科学园A座1203", "南山区科苑路十五号",
          "福田区深南大道1号", "", None, "1990-01-02", "1990年1月2日", "114.05", "x"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["gender", "phone", "residence_address", "hukou_address", "birth_date",
                                           "lon", "name", "other"]),
                          st.sampled_from(VALUES), st.sampled_from(VALUES)), max_size=25))
def test_the_mask_is_material_for_any_rows(rows: list[tuple]) -> None:
    fields, left, right = (pa.array([r[i] for r in rows], pa.string()) for i in range(3))
    assert material_mask(fields, left, right).tolist() == [material(*r) for r in rows]
