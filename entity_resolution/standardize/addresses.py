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
    _HAN,
    CN_NUMERAL_CHARS,
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


def fold_chunk(values: list[str]) -> list[str]:
    """:func:`fold_address` of each value, OpenCC converting many at once: the unit of work of
    :func:`parse_addresses`, plain Python so that a helper process need not load Arrow.

    A flat's address is mostly its building's text and ``<digits>栋<digits>室`` (82% of a 100k city's
    addresses, on 3.2k texts before the suffix), and such a text folds as its head folds, followed by the
    suffix unchanged, under the conditions :func:`_fold_heads` checks; so each head is folded once (and kept
    for the next call, :data:`_HEAD_CACHE`). The same holds without 室, with a floor in numerals (2栋五楼02室)
    and with 幢, 座 or 号楼 for 栋 after a head that cannot continue a building number
    (:func:`_suffix_folds_alone`), the suffix then folding alone (:func:`_fold_suffix`: 2栋5楼02室): the
    spellings the correction loop compares. (Arrow's NFKC, case and regex kernels were tried for the fold and
    were slower: most texts skip the Python steps' regexes through their cheap tests, and a quarter need the
    numeral step anyway.)"""
    starts = [_room_suffix_start(value) for value in values] if _suffix_is_folded() else [0] * len(values)
    heads = _folded_heads({value[:start] for value, start in zip(values, starts, strict=True) if start})
    out: list[str | None] = []
    rest: list[int] = []
    for i, (value, start) in enumerate(zip(values, starts, strict=True)):
        head = heads.get(value[:start]) if start else None
        if head is not None:
            suffix = value[start:]
            if "栋" not in suffix or "楼" in suffix:  # not <digits>栋<digits>[室], which is its own fold
                # 幢, 座 or 号楼 become 栋 only after a head that cannot continue the building number
                alone = suffix.lstrip(_DIGIT_CHARS).startswith("栋") or _suffix_folds_alone(head)
                suffix = _fold_suffix(suffix) if alone else None
                head = None if suffix is None else head
        if head is None:
            rest.append(i)
            out.append(None)
        else:
            out.append(head + suffix)
    for i, text in zip(rest, _fold_all([values[i] for i in rest]), strict=True):
        out[i] = text
    return out  # type: ignore[return-value]  # every None was replaced


def _fold_all(values: list[str]) -> list[str]:
    return [_fold_simplified(text) for text in to_simplified_many([_fold_width(value) for value in values])]


def _room_suffix_start(value: str) -> int:
    """Where ``<digits><marker>[<numerals>楼]<digits>`` and an optional 室 (ASCII digits, as many as there
    are; the marker 栋, 幢, 座 or 号楼; the floor's numerals 一 … 十) ends the text, or 0 when it does not or
    nothing comes before it. (A loop from the end: a regex search tries every position.)"""
    end = len(value) - 1 if value.endswith("室") else len(value)
    mark = end
    while mark and value[mark - 1] in _ASCII_DIGITS:
        mark -= 1
    if mark == end or mark < 2:  # no room digits, or nothing before them but (part of) a marker
        return 0
    if value[mark - 1] == "楼" and value[mark - 2] in _FLOOR_NUMERALS:  # a floor: 五楼, 二十一楼
        mark -= 2
        while mark and value[mark - 1] in _FLOOR_NUMERALS:
            mark -= 1
        if mark < 2:
            return 0
    if value[mark - 1] in _ONE_CHAR_MARKS:
        mark -= 1
    elif value[mark - 2: mark] == "号楼":
        mark -= 2
    else:
        return 0
    start = mark
    while start and value[start - 1] in _ASCII_DIGITS:
        start -= 1
    return start if 0 < start < mark else 0


_DIGIT_CHARS = "0123456789"
_ASCII_DIGITS = frozenset(_DIGIT_CHARS)
_ONE_CHAR_MARKS = frozenset("栋幢座")
_FLOOR_NUMERALS = frozenset("一二三四五六七八九十")
_SUFFIX_WORD = re.compile(r"[^0-9]+")
_NO_HEAD_END = frozenset(CN_NUMERAL_CHARS + "第")
_CONTINUES_NUMBER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
"""Characters after which _BUILDING_NUMBER does not start a building number (its look-behind)."""


