"""Write an extract in the format and encoding its catalog entry declares, atomically.

The file is written under a dot-name ending in ``.partial`` (which the file-drop connector passes over) and
renamed into place, so a run that starts meanwhile never reads half a file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from catalog.models import Resource
from zhiwang.demo.build import Extract
from zhiwang.errors import ConfigError

EXTENSIONS = {"csv": "csv", "tsv": "tsv", "xlsx": "xlsx", "json": "json", "jsonl": "jsonl", "parquet": "parquet"}
NUMERIC = {"integer": pa.int64(), "decimal": pa.float64()}
CHUNK_ROWS = 100_000
XLSX_MAX_ROWS = 1_048_576


def source_format(resource: Resource) -> str:
    fmt = resource.source.options().get("format")
    if fmt is None:
        pattern = resource.source.options().get("pattern", "")
        fmt = next((f for f in EXTENSIONS if str(pattern).lower().endswith("." + f)), None)
    if fmt not in EXTENSIONS:
        raise ConfigError(f"resource {resource.id}: the demo generator cannot tell the file format from source.format "
                          f"({fmt!r}) or source.pattern; set source.format to one of {', '.join(EXTENSIONS)}")
    return fmt


def file_name(resource_id: str, as_of: np.datetime64, delivery: int, fmt: str) -> str:
    return f"{resource_id}_{str(as_of).replace('-', '')}_{delivery}.{EXTENSIONS[fmt]}"


def write_extract(ex: Extract, resource: Resource, directory: Path, name: str, as_of: np.datetime64) -> Path:
    """Write ``ex`` as ``directory/name``; ``as_of`` stamps the workbook so the same seed gives the same bytes."""
    fmt = source_format(resource)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    tmp = directory / f".{name}.partial"
    try:
        if fmt == "xlsx":
            _xlsx(ex, resource, tmp, as_of.astype("datetime64[s]").astype(dt.datetime))
        else:
            {"csv": _csv, "tsv": _csv, "json": _json, "jsonl": _json, "parquet": _parquet}[fmt](ex, resource, tmp, fmt)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _typed_column(values: np.ndarray, spec_type: str) -> pa.Array:
    if spec_type in NUMERIC:
        return pa.array([None if v is None else v for v in values], NUMERIC[spec_type], from_pandas=True)
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _table(ex: Extract, resource: Resource, typed: bool) -> pa.Table:
    arrays = {}
    for column, values in ex.columns.items():
        spec = resource.field_by_column(column)
        arrays[column] = _typed_column(values, spec.type if (typed and spec) else "string")
    return pa.table(arrays)


def _csv(ex: Extract, resource: Resource, path: Path, fmt: str) -> None:
    import pyarrow.csv as pacsv

    opts = resource.source.options()
    delimiter = opts.get("delimiter") or ("\t" if fmt == "tsv" else ",")
    encoding = (opts.get("encoding") or "utf-8").lower()
    table = _table(ex, resource, typed=False)
    with open(path, "wb") as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        # chunk by chunk: a million rows re-encoded at once would hold the file three times in memory
        for start in range(0, max(table.num_rows, 1), CHUNK_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table.slice(start, CHUNK_ROWS), sink,
                            pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed", include_header=start == 0))
            data = sink.getvalue().to_pybytes()
            # gb18030 / gbk: as the department's Windows export writes it
            fh.write(data if encoding in ("utf-8", "utf-8-sig", "auto") else data.decode("utf-8").encode(encoding))


def _parquet(ex: Extract, resource: Resource, path: Path, fmt: str) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_table(ex, resource, typed=True), path, compression="zstd")


def _json(ex: Extract, resource: Resource, path: Path, fmt: str) -> None:
    """JSON Lines, or one JSON array of objects; numbers stay numbers, missing values are null."""
    table = _table(ex, resource, typed=True)
    with open(path, "w", encoding="utf-8") as fh:
        if fmt == "json":
            fh.write("[")
        for start in range(0, table.num_rows, CHUNK_ROWS):
            frame = table.slice(start, CHUNK_ROWS).to_pandas()
            text = frame.to_json(orient="records", lines=fmt == "jsonl", force_ascii=False)
            if fmt == "json":
                fh.write(("," if start else "") + text[1:-1])
            else:
                fh.write(text if text.endswith("\n") else text + "\n")
        if fmt == "json":
            fh.write("]")


def _xlsx(ex: Extract, resource: Resource, path: Path, created: dt.datetime) -> None:
    import xlsxwriter

    if ex.rows >= XLSX_MAX_ROWS:
        raise ConfigError(f"resource {resource.id}: {ex.rows:,} rows do not fit one Excel sheet ({XLSX_MAX_ROWS - 1:,} "
                          "rows at most); generate fewer persons or deliver this resource as csv or parquet")
    sheet_name = resource.source.options().get("sheet")
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": created, "author": resource.provider})
    try:
        ws = wb.add_worksheet(sheet_name if isinstance(sheet_name, str) else None)
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        columns = list(ex.columns)
        ws.write_row(0, 0, columns)
        data = [ex.columns[c] for c in columns]
        for r in range(ex.rows):
            for c, values in enumerate(data):
                _cell(ws, r + 1, c, values[r], date_fmt)
    finally:
        wb.close()


def _cell(ws: Any, row: int, col: int, value: Any, date_fmt: Any) -> None:
    if value is None:
        return
    if isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), date_fmt)
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        ws.write_number(row, col, float(value))
    else:
        ws.write_string(row, col, str(value))
