"""The demo city's residents: valid GB 11643 identity numbers consistent with birth date, gender and place
of birth, phones, a home down to the room, a hukou address, ethnicity."""

from __future__ import annotations

import numpy as np

from quality.validators.cn_id import CHECK_CHARS, WEIGHTS
from zhiwang.demo.names import generate_names
from zhiwang.demo.places import DISTRICTS, KIND_COMMERCIAL, KIND_VILLAGE, building_address
from zhiwang.demo.strings import cat, digits_to_str, either, num, str_to_codes, take, weighted

# Where residents born outside Shenzhen come from: code → (address prefix, weight, minority, its share).
# Some codes are retired (362121 赣县 became 360704 in 2016): old ID numbers keep them.
HOMETOWNS: dict[str, tuple[str, float, str, float]] = {
    "445202": ("广东省揭阳市榕城区", 5, "", 0), "440513": ("广东省汕头市潮阳区", 5, "", 0),
    "441402": ("广东省梅州市梅江区", 5, "畲族", 0.01), "440803": ("广东省湛江市霞山区", 4, "", 0),
    "440106": ("广东省广州市天河区", 2, "", 0), "430102": ("湖南省长沙市芙蓉区", 3, "", 0),
    "430421": ("湖南省衡阳市衡阳县", 4, "", 0), "431003": ("湖南省郴州市苏仙区", 3, "瑶族", 0.05),
    "420106": ("湖北省武汉市武昌区", 3, "", 0), "421003": ("湖北省荆州市荆州区", 3, "土家族", 0.03),
    "360102": ("江西省南昌市东湖区", 2, "", 0), "362121": ("江西省赣州市赣县", 4, "", 0),
    "450102": ("广西壮族自治区南宁市兴宁区", 3, "壮族", 0.35), "450802": ("广西壮族自治区贵港市港北区", 3, "壮族", 0.3),
    "350102": ("福建省福州市鼓楼区", 1, "畲族", 0.02), "510104": ("四川省成都市锦江区", 2, "", 0),
    "511602": ("四川省广安市广安区", 2, "", 0), "500101": ("重庆市万州区", 2, "土家族", 0.05),
    "411302": ("河南省南阳市宛城区", 3, "回族", 0.03), "410102": ("河南省郑州市中原区", 1, "回族", 0.03),
    "370102": ("山东省济南市历下区", 1, "", 0), "610113": ("陕西省西安市雁塔区", 1, "", 0),
    "230103": ("黑龙江省哈尔滨市南岗区", 1, "满族", 0.08), "522601": ("贵州省黔东南苗族侗族自治州凯里市", 1, "苗族", 0.5),
    "532301": ("云南省楚雄彝族自治州楚雄市", 1, "彝族", 0.3), "640104": ("宁夏回族自治区银川市兴庆区", 0.5, "回族", 0.3),
    "650102": ("新疆维吾尔自治区乌鲁木齐市天山区", 0.5, "维吾尔族", 0.4), "540102": ("西藏自治区拉萨市城关区", 0.2, "藏族", 0.8),
}
# Older Shenzhen IDs carry the city-level code 440301 (市辖区).
SHENZHEN_BIRTH_CODES = ["440301", *DISTRICTS]
OTHER_MINORITIES = ["满族", "回族", "蒙古族", "土家族", "苗族", "壮族", "朝鲜族"]
MOBILE_PREFIXES = ("138 139 135 136 137 150 151 152 158 159 186 187 188 130 131 132 155 156 185 133 153 180 181 189 "
                   "177 199 166 198 176 183").split()
RELIGIONS = (["无", "佛教", "基督教", "天主教", "道教"], [0.86, 0.08, 0.04, 0.01, 0.01])
HEALTH = (["健康", "良好", "一般", "慢性病", "残疾"], [0.68, 0.16, 0.09, 0.06, 0.01])
VILLAGE_WORDS = list("东西南北新上下大小中")
# age weights per band: Shenzhen is young (the 2020 census median age was about 33)
AGE_BANDS = [(0, 18, 1.0), (18, 25, 1.3), (25, 45, 2.3), (45, 60, 1.2), (60, 75, 0.45), (75, 96, 0.12)]


def birth_dates(rng: np.random.Generator, n: int, as_of: np.datetime64) -> np.ndarray:
    band = weighted(rng, [(hi - lo) * w for lo, hi, w in AGE_BANDS], n)
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age_days = (rng.uniform(lo, hi) * 365.25).astype(np.int64)
    return (as_of - age_days.astype("timedelta64[D]")).astype("datetime64[D]")


def ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


