"""Shenzhen's districts, streets, roads and estates, and the demo city's buildings.

Street (街道) names are the real ones of each district; communities, estates and house numbers are made up
but shaped like the real thing: ``深圳市福田区华强北街道华航社区振华路8号华联大厦A座``.
"""

from __future__ import annotations

import numpy as np

from zhiwang.demo.strings import cat, num, take

CITY = "深圳市"
PROVINCE = "广东省"

# code: (name, population weight (2020 census, 10k), lon min, lon max, lat min, lat max)
DISTRICTS: dict[str, tuple[str, float, float, float, float, float]] = {
    "440303": ("罗湖区", 114.0, 114.10, 114.20, 22.54, 22.60),
    "440304": ("福田区", 155.0, 114.00, 114.10, 22.52, 22.58),
    "440305": ("南山区", 180.0, 113.89, 113.99, 22.50, 22.60),
    "440306": ("宝安区", 448.0, 113.78, 113.93, 22.55, 22.78),
    "440307": ("龙岗区", 398.0, 114.10, 114.35, 22.60, 22.76),
    "440309": ("龙华区", 253.0, 113.98, 114.10, 22.62, 22.75),
}

STREETS: dict[str, list[str]] = {
    "440303": ["桂园", "黄贝", "东门", "翠竹", "南湖", "笋岗", "东湖", "莲塘", "东晓", "清水河"],
    "440304": ["园岭", "南园", "福田", "沙头", "梅林", "华富", "香蜜湖", "莲花", "华强北", "福保"],
    "440305": ["南头", "南山", "沙河", "蛇口", "招商", "粤海", "桃源", "西丽"],
    "440306": ["新安", "西乡", "航城", "福永", "福海", "沙井", "新桥", "松岗", "燕罗", "石岩"],
    "440307": ["平湖", "布吉", "吉华", "坂田", "南湾", "横岗", "园山", "龙城", "龙岗", "宝龙", "坪地"],
    "440309": ["观湖", "民治", "龙华", "大浪", "福城", "观澜"],
}

ROADS: dict[str, list[str]] = {
    "440303": ["东门中路", "人民南路", "建设路", "宝安南路", "深南东路", "黄贝路", "爱国路", "文锦中路", "太宁路", "布心路"],
    "440304": ["深南大道", "振华路", "华强北路", "红荔路", "福华路", "彩田路", "滨河大道", "新洲路", "益田路", "景田路"],
    "440305": ["南海大道", "科技园路", "沙河西路", "南山大道", "桃园路", "工业八路", "海德三道", "后海大道", "留仙大道", "学府路"],
    "440306": ["宝安大道", "创业一路", "新安六路", "建安一路", "前进路", "航城大道", "沙井大街", "松白路", "新湖路", "兴华路"],
    "440307": ["龙岗大道", "深惠路", "布吉路", "吉华路", "坂雪岗大道", "五和大道", "龙翔大道", "平湖大街", "横岗大道", "爱联路"],
    "440309": ["民治大道", "梅龙大道", "人民路", "东环一路", "观澜大道", "布龙路", "龙华大道", "和平路", "工业东路", "华联路"],
}

COMMUNITY_POOL = (
    "华航 荔村 通新岭 福华 岗厦 皇岗 水围 新洲 上沙 下沙 沙尾 石厦 景田 香蜜 侨香 竹子林 车公庙 益田 碧海 海滨 渔农 "
    "大冲 高新 深云 麻岭 白石洲 塘朗 大磡 平山 留仙 固戍 臣田 铁岗 凤凰 黄田 桥头 塘尾 后亭 上星 水田 龙塘 上塘 清湖 "
    "三联 岗头 雪象 马安堂 木棉湾 南岭 丹竹头 沙湾 六约 西坑 新木 大芬 五和 象角塘 杨美 嶂背 牛湖 樟坑 上芬 民乐 "
    "白石龙 龙胜 景龙 松元 鹭湖 湖贝 渔邨 向西 黄贝岭 翠竹 田贝 布心 莲塘 仙湖 鹿丹 长岭 新秀 罗芳 笋岗 草埔 清水河 "
    "南头城 马家龙 大新 月亮湾 蛇口 湾厦 四海 招商 水湾 太子湾 前海 桃源 龙联 福光 珠光 西丽 官龙 百旺 松坪 曙光"
).split()

