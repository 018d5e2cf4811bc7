"""JSON (a top-level array of records, streamed with ijson) and JSON Lines (one record per line).

Records may carry different keys; the columns are the union of all keys in first-seen order, a missing key
is null. To give every batch that same schema the file is read twice: once for the keys (and to find
structural errors before anything is staged), once for the values. Memory stays flat in both passes.
Numbers keep their written form (``1.50`` stays ``1.50``); nested objects and lists become JSON text.

The first pass parses line by line (orjson, falling back to :mod:`json` for what orjson reads differently),
which also words the errors. A UTF-8 JSON Lines file whose values are all text or null then has its values
read by pyarrow's C++ JSON reader (a third of the CPU of building the rows in Python), after arrow read the
whole file once and counted the same records; anything arrow takes differently makes it fail, and the
Python path reads the values instead.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from connectors.base import Landed
from connectors.formats.common import PYTHON_BATCH_ROWS, UnreadableFileError, clean_names, string_batch, text_encoding

if TYPE_CHECKING:
    import pyarrow as pa

_SHOWN_BAD_LINES = 5
_PLAIN_TYPES = frozenset({str, type(None)})
_ARROW_BLOCK = 1 << 20  # bytes per block arrow parses: memory stays near a few blocks


def read_json(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    batch_rows = min(batch_rows, PYTHON_BATCH_ROWS)
    encoding = text_encoding(landed)
    records = _jsonl_records if landed.format == "jsonl" else _array_records
    # the union of keys in first-seen order: taken shape by shape (the tuple of a record's keys; a file has a
    # handful), which gives the same order as key by key, without a Python step per key of every record
    shapes: dict[tuple[str, ...], None] = {}
    kinds: set[type] = set()  # the types of all values: only text and null lets arrow read the values
    count = 0
    for _, record in records(landed, encoding):
        shapes[tuple(record)] = None
        kinds.update(map(type, record.values()))
        count += 1
    keys: dict[str, int] = {}
    for shape in shapes:
        for key in shape:
            keys.setdefault(key, len(keys))
    names = clean_names(list(keys), landed.source_name, where="the records' keys")
    if any(not n for n in names):
        raise UnreadableFileError(
            f"{landed.source_name}: a record has an empty key (\"\"). Give every field a name and deliver the file again."
        )
    all_keys = tuple(keys)
    if landed.format == "jsonl" and kinds <= _PLAIN_TYPES and _arrow_reads_the_same(landed, encoding, all_keys, count):
        yield from _arrow_batches(landed, all_keys, names, batch_rows)
        return
    width = len(names)
    rows: list[list[str | None]] = []
    yielded = False
    for _, record in records(landed, encoding):
        if tuple(record) == all_keys:  # the usual record: every key, in the file's order
            values = list(record.values())
            if set(map(type, values)) <= _PLAIN_TYPES:
                rows.append([v or None for v in values])  # text as it is, "" and null as null
            else:
                rows.append([json_text(v) for v in values])
        else:
            row: list[str | None] = [None] * width
            for key, value in record.items():
                row[keys[key]] = json_text(value)
            rows.append(row)
        if len(rows) == batch_rows:
            yielded = True
            yield _batch(names, rows)
            rows = []
    if rows or not yielded:
        yield _batch(names, rows)


def _arrow_options(keys: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.json as pajson

    schema = pa.schema([(k, pa.string()) for k in keys])
    return pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")


def _arrow_reads_the_same(landed: Landed, encoding: str, keys: tuple[str, ...], count: int) -> bool:
    """Whether pyarrow's JSON reader (C++, multi-threaded) reads this JSON Lines file as the line-by-line pass
    did: UTF-8, every value text or null (so nothing depends on how a number is written) and, read through
    once, exactly as many records. Any line arrow takes differently (a duplicate key, a lone surrogate, a
    BOM, blank lines of odd white space) makes it fail or count differently, and the Python path reads the
    file instead, so the texts never depend on the reader."""
    import pyarrow as pa
    import pyarrow.json as pajson

    if encoding not in ("utf-8", "utf-8-sig") or not keys:
        return False
    with open(landed.path, "rb") as fh:
        if fh.read(3) == b"\xef\xbb\xbf":
            return False
    try:
        reader = pajson.open_json(landed.path, read_options=pajson.ReadOptions(block_size=_ARROW_BLOCK),
                                  parse_options=_arrow_options(keys))
        rows = sum(batch.num_rows for batch in reader)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return False
    return rows == count


def _arrow_batches(landed: Landed, keys: tuple[str, ...], names: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's records through pyarrow, cut into the same batches as the Python path ("" read as null)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    null = pa.scalar(None, pa.string())
    reader = pajson.open_json(landed.path, read_options=pajson.ReadOptions(block_size=_ARROW_BLOCK),
                              parse_options=_arrow_options(keys))
    pending: list[pa.RecordBatch] = []
    held = 0
    yielded = False
    for batch in itertools.chain(reader, [None]):
        if batch is not None:
            pending.append(batch)
            held += batch.num_rows
        while held >= batch_rows or (batch is None and held):
            table = pa.Table.from_batches(pending)
            take = min(batch_rows, held)
            head, pending = table.slice(0, take), table.slice(take).to_batches()
            held -= take
            columns = [_empty_as_null(col.combine_chunks(), null) for col in head.columns]
            yielded = True
            yield pa.RecordBatch.from_arrays(columns, names=names)
    if not yielded:
        yield _batch(names, [])


def _empty_as_null(column: pa.Array, null: pa.Scalar) -> pa.Array:
    import pyarrow.compute as pc

    empty = pc.equal(column, "")
    if not pc.any(empty).as_py():
        return column
    return pc.if_else(empty, null, column)


def _batch(names: list[str], rows: list[list[str | None]]) -> pa.RecordBatch:
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in names]
    return string_batch(names, columns)


def json_text(value: Any) -> str | None:
    """A JSON value as delivered text: strings as they are, numbers as written, nested values as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=_plain_number)


