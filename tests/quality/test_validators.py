"""Property tests (hypothesis) for the identifier validators: generated valid values pass, every single
character change fails, 15→18 upgrades round-trip; plus the division table, genders and mobile numbers."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from quality.validators import cn_id, division, enums, phone, uscc

PROVINCES = sorted(cn_id.PROVINCES)
DIGITS = "0123456789"


@st.composite
def id_first17(draw: st.DrawFn, start: dt.date = dt.date(1900, 1, 1), end: dt.date = dt.date(2020, 12, 31)) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text(DIGITS, min_size=4, max_size=4))
    born = draw(st.dates(start, end))
    seq = draw(st.text(DIGITS, min_size=3, max_size=3))
    return f"{region}{born:%Y%m%d}{seq}"


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    first17 = draw(id_first17())
    return first17 + cn_id.check_char(first17)


@st.composite
def legacy_ids(draw: st.DrawFn) -> str:
    first17 = draw(id_first17(dt.date(1900, 1, 1), dt.date(1999, 12, 31)))
    return first17[:6] + first17[8:]  # 15 digits: two-digit year, no check character


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    org_alphabet = [c for c in uscc.ALPHABET if c in uscc._ORG_VALUE]
    head = draw(st.sampled_from("19ABCDEFGNY")) + draw(st.sampled_from("123459"))
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text(DIGITS, min_size=4, max_size=4))
    org = "".join(draw(st.lists(st.sampled_from(org_alphabet), min_size=8, max_size=8)))
    first17 = head + region + org + uscc.org_check_char(org)
    return first17 + uscc.check_char(first17)


@given(valid_ids())
def test_generated_ids_are_valid(value: str) -> None:
    assert cn_id.is_valid(value)
    assert cn_id.normalize(value.lower()) == value
    assert cn_id.problem(value, today=dt.date(2026, 1, 1)) is None


@settings(max_examples=60)
@given(valid_ids(), st.data())
def test_every_single_character_change_fails(value: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, 17))
    other = data.draw(st.sampled_from([c for c in DIGITS + "X" if c != value[pos]]))
    changed = value[:pos] + other + value[pos + 1:]
    assert not cn_id.is_valid(changed)
    assert cn_id.problem(changed, today=dt.date(2026, 1, 1)) is not None


@given(legacy_ids())
def test_15_to_18_round_trips(value: str) -> None:
    upgraded = cn_id.upgrade_15_to_18(value)
    assert cn_id.is_valid(upgraded)
    assert upgraded[:6] + upgraded[8:17] == value  # drop "19" and the check character: the original again
    assert cn_id.normalize(value) == upgraded
    assert cn_id.birth_date(value) == cn_id.birth_date(upgraded)
    assert cn_id.gender(value) == cn_id.gender(upgraded)


def test_id_problems_are_specific() -> None:
    good = "11010519491231002X"
    assert cn_id.is_valid(good)
    assert "校验码" in cn_id.problem(good[:-1] + "1")
    assert "地区码" in cn_id.problem("99" + good[2:])
    assert "出生日期" in cn_id.problem("110105" + "19491331" + "0021")
    assert "18" in cn_id.problem(good[:-2])
    assert cn_id.gender(good) == "女"


@given(valid_usccs())
def test_generated_usccs_are_valid(value: str) -> None:
    assert uscc.is_valid(value)
    assert uscc.normalize(f" {value.lower()} ") == value


@settings(max_examples=60)
@given(valid_usccs(), st.data())
def test_every_single_uscc_character_change_fails(value: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, 17))
    other = data.draw(st.sampled_from([c for c in uscc.ALPHABET if c != value[pos]]))
    changed = value[:pos] + other + value[pos + 1:]
    assert not uscc.is_valid(changed, check_org_code=False)
    assert uscc.problem(changed) is not None


def test_uscc_embedded_org_code_checked() -> None:
    org = "MA5D8C3P"
    first17 = "91440300" + org + "0" if uscc.org_check_char(org) != "0" else "91440300" + org + "1"
    value = first17 + uscc.check_char(first17)  # outer checksum right, organisation-code check wrong
    assert uscc.is_valid(value, check_org_code=False)
    assert not uscc.is_valid(value)
    assert "组织机构代码" in uscc.problem(value)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["{}", "+86{}", "+86 {}", "0086{}", "86-{}"]),
       st.booleans())
def test_mobile_normalised_from_decorations(number: str, pattern: str, dashed: bool) -> None:
    shown = f"{number[:3]}-{number[3:7]}-{number[7:]}" if dashed else f"{number[:3]} {number[3:7]} {number[7:]}"
    assert phone.normalize_mobile(pattern.format(shown)) == number
    assert phone.problem(pattern.format(shown)) is None


@given(st.from_regex(r"0[1-9][0-9]{1,2}-?[0-9]{7,8}", fullmatch=True))
def test_landlines_are_not_mobiles(number: str) -> None:
    assert not phone.is_valid_mobile(number)
    assert "固定电话" in phone.problem(number)


def test_division_codes_with_validity_dates() -> None:
    assert division.is_valid("440304")
    assert division.is_valid("110101")  # a province the table does not detail: province level only
    assert not division.is_valid("990101")
    assert not division.is_valid("440399")  # Shenzhen is detailed: an unknown district fails
    assert "440104" in division.problem("440102", on=dt.date(2020, 1, 1))  # 东山区, merged into 越秀区 in 2005
    assert division.is_valid("440102", on=dt.date(2000, 1, 1))
    assert division.is_valid("440102", on=dt.date(2020, 1, 1), allow_retired=True)
    assert not division.is_valid("440311", on=dt.date(2010, 1, 1))  # 光明区 only from 2018
    assert not division.is_valid("4403")


@given(st.sampled_from(["男", "女", "1", "2", "M", "F", "m", "f", " 男 ", "男性", "Female"]))
def test_gender_codes(value: str) -> None:
    assert enums.normalize_gender(value) in ("男", "女")


@given(st.text(max_size=4).filter(lambda t: t.strip().upper() not in enums._GENDER))
def test_other_gender_values_fail(value: str) -> None:
    assert enums.normalize_gender(value) is None
    assert enums.gender_problem(value) is not None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(valid_ids(), legacy_ids(), st.text("0123456789Xx ", min_size=14, max_size=19),
                          valid_ids().map(lambda v: v[:5] + "7" + v[6:]), valid_ids().map(str.lower)),
                min_size=1, max_size=40))
def test_vectorised_id_check_agrees_with_the_scalar_one(values: list[str]) -> None:
    import pandas as pd

    from quality.rowcheck import id_frame

    today = dt.date(2026, 11, 1)
    index = pd.RangeIndex(0, 3 * len(values), 3)  # GE hands over columns with gaps (missing values dropped)
    frame = id_frame(pd.Series(values, dtype=object, index=index), today)
    for value, valid, gender, born in zip(values, frame["valid"], frame["gender"], frame["birth"], strict=True):
        assert valid == (cn_id.problem(value, today=today) is None), value
        if valid:
            normal = cn_id.normalize(value)
            assert gender == cn_id.gender(normal) and born.date() == cn_id.birth_date(normal)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"(\+86|0086|86|＋８６)?[ -]?1[0-9]{2}[ -]?[0-9]{4}[ -]?[0-9]{4}", fullmatch=True),
                          st.text("0123456789+-() .８６", max_size=16)), min_size=1, max_size=40))
def test_vectorised_mobile_check_agrees_with_the_scalar_one(values: list[str]) -> None:
    import pandas as pd

    from quality.rowcheck import single_ok

    series = pd.Series(values, dtype=object, index=pd.RangeIndex(5, 5 + 2 * len(values), 2))
    verdicts = single_ok("cn_mobile", series, {}, dt.date(2026, 11, 1)).tolist()
    assert verdicts == [phone.is_valid_mobile(v) for v in values]
