"""Typing delivered text into canonical column types, vectorised with pyarrow.

Every parser returns ``(values, bad)``: the typed array (null where the text was empty or unparseable) and a
boolean mask of cells that held text which could not be parsed, so the caller can quarantine or warn.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from catalog.models import FieldSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
}

TRUE_WORDS = ["是", "true", "t", "yes", "y", "1", "有"]
FALSE_WORDS = ["否", "false", "f", "no", "n", "0", "无"]
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_INT = r"^[+-]?\d+(\.0+)?$"
_DEC = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_SERIAL = r"^\d{1,6}(\.\d+)?$"
# XLSX readers hand dates over as ISO text; always accept it besides the catalog's formats.
_ISO_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
# Databases hand timestamps over as ISO 8601 with fractions and offsets (PostgreSQL timestamptz).
_ISO_FULL = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
LOCAL_TZ = "Asia/Shanghai"


def clean_text(arr: pa.Array) -> pa.Array:
    """Trim whitespace (including full-width spaces); empty becomes null."""
    arr = pc.utf8_trim(arr.cast(pa.string()), characters=" \t\r\n\u3000\u00a0")
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def parse_column(arr: pa.Array, spec: FieldSpec) -> tuple[pa.Array, pa.Array]:
    """Type a cleaned text column per its field spec."""
    text = clean_text(arr)
    present = pc.is_valid(text)
    if spec.type == "string":
        return text, pa.array([False] * len(text), pa.bool_())
    if spec.type == "integer":
        values = _parse_numeric(text, _INT, pa.int64(), strip_fraction=True)
    elif spec.type == "decimal":
        values = _parse_numeric(text, _DEC, pa.float64())
    elif spec.type == "boolean":
        lowered = pc.utf8_lower(text)
        values = pc.if_else(
            pc.is_in(lowered, value_set=pa.array(TRUE_WORDS)), True,
            pc.if_else(pc.is_in(lowered, value_set=pa.array(FALSE_WORDS)), False, pa.scalar(None, pa.bool_())),
        )
    elif spec.type == "date":
        values = _parse_datetime(text, spec.date_formats()).cast(pa.date32())
    else:
        values = _parse_datetime(text, spec.date_formats())
    bad = pc.and_(present, pc.is_null(values))
    return values, pc.fill_null(bad, False)


def _parse_numeric(text: pa.Array, pattern: str, target: pa.DataType, strip_fraction: bool = False) -> pa.Array:
    compact = pc.replace_substring(text, ",", "")
    ok = pc.fill_null(pc.match_substring_regex(compact, pattern), False)
    if strip_fraction:  # Excel hands whole numbers over as "12.0"
        compact = pc.replace_substring_regex(compact, r"\.0+$", "")
    safe = pc.if_else(ok, compact, pa.scalar(None, pa.string()))
    return pc.cast(safe, target)


def _parse_datetime(text: pa.Array, formats: list[str]) -> pa.Array:
    """First format that parses wins; Excel serial day numbers are understood too."""
    result = pa.nulls(len(text), pa.timestamp("us"))
    unpadded_text = None
    for fmt in [*formats, *[f for f in _ISO_FORMATS if f not in formats]]:
        parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        if not pc.any(pc.is_valid(parsed)).as_py():
            continue
        # strptime rolls impossible days over (2023-02-30 → 03-02): keep a value only if it prints back as
        # the text it came from, leading zeros aside (1990/1/2 and 1990/01/02 are both fine).
        printed = pc.strftime(parsed, format=fmt)
        keep = pc.fill_null(pc.equal(printed, text), False)
        if not pc.all(pc.or_(keep, pc.is_null(parsed))).as_py():  # unpadding costs regexes: only when needed
            unpadded_text = unpadded_text if unpadded_text is not None else _unpad(text)
            keep = pc.or_(keep, pc.fill_null(pc.equal(_unpad(printed), unpadded_text), False))
        parsed = pc.if_else(keep, parsed, pa.scalar(None, pa.timestamp("us")))
        result = pc.coalesce(result, parsed)
    result = pc.coalesce(result, _parse_iso_full(text, result))
    serial_ok = pc.fill_null(pc.match_substring_regex(text, _SERIAL), False)
    if pc.any(pc.and_(serial_ok, pc.is_null(result))).as_py():
        days = pc.cast(pc.if_else(serial_ok, text, pa.scalar(None, pa.string())), pa.float64())
        # Excel serials between 1 (1900-01-01) and 2958465 (9999-12-31); anything else is not a date
        in_range = pc.fill_null(pc.and_(pc.greater_equal(days, 1), pc.less_equal(days, 2958465)), False)
        micros = pc.cast(pc.multiply(pc.if_else(in_range, days, pa.scalar(None, pa.float64())), 86_400_000_000.0), pa.int64())
        epoch = int((EXCEL_EPOCH - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
        serial = pc.cast(pc.add(micros, epoch), pa.timestamp("us"))
        result = pc.coalesce(result, serial)
    return result


def _parse_iso_full(text: pa.Array, parsed: pa.Array) -> pa.Array:
    """ISO 8601 with fractions and offsets; values with an offset become local (Asia/Shanghai) wall time,
    like every other timestamp a department delivers."""
    todo = pc.and_(pc.is_null(parsed), pc.fill_null(pc.match_substring_regex(text, _ISO_FULL), False))
    if not pc.any(todo).as_py():
        return pa.nulls(len(text), pa.timestamp("us"))
    iso = pc.if_else(todo, pc.replace_substring(text, " ", "T"), pa.scalar(None, pa.string()))
    has_offset = pc.fill_null(pc.match_substring_regex(iso, r"(Z|[+-]\d{2}:?\d{2})$"), False)
    naive = pc.if_else(has_offset, pa.scalar(None, pa.string()), iso).cast(pa.timestamp("us"))
    aware = pc.if_else(has_offset, iso, pa.scalar(None, pa.string())).cast(pa.timestamp("us", "UTC"))
    local = pc.local_timestamp(aware.cast(pa.timestamp("us", LOCAL_TZ)))
    return pc.coalesce(naive, local)


def _unpad(text: pa.Array) -> pa.Array:
    """Drop leading zeros of every number that follows a non-digit: 1990/01/02 → 1990/1/2."""
    return pc.replace_substring_regex(text, r"(^|\D)0+(\d)", r"\1\2")
