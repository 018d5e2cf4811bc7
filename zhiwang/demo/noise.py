"""The mistakes real extracts carry, one small function per kind, and stable per-entity random draws.

Every mutation takes the clean value and a random integer and returns the noisy value, or None when the
kind does not apply to that value (a 15-digit form for someone born in 2001, say). Draws are per entity and
tag, so delivery 2 repeats delivery 1's mistakes for the same records (departments resend the same dirty
rows) and only new entities get new draws.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from quality.validators.uscc import ALPHABET
from zhiwang.demo import names
from zhiwang.demo.strings import stable_tag

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CN_DIGITS = "零一二三四五六七八九"
EXCEL_EPOCH = dt.date(1899, 12, 30)


class Draws:
    """Per-entity random numbers that do not change when entities are appended (births, new firms)."""

    def __init__(self, seed: int, n_base: int, n_total: int, scope: str = ""):
        self.seed, self.n_base, self.n_total, self.scope = seed, n_base, n_total, scope

    def _gen(self, tag: tuple[object, ...], part: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stable_tag(self.scope, *tag), part])

    def uniform(self, *tag: object) -> np.ndarray:
        base = self._gen(tag, 0).random(self.n_base)
        return np.concatenate([base, self._gen(tag, 1).random(self.n_total - self.n_base)])

    def ints(self, *tag: object) -> np.ndarray:
        base = self._gen(tag, 0).integers(0, 2**31, self.n_base)
        return np.concatenate([base, self._gen(tag, 1).integers(0, 2**31, self.n_total - self.n_base)])


def pick(u: np.ndarray, rate: float, minimum: int) -> np.ndarray:
    """Rows whose draw is under ``rate``; at least ``minimum`` (the lowest draws) so small demo cities still
    show every kind of mistake."""
    chosen = np.flatnonzero(u < rate)
    if len(chosen) < minimum and len(u):
        chosen = np.sort(np.argsort(u, kind="stable")[: min(minimum, len(u))])
    return chosen


# -- identity numbers ------------------------------------------------------------------------------------
def id_digit_error(value: str, r: int) -> str | None:
    """One of the first 17 digits mistyped: the check character no longer fits."""
    if len(value) != 18:
        return None
    i = r % 17
    new = str((int(value[i]) + 1 + (r // 17) % 9) % 10)
    return value[:i] + new + value[i + 1:]


def id_transposition(value: str, r: int) -> str | None:
    """Two neighbouring digits swapped (among the first 17); None if they are equal."""
    if len(value) != 18:
        return None
    for k in range(16):
        i = (r + k) % 16
        if value[i] != value[i + 1]:
            return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    return None


def id_15_digit(value: str, r: int) -> str | None:
    """The legacy 15-digit form (2-digit year, no check character), only for people born 19xx."""
    if len(value) != 18 or value[6:8] != "19":
        return None
    return value[:6] + value[8:17]


def id_lowercase_x(value: str, r: int) -> str | None:
    return value[:-1] + "x" if value.endswith("X") else None


# -- credit codes ------------------------------------------------------------------------------------------
def uscc_digit_error(value: str, r: int) -> str | None:
    if len(value) != 18:
        return None
    i = 2 + r % 15
    new = ALPHABET[(ALPHABET.index(value[i]) + 1 + (r // 17) % 30) % 31]
    return value[:i] + new + value[i + 1:]


def uscc_transposition(value: str, r: int) -> str | None:
    return id_transposition(value, r)


def uscc_lowercase(value: str, r: int) -> str | None:
    lower = value.lower()
    return lower if lower != value else None


# -- names ---------------------------------------------------------------------------------------------------
def name_homophone(value: str, r: int) -> str | None:
    return names.homophone(value, r)


def name_typo(value: str, r: int) -> str | None:
    return names.typo(value, r) if len(value) > 1 else None


def name_traditional(value: str, r: int) -> str | None:
    return names.traditional(value)


def name_space(value: str, r: int) -> str | None:
    return names.spaced(value, r)


def firm_name_variant(value: str, r: int) -> str | None:
    """深圳市 dropped, half-width brackets, or a space before the company form."""
    options = []
    if value.startswith("深圳市"):
        options.append(value[3:])
    if "（" in value:
        options.append(value.replace("（", "(").replace("）", ")"))
    m = re.search(r"(股份有限公司|有限责任公司|有限公司)$", value)
    if m:
        options.append(value[: m.start()] + " " + m.group(1))
    return options[r % len(options)] if options else None


# -- phones --------------------------------------------------------------------------------------------------
def phone_format(value: str, r: int) -> str | None:
    if len(value) != 11 or not value.isdigit():
        return None
    a, b, c = value[:3], value[3:7], value[7:]
    return [f"+86 {value}", f"{a}-{b}-{c}", f"{a} {b} {c}", f"+86-{a}{b}{c}", f"86{value}"][r % 5]


def phone_landline(value: str, r: int) -> str | None:
    """A Shenzhen landline given instead of a mobile."""
    return f"0755-{8 if r % 2 else 2}{(r // 2) % 10**7:07d}"


# -- addresses -----------------------------------------------------------------------------------------------
_ROOM = re.compile(r"(\d+)(\d\d)室$")
_BLOCK = re.compile(r"([0-9A-K]+)(栋|座)")
_STREET_COMMUNITY = re.compile(r"[^区]+街道[^社]+社区")


def cn_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


def address_no_city(value: str, r: int) -> str | None:
    return value[3:] if value.startswith("深圳市") else None


def address_province(value: str, r: int) -> str | None:
    return "广东省" + value if value.startswith("深圳市") else None


def address_building_suffix(value: str, r: int) -> str | None:
    m = _BLOCK.search(value)
    if not m:
        return None
    other = {"栋": ["号楼", "幢", "座"], "座": ["栋", "号楼"]}[m.group(2)]
    return value[: m.start(2)] + other[r % len(other)] + value[m.end(2):]


def address_cn_numeral(value: str, r: int) -> str | None:
    """1203室 → 十二楼03室."""
    m = _ROOM.search(value)
    if not m:
        return None
    return value[: m.start()] + f"{cn_number(int(m.group(1)))}楼{m.group(2)}室"


def address_no_room_suffix(value: str, r: int) -> str | None:
    return value[:-1] if value.endswith("室") else None


def address_fullwidth(value: str, r: int) -> str | None:
    out = value.translate(FULLWIDTH)
    return out if out != value else None


def address_no_street(value: str, r: int) -> str | None:
    out = _STREET_COMMUNITY.sub("", value, count=1)
    return out if out != value else None


# -- dates ---------------------------------------------------------------------------------------------------
def format_date(day: dt.date, fmt: str) -> str:
    """strftime, but ``/`` dates and 年月日 dates drop zero padding as people write them (1990/1/2)."""
    if fmt in ("%Y/%m/%d", "%Y年%m月%d日"):
        return fmt.replace("%Y", str(day.year)).replace("%m", str(day.month)).replace("%d", str(day.day))
    return day.strftime(fmt)


def excel_serial(day: dt.date) -> int:
    return (day - EXCEL_EPOCH).days


BROKEN_DATES = ["不详", "1990-13-45", "00000000", "19xx年", "?"]

MUTATIONS = {
    "name": [("name_homophone", 0.02), ("name_typo", 0.01), ("name_traditional", 0.008), ("name_space", 0.01)],
    "id": [("id_digit_error", 0.01), ("id_transposition", 0.005), ("id_15_digit", 0.01), ("id_lowercase_x", 0.3)],
    "uscc": [("uscc_digit_error", 0.01), ("uscc_transposition", 0.005), ("uscc_lowercase", 0.01)],
    "firm_name": [("firm_name_variant", 0.04)],
    "phone": [("phone_format", 0.08), ("phone_landline", 0.02)],
    "address": [("address_no_city", 0.04), ("address_province", 0.03), ("address_building_suffix", 0.03),
                ("address_cn_numeral", 0.02), ("address_no_room_suffix", 0.02), ("address_fullwidth", 0.01),
                ("address_no_street", 0.03)],
}
FUNCTIONS = {kind: globals()[kind] for kinds in MUTATIONS.values() for kind, _ in kinds}
