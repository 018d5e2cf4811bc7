"""The demo city's companies: names as the registry writes them (深圳市华强电子科技有限公司), valid GB 32100
unified social credit codes with a valid embedded GB 11714 organisation code, a legal representative who is
one of the residents, an address in one of the buildings; and who works where."""

from __future__ import annotations

import numpy as np

from quality.validators.uscc import ALPHABET, ORG_WEIGHTS, WEIGHTS
from zhiwang.demo.places import KIND_COMMERCIAL, building_address
from zhiwang.demo.strings import cat, digits_to_str, num, take, weighted

BRAND_CHARS = list("华强腾达鑫源宏图恒信联创科博雅天成汇丰新嘉和瑞永盛金桥佳禾顺锦程兴业海纳德鹏广众诚立远航卓越星辉晨光"
                   "万东方南泰国安云帆智力优美康乐福宝润通中合利发隆昌荣益")
# (industry words in the name, GB/T 4754-2017 class, weight)
INDUSTRIES = [
    ("电子科技", "C3971", 10), ("信息技术", "I6510", 12), ("网络科技", "I6450", 6), ("贸易", "F5181", 12),
    ("进出口", "F5191", 5), ("餐饮管理", "H6210", 6), ("建筑工程", "E4890", 4), ("装饰工程", "E5010", 4),
    ("物流", "G5438", 5), ("投资咨询", "L7243", 5), ("文化传媒", "L7259", 4), ("房地产开发", "K7010", 2),
    ("物业管理", "K7020", 3), ("医疗器械", "C3581", 2), ("生物科技", "M7340", 2), ("新能源科技", "C3841", 2),
    ("供应链管理", "L7224", 5), ("教育科技", "P8399", 2), ("服装", "C1810", 2), ("通信设备", "C3921", 3),
    ("人力资源", "L7263", 2), ("汽车服务", "O8111", 1),
]
FORMS = (["有限公司", "股份有限公司", "有限责任公司"], [0.9, 0.06, 0.04])
STATUSES = (["存续", "在营", "注销", "吊销"], [0.6, 0.35, 0.03, 0.02])
COMPANY_TYPES = (["有限责任公司（自然人独资）", "有限责任公司", "股份有限公司（非上市）", "有限责任公司（外商独资）"],
                 [0.35, 0.5, 0.08, 0.07])

_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _USCC_VALUE[ord(_c)] = _i
_ORG_VALUE = np.full(256, -1, dtype=np.int64)
for _i in range(10):
    _ORG_VALUE[48 + _i] = _i
for _i in range(26):
    _ORG_VALUE[65 + _i] = 10 + _i
_ORG_BODY = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)  # letters allowed in both codes


def _org_bodies(rng: np.random.Generator, modern: np.ndarray) -> np.ndarray:
    """8-character organisation-code bodies: MA5xxxxx for newer codes, 8 digits for older ones."""
    n = len(modern)
    body = np.where(modern[:, None], _ORG_BODY[rng.integers(0, 31, (n, 8))], 48 + rng.integers(0, 10, (n, 8)))
    body[modern, 0], body[modern, 1], body[modern, 2] = ord("M"), ord("A"), ord("5")
    body[~modern, 0] = 49 + rng.integers(0, 9, int((~modern).sum()))
    return body


def make_usccs(rng: np.random.Generator, division: np.ndarray) -> np.ndarray:
    """Valid 18-character codes: 91 (enterprise), 6-digit division, 9-character organisation code, check."""
    n = len(division)
    code = np.empty((n, 18), dtype=np.uint8)
    code[:, 0], code[:, 1] = ord("9"), ord("1")
    code[:, 2:8] = np.asarray(division, dtype="S6").view(np.uint8).reshape(n, 6)
    # newer codes issued by the city look like MA5xxxxx; older ones are 8 digits
    modern = rng.random(n) < 0.6
    body = _org_bodies(rng, modern)
    # a code is issued once: redraw the few bodies that collide within their division
    for _ in range(20):
        _, first = np.unique(np.concatenate([code[:, 2:8], body], axis=1), axis=0, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        if not len(dup):
            break
        body[dup] = _org_bodies(rng, modern[dup])
    code[:, 8:16] = body
    org = 11 - (_ORG_VALUE[body] * np.array(ORG_WEIGHTS)).sum(axis=1) % 11
    code[:, 16] = np.where(org == 10, ord("X"), np.where(org == 11, ord("0"), 48 + org % 10))
    total = (_USCC_VALUE[code[:, :17]] * np.array(WEIGHTS)).sum(axis=1) % 31
    code[:, 17] = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)[(31 - total) % 31]
    return digits_to_str(code)


