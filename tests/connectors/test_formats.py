"""Streaming readers: the same rows in every supported format read back as identical all-text tables."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.base import Landed
from connectors.formats import UnreadableFileError, detect_encoding, detect_format, read_batches
from connectors.formats import common as formats_common

HEADER = ["登记编号", "姓名", "公民身份号码", "地址", "备注"]
ROWS: list[list[str | None]] = [
    ["0001", "张三", "440304199001011234", "深圳市福田区华强北路1号, 3栋", "NA"],
    ["0002", "李四", "11010519491231002X", None, "0755-1234"],
    ["0003", "欧阳娜娜", "001234567890123456", "北京市朝阳区", "2024-01-05"],
    ["0004", "𠮷野家", "440304200001011237", "  前后有空格  ", None],  # 𠮷 is outside GBK, inside GB18030
]
EXPECTED = [dict(zip(HEADER, row, strict=True)) for row in ROWS]


def landed(path: Path, fmt: str, encoding: str | None = "auto", **options: object) -> Landed:
    return Landed(path=path, sha256="0" * 64, format=fmt, source_name=path.name,  # type: ignore[arg-type]
                  delivered_at=dt.datetime(2026, 1, 1), encoding=encoding, options=dict(options))


def read_all(path: Path, fmt: str, **kwargs: object) -> list[dict[str, str | None]]:
    batch_rows = kwargs.pop("batch_rows", 100_000)
    rows: list[dict[str, str | None]] = []
    for batch in read_batches(landed(path, fmt, **kwargs), batch_rows=batch_rows):  # type: ignore[arg-type]
        assert all(t == pa.string() for t in batch.schema.types), batch.schema
        rows.extend(batch.to_pylist())
    return rows


def write_delimited(path: Path, encoding: str, delimiter: str = ",", header: list[str] = HEADER,
                    rows: list[list[str | None]] = ROWS) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def write_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "人口"
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
    wb.save(path)
    return path


def write_json(path: Path) -> Path:
    # a missing key and an explicit null both read as null
    records = [{k: v for k, v in rec.items() if not (k == "地址" and v is None)} for rec in EXPECTED]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_jsonl(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in EXPECTED) + "\n\n", encoding="utf-8")
    return path


def write_parquet(path: Path) -> Path:
    pq.write_table(pa.table({h: pa.array([r[h] for r in EXPECTED], pa.string()) for h in HEADER}), path)
    return path


WRITERS = {
    "utf8.csv": lambda p: write_delimited(p, "utf-8"),
    "bom.csv": lambda p: write_delimited(p, "utf-8-sig"),
    "gb18030.csv": lambda p: write_delimited(p, "gb18030"),
    "tabs.tsv": lambda p: write_delimited(p, "utf-8", "\t"),
    "excel-unicode.txt": lambda p: write_delimited(p, "utf-16", "\t"),  # Excel's "Unicode text" export
    "semicolons.csv": lambda p: write_delimited(p, "utf-8", ";"),
    "people.xlsx": write_xlsx,
    "people.json": write_json,
    "people.jsonl": write_jsonl,
    "people.parquet": write_parquet,
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_reads_the_same_rows(tmp_path: Path, name: str) -> None:
    path = WRITERS[name](tmp_path / name)
    fmt = detect_format(name)
    assert fmt is not None
    assert read_all(path, fmt) == EXPECTED


@pytest.mark.parametrize("name", ["utf8.csv", "people.xlsx", "people.json", "people.jsonl", "people.parquet"])
def test_batches_hold_at_most_batch_rows(tmp_path: Path, name: str) -> None:
    path = WRITERS[name](tmp_path / name)
    fmt = detect_format(name)
    sizes = [b.num_rows for b in read_batches(landed(path, fmt), batch_rows=3)]  # type: ignore[arg-type]
    assert sum(sizes) == len(ROWS) and max(sizes) <= 3 and len(sizes) >= 2


def test_detect_format_by_extension() -> None:
    assert detect_format("人口.CSV") == "csv"
    assert detect_format("a.b.TxT") == "csv"
    assert detect_format("x.tsv") == "tsv"
    assert detect_format("x.XLSX") == "xlsx"
    assert detect_format("x.ndjson") == "jsonl"
    assert detect_format("x.jsonl") == "jsonl"
    assert detect_format("x.json") == "json"
    assert detect_format("x.parquet") == "parquet"
    assert detect_format("x.xls") is None
    assert detect_format("README") is None


# -- encodings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"),
    ("utf-16", "utf-16"),
])
def test_detect_encoding(tmp_path: Path, encoding: str, expected: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text("登记编号,姓名\n1,张三\n2,欧阳娜娜\n", encoding=encoding)
    assert detect_encoding(path) == expected


def test_pure_ascii_is_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,name\n1,abc\n")
    assert detect_encoding(path) == "utf-8"


def test_utf8_whose_chinese_starts_late(tmp_path: Path) -> None:
    # 3 MB of ASCII first, and the first Chinese character straddles the 1 MB read boundary
    path = tmp_path / "late.csv"
    ascii_part = b"id,name\n" + b"1,abcdefgh\n" * ((3 << 20) // 11)
    pad = (1 << 20) - (len(ascii_part) % (1 << 20)) - 1
    path.write_bytes(ascii_part + b"x" * pad + "张三\n".encode() + "李四,王五\n".encode() * 10)
    assert detect_encoding(path) == "utf-8"
    path.write_bytes(ascii_part + b"x" * pad + "张三\n".encode("gb18030"))
    assert detect_encoding(path) == "gb18030"


def test_sample_edge_inside_a_character_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats_common, "SAMPLE_BYTES", 10)  # 10 bytes cut the 4th 3-byte character
    path = tmp_path / "cut.csv"
    path.write_text("张三李四王五赵六" * 100, encoding="utf-8")
    assert detect_encoding(path) == "utf-8"


def test_nul_bytes_are_not_text(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"a\x00b\x00,\x00c\x00\n")
    with pytest.raises(UnreadableFileError, match=r"bin\.csv: contains NUL bytes.*UTF-8"):
        detect_encoding(path)


def test_configured_encoding_that_is_wrong_says_so(tmp_path: Path) -> None:
    path = write_delimited(tmp_path / "g.csv", "gb18030")
    with pytest.raises(UnreadableFileError, match=r"g\.csv: not valid utf-8 text.*source\.encoding"):
        read_all(path, "csv", encoding="utf-8")


def test_gbk_configured_is_read_as_its_superset_gb18030(tmp_path: Path) -> None:
    path = write_delimited(tmp_path / "g.csv", "gb18030")
    assert read_all(path, "csv", encoding="gbk") == EXPECTED


# -- CSV -------------------------------------------------------------------------------------------------
def test_ragged_row_names_its_line_and_never_the_data(tmp_path: Path) -> None:
    rows = [[f"{i:04d}", "张三", f"44030419900101{i:04d}", "深圳", ""] for i in range(1, 60)]
    rows[2][3] = "第一行\n第二行"  # a quoted line break: line numbers run ahead of row numbers
    path = write_delimited(tmp_path / "ragged.csv", "utf-8", rows=rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[41] += ",多余,值"  # line 42 gets 7 fields
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError) as info:
        read_all(path, "csv")
    message = str(info.value)
    assert "ragged.csv: 1 row(s) do not have the 5 fields of the header" in message
    assert "line 42 has 7 fields" in message
    assert "unquoted commas or line breaks" in message
    assert "4403041990010040" not in message  # the row's content is personal data


def test_ragged_row_after_many_batches_still_fails(tmp_path: Path) -> None:
    rows = [[str(i), "x", "y", "z", "w"] for i in range(30_000)]
    path = write_delimited(tmp_path / "late.csv", "utf-8", rows=rows)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("1,2,3\n")
    with pytest.raises(UnreadableFileError, match=r"line 30002 has 3 fields"):
        for _ in read_batches(landed(path, "csv"), batch_rows=1000):
            pass


def test_unclosed_quote_fails_instead_of_swallowing_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('姓名,地址\n张三,"深圳\n李四,北京\n王五,上海\n', encoding="gb18030")
    with pytest.raises(UnreadableFileError, match=r'quote\.csv: line 2: a value opens a double quote \(\"\) that is not closed'):
        read_all(path, "csv")
    path.write_text('姓名,地址\n张三,深圳"华强北\n李四,"北京""东城"""\n', encoding="utf-8")  # legal quotes
    assert read_all(path, "csv") == [{"姓名": "张三", "地址": '深圳"华强北'}, {"姓名": "李四", "地址": '北京"东城"'}]


