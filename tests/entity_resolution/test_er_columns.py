"""Column forms: the same answers as the scalar functions, for pyarrow, pandas and plain lists."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution import standardize as s

SAMPLES = {
    (s.normalize_names, s.normalize_name): ["張偉", "张  三", None, "不详", "阿依古丽 买买提", "張偉"],
    (s.pinyin_keys, s.pinyin_key): ["单田芳", None, "张伟", "张威", "单田芳"],
    (s.id_numbers_for_matching, s.id_number_for_matching): ["11010119900307663x", "110101900307663", "bad", None, "110101199003076632"],
    (s.usccs_for_matching, s.uscc_for_matching): ["91440300MA5DC6QX50", "91440300ma5dc6qx50", "91440300MA5DC6QX51", None, ""],
    (s.mobiles_for_matching, s.mobile_for_matching): ["+86 138 0013 8000", "0755-88886666", None, "138-0013-8000"],
    (s.landlines_for_matching, s.landline_for_matching): ["(0755)88886666", "13800138000", None],
    (s.parse_dates, s.parse_date): ["1990年1月2日", "19900102", None, "bad", "1990/1/2"],
    (s.company_keys, s.company_key): ["深圳市腾讯计算机系统有限责任公司", None, "腾讯计算机系统（深圳）有限公司"],
    (s.company_cores, s.company_core): ["平安银行股份有限公司", None],
}


@pytest.mark.parametrize(("column_fn", "scalar_fn"), list(SAMPLES))
def test_column_form_equals_scalar(column_fn, scalar_fn):
    values = SAMPLES[(column_fn, scalar_fn)]
    expected = [None if v is None else scalar_fn(v) for v in values]
    assert column_fn(values) == expected
    assert column_fn(pa.array(values, pa.string())).to_pylist() == expected
    chunked = pa.chunked_array([pa.array(values[:2], pa.string()), pa.array(values[2:], pa.string())])
    assert column_fn(chunked).to_pylist() == expected
    assert column_fn(pa.array(values, pa.string()).dictionary_encode()).to_pylist() == expected
    series = pd.Series(values, index=[10 * i for i in range(len(values))], name="col")
    out = column_fn(series)
    assert out.tolist() == expected and out.index.tolist() == series.index.tolist() and out.name == "col"


def test_types():
    assert s.parse_dates(pa.array(["1990-01-02"])).type == pa.date32()
    assert s.normalize_names(pa.array(["张三"])).type == pa.string()
    assert s.parse_dates(pa.array([dt.date(1990, 1, 2), None])).to_pylist() == [dt.date(1990, 1, 2), None]
    assert s.id_number_birth_dates([" 110101199003076616"]) == [dt.date(1990, 3, 7)]


@settings(deadline=None)
@given(st.lists(st.sampled_from(["张伟", "張偉", "王 小明", "", None, "李四"]), max_size=30))
def test_any_mix_of_repeats_and_nulls(values):
    expected = [None if v is None else s.normalize_name(v) for v in values]
    assert s.normalize_names(pa.array(values, pa.string())).to_pylist() == expected
    assert s.normalize_names(pd.Series(values, dtype=object)).tolist() == expected
