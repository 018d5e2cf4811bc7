"""Dates in the forms departments deliver."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize.dates import parse_date
from tests.entity_resolution.er_strategies import cn_digits, cn_number, fullwidth

dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31))


def renderings(d: dt.date) -> list[object]:
    return [
        d.strftime("%Y%m%d"), d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month}.{d.day}",
        f"{d.year}年{d.month}月{d.day}日", f"{d.year}年{d.month:02d}月{d.day:02d}日",
        f"{cn_digits(d.year)}年{cn_number(d.month)}月{cn_number(d.day)}日", f"{d.isoformat()} 08:30:00",
        f"{d.isoformat()}T23:59:59", f"{d.isoformat()} 00:00:00.000", fullwidth(d.isoformat()),
        f" {d.year} - {d.month} - {d.day} ", int(d.strftime("%Y%m%d")), d, dt.datetime(d.year, d.month, d.day, 9),
        pd.Timestamp(d), (d - dt.date(1899, 12, 30)).days, float((d - dt.date(1899, 12, 30)).days) + 0.25,
        str((d - dt.date(1899, 12, 30)).days),
    ]


@settings(deadline=None)
@given(dates)
def test_every_rendering_parses_to_the_date(d):
    for rendered in renderings(d):
        assert parse_date(rendered) == d, rendered


@settings(deadline=None)
@given(dates)
def test_excel_serials_can_be_refused(d):
    assert parse_date((d - dt.date(1899, 12, 30)).days, excel_serials=False) is None
    assert parse_date(d.isoformat(), excel_serials=False) == d


@pytest.mark.parametrize("bad", [
    "1990-02-30", "1990-13-01", "19901301", "02/01/1990", "90-1-2", "abc", "", "  ", None, float("nan"), pd.NaT,
    True, "1879-12-31", "2101-01-01", "60", "1990年2月30日",
])
def test_not_dates(bad):
    assert parse_date(bad) is None


def test_excel_serial_epoch():
    assert parse_date(32875) == dt.date(1990, 1, 2)
    assert parse_date(61) == dt.date(1900, 3, 1)  # after Excel's fictitious 1900-02-29