def test_bad_bytes_late_in_a_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    # 5.4 MB: the bad bytes lie beyond the detection sample, so the reader must notice them itself
    path.write_bytes("姓名,编号\n".encode() + "张三,1\n".encode() * 600_000 + b"\xff\xfe,2\n")
    with pytest.raises(UnreadableFileError, match=r"late\.csv: not valid utf-8 text"):
        read_all(path, "csv")


def test_header_cleaning_and_text_kept_as_delivered(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes("\ufeff 姓名 ,\t电话\u3000,编号,日期,空\r\n张三,0755-1234,007,2024/1/5,NULL\r\n".encode())
    assert read_all(path, "csv") == [{"姓名": "张三", "电话": "0755-1234", "编号": "007", "日期": "2024/1/5", "空": "NULL"}]


def test_unnamed_empty_column_is_dropped_but_one_with_values_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("a,b,\n1,2,\n3,4,\n", encoding="utf-8")
    assert read_all(path, "csv") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    path.write_text("a,,b\n1,x,2\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"column 2 has values but no name in the header"):
        read_all(path, "csv")
    path.write_text(" , \n1,2\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"trailing\.csv: the first line has no column names"):
        read_all(path, "csv")


def test_duplicate_column_name(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("姓名,电话, 姓名\n张三,1,2\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"dup\.csv: duplicate column name '姓名' in the header \(columns 1 and 3\)"):
        read_all(path, "csv")


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match=r"empty\.csv: empty file \(0 bytes\)"):
        read_all(empty, "csv")
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(UnreadableFileError, match=r"blank\.csv: empty file"):
        read_all(blank, "csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text("姓名,电话\n", encoding="utf-8")
    batches = list(read_batches(landed(header_only, "csv")))
    assert [b.schema.names for b in batches] == [["姓名", "电话"]] and batches[0].num_rows == 0


def test_delimiter_from_options_wins(tmp_path: Path) -> None:
    path = tmp_path / "pipes.txt"
    path.write_text("a|b,c\n1|2,3\n", encoding="utf-8")
    assert read_all(path, "csv", delimiter="|") == [{"a": "1", "b,c": "2,3"}]
    assert read_all(path, "csv") == [{"a|b": "1|2", "c": "3"}]  # a comma in the header line means CSV


def test_header_with_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "nl.csv"
    path.write_text('"姓名\n(必填)",编号\n张三,007\n', encoding="gb18030")
    assert read_all(path, "csv") == [{"姓名\n(必填)": "张三", "编号": "007"}]


# -- XLSX ------------------------------------------------------------------------------------------------
def test_xlsx_values_read_as_excel_shows_them(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([])
    ws.append([None, None])
    ws.append(["日期", "时间", "整数", "小数", "布尔", "大数", "文本", None])  # header in row 3, trailing empty
    # an 18-digit ID number typed as a number keeps only Excel's 15 significant digits
    ws.append([dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 5, 8, 30), 12.0, 3.25, True, 440304199001011234, "007"])
    ws.append([None] * 7)  # formatting left behind: not a record
    ws.append([dt.date(1990, 12, 31), dt.time(9, 5), 7, 0.1, False, 1e21, ""])
    path = tmp_path / "types.xlsx"
    wb.save(path)
    assert read_all(path, "xlsx") == [
        {"日期": "2024-01-05", "时间": "2024-01-05 08:30:00", "整数": "12", "小数": "3.25", "布尔": "TRUE",
         "大数": "440304199001011000", "文本": "007"},
        {"日期": "1990-12-31", "时间": "09:05:00", "整数": "7", "小数": "0.1", "布尔": "FALSE", "大数": "1e+21",
         "文本": None},
    ]


def test_xlsx_sheet_by_name_index_and_numeric_name(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["这是说明页"])
    for title, value in (("数据", "a"), ("2024", "b")):
        ws = wb.create_sheet(title)
        ws.append(["列"])
        ws.append([value])
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    assert read_all(path, "xlsx") == []
    assert read_all(path, "xlsx", sheet="数据") == [{"列": "a"}]
    assert read_all(path, "xlsx", sheet=1) == [{"列": "a"}]
    assert read_all(path, "xlsx", sheet=2024) == [{"列": "b"}]  # YAML reads `sheet: 2024` as a number
    with pytest.raises(UnreadableFileError, match=r"no sheet '汇总'; the workbook has '说明', '数据', '2024'"):
        read_all(path, "xlsx", sheet="汇总")


def test_xlsx_stray_cell_beyond_the_header_is_an_error(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "编号"])
    ws.append(["张三", "1"])
    ws.append(["李四", "2", None, "备注"])
    path = tmp_path / "stray.xlsx"
    wb.save(path)
    with pytest.raises(UnreadableFileError, match=r"sheet 'Sheet' row 3 has a value in column D but the header has only 2"):
        read_all(path, "xlsx")


@pytest.mark.parametrize(("content", "match"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, r"old\.xlsx: not a valid XLSX workbook: it is an old Excel 97-2003 \.xls"),
    ("姓名,编号\n张三,1\n".encode(), r"old\.xlsx: not a valid XLSX workbook \(BadZipFile\).*CSV renamed"),
])
def test_xlsx_that_is_not_a_workbook(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=match):
        read_all(path, "xlsx")


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(UnreadableFileError, match=r"sheet 'Sheet' is empty \(no header row\)"):
        read_all(path, "xlsx")


# -- JSON ------------------------------------------------------------------------------------------------
def test_json_union_of_keys_numbers_as_written_and_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "vary.json"
    path.write_text('[{"编号": "007", "金额": 1.50, "标志": true},\n'
                    ' {"编号": 8, "地址": {"区": "福田", "楼": [1, 2.5]}, "空": null, "空串": ""}]', encoding="utf-8")
    expected = [
        {"编号": "007", "金额": "1.50", "标志": "true", "地址": None, "空": None, "空串": None},
        {"编号": "8", "金额": None, "标志": None, "地址": '{"区": "福田", "楼": [1, 2.5]}', "空": None, "空串": None},
    ]
    assert read_all(path, "json") == expected
    jsonl = tmp_path / "vary.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in json.loads(path.read_text())), encoding="gb18030")
    lines = read_all(jsonl, "jsonl")
    assert [r["地址"] for r in lines] == [None, '{"区": "福田", "楼": [1, 2.5]}'] and lines[1]["编号"] == "8"


def test_jsonl_values_are_those_the_json_module_reads(tmp_path: Path) -> None:
    # lines orjson reads differently or not at all (fractions, NaN, huge integers, duplicate keys) come out
    # as the json module with Decimal numbers reads them
    from decimal import Decimal

    from connectors.formats.json_reader import json_text

    lines = ['{"a": "1", "b": 2}', '{"a": 1.50, "b": 1e5}', '{"a": NaN, "b": -Infinity}',
             '{"a": 123456789012345678901234567890, "b": 18446744073709551615}', '{"a": "x", "b": null}',
             '{"a": 1, "a": "second", "b": [1, {"c": 2.50}]}', '{"a": -0, "b": {"c": [true, false, null, "中"]}}',
             '{"b": "\\u0000\\t", "a": ""}']
    path = tmp_path / "edge.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = []
    for line in lines:
        record = json.loads(line, parse_float=Decimal)
        expected.append({"a": json_text(record.get("a")), "b": json_text(record.get("b"))})
    assert read_all(path, "jsonl") == expected
    assert expected[1] == {"a": "1.50", "b": "1E+5"} and expected[5]["a"] == "second"


@pytest.mark.parametrize(("text", "match"), [
    ('{"data": [{"a": 1}]}', r"top level is one object, not an array of records"),
    ('[{"a": 1}, {"a": 2', r"not valid JSON after record 1 .*cut short"),
    ('[{"a": 1}, [1, 2]]', r"record 2 of the array is a list, not an object"),
    ("姓名,编号\n", r"does not start with '\['"),
])
def test_bad_json(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=match):
        read_all(path, "json")


def test_bad_jsonl_lines_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,}\n{"a": 3}\n{"a"\n', encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"bad\.jsonl: not valid JSON Lines: line 3: .*; line 5: "):
        read_all(path, "jsonl")
    path.write_text('{"a": 1}\n[1]\n', encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"line 2 is a list, not an object"):
        read_all(path, "jsonl")


# -- Parquet ---------------------------------------------------------------------------------------------
def test_parquet_typed_columns_become_text(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "i": pa.array([7, None], pa.int64()),
        "f": pa.array([1.0, 2.5]),
        "ts": pa.array([dt.datetime(2024, 1, 5, 8, 30), dt.datetime(2024, 1, 5, 8, 30, 0, 500)], pa.timestamp("us")),
        "d": pa.array([dt.date(2024, 1, 5), None]),
        "b": pa.array([True, False]),
        "l": pa.array([[1, 2], None]),
        "s": pa.array(["", "x"]),
        "dict": pa.array(["甲", "乙"]).dictionary_encode(),
    }), path)
    assert read_all(path, "parquet") == [
        {"i": "7", "f": "1", "ts": "2024-01-05 08:30:00", "d": "2024-01-05", "b": "true", "l": "[1, 2]", "s": None,
         "dict": "甲"},
        {"i": None, "f": "2.5", "ts": "2024-01-05 08:30:00.000500", "d": None, "b": "false", "l": None, "s": "x",
         "dict": "乙"},
    ]


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=r"fake\.parquet: not a valid Parquet file"):
        read_all(path, "parquet")


