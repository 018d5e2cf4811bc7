"""Dates as departments write them → ``datetime.date``.

Accepted: 19900102, 1990-01-02, 1990/1/2, 1990.1.2, 1990年1月2日, 一九九〇年一月二日, a trailing time
(1990-01-02 08:30:00, 1990-01-02T08:30), full-width digits, ``date`` / ``datetime`` / pandas Timestamp
objects, and Excel serial day numbers (32875 → 1990-01-02) that leak from spreadsheets whose date cells were
read as numbers. Day-first and two-digit-year forms (02/01/1990, 90-1-2) are refused: they are ambiguous.
Anything that is not a real calendar date in [1880, 2100] gives None.
"""

from __future__ import annotations

import datetime as dt
import re

from entity_resolution.standardize._text import CN_NUMERAL_CHARS, cn_numeral_to_int, nfkc
from entity_resolution.standardize._vector import Column, map_unique

MIN_DATE = dt.date(1880, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
# Excel's day 0 is 1899-12-30 once its fictitious 1900-02-29 (serial 60) is accounted for; serials below 61
# are January–February 1900, far outside the dates we meet, so they are refused rather than special-cased.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_MIN, _EXCEL_MAX = 61, (MAX_DATE - _EXCEL_EPOCH).days

_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SEPARATED = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_CN_FULL = re.compile(f"^([{CN_NUMERAL_CHARS}\\d]{{4}})年([{CN_NUMERAL_CHARS}\\d]{{1,3}})月([{CN_NUMERAL_CHARS}\\d]{{1,3}})[日号]$")
_TIME_TAIL = re.compile(r"(?:[ T]\d{1,2}(?::\d{1,2}){1,2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?|[ T]0+)$")
_EXCEL = re.compile(r"^\d{2,5}(?:\.\d+)?$")


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None
    return value if MIN_DATE <= value <= MAX_DATE else None


def from_excel_serial(serial: float) -> dt.date | None:
    """The date of an Excel (1900 system) serial day number; the fraction (time of day) is ignored."""
    days = int(serial)
    if not _EXCEL_MIN <= days <= _EXCEL_MAX:
        return None
    return _make_from(_EXCEL_EPOCH + dt.timedelta(days=days))


def _make_from(value: dt.date) -> dt.date | None:
    return value if MIN_DATE <= value <= MAX_DATE else None


def parse_date(value: object, *, excel_serials: bool = True) -> dt.date | None:
    """The calendar date ``value`` denotes, or None. ``excel_serials=False`` refuses bare day numbers
    (use it for columns where a 5-digit number is something else)."""
    if value is None or value != value:  # None, NaN, NaT
        return None
    if isinstance(value, dt.datetime):
        return _make_from(value.date())
    if isinstance(value, dt.date):
        return _make_from(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer() and value > 10**7:
            return None
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = _TIME_TAIL.sub("", nfkc(str(value)).strip())
    if m := _COMPACT.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _SEPARATED.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _CN_FULL.match(text):
        parts = [cn_numeral_to_int(p) for p in m.groups()]
        if None in parts:
            return None
        year, month, day = (int(p) for p in parts)  # type: ignore[arg-type]
        return _make(year, month, day)
    if excel_serials and _EXCEL.match(text):
        return from_excel_serial(float(text))
    return None


def parse_dates(values: Column, *, excel_serials: bool = True) -> Column:
    """:func:`parse_date` over a column; pyarrow input gives a ``date32`` array."""
    return map_unique(values, lambda v: parse_date(v, excel_serials=excel_serials), "date32")