ESTATE_PREFIX = (
    "华联 赛格 金地 万科 星河 中海 招商 华润 卓越 鸿荣源 宝能 佳兆业 龙光 碧桂园 东海 荔景 翠海 锦绣 阳光 富通 天健 "
    "深业 京基 信义 金众 中洲 鹏基 振业 宏发 金色 海岸 港湾 君悦 泰华"
).split()
ESTATE_SUFFIX_HOME = "花园 名苑 新城 家园 雅苑 华府 公馆 山庄 半岛 豪庭 新村 小区".split()
ESTATE_SUFFIX_WORK = "大厦 广场 中心 商务中心 科技园 工业园".split()

# Building kinds: residential tower, commercial tower, urban-village house (城中村 握手楼).
KIND_RESIDENTIAL, KIND_COMMERCIAL, KIND_VILLAGE = 0, 1, 2
KIND_NAMES = np.array(["住宅", "商业办公", "城中村自建房"], dtype=object)


def district_codes() -> list[str]:
    return list(DISTRICTS)


def district_weights() -> np.ndarray:
    w = np.array([DISTRICTS[c][1] for c in DISTRICTS])
    return w / w.sum()


def _communities(rng: np.random.Generator) -> list[tuple[str, int, str, int, str]]:
    """(district, street no., street, community no., community) for every community of the city."""
    out = []
    for code, streets in STREETS.items():
        for s_no, street in enumerate(streets, start=1):
            k = int(rng.integers(3, 7))
            for c_no, idx in enumerate(rng.choice(len(COMMUNITY_POOL), size=k, replace=False), start=1):
                out.append((code, s_no, street, c_no, COMMUNITY_POOL[idx]))
    return out


