"""Enumerations and plausible ranges: gender codes (GB/T 2261.1 and common spellings) and dates."""

from __future__ import annotations

import datetime as dt

# 1 = male, 2 = female (GB/T 2261.1); 男/女 as written; M/F from forms in English.
_GENDER = {
    "男": "男", "男性": "男", "1": "男", "M": "男", "MALE": "男",
    "女": "女", "女性": "女", "2": "女", "F": "女", "FEMALE": "女",
}


def normalize_gender(value: object) -> str | None:
    """男 or 女, or None when the value is not a recognised gender code."""
    if value is None:
        return None
    return _GENDER.get(str(value).strip().upper())


def gender_problem(value: object) -> str | None:
    if normalize_gender(value) is not None:
        return None
    return "性别应为 男/女/1/2/M/F / gender must be one of 男, 女, 1, 2, M, F"


def parse_bound(text: object, reference: dt.date) -> dt.date:
    """A date_range bound: an ISO date, ``today`` or ``delivery`` (both: the delivery's date)."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    if str(text).strip().lower() in ("today", "delivery"):
        return reference
    return dt.date.fromisoformat(str(text).strip())


def date_problem(value: dt.date | None, low: dt.date, high: dt.date) -> str | None:
    if value is None or low <= value <= high:
        return None
    return f"日期应在 {low} 至 {high} 之间 / the date must lie between {low} and {high}"