@lru_cache(maxsize=65_536)
def _fold_suffix(suffix: str) -> str | None:
    """How a suffix :func:`_room_suffix_start` found folds after a head (see :func:`_fold_heads`): its floor
    in digits, 幢, 座 or 号楼 made 栋 (:func:`fold_chunk` takes that only after a head
    :func:`_suffix_folds_alone` accepts); None when OpenCC would change one of its words (the text between
    its digits), which the argument needs it to leave alone. Cached: suffixes repeat across estates."""
    if not all(_simplified_word(word) for word in _SUFFIX_WORD.findall(suffix)):
        return None
    return _fold_simplified(suffix)


@lru_cache(maxsize=4096)
def _simplified_word(word: str) -> bool:
    return to_simplified(word) == word


def _suffix_folds_alone(folded_head: str) -> bool:
    """A suffix with 幢, 座 or 号楼 folds to ``<digits>栋…`` after this folded head: _BUILDING_NUMBER
    starts at the suffix's first digit only when the character before it is not one its look-behind refuses,
    and no match can start inside the head and run into the suffix unless the head ends in a digit (any
    decimal digit: ``\\d`` is Unicode)."""
    last = folded_head[-1:]
    return bool(last) and last not in _CONTINUES_NUMBER and not last.isdecimal()


@lru_cache(maxsize=1)
def _suffix_is_folded() -> bool:
    """The suffix's characters are their own fold when OpenCC leaves the markers and 室 alone (digits
    never change)."""
    return all(to_simplified(mark) == mark for mark in ("栋", "幢", "座", "号楼", "室"))


_HEAD_CACHE: dict[str, str | None] = {}
"""Raw head → its fold, None where :func:`_fold_heads` leaves it out; kept across :func:`fold_chunk`
calls, since a city's distinct addresses come in chunks and every chunk holds most of the city's heads."""
_HEAD_CACHE_MAX = 100_000


def _folded_heads(heads: set[str]) -> dict[str, str | None]:
    """The cache of folded heads, holding every head of ``heads``."""
    new = heads.difference(_HEAD_CACHE)
    if new:
        if len(_HEAD_CACHE) + len(new) > _HEAD_CACHE_MAX:
            _HEAD_CACHE.clear()
            new = heads
        folded = _fold_heads(new)
        _HEAD_CACHE.update({head: folded.get(head) for head in new})
    return _HEAD_CACHE


