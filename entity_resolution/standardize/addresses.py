"""Chinese addresses → components and the keys that link records to buildings and flats.

``parse_address("广东省深圳市南山区粤海街道科技园社区科苑路15号科兴科学园A栋12楼1203室")`` gives province
广东省, city 深圳市, district 南山区 (440305), street 粤海街道, community 科技园社区, road 科苑路, number 15,
estate 科兴科学园, building A座, floor 12, room 1203.

Before parsing, the text is folded: NFKC (full-width digits and letters), simplified characters, no spaces,
Chinese numerals before a marker written in digits (十二栋 → 12栋, 一千零一号 → 1001号, 二〇二室 → 202室,
八卦一路 → 八卦1路) and building markers made canonical: a letter building is ``A座`` (A栋, A幢, A# too), a
numbered one ``3栋`` (3幢, 3#, 3#楼, 3号楼, 第三栋 too). 3楼 alone is a floor, not a building.

The tail (building / unit / floor / room) is read from the end, then administrative parts and the road from
the start; what is left between them is the estate (小区 / 花园 / 大厦 …). Nothing is guessed: a part that
is absent stays None. ``building_key`` (district|road|number|estate|building) links people and firms to
buildings; ``unit_key`` adds unit and room and identifies a flat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING

from entity_resolution.standardize._text import (
    nfkc,
    replace_cn_numerals,
    to_simplified,
    to_simplified_many,
    unify_dashes,
)
from entity_resolution.standardize._vector import Column, _as_arrow, python_values
from entity_resolution.standardize.places import (
    CITIES,
    GUANGDONG_CITIES,
    PROVINCES,
    SHENZHEN_DISTRICTS,
    SHENZHEN_STREETS,
    district_code,
    short_name,
)

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

# Chinese numerals directly before one of these (or at the very end: 二单元五〇一) are written in digits.
_MARKERS = "号楼|号院|号|栋|幢|座|单元|室|房|层|楼|期|区|巷|弄|路|街|道|#|$"
_NOISE = re.compile(r"[\s,，、;；:：。\"'“”‘’()\[\]【】<>《》]")
_BUILDING_LETTER = re.compile(r"(?<![A-Z0-9])([A-Z])(?:栋|幢|座|#楼|#|号楼)")
_LETTER_MARKED = re.compile(r"[A-Z](?:栋|幢|座|#|号楼)")  # every match of _BUILDING_LETTER contains one
_BUILDING_NUMBER = re.compile(r"(?<![A-Z0-9-])(\d+)(?:号楼|栋楼|栋|幢|座|#楼|#)")
_TAIL = re.compile(
    r"(?P<building>(?:[A-Z]座|\d+栋))?-?(?P<unit>(?:[A-Z]|\d+)单元)?-?(?P<floor>\d+(?:层|楼))?-?"
    r"(?P<room>[A-Z]?\d+[A-Z]?)?(?P<room_mark>室|房|号房|号)?$"
)
_TAIL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789栋座单元层楼室房号-")
_COMPACT_TAIL = re.compile(r"(?<=[^\d-])(?P<building>\d+)-(?P<unit>\d+)-(?P<room>\d+)(?:室|房|号)?$")
_STREET = re.compile(r"^([\u4e00-\u9fff]{1,6}?)(街道办事处|街道办|街道|镇)")
_COMMUNITY = re.compile(r"^([\u4e00-\u9fff\d]{1,8}?)(社区居民委员会|社区居委会|社区工作站|社区|村民委员会|村委会)")
_ROAD = re.compile(r"^([\u4e00-\u9fff\dA-Z]{1,12}?(?:大道|大街|路|街|巷|弄|道))(?!路|街|道|巷)")
_NUMBER = re.compile(r"^(\d+(?:-\d+)?)(?:号院|号(?!楼|房)|(?=[\u4e00-\u9fff]))")
_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_PROVINCE_FULL = {short_name(p): p for p in PROVINCES}
NULL_ADDRESSES = frozenset({"", "无", "不详", "未知", "空", "null", "none", "-", "--", "/", "?"})
_GENERIC_DISTRICT = re.compile(r"^([\u4e00-\u9fff]{1,4}?(?:新区|区|县|旗))")
_ORDINAL_DIGIT = re.compile(r"第(?=\d)")
_STREET_OFFICE = re.compile(r"街道办事处|街道办")
_COMMUNITY_OFFICE = re.compile(r"社区(?:居民委员会|居委会|工作站)$")
_VILLAGE_OFFICE = re.compile(r"(?:村民委员会|村委会)$")


@dataclass(frozen=True)
class Address:
    province: str | None = None
    city: str | None = None
    district: str | None = None
    district_code: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    number: str | None = None
    estate: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None

    @property
    def building_key(self) -> str | None:
        """district|road|number|estate|building, or None when the address names no place below the
        district (neither a road number nor an estate)."""
        return _building_key(self.district, self.district_code, self.road, self.number, self.estate, self.building)

    @property
    def unit_key(self) -> str | None:
        """building_key|unit|room, or None without a building key or a room."""
        return _unit_key(self.building_key, self.unit, self.room)

    def as_dict(self) -> dict[str, str | None]:
        # a plain comprehension: dataclasses.asdict deep-copies and cost as much as the parse itself
        return {**{name: getattr(self, name) for name in _FIELDS}, "building_key": self.building_key,
                "unit_key": self.unit_key}


def _building_key(district: str | None, code: str | None, road: str | None, number: str | None, estate: str | None,
                  building: str | None) -> str | None:
    if not ((road and number) or estate):
        return None
    return "|".join([code or district or "", road or "", number or "", estate or "", building or ""])


def _unit_key(building_key: str | None, unit: str | None, room: str | None) -> str | None:
    if building_key is None or not room:
        return None
    return f"{building_key}|{unit or ''}|{room}"


_FIELDS = tuple(f.name for f in fields(Address))
ADDRESS_COLUMNS = [*_FIELDS, "building_key", "unit_key"]


def fold_address(value: str) -> str:
    """The text the parser reads: width, script, spaces, punctuation, numerals and building markers folded."""
    return _fold_simplified(to_simplified(_fold_width(value)))


def _fold_width(value: str) -> str:
    return unify_dashes(nfkc(value)).upper()


def _fold_simplified(text: str) -> str:
    """The rest of :func:`fold_address`, after width and script."""
    text = _NOISE.sub("", text)
    text = replace_cn_numerals(text, _MARKERS)
    if "第" in text:
        text = _ORDINAL_DIGIT.sub("", text)
    # Both rewrites need a marker; a cheap test first skips the regex scan for most texts. A number before
    # a bare 栋 is left as it is, so _BUILDING_NUMBER only has work when one of the other markers occurs.
    if _LETTER_MARKED.search(text):
        text = _BUILDING_LETTER.sub(r"\1座", text)
    if "#" in text or "座" in text or "幢" in text or "号楼" in text or "栋楼" in text:
        text = _BUILDING_NUMBER.sub(r"\1栋", text)
    return text


@lru_cache(maxsize=1)
def _admin_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    def alt(names: set[str]) -> str:
        return "|".join(sorted(names, key=len, reverse=True))

    districts = set(SHENZHEN_DISTRICTS)
    bare_districts = {short_name(d) for d in districts}
    province = re.compile(f"^(?:{alt(set(PROVINCES))}|{alt({short_name(m) for m in _MUNICIPALITIES})}"
                          f"|(?:{alt({short_name(p) for p in PROVINCES})})"
                          f"(?=(?:{alt({*CITIES, *(short_name(c) for c in CITIES), *districts, *SHENZHEN_STREETS})})))")
    # A city's short name counts only when a district follows (深圳南山区); alone it may start a road name.
    city = re.compile(f"^(?:{alt(set(CITIES))}|深圳(?=(?:{alt(bare_districts)})))")
    # A bare district name (南山) counts unless a road or street word follows: 南山大道 is a road, 南山街道 a street.
    district = re.compile(f"^(?:{alt(districts)}|(?:{alt(bare_districts)})(?!大道|路|街|道|镇))")
    return province, city, district


def _take(pattern: re.Pattern[str], text: str) -> tuple[str | None, str]:
    m = pattern.match(text)
    return (m.group(0), text[m.end():]) if m and m.group(0) else (None, text)


_NO_TAIL = (None, None, None, None)


def _parse_tail(text: str) -> tuple[tuple[str | None, str | None, str | None, str | None], str]:
    """(building, unit, floor, room) read from the end of a folded text, and the text before them."""
    m = _COMPACT_TAIL.search(text) if text.count("-") >= 2 else None  # the compact form has two dashes
    if m:  # 碧海花园3-2-501: building-unit-room
        return (m["building"] + "栋", m["unit"] + "单元", None, m["room"]), text[: m.start()]
    # Every group of _TAIL is optional, so searching the whole text would try it at every position; the
    # tail can only start inside the trailing run of tail characters, so try those positions only.
    start = len(text)
    while start and text[start - 1] in _TAIL_CHARS:
        start -= 1
    tail, cut = _tail_of(text[start:])
    return (_NO_TAIL, text) if cut is None else (tail, text[: start + cut])


@lru_cache(maxsize=32_768)
def _tail_of(run: str) -> tuple[tuple[str | None, str | None, str | None, str | None], int | None]:
    """The tail in a trailing run of tail characters and where it starts in the run (None: no tail).
    _TAIL looks neither behind nor past the end, so the run alone decides; cached, as runs repeat."""
    for i in range(len(run) + 1):  # the empty match at the end always succeeds
        m = _TAIL.match(run, i)
        if m:
            break
    building, unit, floor, room, room_mark = m.group("building", "unit", "floor", "room", "room_mark")
    # A bare number at the end is a room only after a building, unit or floor, or with 室/房; otherwise it
    # is a road number (深南大道6008号), and belongs to the head.
    if room and not (building or unit or floor or room_mark in ("室", "房", "号房")):
        return _NO_TAIL, None
    if not (building or unit or floor or room):
        return _NO_TAIL, None
    return (building, unit, floor[:-1] if floor else floor, room), m.start()  # 12楼 / 12层 → 12


def parse_address(value: object) -> Address | None:
    """The components of a Chinese address; None for an empty value."""
    if value is None:
        return None
    parts = _parse_folded(fold_address(str(value)))
    return None if parts is None else Address(*parts)


def _parse_folded(text: str) -> tuple[str | None, ...] | None:
    """The fields of :class:`Address`, in order, from a folded text; None for an empty value."""
    if text.lower() in NULL_ADDRESSES:
        return None
    tail, head = _parse_tail(text)
    return (*_parse_head(head), *tail)


@lru_cache(maxsize=32_768)
def _parse_head(text: str) -> tuple[str | None, ...]:
    """province … estate of the text before the tail. Cached: the flats of one estate share their head
    (118k distinct residence addresses of a 100k city have 3.5k distinct heads)."""
    province_re, city_re, district_re = _admin_patterns()
    province, text = _take(province_re, text)
    province = None if province is None else _PROVINCE_FULL.get(province, province)
    city, text = (province, text) if province in _MUNICIPALITIES else _take(city_re, text)
    district, text = _take(district_re, text)
    if district is None and city is not None and not city.startswith("深圳"):
        district, text = _take(_GENERIC_DISTRICT, text)
    street, text = _take(_STREET, text)
    if street:
        street = _STREET_OFFICE.sub("街道", street)
    community, text = _take(_COMMUNITY, text)
    if community:
        community = _COMMUNITY_OFFICE.sub("社区", community)
        community = _VILLAGE_OFFICE.sub("村", community)
    road, text = _take(_ROAD, text)
    number = None
    if road:
        m = _NUMBER.match(text)
        if m:
            number, text = m.group(1), text[m.end():]
    estate = text[:-2] if text.endswith("小区") and len(text) > 3 else text or None
    if district is None and street in SHENZHEN_STREETS and city in (None, "深圳市", "深圳"):
        district = SHENZHEN_STREETS[street]
    if district is not None:
        full = district if district.endswith("区") else district + "区"
        district = full if full in SHENZHEN_DISTRICTS else district
    code = district_code(district)
    if code is not None:  # a Shenzhen district names its city and province even when the text does not
        city, province = "深圳市", "广东省"
    else:
        city = city if city is None or city.endswith("市") else city + "市"
        if province is None and city in GUANGDONG_CITIES:
            province = "广东省"
    return province, city, district, code, street, community, road, number, estate


def building_key(value: object) -> str | None:
    parsed = parse_address(value)
    return None if parsed is None else parsed.building_key


def unit_key(value: object) -> str | None:
    parsed = parse_address(value)
    return None if parsed is None else parsed.unit_key


DEFAULT_WORKERS = 1
"""Processes :func:`parse_addresses` uses when not told: 1, because on a machine whose cores are already
busy (the 2-core host running Airflow, DuckDB and other tasks) helpers measured slower, not faster; set 2
(or pass ``workers=2``) where a core is free."""
PARALLEL_MIN_DISTINCT = 50_000
"""Distinct addresses from which :func:`parse_addresses` parses in worker processes (below, starting them
costs more than it saves)."""
_CHUNK = 20_000  # distinct addresses per task: results go to Arrow per chunk, so Python objects stay few


def parse_addresses(values: Column, *, columns: list[str] | None = None, workers: int | None = None) -> pa.Table:
    """:func:`parse_address` over a column: a table with one string column per component plus
    ``building_key`` and ``unit_key`` (or only the ``columns`` named), row for row; every column is null
    where the input was empty.

    Each distinct value is parsed once, the script of many is converted in one OpenCC call, and with
    :data:`PARALLEL_MIN_DISTINCT` distinct values or more the chunks are shared with ``workers - 1`` helper
    processes (default :data:`DEFAULT_WORKERS`, at most the CPUs this process may use); the result does not
    depend on ``workers``.
    Only one chunk of distinct values is held as Python objects at a time (per process)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from entity_resolution.standardize._pool import available_cpus, map_chunks

    names = list(ADDRESS_COLUMNS if columns is None else columns)
    unknown = sorted(set(names) - set(ADDRESS_COLUMNS))
    if unknown:
        raise ValueError(f"parse_addresses: unknown columns {unknown}; choose from {ADDRESS_COLUMNS}")
    arrow = _as_arrow(values)
    if pa.types.is_dictionary(arrow.type):
        arrow = arrow.cast(arrow.type.value_type)
    encoded = pc.dictionary_encode(arrow)
    dictionary = encoded.dictionary

    def chunks() -> Iterator[list[str]]:
        for start in range(0, len(dictionary), _CHUNK):
            distinct = python_values(dictionary.slice(start, _CHUNK))
            yield distinct if pa.types.is_string(dictionary.type) else [str(v) for v in distinct]

    schema = pa.schema([(name, pa.string()) for name in names])
    keep = [ADDRESS_COLUMNS.index(name) for name in names]

    def batch(parsed: list[tuple[str | None, ...]]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([pa.array(parsed[i], pa.string()) for i in keep], schema=schema)

    workers = min(DEFAULT_WORKERS if workers is None else workers, available_cpus(limit=64))
    batches = None
    if len(dictionary) >= PARALLEL_MIN_DISTINCT and workers > 1 and len(dictionary) > _CHUNK:
        results = map_chunks(parse_address_chunk, chunks(), workers)
        try:
            batches = None if results is None else [batch(parsed) for parsed in results]
        except ChildProcessError as exc:
            log.warning("parsing addresses in one process: %s", exc)
    if batches is None:
        batches = [batch(parse_address_chunk(chunk)) for chunk in chunks()]
    return pa.Table.from_batches(batches, schema=schema).take(encoded.indices)


def parse_address_chunk(values: list[str]) -> list[tuple[str | None, ...]]:
    """``ADDRESS_COLUMNS`` (one tuple per column) of distinct non-null addresses: the unit of work of
    :func:`parse_addresses`, plain Python so that a helper process need not load Arrow."""
    texts = to_simplified_many([_fold_width(value) for value in values])
    empty = (None,) * len(ADDRESS_COLUMNS)
    district, code, road, number, estate, building, unit, room = (_FIELDS.index(n) for n in (
        "district", "district_code", "road", "number", "estate", "building", "unit", "room"))
    rows = []
    for text in texts:
        parts = _parse_folded(_fold_simplified(text))
        if parts is None:
            rows.append(empty)
            continue
        b_key = _building_key(parts[district], parts[code], parts[road], parts[number], parts[estate], parts[building])
        rows.append((*parts, b_key, _unit_key(b_key, parts[unit], parts[room])))
    return list(zip(*rows, strict=True)) if rows else [() for _ in ADDRESS_COLUMNS]