def generate_buildings(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` buildings grouped into estates; every column a numpy array (strings as object arrays)."""
    comms = _communities(rng)
    codes = list(DISTRICTS)
    # communities weighted by their district's population so busy districts get more buildings
    per_district = {c: sum(1 for x in comms if x[0] == c) for c in codes}
    cw = np.array([DISTRICTS[x[0]][1] / per_district[x[0]] for x in comms])
    n_estates = max(1, n // 3)
    e_comm = rng.choice(len(comms), size=n_estates, p=cw / cw.sum())
    e_kind = rng.choice(3, size=n_estates, p=[0.55, 0.15, 0.30])
    # buildings per estate: every estate gets one, the rest go by weight (big estates have many towers)
    e_size = np.ones(n_estates, dtype=np.int64)
    if n > n_estates:
        pull = _normed(rng.pareto(2.0, n_estates) + 0.2)
        e_size += np.bincount(rng.choice(n_estates, size=n - n_estates, p=pull), minlength=n_estates)
    estate = np.repeat(np.arange(n_estates), e_size)[:n]
    block_no = np.arange(n) - np.repeat(np.cumsum(e_size) - e_size, e_size)[:n] + 1
    comm = e_comm[estate]
    kind = e_kind[estate]

    c_district = np.array([x[0] for x in comms], dtype=object)
    c_street_no = np.array([x[1] for x in comms])
    c_street = np.array([x[2] + "街道" for x in comms], dtype=object)
    c_comm_no = np.array([x[3] for x in comms])
    c_comm = np.array([x[4] + "社区" for x in comms], dtype=object)
    district = c_district[comm]
    d_idx = np.array([codes.index(d) for d in c_district])[comm]

    # estate name and address (road + house number) are per estate
    e_district = c_district[e_comm]
    road_pick = rng.integers(0, 10, n_estates)
    e_road = np.array([ROADS[d][r] for d, r in zip(e_district, road_pick, strict=True)], dtype=object)
    e_no = rng.integers(1, 400, n_estates)
    prefix = np.array(ESTATE_PREFIX, dtype=object)[rng.integers(0, len(ESTATE_PREFIX), n_estates)]
    home_suffix = np.array(ESTATE_SUFFIX_HOME, dtype=object)[rng.integers(0, len(ESTATE_SUFFIX_HOME), n_estates)]
    work_suffix = np.array(ESTATE_SUFFIX_WORK, dtype=object)[rng.integers(0, len(ESTATE_SUFFIX_WORK), n_estates)]
    village = np.array([x[4] for x in comms], dtype=object)[e_comm]
    e_name = np.where(e_kind == KIND_COMMERCIAL, prefix + work_suffix,
                      np.where(e_kind == KIND_VILLAGE, village + "新村", prefix + home_suffix))
    # blocks: towers are lettered 座 in office estates, numbered 栋 elsewhere
    letters = np.array(list("ABCDEFGHJK"), dtype=object)
    block = np.where(kind == KIND_COMMERCIAL, take(letters, (block_no - 1) % len(letters)) + "座",
                     num(block_no) + "栋")

    floors = np.where(kind == KIND_VILLAGE, rng.integers(5, 10, n),
                      np.where(kind == KIND_COMMERCIAL, rng.integers(15, 61, n), rng.integers(8, 34, n)))
    d_info = np.array([DISTRICTS[c][2:] for c in codes])[d_idx]
    # a community clusters around a centre; buildings jitter around it
    c_lon = rng.uniform(0.15, 0.85, len(comms))
    c_lat = rng.uniform(0.15, 0.85, len(comms))
    lon = d_info[:, 0] + (d_info[:, 1] - d_info[:, 0]) * np.clip(c_lon[comm] + rng.normal(0, 0.04, n), 0, 1)
    lat = d_info[:, 2] + (d_info[:, 3] - d_info[:, 2]) * np.clip(c_lat[comm] + rng.normal(0, 0.04, n), 0, 1)
    grid_no = rng.integers(1, 6, n)
    prefix12 = cat(district, num(c_street_no[comm], 3), num(c_comm_no[comm], 3))
    seq = np.arange(1, n + 1)
    names = np.array([DISTRICTS[c][0] for c in codes], dtype=object)[d_idx]
    return {
        "building_id": cat("TB", num(seq, 7)),
        "building_code": cat(prefix12, num(seq % 1_000_000, 6)),
        "district_code": district,
        "district_name": names,
        "street": c_street[comm],
        "community": c_comm[comm],
        "road": e_road[estate],
        "house_no": num(e_no[estate]) + "号",
        "estate": e_name[estate],
        "estate_no": estate,
        "block_no": block_no,
        "block": block,
        "kind": kind,
        "floors": floors.astype(np.int64),
        "lon": np.round(lon, 6),
        "lat": np.round(lat, 6),
        "grid_code": cat(prefix12, num(grid_no, 3)),
        "built_year": rng.integers(1985, 2025, n),
    }


def add_blocks(rng: np.random.Generator, b: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """``k`` new towers, each completed in an existing estate (same road, number and community), numbered on
    from the estate's last block; building codes continue the city's sequence."""
    n = len(b["building_code"])
    eligible = np.flatnonzero(b["kind"] != KIND_VILLAGE)
    template = rng.choice(eligible if len(eligible) else np.arange(n), size=k)
    new = {key: values[template].copy() for key, values in b.items()}
    last = np.zeros(int(b["estate_no"].max()) + 1, dtype=np.int64)
    np.maximum.at(last, b["estate_no"], b["block_no"])
    order = np.argsort(new["estate_no"], kind="stable")
    est = new["estate_no"][order]
    starts = np.r_[0, np.flatnonzero(est[1:] != est[:-1]) + 1]
    rank = np.arange(k) - np.repeat(starts, np.diff(np.r_[starts, k]))
    block_no = np.empty(k, dtype=np.int64)
    block_no[order] = last[est] + rank + 1
    letters = np.array(list("ABCDEFGHJK"), dtype=object)
    commercial = new["kind"] == KIND_COMMERCIAL
    new["block_no"] = block_no
    new["block"] = np.where(commercial, take(letters, (block_no - 1) % len(letters)) + "座", num(block_no) + "栋")
    seq = np.arange(n + 1, n + k + 1)
    new["building_id"] = cat("TB", num(seq, 7))
    new["building_code"] = cat(np.array([c[:12] for c in new["building_code"]], dtype=object), num(seq % 1_000_000, 6))
    new["floors"] = np.where(commercial, rng.integers(20, 61, k), rng.integers(18, 34, k)).astype(np.int64)
    new["lon"] = np.round(new["lon"] + rng.normal(0, 3e-4, k), 6)
    new["lat"] = np.round(new["lat"] + rng.normal(0, 3e-4, k), 6)
    return new


def building_address(b: dict[str, np.ndarray], idx: np.ndarray | None = None, city: bool = True) -> np.ndarray:
    """The full address of buildings ``idx`` (all when None)."""
    pick = (lambda a: a) if idx is None else (lambda a: a[idx])
    parts = [pick(b[k]) for k in ("district_name", "street", "community", "road", "house_no", "estate", "block")]
    return cat(CITY if city else "", *parts)


def _normed(w: np.ndarray) -> np.ndarray:
    return w / w.sum()