def _fold_heads(heads: set[str]) -> dict[str, str]:
    """``fold_address(head)`` for each raw head H after which ``fold_address(H + S)`` is ``fold_address(H)``
    and S (its marker made 栋 where :func:`fold_chunk` allows it) for every suffix S that
    :func:`_room_suffix_start` finds; heads it cannot promise that for are left out.

    Why, step by step, for S of ASCII digits, a marker (栋, 幢, 座, 号楼), a floor (一 … 十 and 楼) and 室:
    NFKC, the dash and case steps act per character here (a digit is a starter nothing composes with).
    OpenCC converts whole texts, and H + S converts as H then S when H alone is converted too (H has a Han
    character, else to_simplified skips it) and no dictionary key holds an ASCII character (none of OpenCC
    1.4.2's t2s dictionaries does: test_er_standardize_speed dumps them to check), so a phrase in S lies
    within one of its words (the text between digits), which :func:`_suffix_is_folded` and
    :func:`_fold_suffix` check OpenCC leaves alone. Noise removal is per character. Of the rewrites after
    it, numerals count only before a marker or at the end (so the folded head must not end in a numeral;
    S's floor, between its marker and 楼, converts as it does alone), 第 goes only before a digit (so H must
    not end in 第), a building letter needs a letter before its marker, and a numbered building in S is 栋
    already, which its rewrite keeps, or becomes 栋 where :func:`_suffix_folds_alone` says so (fold_chunk
    checks it). S's 幢, 座 or 号楼 may switch that rewrite on for H + S when H alone does not: it then finds
    in H only ``<digits>栋``, which it keeps; and after the floor's conversion S holds no 栋楼."""
    widths = {h: w for h in heads if "\n" not in h and _HAN.search(w := _fold_width(h)) is not None}
    simplified = to_simplified_many(list(widths.values()))
    out = {}
    for head, text in zip(widths, simplified, strict=True):
        text = _NOISE.sub("", text)
        if text and text[-1] not in _NO_HEAD_END:
            out[head] = _fold_simplified(text)
    return out


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

    Each distinct value is folded once (:func:`fold_chunk`: the script of many converted in one OpenCC call,
    a building's text once for its flats), and with :data:`PARALLEL_MIN_DISTINCT` distinct values or more
    the chunks are shared with ``workers - 1`` helper processes (default :data:`DEFAULT_WORKERS`, at most the
    CPUs this process may use); the result does not depend on ``workers``. Each distinct folded text is then
    parsed by :func:`_parse_many`, which runs the Python rules once per distinct head and tail.
    Only one chunk of distinct values is held as Python objects at a time (per process). A dictionary
    array's dictionary serves as the distinct values when it can (:func:`_dictionary_as_given`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from entity_resolution.standardize._pool import available_cpus, map_chunks

    names = list(ADDRESS_COLUMNS if columns is None else columns)
    unknown = sorted(set(names) - set(ADDRESS_COLUMNS))
    if unknown:
        raise ValueError(f"parse_addresses: unknown columns {unknown}; choose from {ADDRESS_COLUMNS}")
    arrow = _as_arrow(values)
    if _dictionary_as_given(arrow):
        encoded = arrow  # the caller's distinct values: hashing them again cost a tenth of the parse
    else:
        if pa.types.is_dictionary(arrow.type):
            arrow = arrow.cast(arrow.type.value_type)
        encoded = pc.dictionary_encode(arrow)
    dictionary = encoded.dictionary

    def chunks() -> Iterator[list[str]]:
        for start in range(0, len(dictionary), _CHUNK):
            distinct = python_values(dictionary.slice(start, _CHUNK))
            yield distinct if pa.types.is_string(dictionary.type) else [str(v) for v in distinct]

    def folded(texts: list[str]) -> pa.Array:
        return pa.array(texts, pa.string())

    workers = min(DEFAULT_WORKERS if workers is None else workers, available_cpus(limit=64))
    parts = None
    if len(dictionary) >= PARALLEL_MIN_DISTINCT and workers > 1 and len(dictionary) > _CHUNK:
        results = map_chunks(fold_chunk, chunks(), workers)
        try:
            parts = None if results is None else [folded(texts) for texts in results]
        except ChildProcessError as exc:
            log.warning("folding addresses in one process: %s", exc)
    if parts is None:
        parts = [folded(fold_chunk(chunk)) for chunk in chunks()]
    # texts that fold alike (广东省… and …, full and half width) are parsed once
    texts = pc.dictionary_encode(pa.concat_arrays(parts) if parts else pa.array([], pa.string()))
    return _parse_many(texts.dictionary, names).take(texts.indices.take(encoded.indices))  # null stays null


def _dictionary_as_given(arrow: pa.Array) -> bool:
    """A dictionary array whose dictionary can be parsed entry by entry as it is: no null entry, and no more
    entries than rows (a repeated or unused entry costs its parse only; each row still gets its entry's)."""
    import pyarrow as pa

    return (isinstance(arrow, pa.DictionaryArray) and arrow.dictionary.null_count == 0
            and len(arrow.dictionary) <= len(arrow))


_TAIL_RUN = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(_TAIL_CHARS)) + "]*"
"""The leading run of tail characters of a reversed text (Arrow's RE2 syntax): the trailing run that
:func:`_parse_tail` finds by a loop. (Matching ``^(.*?)(run)$`` forward costs ten times more.)"""
_NULL_MAX_LENGTH = max(map(len, NULL_ADDRESSES))


