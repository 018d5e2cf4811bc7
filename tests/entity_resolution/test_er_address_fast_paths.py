"""The fast paths the correction loop relies on give the definitions' answers: fold_chunk's suffix path (a
building's text once, then ``<digits>栋|幢|座|号楼<digits>[室]``) folds every text exactly as
:func:`fold_address` folds it alone, and parse_addresses of a dictionary array parses its entries as given."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize import addresses

# heads chosen to break each step of the argument in _fold_heads / _suffix_folds_alone: a letter, a digit
# (ASCII, full-width, other scripts), a dash, a numeral, 第, markers, noise, traditional characters
_HEADS = ["深圳市南山区科苑路15号科兴科学园", "南山區科苑路十五號", "八卦一", "八卦一路", "第", "工业八路45号东海广场H", "3#",
          "科兴A", "A", "5", "-", "十", "万", "陸", "號", "ＡＢ", " ", "，", "(", "花园 ", "碧海花园3-", "\n", "a", "z", "é",
          "\u0301", "\ufa6c", "\u2f00", "丽", "貳", "两", "１", "٣", "A幢", "3座", "号", "栋", "楼", "Ａ", "ｂ", "二单元",
          "龙联新村", "华联新村3栋", "新村#", "幢", "座"]
_SUFFIXES = ["1栋703室", "12栋2407室", "3栋906", "1幢3102室", "2幢1606", "8号楼608室", "8号楼608", "4座201室", "4座201",
             "0幢0", "幢1室", "1座室", "1号楼", "号楼1", "1楼1室", "1栋楼1室", "1#1室", "A1幢1室", "1-1座1室", "１幢１室",
             "1幢1室 ", "1棟1室", "1號樓1室", "1座1号", "1座1房", "12", "室", "2栋五楼02室", "2幢二十一楼08室",
             "8号楼十楼1", "2座十五楼3", "2栋壹楼1室", "2栋五楼室", "五楼02室", "2栋两楼1室", "2栋十十楼1室", "2栋五樓1室",
             "2栋一百楼1室", "2栋五层1室", "栋五楼1室", "2栋5楼1室", "0栋0室", "栋1室", "1栋室", "1栋1号", "１栋１室",
             "1栋1室 ", "A1栋1室", "1-1栋1室"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(_HEADS), max_size=5).map("".join), st.sampled_from(_SUFFIXES)),
                min_size=1, max_size=10))
def test_fold_chunk_equals_fold_address_for_any_suffix_marker(parts: list[tuple[str, str]]) -> None:
    values = [head + suffix for head, suffix in parts] + [head for head, _ in parts]
    assert addresses.fold_chunk(values) == [addresses.fold_address(v) for v in values]


def test_suffix_forms_take_the_fast_path() -> None:
    # the spellings the correction loop compares: found as suffixes (else the fast path would never run)
    head = "深圳市宝安区福海街道大新社区新安六路132号鸿荣源公馆"
    for suffix in ("2栋1603室", "2栋1603", "2幢1603室", "2座1603", "2号楼1603室", "2栋五楼03室", "2号楼二十一楼03"):
        assert addresses._room_suffix_start(head + suffix) == len(head), suffix
    for text in (head + "A座1603室", head + "2栋楼1603室", head + "2栋5楼03室", "2栋1603室", head + "2栋",
                 head + "五楼03室"):
        assert addresses._room_suffix_start(text) == 0, text


def test_a_head_that_continues_a_number_keeps_the_slow_path() -> None:
    # 科兴A3幢 is not a building 3 (the look-behind refuses the letter): the fold keeps 幢
    for value in ("科兴A3幢101室", "科兴１3座101室", "碧海花园3-2号楼101室", "科兴٣3幢101"):
        assert addresses.fold_chunk([value]) == [addresses.fold_address(value)]
    assert addresses.fold_address("科兴A3幢101室").endswith("A3幢101室")


def test_heads_folded_in_earlier_chunks_fold_the_same(monkeypatch) -> None:  # noqa: ANN001
    # the folded heads are kept across calls (and dropped all at once past a bound): no answer may change
    monkeypatch.setattr(addresses, "_HEAD_CACHE", {})
    monkeypatch.setattr(addresses, "_HEAD_CACHE_MAX", 3)
    values = [head + suffix for head in _HEADS for suffix in _SUFFIXES[:6]]
    for chunk in (values[:40], values[20:90], values, values[::-1], values[:5]):
        before = set(addresses._HEAD_CACHE)
        assert addresses.fold_chunk(chunk) == [addresses.fold_address(v) for v in chunk]
        heads = {v[:start] for v in chunk if (start := addresses._room_suffix_start(v))}
        # past the bound the cache holds this chunk's heads only; below it, it only grows
        assert set(addresses._HEAD_CACHE) == (before if heads <= before else heads)


_TEXTS = ["深圳市南山区科苑路15号科兴科学园A座1203", "南山区科苑路十五号科兴科学园A幢1203", "", "不详", "福田区深南大道1号",
          "碧海花园3-2-501", "龙华区民治街道珠光社区龙华大道２７８号珠光新村１栋７０４"]


@pytest.mark.parametrize(("indices", "dictionary"), [
    ([0, 1, 2, 3, 4, 5, 6], _TEXTS),  # as disagreements passes its distinct texts
    ([6, None, 0, 0, 3, 1, 1, 2], _TEXTS),  # repeated, missing and unused entries
    ([1, 0, 1, 2], ["科苑路15号", "科苑路15号", "科苑路十五号"]),  # a dictionary may repeat a value
    ([0, 1], ["科苑路15号", None]),  # a null entry: encoded again
    ([0], _TEXTS),  # more entries than rows: encoded again
    ([], []),
])
def test_a_dictionary_array_parses_as_its_values(indices: list, dictionary: list) -> None:
    array = pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(dictionary, pa.string()))
    expected = addresses.parse_addresses(array.cast(pa.string()))
    assert addresses.parse_addresses(array).equals(expected)
    assert addresses.parse_addresses(array, columns=["building_key", "unit_key"]).equals(
        expected.select(["building_key", "unit_key"]))
    assert expected.column("unit_key").to_pylist() == [
        None if i is None else (p.unit_key if (p := addresses.parse_address(dictionary[i])) else None) for i in indices]