def _plain_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _not_a_record(landed: Landed, where: str, value: Any) -> UnreadableFileError:
    kind = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(type(value), "a number")
    return UnreadableFileError(
        f"{landed.source_name}: {where} is {kind}, not an object with named fields. Every record must look like "
        '{"姓名": "…", "公民身份号码": "…"}; fix the export and deliver the file again.'
    )


def _array_records(landed: Landed, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    import ijson

    _check_starts_with_array(landed, encoding)
    number = 0
    with _utf8_stream(landed, encoding) as stream:
        try:
            for number, item in enumerate(ijson.items(stream, "item"), start=1):  # noqa: B007
                if not isinstance(item, dict):
                    raise _not_a_record(landed, f"record {number} of the array", item)
                yield number, item
        except ijson.JSONError as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise UnreadableFileError(
                f"{landed.source_name}: not valid JSON after record {number} ({reason}). Check that the file is "
                "complete (an upload cut short ends without ']') and was exported as JSON, then deliver it again."
            ) from None


def _check_starts_with_array(landed: Landed, encoding: str) -> None:
    with open(landed.path, encoding=encoding, errors="replace") as fh:
        head = fh.read(4096).lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return
    if head.startswith("{"):
        hint = ("the top level is one object, not an array of records. Deliver [{...}, {...}] (a JSON array), "
                "or one record per line as JSON Lines (.jsonl)")
    elif not head:
        hint = "the file holds only white space"
    else:
        hint = "it does not start with '[': it is not a JSON array of records (is it CSV or JSON Lines?)"
    raise UnreadableFileError(f"{landed.source_name}: {hint}. Fix the export and deliver the file again.")


def _bad_line(bad: list[str], number: int, exc: ValueError) -> None:
    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid"
    col = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
    bad.append(f"line {number}: {msg}{col}")


def _jsonl_records(landed: Landed, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    import orjson

    loads = orjson.loads
    bad: list[str] = []
    with open(landed.path, encoding=encoding, newline=None) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                text = line.strip().lstrip("\ufeff")
                if not text:
                    continue
                # json.loads(text, parse_float=Decimal), through orjson (5x faster) where that gives the same: a
                # line orjson refuses (NaN, integers past 64 bits, lone surrogates, invalid JSON) or one holding
                # a fraction (written form kept by Decimal) goes through json, which also words the errors
                try:
                    record = loads(text)
                    if record.__class__ is dict:  # one C-level pass over a flat record's value types
                        kinds = set(map(type, record.values()))
                        if float in kinds or ((dict in kinds or list in kinds) and _has_float(record)):
                            record = json.loads(text, parse_float=Decimal)
                    elif _has_float(record):
                        record = json.loads(text, parse_float=Decimal)
                except orjson.JSONDecodeError:
                    try:
                        record = json.loads(text, parse_float=Decimal)
                    except ValueError as exc:
                        _bad_line(bad, number, exc)
                        if len(bad) >= _SHOWN_BAD_LINES:
                            break
                        continue
                except ValueError as exc:
                    _bad_line(bad, number, exc)
                    if len(bad) >= _SHOWN_BAD_LINES:
                        break
                    continue
                if not isinstance(record, dict):
                    raise _not_a_record(landed, f"line {number}", record)
                if not bad:
                    yield number, record
        except UnicodeDecodeError:
            raise UnreadableFileError(
                f"{landed.source_name}: not valid {encoding} text. Save it as UTF-8 and deliver it again."
            ) from None
    if bad:
        raise UnreadableFileError(
            f"{landed.source_name}: not valid JSON Lines: {'; '.join(bad)}. Each line must be one complete JSON "
            "object (no line breaks inside a record, no trailing commas); fix these lines and deliver the file again."
        )


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if not isinstance(value, dict | list):
        return False
    items = value.values() if isinstance(value, dict) else value
    kinds = set(map(type, items))  # one C-level pass over a record's values
    if float in kinds:
        return True
    return (dict in kinds or list in kinds) and any(_has_float(v) for v in items if isinstance(v, dict | list))


class _utf8_stream:  # noqa: N801 - a context manager
    """A binary stream of UTF-8 bytes for ijson, transcoding on the fly when the file is GB18030 or UTF-16."""

    def __init__(self, landed: Landed, encoding: str):
        self.landed = landed
        self.encoding = encoding
        self.fh: IO[Any] | None = None

    def __enter__(self) -> _utf8_stream:
        if self.encoding in ("utf-8", "utf-8-sig"):
            self.fh = open(self.landed.path, "rb")
            if self.fh.read(3) != b"\xef\xbb\xbf":
                self.fh.seek(0)
        else:
            self.fh = open(self.landed.path, encoding=self.encoding)
        return self

    def read(self, size: int = -1) -> bytes:
        assert self.fh is not None
        data = self.fh.read(size)
        return data.encode("utf-8") if isinstance(data, str) else data

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()
