"""material_mask agrees with material row for row (it is the correction loop's fast path)."""

from __future__ import annotations

import pyarrow as pa

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
