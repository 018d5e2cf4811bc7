"""The array forms of the validators (``*_array``) give the scalar function's answer for every value:
random valid numbers, single-character slips, legacy 15-digit numbers, spaced and full-width forms, junk."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from quality.validators import cn_id, phone, uscc
from tests.quality.test_validators import legacy_ids, valid_ids, valid_usccs

TODAY = dt.date(2026, 6, 1)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def slipped(draw: st.DrawFn, base: st.SearchStrategy[str], alphabet: str) -> str:
    """``base`` with one character replaced, deleted, or two swapped (the slips a clerk makes)."""
    value = draw(base)
    i = draw(st.integers(0, len(value) - 1))
    kind = draw(st.sampled_from(["replace", "delete", "swap", "lower"]))
    if kind == "replace":
        return value[:i] + draw(st.sampled_from(alphabet)) + value[i + 1:]
    if kind == "delete":
        return value[:i] + value[i + 1:]
    if kind == "swap" and i + 1 < len(value):
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    return value.lower()


def _variants(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(base, base.map(_fullwidth), base.map(lambda v: f" {v[:6]} {v[6:]} "), base.map(str.lower))


# Dates that are not real or lie in the future, which only the date check catches.
bad_dates = st.builds(lambda p, y, m, d, s: f"{p}0305{y:04d}{m:02d}{d:02d}{s:03d}", st.sampled_from(sorted(cn_id.PROVINCES)),
                      st.integers(0, 2999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 999)).map(
    lambda first17: first17 + cn_id.check_char(first17))
id_values = st.lists(st.one_of(
    _variants(valid_ids()), _variants(legacy_ids()), slipped(valid_ids(), "0123456789Xx"),
    slipped(legacy_ids(), "0123456789"), bad_dates, st.text("0123456789Xx ", max_size=20), st.text(max_size=20),
    st.none()), max_size=40)


@settings(deadline=None, max_examples=300)
@given(id_values)
def test_cn_id_arrays_agree_with_scalar(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    assert cn_id.normalize_array(arr, today=TODAY).to_pylist() == [
        None if v is None else cn_id._normalize_on(v, TODAY) for v in values]
    assert cn_id.is_valid_array(arr, today=TODAY).to_pylist() == [cn_id.is_valid(v, today=TODAY) for v in values]
    assert cn_id.birth_date_array(arr).to_pylist() == [None if v is None else _birth_date(v) for v in values]


def _birth_date(value: str) -> dt.date | None:
    try:
        return cn_id.birth_date(value)
    except (ValueError, IndexError):  # pragma: no cover - birth_date itself catches ValueError
        return None


def test_cn_id_normalize_array_matches_normalize_today() -> None:
    values = ["11010519491231002x", "110105491231002", "110105194912310021", None, "１１０１０５１９４９１２３１００２Ｘ"]
    assert cn_id.normalize_array(pa.array(values)).to_pylist() == [
        None if v is None else cn_id.normalize(v) for v in values]
    assert cn_id.normalize_array(pa.chunked_array([values[:2], values[2:]])).to_pylist() == cn_id.normalize_array(
        pa.array(values)).to_pylist()


def test_array_forms_keep_length_and_nulls() -> None:
    empty = pa.array([], pa.string())
    assert len(cn_id.normalize_array(empty)) == len(uscc.normalize_array(empty)) == 0
    assert cn_id.is_valid_array(pa.array([None, None], pa.string())).to_pylist() == [False, False]
    assert phone.normalize_mobile_array(pa.array([None, "13800138000"])).to_pylist() == [None, "13800138000"]


uscc_alphabet = uscc.ALPHABET + "IOZSVabc"
# Right GB 32100 check character over a random body: only the embedded GB 11714 check can refuse these.
main_check_only = st.text(uscc.ALPHABET, min_size=17, max_size=17).map(lambda first17: first17 + uscc.check_char(first17))
uscc_values = st.lists(st.one_of(
    _variants(valid_usccs()), main_check_only, slipped(valid_usccs(), uscc_alphabet), st.text(uscc_alphabet + " ", max_size=20),
    st.text(uscc.ALPHABET, min_size=18, max_size=18), st.none()), max_size=40)


@settings(deadline=None, max_examples=300)
@given(uscc_values, st.booleans())
def test_uscc_arrays_agree_with_scalar(values: list[str | None], check_org_code: bool) -> None:
    arr = pa.array(values, pa.string())
    assert uscc.normalize_array(arr).to_pylist() == [None if v is None else uscc.normalize(v) for v in values]
    assert uscc.is_valid_array(arr, check_org_code=check_org_code).to_pylist() == [
        uscc.is_valid(v, check_org_code=check_org_code) for v in values]


mobiles = st.builds(lambda p, rest: f"1{p}{rest}", st.sampled_from("0123456789"), st.text("0123456789", min_size=9, max_size=9))
phone_values = st.lists(st.one_of(
    mobiles, mobiles.map(lambda m: f"+86 {m[:3]}-{m[3:7]}-{m[7:]}"), mobiles.map(_fullwidth), mobiles.map(lambda m: "86" + m),
    st.text("0123456789-+ ", max_size=16), st.none()), max_size=40)


@settings(deadline=None, max_examples=200)
@given(phone_values)
def test_mobile_arrays_agree_with_scalar(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    assert phone.normalize_mobile_array(arr).to_pylist() == [phone.normalize_mobile(v) for v in values]
    assert phone.is_valid_mobile_array(arr).to_pylist() == [phone.is_valid_mobile(v) for v in values]
