"""GB/T 2260 administrative division codes (行政区划代码), with validity dates.

Codes are retired and re-assigned over time (two Guangzhou districts merged in 2005, 增城市 became 增城区 in
2014), so a code is judged *as of* a date. The shipped table (``data/gbt2260.csv``) lists every province,
the demo province's prefecture-level cities, and every county-level code, current and retired, of the
prefectures it details; elsewhere only the levels it lists are checked (province, then prefecture).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("data") / "gbt2260.csv"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    """First day the code is no longer valid; None = still in use."""
    replaced_by: str | None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE) -> dict[str, Division]:
    with path.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {
            r["code"]: Division(r["code"], r["name"], _date(r["valid_from"]), _date(r["valid_to"]), r["replaced_by"] or None)
            for r in rows
        }


@lru_cache(maxsize=4)
def _detail(path: Path = TABLE) -> tuple[frozenset[str], frozenset[str]]:
    """Provinces whose prefectures the table lists, and prefectures (4 digits) whose counties it lists."""
    codes = load_table(path)
    return (frozenset(c[:2] for c in codes if c[2:] != "0000"), frozenset(c[:4] for c in codes if c[4:] != "00"))


def lookup(code: str) -> Division | None:
    return load_table().get(code)


def problem(value: str | None, *, on: dt.date | None = None, allow_retired: bool = False) -> str | None:
    """Why ``value`` is not a division code valid on ``on`` (default today), in plain words; None when it is."""
    code = "".join(str(value or "").split())
    if len(code) != 6 or not code.isdigit():
        return f"应为 6 位数字 / a division code has 6 digits, got {code[:12]!r}"
    table = load_table()
    day = on or dt.date.today()
    if code[:2] + "0000" not in table:
        return f"省级代码 {code[:2]} 不存在 / {code[:2]} is not a province-level GB/T 2260 code"
    detailed_provinces, detailed_prefectures = _detail()
    if code[2:] != "0000" and code[:2] in detailed_provinces:
        if code[:4] + "00" not in table and code[:4] not in detailed_prefectures:
            return f"地市代码 {code[:4]}00 不存在 / {code[:4]}00 is not a prefecture-level code of province {code[:2]}0000"
        if code[4:] != "00" and code[:4] not in detailed_prefectures:
            return None  # a county of a prefecture the table does not detail
    elif code[2:] != "0000":
        return None  # a province the table does not detail: the province-level check is all we can do
    entry = table.get(code)
    if entry is None:
        return f"代码 {code} 不存在 / {code} is not a GB/T 2260 code"
    if entry.valid_on(day) or allow_retired and entry.valid_to is not None:
        return None
    if entry.valid_to is not None and entry.valid_to <= day:
        hint = f"，现为 {entry.replaced_by} / now {entry.replaced_by}" if entry.replaced_by else ""
        return f"代码 {code}（{entry.name}）已于 {entry.valid_to} 撤销{hint} / code {code} was retired on {entry.valid_to}"
    return f"代码 {code}（{entry.name}）自 {entry.valid_from} 起才启用 / code {code} is only valid from {entry.valid_from}"


def is_valid(value: str | None, *, on: dt.date | None = None, allow_retired: bool = False) -> bool:
    return problem(value, on=on, allow_retired=allow_retired) is None
