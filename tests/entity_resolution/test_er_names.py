"""Person-name standardization: one written form, surname-aware pinyin, homophone keys."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize.names import name_pinyin, normalize_name, pinyin_key, surname_readings
from tests.entity_resolution.er_strategies import GIVEN_CHARS, SURNAMES, fullwidth, han_names

_S2T = opencc.OpenCC("s2t")


@pytest.mark.parametrize(("raw", "expected"), [
    ("張偉", "张伟"),
    ("沈靜", "沈静"),  # OpenCC's phrase table would give 沉静
    ("张  三", "张三"),
    ("张\u3000三", "张三"),
    ("王.小明", "王小明"),
    ("王五（已故）", "王五"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
    ("阿依古丽・买买提", "阿依古丽·买买提"),
    ("阿依古丽 买买提", "阿依古丽·买买提"),
    ("阿依古丽．买买提", "阿依古丽·买买提"),
    ("欧阳 娜娜", "欧阳娜娜"),  # four characters: a compound surname, not a transliteration
    ("ｊｏｈｎ  smith", "JOHN SMITH"),
    ("不详", None), ("-", None), ("", None), (None, None),
])
def test_normalize_name_examples(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("单田芳", "shan tian fang"), ("曾国藩", "zeng guo fan"), ("解小东", "xie xiao dong"),
    ("仇英", "qiu ying"), ("区志航", "ou zhi hang"), ("查良镛", "zha liang yong"), ("朴树", "piao shu"),
    ("尉迟恭", "yu chi gong"), ("吕布", "lv bu"), ("王小明", "wang xiao ming"),
])
def test_surnames_take_their_surname_reading(name, expected):
    assert name_pinyin(name) == expected


def test_default_pypinyin_reading_is_what_we_correct():
    # Guards the premise: if pypinyin starts reading 单 as shan on its own, the table can shrink.
    from pypinyin import lazy_pinyin

    assert lazy_pinyin("单田芳")[0] == "dan"
    assert {"单", "曾", "解", "仇", "区", "查", "朴"} <= set(surname_readings())


def test_surname_reading_only_at_the_start():
    assert name_pinyin("王单") == "wang dan"  # 单 in a given name keeps its everyday reading
    assert name_pinyin("曾曾") == "zeng ceng"


def test_tones_and_homophone_keys():
    assert name_pinyin("单田芳", tones=True) == "shan4 tian2 fang1"
    assert name_pinyin("张伟", tones=True) != name_pinyin("张威", tones=True)
    assert pinyin_key("张伟") == pinyin_key("张威") == pinyin_key("章玮") == "zhang wei"
    assert pinyin_key("王小明") == pinyin_key("王晓明")
    assert pinyin_key("王小明") != pinyin_key("黄小明")
    assert pinyin_key("阿依古丽·买买提") == pinyin_key("阿依古丽买买提")


@settings(deadline=None)
@given(han_names)
def test_normalize_is_idempotent(name):
    once = normalize_name(name)
    assert once == name
    assert normalize_name(once) == once


@settings(deadline=None)
@given(han_names, st.lists(st.sampled_from([" ", "\u3000", "·", ".", "．"]), min_size=1, max_size=2))
def test_separators_inside_short_han_names_are_dropped(name, seps):
    spaced = name[0] + "".join(seps) + name[1:]
    assert normalize_name(spaced) == name
    assert normalize_name(f"  {name}\u3000") == name


@settings(deadline=None)
@given(han_names)
def test_traditional_and_simplified_are_one_name(name):
    # character by character: OpenCC's phrase table would turn the name 沈静 into the word 沉靜
    traditional = "".join(_S2T.convert(c) for c in name)
    assert normalize_name(traditional) == name
    assert pinyin_key(traditional) == pinyin_key(name)


@settings(deadline=None)
@given(han_names)
def test_pinyin_has_one_syllable_per_character(name):
    syllables = pinyin_key(name).split()
    assert len(syllables) == len(name)
    assert all(s.isascii() and s.isalpha() for s in syllables)
    toned = name_pinyin(name, tones=True).split()
    assert [t.rstrip("12345") for t in toned] == syllables
    assert all(t[-1] in "12345" for t in toned)


@settings(deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ", min_size=1, max_size=20))
def test_latin_names_fold_width_and_case(name):
    expected = " ".join(name.split()).upper() or None
    if expected is not None and expected.lower() in {"null", "none", "na", "n/a"}:
        expected = None
    assert normalize_name(name) == expected
    assert normalize_name(fullwidth(name)) == expected


def test_strategy_alphabets_are_han():
    assert all("\u4e00" <= c <= "\u9fff" for c in GIVEN_CHARS + SURNAMES)


@settings(deadline=None)
@given(st.integers(0, 9999))
def test_chinese_numerals_round_trip(n):
    from entity_resolution.standardize._text import cn_numeral_to_int, int_to_cn, int_to_cn_digits

    assert cn_numeral_to_int(int_to_cn(n)) == n
    assert cn_numeral_to_int(int_to_cn_digits(n)) == n
