"""JSON (a top-level array of records, streamed with ijson) and JSON Lines (one record per line).

Records may carry different keys; the columns are the union of all keys in first-seen order, a missing key
is null. To give every batch that same schema the file is read twice: once for the keys (and to find
structural errors before anything is staged), once for the values. Memory stays flat in both passes.
Numbers keep their written form (``1.50`` stays ``1.50``); nested objects and lists become JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from connectors.base import Landed
from connectors.formats.common import PYTHON_BATCH_ROWS, UnreadableFileError, clean_names, string_batch, text_encoding

if TYPE_CHECKING:
    import pyarrow as pa

_SHOWN_BAD_LINES = 5


def read_json(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    batch_rows = min(batch_rows, PYTHON_BATCH_ROWS)
    encoding = text_encoding(landed)
    records = _jsonl_records if landed.format == "jsonl" else _array_records
    keys: dict[str, int] = {}
    for _, record in records(landed, encoding):
        for key in record:
            keys.setdefault(key, len(keys))
    names = clean_names(list(keys), landed.source_name, where="the records' keys")
    if any(not n for n in names):
        raise UnreadableFileError(
            f"{landed.source_name}: a record has an empty key (\"\"). Give every field a name and deliver the file again."
        )
    columns: list[list[str | None]] = [[] for _ in names]
    count = 0
    yielded = False
    for _, record in records(landed, encoding):
        values = [None] * len(names)
        for key, value in record.items():
            values[keys[key]] = json_text(value)
        for out, value in zip(columns, values, strict=True):
            out.append(value)
        count += 1
        if count == batch_rows:
            yielded = True
            yield string_batch(names, columns)
            columns, count = [[] for _ in names], 0
    if count or not yielded:
        yield string_batch(names, columns)


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


def _jsonl_records(landed: Landed, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    bad: list[str] = []
    with open(landed.path, encoding=encoding, newline=None) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                text = line.strip().lstrip("\ufeff")
                if not text:
                    continue
                try:
                    record = _loads(text)
                except ValueError as exc:
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid"
                    col = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
                    bad.append(f"line {number}: {msg}{col}")
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


def _loads(text: str) -> Any:
    """``json.loads(text, parse_float=Decimal)``, through orjson (5x faster) where that gives the same:
    a line orjson refuses (NaN, integers past 64 bits, lone surrogates, invalid JSON) or one holding a
    fraction (written form kept by Decimal) goes through :mod:`json`, which also words the errors."""
    import orjson

    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_float=Decimal)
    return json.loads(text, parse_float=Decimal) if _has_float(value) else value


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
