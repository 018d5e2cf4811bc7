"""Only real disagreements go back to departments, not differences in how a value is written."""

from __future__ import annotations

import pytest

from entity_resolution.disagreements import material


@pytest.mark.parametrize(("field", "a", "b"), [
    ("gender", "男", "1"),
    ("phone", "+86-152 4000 4380", "15240004380"),
    ("name", "郑子泽", "郑 子泽"),
    ("name", "張偉", "张伟"),
    ("id_number", "42010619900101384x", "42010619900101384X"),
    ("residence_address", "深圳市龙华区大浪街道臣田社区和平路81号金色名苑1栋1006室",
     "广东省深圳市龙华区大浪街道臣田社区和平路81号金色名苑1幢1006室"),
    ("residence_address", "深圳市龙岗区龙岗街道渔农社区吉华路３０８号深业名苑３栋７０２室",
     "深圳市龙岗区龙岗街道渔农社区吉华路308号深业名苑3栋702室"),
    ("lat", 22.587026, 22.586951),
    ("birth_date", "1990-01-02", "19900102"),
])
def test_formatting_differences_are_not_material(field: str, a: object, b: object) -> None:
    assert not material(field, a, b)


@pytest.mark.parametrize(("field", "a", "b"), [
    ("gender", "男", "女"),
    ("phone", "15240004380", "15520006329"),
    ("name", "赵郭泽", "赵国泽"),
    ("birth_date", "2000-05-22", "1995-06-08"),
    ("residence_address", "深圳市南山区南头街道皇岗社区桃园路329号皇岗新村46栋112室",
     "深圳市南山区南头街道皇岗社区桃园路329号皇岗新村56栋416室"),
    ("lat", 22.58, 22.60),
    ("uscc", "91440300MA5L8PXX7G", "91440300MA5L8XXX7G"),
])
def test_real_differences_are_material(field: str, a: object, b: object) -> None:
    assert material(field, a, b)
