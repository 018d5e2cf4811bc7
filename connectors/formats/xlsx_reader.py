"""Excel workbooks (.xlsx) through python-calamine (Rust), with openpyxl's read-only mode as the fallback.

The first non-empty row is the header. Values become the text a person reads in the cell: dates as
``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS`` when they carry a time), whole numbers without ``.0``, formulas as
their last computed value. Entirely empty rows (formatting left behind) are not records and are passed over.

calamine parses the sheet ~20x faster than openpyxl (which builds Python objects per cell and per inline
string); it holds the chosen sheet's cells in memory while the rows are converted (~100 bytes per cell: a
130k-row, 11-column sheet ≈ 150 MB), which the single-sheet deliveries here afford. Where calamine reads a
cell differently from openpyxl, the workbook is read with openpyxl as before, so the texts never depend on
the reader: a cheap byte scan of the workbook's parts (:func:`_needs_openpyxl`) looks for those cases
(error cells, ISO-date cells, ``_xHHHH_`` escapes, untrimmed text without ``xml:space="preserve"``, integers
past 15 digits, negative or out-of-range serials in date-formatted cells).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.base import Landed
from connectors.formats.common import PYTHON_BATCH_ROWS, UnreadableFileError, clean_names, string_batch

if TYPE_CHECKING:
    import pyarrow as pa

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and encrypted .xlsx) files are OLE2 containers
_SCAN_CHUNK = 4 << 20
_SCAN_OVERLAP = 4096  # a match may straddle two chunks; no pattern below spans more than this
# What calamine reads differently from openpyxl, as bytes of the sheet XML. Literal searches run at memory
# speed; one alternation regex over all of them was 5x slower than the whole calamine parse.
_DIFFERENT_TOKENS = (
    b't="e"',  # error cells: calamine reads them empty, openpyxl as their text ("#N/A")
    b't="d"',  # ISO-date cells
)
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")  # calamine unescapes _x000D_, openpyxl keeps it as written
_LONG_INTEGER = re.compile(rb"<v>-?\d{16}")  # openpyxl keeps every digit of a long integer, calamine a float
_LEADING_SPACE = re.compile(rb"<t>[ \t\r\n]")  # calamine trims text that lacks xml:space="preserve"
_TRAILING_SPACE = re.compile(rb"[ \t\r\n]</t>")
_NON_DATE_FORMAT = rb"(?:[0-9]|1[0-3]|3[7-9]|4[0-4]|4[89])"  # builtin number formats that are no dates
_MAYBE_DATE_STYLE = re.compile(rb'numFmtId="(?!' + _NON_DATE_FORMAT + rb'")\d+"')
_DATE_CELL_RISK = re.compile(  # a value calamine and openpyxl convert differently if its style is a date
    rb'<c\b[^>]*?\bs="(\d+)"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]{0,2000}</f>)?<v>(?:-|\d{7})'
)


def read_xlsx(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    batch_rows = min(batch_rows, PYTHON_BATCH_ROWS)
    _check_not_ole2(landed)
    sheet = _calamine_sheet(landed)
    if sheet is None:
        yield from _read_openpyxl(landed, batch_rows)
        return
    title, rows = sheet
    yield from _batches(landed, title, rows, batch_rows)


def _batches(landed: Landed, title: str, rows: Iterator[Iterable[Any]], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Header, width checks and batches, the same whichever library produced the rows (1-based from row 1)."""
    header_row, header = _header(rows)
    if header is None:
        raise UnreadableFileError(
            f"{landed.source_name}: sheet {title!r} is empty (no header row). Put the column names in the "
            "first row and the records below it, or set source.sheet to the sheet that holds the data."
        )
    names = clean_names(header, landed.source_name, where=f"the header (row {header_row}) of sheet {title!r}")
    keep = [i for i, n in enumerate(names) if n]
    if not keep:
        raise UnreadableFileError(
            f"{landed.source_name}: the header (row {header_row}) of sheet {title!r} has no column names."
        )
    width = len(names)
    plain = keep == list(range(width))  # every column named: a row's texts are the record as they are
    row_number = header_row
    yielded = False
    while True:
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions it ignores: not ours
            warnings.simplefilter("ignore", UserWarning)
            chunk = list(itertools.islice(rows, batch_rows))
        if not chunk:
            break
        records: list[list[str | None]] = []
        for values in chunk:
            row_number += 1
            texts = [None if v is None or v == "" else v if v.__class__ is str else cell_text(v) for v in values]
            if not any(texts):  # texts are None or non-empty strings
                continue
            if len(texts) != width:
                if len(texts) > width:
                    _check_width(landed, title, row_number, texts, width, names)  # raises on a stray value
                    del texts[width:]
                else:  # openpyxl ends a row at its last cell
                    texts.extend([None] * (width - len(texts)))
            if not plain:
                _check_width(landed, title, row_number, texts, width, names)
                texts = [texts[i] for i in keep]
            records.append(texts)
        if records:
            yielded = True
            yield string_batch([names[i] for i in keep], [list(col) for col in zip(*records, strict=True)])
    if not yielded:
        yield string_batch([names[i] for i in keep], [[] for _ in keep])