# -- streaming -------------------------------------------------------------------------------------------
_MEASURE = """
import datetime as dt, json, resource, sys
from pathlib import Path
from connectors.base import Landed
from connectors.formats import read_batches

def rows(path):
    landed = Landed(Path(path), "0" * 64, "csv", Path(path).name, dt.datetime(2026, 1, 1), "auto")
    return sum(b.num_rows for b in read_batches(landed))

rows(sys.argv[1])  # warm up: imports and first allocations are not the file's cost
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = rows(sys.argv[2])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": n, "growth_kb": after - before}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_reading_a_200_mb_csv_keeps_memory_flat(tmp_path: Path, encoding: str) -> None:
    import subprocess
    import sys

    header = "编号,姓名,公民身份号码,地址,电话,日期\n"
    lines = "".join(f"{i:08d},张三丰,4403041990010{i:05d},\"深圳市福田区华强北路{i}号, 3栋\",0755-1234,2024-01-05\n"
                    for i in range(8000)).encode(encoding)
    repeats = (200 << 20) // len(lines) + 1
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.write(header.encode(encoding))
        for _ in range(repeats):
            fh.write(lines)
    small = write_delimited(tmp_path / "small.csv", encoding)
    size = big.stat().st_size
    assert size >= 200 << 20
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(small), str(big)], cwd=repo, check=True,
                         capture_output=True, text=True, timeout=300)
    result = json.loads(out.stdout)
    assert result["rows"] == 8000 * repeats
    # measured here: ~60 MB (UTF-8) and ~35 MB (GB18030, transcoded) for a 200 MB file
    assert result["growth_kb"] * 1024 < size // 2, f"peak RSS grew by {result['growth_kb'] // 1024} MB"


def _read_both_ways(path: Path, **options: object) -> tuple[list[dict[str, str | None]], list[dict[str, str | None]]]:
    """(rows as read_batches gives them, rows as openpyxl alone gives them)."""
    from connectors.formats import xlsx_reader

    fast = read_all(path, "xlsx", **options)
    slow = [r for b in xlsx_reader._read_openpyxl(landed(path, "xlsx", **options), 100_000) for r in b.to_pylist()]
    return fast, slow


def test_xlsx_plain_workbook_reads_through_calamine_as_openpyxl_reads_it(tmp_path: Path) -> None:
    import zipfile

    from connectors.formats import xlsx_reader

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([None, None, "编号", "日期", "金额", "说明"])  # the table starts in column C
    for i in range(300):
        ws.append([None, None, f"{i:06d}", dt.date(2024, 1, 1) + dt.timedelta(days=i), i * 1.25 + 0.5,
                   "  保留空格  " if i % 7 == 0 else (None if i % 5 == 0 else f"第{i}行")])
    ws.cell(ws.max_row, 4).number_format = "yyyy\"年\"m\"月\"d\"日\""
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        assert not xlsx_reader._needs_openpyxl(zf)  # this one is calamine's
    fast, slow = _read_both_ways(path)
    assert fast == slow and len(fast) == 300 and fast[0] == {"编号": "000000", "日期": "2024-01-01", "金额": "0.5",
                                                             "说明": "  保留空格  "}


@pytest.mark.parametrize("case", ["error", "escape", "untrimmed", "long_integer", "negative_date"])
def test_xlsx_cells_calamine_reads_differently_go_through_openpyxl(tmp_path: Path, case: str) -> None:
    import zipfile

    from connectors.formats import xlsx_reader

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b"])
    ws.append(["x", 1])
    path = tmp_path / f"{case}.xlsx"
    wb.save(path)
    cell = '<c r="B2" t="n"><v>1</v></c>'
    replacement = {
        "error": '<c r="B2" t="e"><v>#N/A</v></c>',
        "escape": '<c r="B2" t="inlineStr"><is><t>a_x000D_b</t></is></c>',
        "untrimmed": '<c r="B2" t="inlineStr"><is><t> b </t></is></c>',
        "long_integer": '<c r="B2" t="n"><v>440304199001011234</v></c>',
        "negative_date": '<c r="B2" s="1" t="n"><v>-1</v></c>',
    }[case]
    patched = tmp_path / f"patched-{case}.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert cell.encode() in data
                data = data.replace(cell.encode(), replacement.encode())
            if item.filename == "xl/styles.xml" and case == "negative_date":
                data = data.replace(b'<cellXfs count="1">', b'<cellXfs count="2">').replace(
                    b"</cellXfs>", b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>')
            out.writestr(item, data)
    with zipfile.ZipFile(patched) as zf:
        assert xlsx_reader._needs_openpyxl(zf)
    fast, slow = _read_both_ways(patched)
    expected = {"error": "#N/A", "escape": "a_x000D_b", "untrimmed": " b ", "long_integer": "440304199001011234",
                "negative_date": "1899-12-29"}[case]
    assert fast == slow == [{"a": "x", "b": expected}]


def test_xlsx_stray_cell_is_named_by_its_column_when_the_table_starts_right(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([None, None, "姓名", "编号"])
    ws.append([None, None, "张三", "1", None, "备注"])
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    with pytest.raises(UnreadableFileError, match=r"row 2 has a value in column F but the header has only 4"):
        read_all(path, "xlsx")


@pytest.mark.parametrize("odd_line", [None, '{"a": "dup", "a": "second", "b": "x"}',
                                      '\u3000{"a": "ideographic space", "b": "x"}\u3000'])
def test_jsonl_of_text_values_reads_the_same_through_arrow_or_not(tmp_path: Path, odd_line: str | None) -> None:
    # text-only JSON Lines go through pyarrow's reader unless some line would read differently there
    from connectors.formats import json_reader

    lines = ['{"a": "0755-1234", "b": "007"}', '{"b": "", "a": null}', '{"a": "中\\t\\"文\\"", "c": "only here"}',
             '{"c": "x", "a": "1.50", "b": "2024-01-05 08:30:00"}'] * 7000
    if odd_line:
        lines.insert(12345, odd_line)
    path = tmp_path / "text.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    expected = []
    for line in lines:
        record = json.loads(line.strip("\u3000"))
        expected.append({k: (record.get(k) or None) for k in ("a", "b", "c")})
    batches = list(read_batches(landed(path, "jsonl"), batch_rows=10_000))
    assert [b.num_rows for b in batches] == [10_000, 10_000, len(lines) - 20_000]
    assert [r for b in batches for r in b.to_pylist()] == expected
    keys = ("a", "b", "c")
    assert json_reader._arrow_reads_the_same(landed(path, "jsonl"), "utf-8", keys, len(lines)) is (odd_line is None)
