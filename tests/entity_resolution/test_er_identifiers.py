"""Identifiers and phones for matching: canonical when valid, None otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize.identifiers import (
    id_number_as_delivered,
    id_number_birth_date,
    id_number_for_matching,
    id_number_gender,
    uscc_for_matching,
)
from entity_resolution.standardize.phones import (
    landline_for_matching,
    mobile_for_matching,
    phone_for_matching,
    phones_in,
)
from quality.validators import cn_id, uscc
from tests.entity_resolution.er_strategies import fullwidth

AREAS = ["440303", "440304", "440305", "110101", "310115"]


@st.composite
def id_numbers(draw):
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)))
    body = draw(st.sampled_from(AREAS)) + born.strftime("%Y%m%d") + f"{draw(st.integers(0, 999)):03d}"
    return body + cn_id.check_char(body), born


@st.composite
def legacy_id_numbers(draw):
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)))
    return draw(st.sampled_from(AREAS)) + born.strftime("%y%m%d") + f"{draw(st.integers(0, 999)):03d}", born


@st.composite
def usccs(draw):
    org_body = draw(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    first17 = "91" + draw(st.sampled_from(AREAS)) + org_body + uscc.org_check_char(org_body)
    return first17 + uscc.check_char(first17)


@settings(deadline=None)
@given(id_numbers())
def test_id_number_surface_variants_match(case):
    number, born = case
    for variant in (number, number.lower(), fullwidth(number), f" {number[:6]} {number[6:14]} {number[14:]} "):
        assert id_number_for_matching(variant) == number
    assert id_number_birth_date(number) == born
    assert id_number_gender(number) == ("男" if int(number[16]) % 2 else "女")


@settings(deadline=None)
@given(legacy_id_numbers())
def test_legacy_15_digit_numbers_upgrade(case):
    number, born = case
    upgraded = id_number_for_matching(number)
    assert upgraded is not None and len(upgraded) == 18 and cn_id.is_valid(upgraded)
    assert upgraded[:6] == number[:6] and id_number_birth_date(number) == born


@settings(deadline=None)
@given(id_numbers(), st.integers(0, 17), st.integers(1, 9))
def test_any_single_character_change_is_refused(case, position, shift):
    number, _ = case
    alphabet = "0123456789X" if position == 17 else "0123456789"
    changed = alphabet[(alphabet.index(number[position]) + shift) % len(alphabet)]
    mutated = number[:position] + changed + number[position + 1:]
    assert id_number_for_matching(mutated) is None
    assert id_number_as_delivered(mutated) == mutated  # kept as delivered, only cleaned


def test_invalid_id_numbers():
    assert id_number_for_matching("") is None
    assert id_number_for_matching(None) is None
    assert id_number_for_matching("44030419900230123X") is None  # 30 February
    assert id_number_as_delivered(" 11010119900307663x ") == "11010119900307663X"


@settings(deadline=None)
@given(usccs())
def test_uscc_variants(code):
    assert uscc_for_matching(code) == code
    assert uscc_for_matching(code.lower()) == code
    assert uscc_for_matching(fullwidth(f"{code[:9]} {code[9:]}")) == code
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    wrong = code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % 31]
    assert uscc_for_matching(wrong) is None


mobiles = st.builds(lambda p, rest: f"1{p}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))


@settings(deadline=None)
@given(mobiles)
def test_mobile_variants(number):
    for variant in (number, f"+86{number}", f"0086 {number}", f"{number[:3]}-{number[3:7]}-{number[7:]}",
                    fullwidth(number), f"+86 {number[:3]} {number[3:7]} {number[7:]}"):
        assert mobile_for_matching(variant) == number
        assert phone_for_matching(variant) == number
    assert landline_for_matching(number) is None


@settings(deadline=None)
@given(st.sampled_from(["010", "020", "0755", "0371"]), st.integers(2, 9), st.integers(0, 9_999_999))
def test_landline_variants(area, first, rest):
    number = f"{first}{rest:07d}"
    expected = f"{area}-{number}"
    for variant in (f"{area}-{number}", f"({area}){number}", f"{area} {number[:4]} {number[4:]}",
                    f"{area}{number}", f"+86 {area[1:]} {number}", f"{area}-{number}转{first}23", fullwidth(expected)):
        assert landline_for_matching(variant) == expected
        assert phone_for_matching(variant) == expected
    assert landline_for_matching(number) == f"0755-{number}"  # no area code: local


@pytest.mark.parametrize("bad", ["", "abc", "0755-1234", "12345", "0755-01234567", None])
def test_not_phones(bad):
    assert phone_for_matching(bad) is None


def test_cells_listing_several_numbers():
    assert phones_in("0755-88886666/13800138000，13800138000") == ["13800138000", "0755-88886666"]
    assert phones_in(None) == []
