"""The fast paths of standardization give the answers of the definitions they replace.

``data/address_corpus.jsonl.gz`` holds 4,020 addresses (4,000 sampled from every address column of a
100,000-person demo city, seed 3, plus hand-written edge cases) with the components the parser gave before
it was optimised; the parser must still give exactly those. The column forms must agree with the scalar
functions whether they run in one process or share the work with helper processes.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize import _pool, _vector, addresses, identifiers, names, phones
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


def _scalar_rows(values: list[str | None], columns: list[str]) -> list[dict[str, str | None]]:
    out = []
    for value in values:
        parsed = parse_address(value)
        row = dict.fromkeys(ADDRESS_COLUMNS) if parsed is None else parsed.as_dict()
        out.append({c: row[c] for c in columns})
    return out


# Texts at the edges of the vector form of parse_addresses: two dashes (the compact tail, scalar path), one
# dash, texts as short as a null marker, null markers in any case, a whole text of tail characters, a bare
# road number, a number before 号 that is not a room, a newline inside, traditional and full-width text.
EDGE_ADDRESSES = [
    "宝安区碧海花园3-2-501", "宝安区碧海花园3-2-501室", "碧海花园3-501", "3-2-501", "A-1-2-3", "不详", "NULL", "None",
    "-", "--", "/", "?", "无", "空", "", "  ", "1203室", "A座", "3栋", "12楼", "1203", "深南大道6008号", "南山区科苑路15号",
    "南山区科苑路15号1203", "南山区科苑路15号1203室", "科兴科学园A栋12楼1203室", "南山区\n科苑路15号A座1203",
    "南山區科苑路十五號科興科學園Ａ幢１２０３", "福田区景田路282号阳光新城10栋十九楼04室", "南山区", "ABCD", "深圳市南山区X1",
    "广东省深圳市龙岗区布吉街道石厦社区爱联路41号卓越花园3栋308室", "龙岗区布吉路54号车公庙新村35栋403室-", "-1栋1室",
]


@pytest.mark.parametrize("columns", [ADDRESS_COLUMNS, ["building_key", "unit_key"], ["unit_key"], ["room", "building_key"]])
def test_vector_parse_equals_scalar_on_edges(columns: list[str]) -> None:
    values = [*EDGE_ADDRESSES, None, *EDGE_ADDRESSES]
    assert parse_addresses(values, columns=columns).to_pylist() == _scalar_rows(values, columns)


_PIECES = ["深圳市", "南山区", "南山", "粤海街道", "科技园社区", "科苑路", "深南大道", "八卦一路", "15号", "6008", "号",
           "科兴科学园", "碧海花园", "小区", "A", "B", "A座", "3栋", "三栋", "3#", "3号楼", "幢", "2单元", "二单元", "12楼",
           "十二层", "1203", "五〇一", "室", "房", "-", "1", "0", "第", " ", "，", "(", "不详", "null", "號", "Ａ", "１"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=9).map("".join), min_size=1, max_size=12))
def test_vector_parse_equals_scalar(values: list[str]) -> None:
    assert parse_addresses(values).to_pylist() == _scalar_rows(values, ADDRESS_COLUMNS)


def test_map_unique_keeps_tuple_outputs_whole() -> None:
    values = pd.Series(["a", None, "bb", "a"], index=[5, 6, 7, 8], name="x")
    out = _vector.map_unique(values, lambda v: (v, len(v)))
    assert out.tolist() == [("a", 1), None, ("bb", 2), ("a", 1)]
    assert list(out.index) == [5, 6, 7, 8] and out.name == "x" and out.dtype == object


def test_fold_chunk_equals_fold_address_on_corpus(corpus: list[dict]) -> None:
    texts = [row["text"] for row in corpus]
    assert addresses.fold_chunk(texts) == [addresses.fold_address(t) for t in texts]


def test_opencc_dictionaries_have_no_ascii_keys(tmp_path: Path) -> None:
    # addresses._fold_heads relies on it: no OpenCC phrase can span a head and a <digits>栋<digits>室 suffix
    import opencc

    clib = Path(opencc.__file__).parent / "clib"
    tool = clib / "bin" / "opencc_dict"
    config = json.loads((clib / "share" / "opencc" / "t2s.json").read_text(encoding="utf-8"))
    files = [d["dict"]["file"] for d in config["normalization"]]
    files += [d["file"] for d in config["conversion_chain"][0]["dict"]["dicts"]]
    if not tool.exists():
        pytest.skip("this OpenCC build ships no opencc_dict tool to dump its dictionaries")
    env = {**os.environ, "LD_LIBRARY_PATH": str(clib / "lib64")}
    for name in files:
        out = tmp_path / (name + ".txt")
        subprocess.run([str(tool), "-i", str(clib / "share" / "opencc" / name), "-o", str(out), "-f", "ocd2",
                        "-t", "text"], check=True, env=env, capture_output=True)
        keys = [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(keys) > 400
        assert [k for k in keys if any(c.isascii() for c in k)] == [], name