def _calamine_sheet(landed: Landed) -> tuple[str, Iterator[list[Any]]] | None:
    """The chosen sheet's title and rows from calamine, or None when openpyxl must read this workbook
    (not a ZIP calamine opens, or a cell calamine reads differently: see the module docstring)."""
    try:
        with zipfile.ZipFile(landed.path) as zf:
            if _needs_openpyxl(zf):
                return None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None  # openpyxl names the problem as before
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(landed.path))
    except (CalamineError, OSError, ValueError):
        return None
    try:
        title = _pick_sheet(list(wb.sheet_names), landed)
        sheet = wb.get_sheet_by_name(title)
    except CalamineError:
        wb.close()
        return None
    start = sheet.start
    rows: Iterator[list[Any]] = iter(sheet.iter_rows())  # from row 1, but from the first used column on
    if start is not None and start[1]:
        pad = [None] * start[1]
        rows = (pad + row for row in rows)
    wb.close()  # the sheet holds its cells itself
    return title, rows


def _needs_openpyxl(zf: zipfile.ZipFile) -> bool:
    """True when some cell of the workbook would read differently through calamine (scanned as bytes)."""
    names = zf.namelist()
    parts = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    parts += [n for n in names if n == "xl/sharedStrings.xml"]
    date_styles = _date_styles(zf) if "xl/styles.xml" in names else set()
    if date_styles is None:
        return True
    for part in parts:
        with zf.open(part) as fh:
            tail = b""
            while block := fh.read(_SCAN_CHUNK):
                text = tail + block
                if _differs(text, date_styles):
                    return True
                tail = text[-_SCAN_OVERLAP:]
    return False


def _differs(text: bytes, date_styles: set[int]) -> bool:
    if any(token in text for token in _DIFFERENT_TOKENS):
        return True
    if b"_x" in text and _ESCAPE.search(text):
        return True
    if _LONG_INTEGER.search(text) or _LEADING_SPACE.search(text):
        return True
    for match in _TRAILING_SPACE.finditer(text):
        opener = text.rfind(b"<t", 0, match.start())
        if opener < 0 or text[opener:opener + 3] == b"<t>":  # no xml:space="preserve" (or not seen)
            return True
    return bool(date_styles) and any(int(m.group(1)) in date_styles for m in _DATE_CELL_RISK.finditer(text))


def _date_styles(zf: zipfile.ZipFile) -> set[int] | None:
    """The cell styles openpyxl reads as dates or durations (its own stylesheet parser, so they agree);
    None when it cannot parse the stylesheet."""
    styles = zf.read("xl/styles.xml")
    if not _MAYBE_DATE_STYLE.search(styles):
        return set()  # only general, number and percent formats: no cell is a date (and openpyxl stays unloaded)
    from openpyxl.styles.stylesheet import Stylesheet
    from openpyxl.xml.functions import fromstring

    try:
        sheet = Stylesheet.from_tree(fromstring(styles))
    except Exception:  # noqa: BLE001 - whatever openpyxl makes of this workbook, it should do it itself
        return None
    return set(sheet.date_formats) | set(sheet.timedelta_formats)


def _read_openpyxl(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    wb = _open_workbook(landed)
    try:
        ws = wb[_pick_sheet(list(wb.sheetnames), landed)]
        ws.reset_dimensions()  # a wrong <dimension> tag written by some tools would otherwise cut rows off
        yield from _batches(landed, ws.title, ws.iter_rows(values_only=True), batch_rows)
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


def _check_not_ole2(landed: Landed) -> None:
    with open(landed.path, "rb") as fh:
        magic = fh.read(4)
    if magic == _OLE2_MAGIC:
        raise UnreadableFileError(
            f"{landed.source_name}: not a valid XLSX workbook: it is an old Excel 97-2003 .xls file (or a "
            "password-protected workbook). Open it in Excel or WPS, save as .xlsx without a password (另存为 "
            "Excel 工作簿 .xlsx), and deliver it again."
        )


def _open_workbook(landed: Landed) -> Any:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return openpyxl.load_workbook(landed.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFileError(
            f"{landed.source_name}: not a valid XLSX workbook ({type(exc).__name__}). Is it an old .xls, a CSV "
            "renamed to .xlsx, or an upload that did not finish? Save it as .xlsx in Excel or WPS and deliver it again."
        ) from None


def _pick_sheet(titles: list[str], landed: Landed) -> str:
    sheet = landed.options.get("sheet")
    if sheet is None:
        return titles[0]
    if isinstance(sheet, str) and sheet in titles:
        return sheet
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if str(sheet) in titles:  # YAML reads `sheet: 2024` as a number; a sheet named "2024" wins
            return str(sheet)
        if 0 <= sheet < len(titles):
            return titles[sheet]
    raise UnreadableFileError(
        f"{landed.source_name}: no sheet {sheet!r}; the workbook has {', '.join(repr(t) for t in titles)}. "
        "Set source.sheet to one of these names, or to a position counted from 0."
    )


def _header(rows: Iterator[Iterable[Any]]) -> tuple[int, list[str] | None]:
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
