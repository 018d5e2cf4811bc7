"""CJK comparisons: the levels Splink assigns to pairs, and the character-level SQL itself."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.comparisons import (
    address_comparison,
    char_jaccard_sql,
    company_comparison,
    name_comparison,
    one_char_edit_sql,
)
from entity_resolution.standardize.addresses import parse_address
from entity_resolution.standardize.companies import company_core, company_key
from entity_resolution.standardize.names import normalize_name, pinyin_key

_CON = duckdb.connect()  # one connection for the property test's many small queries


@pytest.fixture(scope="module", autouse=True)
def _close_connection():
    yield
    _CON.close()  # DuckDB connections left open at exit have crashed the interpreter here (PITFALLS.md)


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _levels(comparison, records: list[dict], pairs: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """Score the pairs with a one-comparison Splink model; return each pair's level label."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    db_api = DuckDBAPI()
    table = db_api.register(pd.DataFrame(records), dataset_display_name="records")
    linker = Linker(table, SettingsCreator(link_type="dedupe_only", comparisons=[comparison]))
    by_id = {r["unique_id"]: r for r in records}
    left, right = [by_id[a] for a, _ in pairs], [by_id[b] for _, b in pairs]
    scored = linker.inference.score_pairs(left, right).as_pandas_dataframe()
    gamma = next(c for c in scored.columns if c.startswith("gamma_"))
    comparison_obj = linker._settings_obj.comparisons[0]
    labels = {cl.comparison_vector_value: cl.label_for_charts for cl in comparison_obj.comparison_levels}
    wanted = set(pairs)
    return {(int(r.unique_id_l), int(r.unique_id_r)): labels[int(getattr(r, gamma))]
            for r in scored.itertuples() if (int(r.unique_id_l), int(r.unique_id_r)) in wanted}


def test_name_levels():
    names = ["王小明", "王晓明", "张伟", "张威", "王明", "张敏", "李大海", "汪小鸣", None, "章玮", "張偉"]
    records = [{"unique_id": i, "name": normalize_name(n), "name_pinyin": pinyin_key(n)} for i, n in enumerate(names)]
    expected = {
        (0, 1): "one character different",      # 王小明 / 王晓明
        (2, 3): "same pinyin",                  # 张伟 / 张威
        (4, 0): "one character different",      # 王明 / 王小明: one character inserted
        (2, 5): "one character different, two-character name",  # 张伟 / 张敏
        (0, 6): "All other comparisons",        # 王小明 / 李大海
        (1, 7): "same pinyin",                  # 王晓明 / 汪小鸣: homophones two characters apart
        (8, 0): "name is NULL",
        (3, 9): "same pinyin",                  # 张威 / 章玮
        (2, 10): "exact name",                  # 张伟 / 張偉 after standardization
    }
    assert _levels(name_comparison(), records, list(expected)) == expected


def test_address_levels():
    addresses = [
        "深圳市宝安区西乡街道碧海花园3栋2单元501室", "宝安区碧海花园三幢二单元五〇一", "宝安区碧海花园3栋2单元502",
        "宝安区碧海花园3栋1单元301", "宝安区桂庙路8号碧海花园3栋", "宝安区碧海花园5栋", "宝安区桂庙路8号",
        "广东省深圳市宝安区桂庙路8号", "宝安区桂庙路9号", "福田区深南大道6008号", None, "宝安区桂庙路8号3栋2单元501",
    ]
    records = []
    for i, text in enumerate(addresses):
        parsed = parse_address(text)
        records.append({"unique_id": i, "building_key": parsed and parsed.building_key,
                        "unit_key": parsed and parsed.unit_key})
    expected = {
        (0, 1): "same flat (unit_key)", (0, 2): "same building (building_key)",
        (0, 3): "same building (building_key)", (0, 4): "same estate and building",
        (6, 7): "same building (building_key)", (6, 4): "same road and number",
        (0, 5): "same district", (6, 8): "same district", (6, 9): "All other comparisons",
        (10, 0): "address is NULL",
        (11, 0): "same building, unit and room; estate or road written differently",
    }
    assert _levels(address_comparison(), records, list(expected)) == expected


def test_company_levels():
    names = ["深圳市腾讯计算机系统有限公司", "腾讯计算机系统（深圳）有限责任公司", "腾讯计算机系统股份有限公司",
             "腾讯计算机系统网有限公司", "腾讯计算机有限公司", "华为技术有限公司", None]
    records = [{"unique_id": i, "company_key": company_key(n), "company_core": company_core(n)}
               for i, n in enumerate(names)]
    expected = {
        (0, 1): "same company key", (0, 2): "same name, different legal form",
        (0, 3): "character Jaccard >= 0.8", (0, 4): "character Jaccard >= 0.6",
        (0, 5): "All other comparisons", (6, 0): "company name is NULL",
    }
    assert _levels(company_comparison(), records, list(expected)) == expected
    with pytest.raises(ValueError, match="descending"):
        company_comparison(thresholds=(0.5, 0.9))


HAN = "王小晓明张伟威敏李大海汪鸣"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=HAN, min_size=1, max_size=5),
                          st.text(alphabet=HAN, min_size=1, max_size=5)), min_size=1, max_size=60))
def test_sql_counts_characters_not_bytes(pairs):
    df = pd.DataFrame(pairs, columns=["a", "b"])
    _CON.register("pairs_df", df)
    rows = _CON.sql(f"SELECT a, b, {one_char_edit_sql('a', 'b')} AS one, {char_jaccard_sql('a', 'b')} AS j "
                    "FROM pairs_df").fetchall()
    for a, b, one, jaccard in rows:
        assert one == (_levenshtein(a, b) == 1), (a, b)
        assert jaccard == pytest.approx(len(set(a) & set(b)) / len(set(a) | set(b))), (a, b)


def test_duckdb_premise():
    # Why this module exists: DuckDB's own distance counts bytes.
    con = duckdb.connect()
    try:
        assert con.sql("SELECT levenshtein('王小明', '王晓明')").fetchall() == [(3,)]
        assert con.sql(f"SELECT {one_char_edit_sql(repr('王小明'), repr('王晓明'))}").fetchall() == [(True,)]
    finally:
        con.close()
