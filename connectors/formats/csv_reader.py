"""CSV and TSV through pyarrow's streaming reader, every column read as text.

The header is read twice: a probe learns the column names as pyarrow parses them (quoted line breaks
included), then the real reader gets ``column_types`` = string for each of those names, so nothing is ever
inferred as a number (an ID number's leading zeros survive). Non-UTF-8 files are transcoded by pyarrow block
by block, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING

from connectors.base import Landed
from connectors.formats.common import UnreadableFileError, clean_names, sliced, text_encoding

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pacsv

BLOCK_BYTES = 1 << 20  # arrow keeps ~35 blocks in flight: 1 MB blocks hold a read near 40 MB (measured)
_CANDIDATES = ("\t", ";", "|")
_SHOWN_BAD_ROWS = 5


def read_csv(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = text_encoding(landed)
    delimiter = _delimiter(landed, encoding)
    ragged: list[int] = []  # field counts of rows that do not match the header

    def on_invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(row.actual_columns)
        return "skip"  # keep counting; the delivery fails once the whole file was seen (see below)

    read = pacsv.ReadOptions(encoding=_arrow_encoding(encoding), block_size=BLOCK_BYTES)
    probe = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=lambda _row: "skip")
    raw_names = _probe_header(landed, encoding, read, probe)
    names = clean_names(raw_names, landed.source_name)
    unnamed = [i for i, n in enumerate(names) if not n]
    keep = [i for i, n in enumerate(names) if n]
    if not keep:
        raise UnreadableFileError(
            f"{landed.source_name}: the first line has no column names. Put the column names in the first line "
            "and deliver the file again."
        )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in raw_names},
        null_values=[""],  # "NA", "NULL", "-" are values a department wrote: keep them as text
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid)
    out_names = [names[i] for i in keep]
    yielded = False
    with _arrow_errors(landed, encoding):
        reader = pacsv.open_csv(landed.path, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            for i in unnamed:
                if batch.column(i).null_count != batch.num_rows:
                    raise UnreadableFileError(
                        f"{landed.source_name}: column {i + 1} has values but no name in the header. Give the "
                        "column a name (or delete it if it is not needed) and deliver the file again."
                    )
            out = pa.RecordBatch.from_arrays([batch.column(i) for i in keep], names=out_names)
            for piece in sliced(out, batch_rows):
                yielded = True
                yield piece
    if ragged:
        raise UnreadableFileError(_ragged_message(landed, encoding, delimiter, len(raw_names), ragged))
    _check_quotes_closed(landed, encoding, delimiter)
    if not yielded:
        yield pa.RecordBatch.from_arrays([pa.array([], pa.string()) for _ in keep], names=out_names)


def _arrow_encoding(encoding: str) -> str:
    # pyarrow skips a UTF-8 BOM itself; anything else is transcoded through the Python codec
    return "utf8" if encoding.replace("_", "-") in ("utf-8", "utf-8-sig", "utf8") else encoding


def _probe_header(landed: Landed, encoding: str, read: pacsv.ReadOptions, parse: pacsv.ParseOptions) -> list[str]:
    import pyarrow.csv as pacsv

    with _arrow_errors(landed, encoding):
        reader = pacsv.open_csv(landed.path, read_options=read, parse_options=parse)
        names = list(reader.schema.names)
        reader.close()
    return names


def _delimiter(landed: Landed, encoding: str) -> str:
    given = landed.options.get("delimiter")
    if given:
        return {"\\t": "\t", "tab": "\t"}.get(given, given)
    if landed.format == "tsv":
        return "\t"
    with open(landed.path, encoding=encoding, errors="replace", newline="") as fh:
        first = next((line for line in fh if line.strip("\r\n\ufeff \t")), "")
    # a comma in the header line means CSV; otherwise the most frequent of tab, semicolon, pipe (Excel's
    # "Unicode text" export is tab-separated and often named .txt)
    if "," in first:
        return ","
    best = max(_CANDIDATES, key=first.count)
    return best if first.count(best) else ","


def _ragged_message(landed: Landed, encoding: str, delimiter: str, expected: int, ragged: list[int]) -> str:
    shown = _locate_ragged(landed, encoding, delimiter, expected)
    sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))
    if shown:
        where = ", ".join(f"line {line} has {n} fields" for line, n in shown)
    else:  # Python's csv module and pyarrow disagreed on where: still say what was seen
        where = ", ".join(f"a row has {n} fields" for n in ragged[:_SHOWN_BAD_ROWS])
    more = f" (and {len(ragged) - len(shown)} more)" if len(ragged) > len(shown) and shown else ""
    return (
        f"{landed.source_name}: {len(ragged)} row(s) do not have the {expected} fields of the header "
        f"({sep}-separated): {where}{more}. Check for unquoted {sep}s or line breaks inside a value (put such "
        "values in double quotes) and deliver the file again. Nothing from this file was accepted. "
        f"/ 有 {len(ragged)} 行的列数与表头（{expected} 列）不一致，请检查值中未加引号的分隔符或换行后重新提交。"
    )


def _locate_ragged(landed: Landed, encoding: str, delimiter: str, expected: int) -> list[tuple[int, int]]:
    """Line numbers of the first ragged rows (a second pass, only on the error path)."""
    found: list[tuple[int, int]] = []
    with open(landed.path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header_seen = False
        start = 1
        for row in reader:
            if row and header_seen and len(row) != expected:
                found.append((start, len(row)))
                if len(found) >= _SHOWN_BAD_ROWS:
                    break
            header_seen = header_seen or bool(row)
            start = reader.line_num + 1
    return found


def _check_quotes_closed(landed: Landed, encoding: str, delimiter: str) -> None:
    """pyarrow reads a quote that is never closed as one value running to the end of the file: rows vanish
    into it without an error. An odd number of quote characters is the cheap sign; Python's csv module in
    strict mode then finds the line (a stray quote inside an unquoted value is legal and passes)."""
    if _quote_count(landed, encoding) % 2 == 0:
        return
    with open(landed.path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error:
            raise UnreadableFileError(
                f"{landed.source_name}: line {start}: a value opens a double quote (\") that is not closed "
                "properly, so the lines after it would be read as part of that value. Close the quote, double "
                'every quote inside a quoted value ("" for "), and deliver the file again. '
                f"/ 第 {start} 行的引号未正确闭合，请修正后重新提交。"
            ) from None


def _quote_count(landed: Landed, encoding: str) -> int:
    count = 0
    if encoding.replace("_", "-") in ("utf-8", "utf-8-sig", "utf8", "gb18030"):
        # byte 0x22 never occurs inside a multibyte UTF-8 or GB18030 character: count bytes, not characters
        with open(landed.path, "rb") as fh:
            while block := fh.read(1 << 20):
                count += block.count(b'"')
        return count
    with open(landed.path, encoding=encoding, errors="replace") as fh:
        while text := fh.read(1 << 20):
            count += text.count('"')
    return count


class _arrow_errors:  # noqa: N801 - used as a context manager, reads like one
    """Turn pyarrow's parse and decode errors into UnreadableFileError (never echoing row contents)."""

    def __init__(self, landed: Landed, encoding: str):
        self.landed = landed
        self.encoding = encoding

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        import pyarrow as pa

        if exc is None or isinstance(exc, UnreadableFileError):
            return False
        name = self.landed.source_name
        text = str(exc)
        if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in text or "invalid utf8" in text.lower():
            raise UnreadableFileError(
                f"{name}: not valid {self.encoding} text. Set source.encoding in the catalog to the file's real "
                "encoding (auto, utf-8, gb18030), or save the file as 'CSV UTF-8' and deliver it again."
            ) from None
        if isinstance(exc, pa.ArrowInvalid):
            if "Empty CSV file" in text:
                raise UnreadableFileError(f"{name}: empty file (no header line). Export the data again.") from None
            reason = text.split(":", 2)[:2]  # pyarrow appends the offending row: never echo personal data
            raise UnreadableFileError(
                f"{name}: cannot be read as delimited text ({': '.join(reason)[:200]}). Check that it is a CSV "
                "export with one header line, and deliver it again."
            ) from None
        return False
