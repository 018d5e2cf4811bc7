"""The fast paths of standardization give the answers of the definitions they replace.

``data/address_corpus.jsonl.gz`` holds 4,020 addresses (4,000 sampled from every address column of a
100,000-person demo city, seed 3, plus hand-written edge cases) with the components the parser gave before
it was optimised; the parser must still give exactly those. The column forms must agree with the scalar
functions whether they run in one process or share the work with helper processes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from entity_resolution.standardize import _pool, addresses, identifiers, names, phones
from entity_resolution.standardize.addresses import ADDRESS_COLUMNS, parse_address, parse_addresses

CORPUS = Path(__file__).with_name("data") / "address_corpus.jsonl.gz"


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_parse_address_matches_frozen_corpus(corpus: list[dict]) -> None:
    wrong = [(row["text"], row["parsed"]) for row in corpus
             if (None if (p := parse_address(row["text"])) is None else p.as_dict()) != row["parsed"]]
    assert len(corpus) > 4000
    assert wrong == []


def test_parse_addresses_matches_frozen_corpus(corpus: list[dict]) -> None:
    texts = [row["text"] for row in corpus] + [None]
    table = parse_addresses(texts, workers=1)
    expected = [row["parsed"] or dict.fromkeys(ADDRESS_COLUMNS) for row in corpus] + [dict.fromkeys(ADDRESS_COLUMNS)]
    assert table.column_names == ADDRESS_COLUMNS
    assert table.to_pylist() == expected


def test_parse_addresses_with_helpers_equals_one_process(corpus: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    # small chunks and no minimum, so that four helper rounds run on a small input
    monkeypatch.setattr(addresses, "PARALLEL_MIN_DISTINCT", 0)
    monkeypatch.setattr(addresses, "_CHUNK", 500)
    texts = [row["text"] for row in corpus] * 2 + [None, ""]
    alone = parse_addresses(texts, workers=1)
    assert parse_addresses(pa.array(texts), workers=3).equals(alone)
    assert parse_addresses(texts, workers=2).to_pylist() == alone.to_pylist()


def test_pool_returns_results_in_order_and_reports_a_dead_helper() -> None:
    chunks = [[f"深圳市南山区科苑路{i}号{j}栋" for j in range(3)] for i in range(7)]
    results = _pool.map_chunks(addresses.parse_address_chunk, chunks, 2)
    assert results is not None
    assert list(results) == [addresses.parse_address_chunk(c) for c in chunks]
    failing = _pool.map_chunks(addresses.parse_address_chunk, [["a"], [None]], 2)  # str None → the helper raises
    assert failing is not None
    with pytest.raises(ChildProcessError, match="helper process"):
        list(failing)


def test_names_and_pinyin_keys_equal_the_two_column_forms() -> None:
    values = pd.Series(["张伟", " 張偉 ", None, "单田芳", "阿依古丽 买买提", "john  smith", "不详", "张伟"], index=range(10, 18))
    name, key = names.names_and_pinyin_keys(values)
    assert name.tolist() == names.normalize_names(values).tolist()
    assert key.tolist() == names.pinyin_keys(values).tolist()
    assert list(name.index) == list(values.index)
    listed = names.names_and_pinyin_keys(values.tolist())
    assert listed == (names.normalize_names(values.tolist()), names.pinyin_keys(values.tolist()))


ID_VALUES = ["11010519491231002X", "11010519491231002x", "110105491231002", " 1101 0519 4912 3100 2X", None,
             "110105194912310021", "abc", 11010519491231002, "１１０１０５１９４９１２３１００２Ｘ"]


@pytest.mark.parametrize("kind", ["series", "list", "arrow"])
def test_identifier_columns_equal_scalar_functions(kind: str) -> None:
    text = [v if v is None else str(v) for v in ID_VALUES]
    column = {"series": pd.Series(text, dtype=object), "list": text, "arrow": pa.array(text)}[kind]

    def listed(result: object) -> list:
        return result.tolist() if isinstance(result, pd.Series) else (
            result.to_pylist() if isinstance(result, pa.Array) else list(result))

    assert listed(identifiers.id_numbers_for_matching(column)) == [identifiers.id_number_for_matching(v) for v in text]
    assert listed(identifiers.id_number_birth_dates(column)) == [identifiers.id_number_birth_date(v) for v in text]
    usccs = ["91440300MA5DC0RT1K", "91440300ma5dc0rt1k", "９１４４０３００ＭＡ５ＤＣ０ＲＴ１Ｋ", None, "x"]
    assert listed(identifiers.usccs_for_matching(usccs)) == [identifiers.uscc_for_matching(v) for v in usccs]
    phone_values = ["13800138000", "+86 138-0013-8000", "0755-88886666", "13800138000/0755-88886666", None, "12345"]
    assert listed(phones.mobiles_for_matching(phone_values)) == [phones._first_mobile(v) for v in phone_values]
    assert listed(phones.phones_array(pa.array(phone_values))) == [phones.phone_for_matching(v) for v in phone_values]


def test_mixed_object_column_falls_back_to_scalar() -> None:
    values = pd.Series(ID_VALUES, dtype=object)  # an int among the strings: not a text column
    assert identifiers.id_numbers_for_matching(values).tolist() == [identifiers.id_number_for_matching(v) for v in ID_VALUES]
