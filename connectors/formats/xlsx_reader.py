"""Excel workbooks (.xlsx) through openpyxl's read-only mode: rows stream, memory stays flat.

The first non-empty row is the header. Values become the text a person reads in the cell: dates as
``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS`` when they carry a time), whole numbers without ``.0``, formulas as
their last computed value. Entirely empty rows (formatting left behind) are not records and are passed over.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.base import Landed
from connectors.formats.common import PYTHON_BATCH_ROWS, UnreadableFileError, clean_names, string_batch

if TYPE_CHECKING:
    import pyarrow as pa
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and encrypted .xlsx) files are OLE2 containers


def read_xlsx(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    batch_rows = min(batch_rows, PYTHON_BATCH_ROWS)
    wb = _open_workbook(landed)
    try:
        ws = _sheet(wb, landed)
        ws.reset_dimensions()  # a wrong <dimension> tag written by some tools would otherwise cut rows off
        rows = ws.iter_rows(values_only=True)
        header_row, header = _header(rows)
        if header is None:
            raise UnreadableFileError(
                f"{landed.source_name}: sheet {ws.title!r} is empty (no header row). Put the column names in the "
                "first row and the records below it, or set source.sheet to the sheet that holds the data."
            )
        names = clean_names(header, landed.source_name, where=f"the header (row {header_row}) of sheet {ws.title!r}")
        keep = [i for i, n in enumerate(names) if n]
        if not keep:
            raise UnreadableFileError(
                f"{landed.source_name}: the header (row {header_row}) of sheet {ws.title!r} has no column names."
            )
        width = len(names)
        row_number = header_row
        yielded = False
        while True:
            with warnings.catch_warnings():  # openpyxl warns about styles and extensions it ignores: not ours
                warnings.simplefilter("ignore", UserWarning)
                chunk = list(itertools.islice(rows, batch_rows))
            if not chunk:
                break
            columns: list[list[str | None]] = [[] for _ in keep]
            count = 0
            for values in chunk:
                row_number += 1
                texts = [cell_text(v) for v in values]
                if not any(t is not None for t in texts):
                    continue
                _check_width(landed, ws.title, row_number, texts, width, names)
                count += 1
                for out, i in zip(columns, keep, strict=True):
                    out.append(texts[i] if i < len(texts) else None)
            if count:
                yielded = True
                yield string_batch([names[i] for i in keep], columns)
        if not yielded:
            yield string_batch([names[i] for i in keep], [[] for _ in keep])
    finally:
        wb.close()


def cell_text(value: Any) -> str | None:
    """A cell's value as the text a person reads in Excel."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            # Excel keeps 15 significant digits: an 18-digit ID number typed as a number is already damaged
            # there, and shows as 440304199001011000, not as the float's noise digits (…1328)
            return str(int(value)) if abs(value) < 1e15 else format(Decimal(f"{value:.15g}"), "f")
        return repr(value)
    return str(value)


def _open_workbook(landed: Landed) -> Any:
    import openpyxl

    with open(landed.path, "rb") as fh:
        magic = fh.read(4)
    if magic == _OLE2_MAGIC:
        raise UnreadableFileError(
            f"{landed.source_name}: not a valid XLSX workbook: it is an old Excel 97-2003 .xls file (or a "
            "password-protected workbook). Open it in Excel or WPS, save as .xlsx without a password (另存为 "
            "Excel 工作簿 .xlsx), and deliver it again."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(landed.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"{landed.source_name}: not a valid XLSX workbook ({type(exc).__name__}). Is it an old .xls, a CSV "
            "renamed to .xlsx, or an upload that did not finish? Save it as .xlsx in Excel or WPS and deliver it again."
        ) from None


def _sheet(wb: Any, landed: Landed) -> ReadOnlyWorksheet:
    sheet = landed.options.get("sheet")
    titles = list(wb.sheetnames)
    if sheet is None:
        return wb[titles[0]]
    if isinstance(sheet, str) and sheet in titles:
        return wb[sheet]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if str(sheet) in titles:  # YAML reads `sheet: 2024` as a number; a sheet named "2024" wins
            return wb[str(sheet)]
        if 0 <= sheet < len(titles):
            return wb[titles[sheet]]
    raise UnreadableFileError(
        f"{landed.source_name}: no sheet {sheet!r}; the workbook has {', '.join(repr(t) for t in titles)}. "
        "Set source.sheet to one of these names, or to a position counted from 0."
    )


def _header(rows: Iterator[tuple[Any, ...]]) -> tuple[int, list[str] | None]:
    for number, values in enumerate(rows, start=1):
        texts = [cell_text(v) for v in values]
        if any(t is not None for t in texts):
            while texts and texts[-1] is None:  # trailing empty cells are not columns
                texts.pop()
            return number, [t or "" for t in texts]
    return 0, None


def _check_width(landed: Landed, title: str, row: int, texts: list[str | None], width: int, names: list[str]) -> None:
    extra = next((i for i in range(width, len(texts)) if texts[i] is not None), None)
    if extra is not None:
        raise UnreadableFileError(
            f"{landed.source_name}: sheet {title!r} row {row} has a value in column {_column_letter(extra)} but the "
            f"header has only {width} columns. Give that column a name in the header row (or clear the stray "
            "cell) and deliver the file again."
        )
    missing = next((i for i in range(min(width, len(texts))) if not names[i] and texts[i] is not None), None)
    if missing is not None:
        raise UnreadableFileError(
            f"{landed.source_name}: sheet {title!r} row {row} has a value in column {_column_letter(missing)}, whose "
            "header cell is empty. Give the column a name and deliver the file again."
        )


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
