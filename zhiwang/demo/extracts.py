"""What each department's extract holds: which entities it covers and how it names and fills its columns.

Column names here must match ``catalog/resources/<id>.yaml`` (a test checks it); the file format, the
encoding, the date formats and which columns are required come from the catalog at generation time.
Roles pick the mistakes a column can carry (see ``noise.MUTATIONS``): name, id, uscc, firm_name, phone,
address; ``date`` columns get format variants; ``number`` columns keep a numeric type where the format
has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zhiwang.demo.noise import Draws
from zhiwang.demo.places import KIND_NAMES, KIND_VILLAGE, building_address
from zhiwang.demo.strings import cat, either, num, take
from zhiwang.demo.world import FIRST_AS_OF, World

Values = Callable[[World, np.ndarray, Draws], np.ndarray]


@dataclass(frozen=True)
class Col:
    name: str
    values: Values
    role: str = "text"
    missing_rate: float = 0.02


@dataclass(frozen=True)
class ExtractSpec:
    resource: str
    entity: str
    covers: Callable[[World, Draws], np.ndarray]
    """Boolean mask over the entity table: who is in this extract."""
    columns: list[Col]
    duplicate_keys: Callable[[World, np.ndarray, dict[str, np.ndarray]], dict[str, np.ndarray]]
    """Key columns for a duplicate copy of rows (the same entity filed twice under another key)."""
    duplicate_rate: float = 0.01
    extra: dict[str, float] = field(default_factory=dict)


def scrambled(i: np.ndarray, width: int, salt: int = 0) -> np.ndarray:
    """A unique, unordered-looking number of ``width`` digits per index (a bijection mod 10**width)."""
    # Python integers (object arrays): i * multiplier overflows int64 for wide keys
    mixed = (np.asarray(i, dtype=np.int64).astype(object) * 7_319_842_561_003 + 7_777_777 + salt) % 10**width
    return num(mixed.astype(np.int64), width)


def _p(key: str) -> Values:
    return lambda w, e, d: w.persons[key][e]


def _f(key: str) -> Values:
    return lambda w, e, d: w.firms[key][e]


def _b(key: str) -> Values:
    return lambda w, e, d: w.buildings[key][e]


def _gender_code(w: World, e: np.ndarray, d: Draws) -> np.ndarray:
    return either(w.persons["gender"][e] == "男", "1", "2")


def _employer(key: str) -> Values:
    def values(w: World, e: np.ndarray, d: Draws) -> np.ndarray:
        firm = w.persons["employer"][e]
        out = w.firms[key][np.maximum(firm, 0)].copy()
        out[firm < 0] = None
        return out
    return values


def _date_after(start: Values, years: float, tag: str) -> Values:
    """A date between ``start`` and ``years`` later (not after the delivery). A record's date stays the same
    from one delivery to the next: the span ends at the first delivery for records that existed then."""
    def values(w: World, e: np.ndarray, d: Draws) -> np.ndarray:
        base = start(w, e, d)
        end = np.where(base <= FIRST_AS_OF, FIRST_AS_OF, w.as_of)
        span = np.maximum(np.minimum((end - base).astype(np.int64), int(years * 365)), 0)
        return base + (d.uniform(tag)[e] * span).astype("timedelta64[D]")
    return values


def _alive(w: World) -> np.ndarray:
    return w.persons["alive"]


def _age(w: World) -> np.ndarray:
    return (w.as_of - w.persons["birth_date"]).astype(np.int64) / 365.25


def _choice(tag: str, values: list[str], weights: list[float]) -> Values:
    cum = np.cumsum(weights) / np.sum(weights)
    return lambda w, e, d: take(values, np.searchsorted(cum, d.uniform(tag)[e]))


def _key(prefix: str, width: int) -> Values:
    return lambda w, e, d: cat(prefix, scrambled(e + 1, width))


def _dup_key(column: str, prefix: str, width: int) -> Callable[[World, np.ndarray, dict], dict]:
    # the offset keeps duplicate keys apart from first keys for up to 5 * 10**(width-1) entities
    return lambda w, e, cols: {column: cat(prefix, scrambled(e + 1 + 5 * 10 ** (width - 1), width))}


# -- person ----------------------------------------------------------------------------------------------
GONGAN = ExtractSpec(
    "gongan_population", "person", lambda w, d: _alive(w) & (d.uniform("cover") < 0.95),
    [Col("人员编号", _key("GA", 10)), Col("姓名", _p("name"), "name"), Col("公民身份号码", _p("id_number"), "id"),
     Col("性别", _p("gender")), Col("出生日期", _p("birth_date"), "date"), Col("民族", _p("ethnicity")),
     Col("户籍地址", _p("hukou_address"), "address"), Col("现住址", _p("residence_address"), "address"),
     Col("联系电话", _p("phone"), "phone"), Col("行政区划代码", _p("district_code")), Col("宗教信仰", _p("religion")),
     Col("登记日期", _date_after(_p("birth_date"), 40, "registered"), "date")],
    _dup_key("人员编号", "GA", 10),
)
RENSHE = ExtractSpec(
    "renshe_insured", "person",
    lambda w, d: _alive(w) & (w.persons["employer"] >= 0) & (d.uniform("cover") < 0.8),
    [Col("个人社保号", _key("6", 8)), Col("人员姓名", _p("name"), "name"), Col("身份证号", _p("id_number"), "id"),
     Col("性别", _gender_code), Col("出生日期", _p("birth_date"), "date"), Col("手机号码", _p("phone"), "phone"),
     Col("单位名称", _employer("name"), "firm_name"), Col("单位统一社会信用代码", _employer("uscc"), "uscc"),
     Col("参保险种", _choice("kinds", ["养老,医疗,工伤,失业,生育", "养老,医疗,工伤", "医疗"], [0.8, 0.15, 0.05])),
     Col("参保状态", _choice("state", ["参保缴费", "暂停缴费"], [0.93, 0.07])),
     Col("参保日期", _date_after(lambda w, e, d: w.persons["birth_date"][e] + np.timedelta64(18 * 366, "D"), 30, "since"), "date")],
    _dup_key("个人社保号", "6", 8),
)
WEIJIAN = ExtractSpec(
    "weijian_health", "person",
    lambda w, d: _alive(w) & ((d.uniform("cover") < 0.7) | (_age(w) < 1)),
    [Col("DAH", _key("DA4403", 11)), Col("XM", _p("name"), "name"), Col("ZJHM", _p("id_number"), "id"),
     Col("XB", _gender_code), Col("CSRQ", _p("birth_date"), "date"), Col("LXDH", _p("phone"), "phone"),
     Col("XZZ", _p("residence_address"), "address"), Col("JKZK", _p("health")),
     Col("JDJG", lambda w, e, d: cat(w.buildings["community"][w.persons["building"][e]], "健康服务中心"))],
    _dup_key("DAH", "DA4403", 11),
)
WANGGE_P = ExtractSpec(
    "wangge_population", "person", lambda w, d: _alive(w) & (d.uniform("cover") < 0.85),
    [Col("采集编号", _key("WG", 10)), Col("姓名", _p("name"), "name"), Col("证件号码", _p("id_number"), "id"),
     Col("性别", _p("gender")), Col("出生日期", _p("birth_date"), "date"), Col("联系方式", _p("phone"), "phone"),
     Col("居住地址", _p("residence_address"), "address"), Col("所属网格", _p("grid_code")),
     Col("所属社区", lambda w, e, d: w.buildings["community"][w.persons["building"][e]]),
     Col("人员类型", lambda w, e, d: either(w.persons["hukou_shenzhen"][e], "户籍人口", "流动人口")),
     Col("采集日期", _date_after(lambda w, e, d: np.full(len(e), FIRST_AS_OF - np.timedelta64(900, "D")), 2.4, "seen"), "date")],
    _dup_key("采集编号", "WG", 10),
)

# -- legal entity ------------------------------------------------------------------------------------------
SHICHANG = ExtractSpec(
    "shichang_enterprise", "legal_entity", lambda w, d: np.ones(len(w.firms["name"]), dtype=bool),
    [Col("主体身份代码", _key("440300", 12)), Col("企业名称", _f("name"), "firm_name"),
     Col("统一社会信用代码", _f("uscc"), "uscc"), Col("法定代表人", _f("legal_rep_name"), "name"),
     Col("法定代表人证件号码", _f("legal_rep_id_number"), "id"), Col("住所", _f("registered_address"), "address"),
     Col("成立日期", _f("established_date"), "date"), Col("行业代码", _f("industry_code")),
     Col("联系电话", _f("phone"), "phone"), Col("所属辖区", _f("district_code")), Col("企业类型", _f("company_type")),
     Col("注册资本", _f("capital"), "number"), Col("登记状态", _f("status"))],
    _dup_key("主体身份代码", "440300", 12), duplicate_rate=0.005,
)


def _tax_office(w: World, e: np.ndarray, d: Draws) -> np.ndarray:
    return cat("1", w.firms["district_code"][e], "0000")


SHUIWU = ExtractSpec(
    "shuiwu_taxpayer", "legal_entity", lambda w, d: d.uniform("cover") < 0.9,
    [Col("纳税人识别号", _f("uscc"), "uscc"), Col("主管税务所代码", _tax_office), Col("纳税人名称", _f("name"), "firm_name"),
     Col("法定代表人姓名", _f("legal_rep_name"), "name"), Col("注册地址", _f("registered_address"), "address"),
     Col("生产经营地址", _f("business_address"), "address"), Col("成立日期", _f("established_date"), "date"),
     Col("行业", _f("industry_code")), Col("联系电话", _f("phone"), "phone"),
     Col("纳税信用等级", _choice("grade", ["A", "B", "M", "C", "D"], [0.3, 0.4, 0.25, 0.04, 0.01])),
     Col("登记注册类型", _f("company_type"))],
    lambda w, e, cols: {"主管税务所代码": cat("1", w.firms["district_code"][e], "0099")}, duplicate_rate=0.005,
)

# -- building ------------------------------------------------------------------------------------------------
GUIHUA = ExtractSpec(
    "guihua_building", "building", lambda w, d: d.uniform("cover") < 0.98,
    [Col("楼栋编码", _b("building_code")), Col("楼栋地址", lambda w, e, d: building_address(w.buildings, e), "address"),
     Col("行政区划代码", _b("district_code")), Col("街道", _b("street")), Col("社区", _b("community")),
     Col("经度", _b("lon"), "number"), Col("纬度", _b("lat"), "number"), Col("地上层数", _b("floors"), "number"),
     Col("建筑面积", lambda w, e, d: np.round(w.buildings["floors"][e] * (400 + 800 * d.uniform("area")[e]), 1), "number"),
     Col("竣工日期", lambda w, e, d: (w.buildings["built_year"][e] - 1970).astype("datetime64[Y]").astype("datetime64[D]")
         + (d.uniform("done")[e] * 360).astype("timedelta64[D]"), "date"),
     Col("建筑用途", lambda w, e, d: KIND_NAMES[w.buildings["kind"][e]])],
    # an old code kept alongside the new one: digit 13 is always 0 below 100,000 buildings
    lambda w, e, cols: {"楼栋编码": cat(np.array([c[:12] for c in w.buildings["building_code"][e]], dtype=object), "9",
                                    np.array([c[13:] for c in w.buildings["building_code"][e]], dtype=object))},
    duplicate_rate=0.005,
)


def _grid_seq(w: World, e: np.ndarray, d: Draws) -> np.ndarray:
    """A building's running number within its grid, as the grid worker numbered them."""
    grid = w.buildings["grid_code"]
    order = np.argsort(grid, kind="stable")
    sorted_grid = grid[order]
    starts = np.r_[0, np.flatnonzero(sorted_grid[1:] != sorted_grid[:-1]) + 1]
    rank = np.empty(len(grid), dtype=np.int64)
    rank[order] = np.arange(len(grid)) - np.repeat(starts, np.diff(np.r_[starts, len(grid)]))
    return num(rank[e] + 1)