def _parse_many(texts: pa.Array, names: list[str]) -> pa.Table:
    """The ``names`` columns of distinct folded texts (a string array without nulls), row for row.

    :func:`_parse_folded` per text, vectorized: each distinct trailing run of tail characters goes through
    :func:`_tail_of` once and each distinct head through :func:`_parse_head` once (100k persons: 117k
    addresses, 11k runs, 3.5k heads), and Arrow puts the parts and keys together. Texts the vector form does
    not cover (the compact 3-2-501 tail, which needs two dashes; texts short enough to be a null marker such
    as 不详) take the scalar path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    scalar = pc.or_(pc.greater_equal(pc.count_substring(texts, "-"), 2),
                    pc.less_equal(pc.utf8_length(texts), _NULL_MAX_LENGTH)).to_numpy(zero_copy_only=False)
    vector_rows, scalar_rows = np.flatnonzero(~scalar), np.flatnonzero(scalar)
    schema = pa.schema([(name, pa.string()) for name in names])
    tables = [_parse_vector(texts.take(pa.array(vector_rows, pa.int64())), names, schema)]
    if len(scalar_rows):
        parsed = _parse_rows(python_values(texts.take(pa.array(scalar_rows, pa.int64()))))
        tables.append(pa.Table.from_arrays([pa.array(parsed[ADDRESS_COLUMNS.index(n)], pa.string()) for n in names],
                                           schema=schema))
    order = np.empty(len(texts), dtype=np.int64)
    order[np.concatenate([vector_rows, scalar_rows])] = np.arange(len(texts))
    return pa.concat_tables(tables).take(pa.array(order))


def _parse_vector(texts: pa.Array, names: list[str], schema: pa.Schema) -> pa.Table:
    """:func:`_parse_many` for texts with fewer than two dashes and more characters than a null marker."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tail_chars = "".join(sorted(_TAIL_CHARS))
    prefixes = pc.utf8_rtrim(texts, characters=tail_chars)
    runs = pc.dictionary_encode(pc.utf8_reverse(pc.extract_regex(pc.utf8_reverse(texts), f"(?P<run>{_TAIL_RUN})")
                                                .field("run")))
    distinct_runs = python_values(runs.dictionary)
    tails = [_tail_of(run) for run in distinct_runs]
    # the head is the text before the tail: the prefix, and the part of the run before the tail (all of it
    # when the run holds no tail)
    kept = pa.array([run if cut is None else run[:cut] for run, (_, cut) in zip(distinct_runs, tails, strict=True)],
                    pa.string())
    heads = pc.dictionary_encode(pc.binary_join_element_wise(prefixes, kept.take(runs.indices), ""))
    parsed_heads = [_parse_head(head) for head in python_values(heads.dictionary)]
    district, code, road, number, estate = (_FIELDS.index(n) for n in ("district", "district_code", "road", "number",
                                                                        "estate"))
    # building_key is this prefix and the building (see _building_key): None where the head has no place
    key_prefixes = pa.array([
        "|".join([h[code] or h[district] or "", h[road] or "", h[number] or "", h[estate] or "", ""])
        if (h[road] and h[number]) or h[estate] else None for h in parsed_heads], pa.string())

    def tail_part(i: int) -> pa.Array:
        return pa.array([tail[i] for tail, _ in tails], pa.string()).take(runs.indices)

    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(_FIELDS[:9]):
        if name in names:
            columns[name] = pa.array([h[i] for h in parsed_heads], pa.string()).take(heads.indices)
    for i, name in enumerate(_FIELDS[9:]):
        if name in names:
            columns[name] = tail_part(i)
    if "building_key" in names or "unit_key" in names:
        building = columns["building"] if "building" in columns else tail_part(0)
        b_key = pc.binary_join_element_wise(key_prefixes.take(heads.indices), pc.fill_null(building, ""), "")
        columns["building_key"] = b_key
        if "unit_key" in names:  # None without a building key or a room (a room is never empty)
            unit = columns["unit"] if "unit" in columns else tail_part(1)
            room = columns["room"] if "room" in columns else tail_part(3)
            columns["unit_key"] = pc.binary_join_element_wise(b_key, pc.fill_null(unit, ""), room, "|")
    return pa.Table.from_arrays([columns[name] for name in names], schema=schema)


def parse_address_chunk(values: list[str]) -> list[tuple[str | None, ...]]:
    """``ADDRESS_COLUMNS`` (one tuple per column) of non-null addresses, one at a time: the definition
    :func:`parse_addresses` vectorizes."""
    return _parse_rows(fold_chunk(values))


def _parse_rows(texts: list[str]) -> list[tuple[str | None, ...]]:
    """``ADDRESS_COLUMNS`` (one tuple per column) of folded addresses."""
    empty = (None,) * len(ADDRESS_COLUMNS)
    district, code, road, number, estate, building, unit, room = (_FIELDS.index(n) for n in (
        "district", "district_code", "road", "number", "estate", "building", "unit", "room"))
    rows = []
    for text in texts:
        parts = _parse_folded(text)
        if parts is None:
            rows.append(empty)
            continue
        b_key = _building_key(parts[district], parts[code], parts[road], parts[number], parts[estate], parts[building])
        rows.append((*parts, b_key, _unit_key(b_key, parts[unit], parts[room])))
    return list(zip(*rows, strict=True)) if rows else [() for _ in ADDRESS_COLUMNS]
