"""Typing delivered text: every listed date format, Excel serials, ISO timestamps with offsets."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import FieldSpec
from connectors.typing import parse_column

DATE = FieldSpec(column="出生日期", type="date", formats=["%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"])


def parse(values: list[str | None], spec: FieldSpec) -> tuple[list, list]:
    typed, bad = parse_column(pa.array(values, pa.string()), spec)
    return typed.to_pylist(), bad.to_pylist()


@settings(deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31)))
def test_every_listed_format_and_excel_serial_parse_to_the_same_date(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    texts = [day.strftime("%Y%m%d"), day.isoformat(), f"{day.year}/{day.month}/{day.day}",
             f"{day.year}年{day.month}月{day.day}日", str(serial), f" {day.isoformat()} "]
    typed, bad = parse(texts, DATE)
    assert typed == [day] * len(texts)
    assert bad == [False] * len(texts)


def test_unparseable_and_empty_are_told_apart() -> None:
    typed, bad = parse(["不详", "", None, "2023-02-30", "19900101"], DATE)
    assert typed == [None, None, None, None, dt.date(1990, 1, 1)]
    assert bad == [True, False, False, True, False]


def test_timestamps_with_offsets_become_local_time() -> None:
    spec = FieldSpec(column="更新时间", type="timestamp")
    typed, bad = parse(["2024-01-01T08:00:00+00:00", "2024-01-01 08:00:00", "2024-01-01T08:00:00.5"], spec)
    assert typed == [dt.datetime(2024, 1, 1, 16), dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, 8, 0, 0, 500000)]
    assert bad == [False, False, False]


def test_numbers_and_booleans() -> None:
    ints, bad = parse(["12", "12.0", "1,200", "12.5", "x"], FieldSpec(column="n", type="integer"))
    assert ints == [12, 12, 1200, None, None] and bad == [False, False, False, True, True]
    decs, _ = parse(["114.05", "-3", ".5"], FieldSpec(column="d", type="decimal"))
    assert decs == [114.05, -3.0, 0.5]
    flags, bad = parse(["是", "否", "TRUE", "0", "也许"], FieldSpec(column="b", type="boolean"))
    assert flags == [True, False, True, False, None] and bad[-1] is True