ZHUJIAN = ExtractSpec(
    "zhujian_housing", "building",
    lambda w, d: (w.buildings["kind"] != 1) & (d.uniform("cover") < 0.85),
    [Col("楼栋ID", _key("ZJLD", 8)), Col("小区名称", _b("estate")), Col("楼栋名称", _b("block")),
     Col("坐落地址", lambda w, e, d: building_address(w.buildings, e), "address"), Col("所在区", _b("district_name")),
     Col("街道办", _b("street")), Col("社区工作站", _b("community")), Col("楼栋编码", _b("building_code"), missing_rate=0.3),
     Col("总层数", _b("floors"), "number"),
     Col("物业服务企业", lambda w, e, d: np.where(w.buildings["kind"][e] == KIND_VILLAGE, None,
                                              w.firms["name"][(d.uniform("manager")[e] * len(w.firms["name"])).astype(np.int64)])),
     Col("建成年份", _b("built_year"), "number")],
    _dup_key("楼栋ID", "ZJLD", 8), duplicate_rate=0.005,
)
WANGGE_B = ExtractSpec(
    "wangge_building", "building", lambda w, d: d.uniform("cover") < 0.9,
    [Col("网格编码", _b("grid_code")), Col("楼栋序号", _grid_seq), Col("建筑物编码", _b("building_code"), missing_rate=0.05),
     Col("建筑物地址", lambda w, e, d: building_address(w.buildings, e), "address"), Col("街道", _b("street")),
     Col("社区", _b("community")), Col("楼层数", _b("floors"), "number"),
     Col("经度", lambda w, e, d: np.round(w.buildings["lon"][e] + (d.uniform("dx")[e] - 0.5) * 2e-4, 6), "number"),
     Col("纬度", lambda w, e, d: np.round(w.buildings["lat"][e] + (d.uniform("dy")[e] - 0.5) * 2e-4, 6), "number"),
     Col("楼栋类型", lambda w, e, d: KIND_NAMES[w.buildings["kind"][e]]),
     Col("采集日期", _date_after(lambda w, e, d: np.full(len(e), FIRST_AS_OF - np.timedelta64(700, "D")), 1.9, "seen"), "date")],
    lambda w, e, cols: {"楼栋序号": np.array(["9" + s.zfill(3) for s in cols["楼栋序号"]], dtype=object)},
    duplicate_rate=0.005,
)

SPECS: dict[str, ExtractSpec] = {s.resource: s for s in
                                 (GONGAN, RENSHE, WEIJIAN, WANGGE_P, SHICHANG, SHUIWU, GUIHUA, ZHUJIAN, WANGGE_B)}