def _unique_brands(rng: np.random.Generator, industry: np.ndarray) -> np.ndarray:
    """A trade name (字号) per firm, unique within its industry as registration requires."""
    n = len(industry)
    brands = cat(take(BRAND_CHARS, rng.integers(0, len(BRAND_CHARS), n)),
                 take(BRAND_CHARS, rng.integers(0, len(BRAND_CHARS), n)))
    for _ in range(30):
        key = cat(brands, num(industry))
        _, first = np.unique(key, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        if not len(dup):
            break
        brands[dup] = cat(brands[dup], take(BRAND_CHARS, rng.integers(0, len(BRAND_CHARS), len(dup))))
    return brands


def generate_firms(rng: np.random.Generator, n: int, b: dict[str, np.ndarray], p: dict[str, np.ndarray],
                   as_of: np.datetime64, id_offset: int = 0) -> dict[str, np.ndarray]:
    industry = weighted(rng, [w for _, _, w in INDUSTRIES], n)
    brand = _unique_brands(rng, industry)
    form = take(FORMS[0], weighted(rng, FORMS[1], n))
    words = take([w for w, _, _ in INDUSTRIES], industry)
    foreign = rng.random(n) < 0.05
    name = np.where(foreign, cat(brand, words, "（深圳）", form), cat("深圳市", brand, words, form))

    # offices sit mostly in office towers
    weight = np.where(b["kind"] == KIND_COMMERCIAL, 8.0, 1.0)
    building = weighted(rng, weight, n)
    floor = 1 + (rng.random(n) * b["floors"][building]).astype(np.int64)
    room = floor * 100 + rng.integers(1, 20, n)
    registered = cat(building_address(b, building), num(room), "室")
    moved = rng.random(n) < 0.2
    biz_building = np.where(moved, weighted(rng, weight, n), building)
    business = np.where(moved, cat(building_address(b, biz_building), num(room), "室"), registered)

    age = (as_of - p["birth_date"]).astype(np.int64) / 365.25
    eligible = np.flatnonzero((age >= 22) & (age <= 70))
    rep = rng.choice(eligible, size=n, replace=len(eligible) < n)
    again = rng.random(n) < 0.08  # a few people run several companies
    rep[again] = rep[rng.integers(0, n, n)][again]

    est_days = np.minimum(rng.exponential(6 * 365.25, n), 35 * 365).astype(np.int64)
    established = (as_of - est_days.astype("timedelta64[D]")).astype("datetime64[D]")
    landline = rng.random(n) < 0.6
    phone = np.where(landline, cat("0755-", take(["8", "2"], rng.integers(0, 2, n)), num(rng.integers(0, 10**7, n), 7)),
                     cat(take(["138", "139", "186", "135", "159"], rng.integers(0, 5, n)), num(rng.integers(0, 10**8, n), 8)))
    division = np.where(rng.random(n) < 0.8, "440300", b["district_code"][building]).astype(object)
    seq = np.arange(id_offset + 1, id_offset + n + 1)
    return {
        "entity_id": cat("TE", num(seq, 7)),
        "name": name,
        "uscc": make_usccs(rng, division),
        "legal_rep": rep,
        "legal_rep_name": p["name"][rep],
        "legal_rep_id_number": p["id_number"][rep],
        "building": building,
        "registered_address": registered,
        "business_building": biz_building,
        "business_address": business.astype(object),
        "established_date": established,
        "industry_code": take([c for _, c, _ in INDUSTRIES], industry),
        "phone": phone.astype(object),
        "district_code": b["district_code"][building],
        "capital": np.round(np.exp(rng.normal(5.0, 1.5, n)), 2),
        "status": take(STATUSES[0], weighted(rng, STATUSES[1], n)),
        "company_type": take(COMPANY_TYPES[0], weighted(rng, COMPANY_TYPES[1], n)),
        "size": rng.pareto(1.2, n) + 1.0,
    }


def assign_employers(rng: np.random.Generator, p: dict[str, np.ndarray], f: dict[str, np.ndarray],
                     as_of: np.datetime64, only: np.ndarray | None = None) -> None:
    """Working-age residents (18–60), three in four employed, by firm size; ``only`` limits who is assigned."""
    n = len(p["birth_date"])
    idx = np.arange(n) if only is None else only
    age = (as_of - p["birth_date"][idx]).astype(np.int64) / 365.25
    active = np.isin(f["status"], ["存续", "在营"])
    weight = np.where(active, f["size"], 0.0)
    working = (age >= 18) & (age <= 60) & (rng.random(len(idx)) < 0.75)
    firm = weighted(rng, weight, len(idx))
    p["employer"][idx] = np.where(working, firm, -1)