def make_id_numbers(region: np.ndarray, born: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-character GB 11643 numbers from 6-digit region codes, birth dates and 3-digit sequence numbers."""
    n = len(region)
    y, m, d = ymd(born)
    body = np.empty((n, 18), dtype=np.uint8)
    body[:, :6] = str_to_codes(region, 6)
    date_num = y * 10000 + m * 100 + d
    for pos, div in enumerate((10**7, 10**6, 10**5, 10**4, 1000, 100, 10, 1)):
        body[:, 6 + pos] = 48 + (date_num // div) % 10
    for pos, div in enumerate((100, 10, 1)):
        body[:, 14 + pos] = 48 + (seq // div) % 10
    total = ((body[:, :17].astype(np.int64) - 48) * np.array(WEIGHTS)).sum(axis=1) % 11
    body[:, 17] = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[total]
    return digits_to_str(body)


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = take(MOBILE_PREFIXES, rng.integers(0, len(MOBILE_PREFIXES), n))
    return cat(prefix, num(rng.integers(0, 10**8, n), 8))


def generate_persons(rng: np.random.Generator, n: int, b: dict[str, np.ndarray], as_of: np.datetime64,
                     id_offset: int = 0) -> dict[str, np.ndarray]:
    """``n`` residents living in buildings ``b``; ids continue from ``id_offset`` (for births later on)."""
    male = rng.random(n) < 0.52
    born = birth_dates(rng, n, as_of)
    y, _, _ = ymd(born)
    age = (as_of - born).astype(np.int64) / 365.25
    local = rng.random(n) < np.where(y >= 1995, 0.45, 0.2)  # born in Shenzhen: more so for the young
    home_codes = list(HOMETOWNS)
    home_pick = weighted(rng, [HOMETOWNS[c][1] for c in home_codes], n)
    sz_codes = np.array(SHENZHEN_BIRTH_CODES, dtype=object)
    sz_pick = np.where(y < 1990, 0, rng.integers(1, len(sz_codes), n))
    region = np.where(local, sz_codes[sz_pick], take(home_codes, home_pick))
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    ids = make_id_numbers(region, born, seq)
    # a clash of region + birth date + sequence would give two people one number: redraw until unique
    for _ in range(20):
        _, first = np.unique(ids.astype("S18"), return_index=True)  # fixed-width bytes sort fast
        dup = np.setdiff1d(np.arange(n), first)
        if not len(dup):
            break
        seq[dup] = rng.integers(0, 500, len(dup)) * 2 + male[dup]
        ids[dup] = make_id_numbers(region[dup], born[dup], seq[dup])

    # ethnicity: hometown minorities, plus a few everywhere
    minority = take([HOMETOWNS[c][2] for c in home_codes], home_pick)
    share = np.array([HOMETOWNS[c][3] for c in home_codes])[home_pick]
    u = rng.random(n)
    other = take(OTHER_MINORITIES, rng.integers(0, len(OTHER_MINORITIES), n))
    ethnicity = np.where(~local & (u < share), minority, np.where(u > 0.99, other, "汉族")).astype(object)

    # home: buildings weighted by capacity (dense villages, few people in office towers)
    cap = b["floors"] * np.select([b["kind"] == KIND_VILLAGE, b["kind"] == KIND_COMMERCIAL], [1.6, 0.05], 1.0)
    building = weighted(rng, cap, n)
    floor = 1 + (rng.random(n) * b["floors"][building]).astype(np.int64)
    unit = rng.integers(1, np.where(b["kind"][building] == KIND_VILLAGE, 5, 9))
    room = floor * 100 + unit
    residence = cat(building_address(b, building), num(room), "室")

    hukou_sz = local | (rng.random(n) < 0.22)
    own = rng.random(n) < 0.7
    hukou_building = np.where(own, building, rng.integers(0, len(b["floors"]), n))
    hukou_room = np.where(own, room, 100 + rng.integers(1, 9, n))
    # only the addresses each person needs are built: at a million persons every string counts
    hukou = np.empty(n, dtype=object)
    sz = np.flatnonzero(hukou_sz)
    hukou[sz] = cat(building_address(b, hukou_building[sz]), num(hukou_room[sz]), "室")
    away_idx = np.flatnonzero(~hukou_sz)
    k = len(away_idx)
    village = cat(take(VILLAGE_WORDS, rng.integers(0, 10, k)), take(["塘", "岭", "坑", "围", "屋"], rng.integers(0, 5, k)),
                  "村", num(rng.integers(1, 12, k)), "组", num(rng.integers(1, 80, k)), "号")
    hukou[away_idx] = cat(take([HOMETOWNS[c][0] for c in home_codes], home_pick[away_idx]), village)

    phone = mobiles(rng, n)
    phone[(age < 16) & (rng.random(n) < 0.9)] = None
    religion = take(RELIGIONS[0], weighted(rng, RELIGIONS[1], n))
    religion[np.isin(ethnicity, ["回族", "维吾尔族"])] = "伊斯兰教"
    seqno = np.arange(id_offset + 1, id_offset + n + 1)
    return {
        "person_id": cat("TP", num(seqno, 8)),
        "name": generate_names(rng, male),
        "gender": either(male, "男", "女"),
        "birth_date": born,
        "id_number": ids,
        "birth_region": region.astype(object),
        "ethnicity": ethnicity,
        "phone": phone,
        "building": building,
        "room": room,
        "residence_address": residence,
        "hukou_address": hukou,
        "hukou_shenzhen": hukou_sz,
        "district_code": b["district_code"][building],
        "grid_code": b["grid_code"][building],
        "religion": religion,
        "health": take(HEALTH[0], weighted(rng, HEALTH[1], n)),
        "employer": np.full(n, -1, dtype=np.int64),
        "alive": np.ones(n, dtype=bool),
    }
