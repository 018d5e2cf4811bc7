"""The correction loop's CSV lines, built by Arrow, are the bytes csv.writer wrote for the same rows."""

from __future__ import annotations

import csv
import io
from itertools import repeat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.disagreements import csv_lines, material_mask, text_column
from entity_resolution.pipeline import _write_disagreements
from entity_resolution.standardize._vector import python_values
from quality.quarantine import mask_value

# every character csv.writer treats specially, and some it might (other line breaks, NUL, BOM, quotes)
_CHARS = [",", '"', "\r", "\n", " ", "\t", "\x00", "\u2028", "\x0b", "\x0c", "\x1c", "\x85", "'", ";", "，", "\\",
          "\ufeff", "a", "张", "😀", "4", "0"]
_VALUES = st.one_of(st.none(), st.lists(st.sampled_from(_CHARS), max_size=6).map("".join))


def _csv_writer(rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(st.lists(_VALUES, min_size=n, max_size=n), min_size=1, max_size=4),
    st.lists(st.sampled_from(_CHARS), min_size=1, max_size=4).map("".join))))
def test_csv_lines_are_what_csv_writer_writes(case: tuple[list[list[str | None]], str]) -> None:
    columns, constant = case
    rows = [[constant, *row, constant] for row in zip(*columns, strict=True)]
    assert csv_lines([constant, *(pa.array(c, pa.string()) for c in columns), constant]) == _csv_writer(rows)


def test_csv_lines_refuses_columns_that_are_not_text() -> None:
    with pytest.raises(TypeError, match="convert other values with str"):
        csv_lines(["x", pa.array([1, 2])])
    with pytest.raises(TypeError, match="at least one column"):
        csv_lines(["x", "y"])


HEADERS = ("golden_id", "field", "authoritative_resource", "authoritative_value", "resource", "record_key", "value")
NOTE = "与权威来源不一致，请核实后更正 / differs from the authoritative source: check and correct"


def _old_file(parts: list[tuple[str, pa.Table]]) -> bytes:
    """The file as _write_disagreements wrote it with csv.writer and Python masking (before Arrow built it)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["实体", "主数据编码", "字段", "权威来源", "权威值", "本部门资源", "记录标识", "本部门值", "说明"])
    for entity, table in parts:
        rows = table.filter(pa.array(material_mask(*(table.column(c).combine_chunks()
                                                     for c in ("field", "authoritative_value", "value")))))
        columns = [python_values(rows.column(k)) if k in rows.column_names else [None] * rows.num_rows for k in HEADERS]
        fields = rows.column("field").to_pylist()
        for i, k in enumerate(HEADERS):
            if k.endswith("value"):
                columns[i] = [mask_value(v) if f in ("id_number", "legal_rep_id_number", "phone") and isinstance(v, str)
                              else v for f, v in zip(fields, columns[i], strict=True)]
        writer.writerows(zip(repeat(entity), *columns, repeat(NOTE)))
    return text.getvalue().encode("utf-8-sig")


def test_files_are_the_bytes_csv_writer_wrote(tmp_path: Path) -> None:
    tricky = ["张伟", "李 娜, 经理", 'the "A" block', "line\nbreak", "cr\rhere", "", None, " 12 ", "4403041990010112\n34"]
    n = len(tricky)
    persons = pa.table({
        "golden_id": [f"P{i}" for i in range(n)],
        "field": ["name", "id_number", "phone", "residence_address", "phone", "id_number", "legal_rep_id_number",
                  None, "name"],
        "authoritative_resource": ["gov.hukou"] * n,
        "authoritative_value": tricky[::-1],
        "resource": ["hr.staff"] * n, "provider": ["hr"] * n,
        "record_key": [f"k,{i}" for i in range(n)],
        "value": tricky,
    })
    # numbers are written as str() and never masked; a dictionary column is text like any other
    buildings = pa.table({"golden_id": ["B1", "B2"], "field": ["floors", "phone"],
                          "authoritative_value": pa.array([12, 1234567], pa.int64()),
                          "value": pa.array(["13", "13912345678"]).dictionary_encode(), "provider": ["hr", "hr"]})
    written = _write_disagreements(SimpleNamespace(feedback=tmp_path), 5, {"person": persons, "building": buildings})
    raw = (tmp_path / "hr" / "disagreements_release5.csv").read_bytes()
    assert written == n + 1  # the middle row's two texts are equal: not material
    assert raw == _old_file([("person", persons), ("building", buildings)])
    assert "139123*5678" in raw.decode("utf-8-sig")  # a dictionary column's phone is masked too


def test_text_column_writes_values_as_csv_writer_does() -> None:
    table = pa.table({"s": pa.array(["a", None]), "i": pa.array([1, None]), "f": pa.array([0.1, 1e16]),
                      "n": pa.nulls(2), "d": pa.array(["x", "x"]).dictionary_encode()})
    assert [text_column(table, c)[0].to_pylist() for c in ("s", "i", "f", "n", "d", "missing")] == [
        ["a", None], ["1", None], ["0.1", "1e+16"], [None, None], ["x", "x"], [None, None]]
    assert [text_column(table, c)[1] for c in ("s", "i", "f", "n", "d", "missing")] == [True, False, False, False,
                                                                                        True, False]
