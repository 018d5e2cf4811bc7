"""Chinese personal names with realistic repetition, and the ways departments get them wrong.

Surnames follow their national frequency (per cent of the population, rounded; 林, 黄, 陈 a little higher as
in Guangdong). Given names mix the classic single characters (伟, 芳, 娜 …, which make 张伟 and 王芳 so
common), popular two-character names, and free combinations.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

from zhiwang.demo.strings import cat, weighted, zipf_weights

SURNAMES: dict[str, float] = {
    "王": 7.1, "李": 7.0, "张": 6.7, "刘": 5.4, "陈": 5.2, "杨": 3.1, "黄": 2.9, "赵": 2.3, "吴": 2.0, "周": 1.9,
    "徐": 1.4, "孙": 1.4, "马": 1.2, "朱": 1.2, "胡": 1.1, "郭": 1.1, "何": 1.0, "林": 1.3, "罗": 0.9, "高": 0.9,
    "郑": 0.8, "梁": 0.9, "谢": 0.7, "宋": 0.6, "唐": 0.6, "许": 0.6, "韩": 0.5, "冯": 0.5, "邓": 0.6, "曹": 0.5,
    "彭": 0.5, "曾": 0.5, "肖": 0.5, "田": 0.4, "董": 0.4, "袁": 0.4, "潘": 0.4, "于": 0.4, "蒋": 0.4, "蔡": 0.4,
    "余": 0.4, "杜": 0.4, "叶": 0.4, "程": 0.3, "苏": 0.3, "魏": 0.3, "吕": 0.3, "丁": 0.3, "任": 0.3, "沈": 0.3,
    "姚": 0.3, "卢": 0.3, "姜": 0.3, "崔": 0.3, "钟": 0.3, "谭": 0.3, "陆": 0.3, "汪": 0.3, "范": 0.3, "金": 0.2,
    "石": 0.2, "廖": 0.2, "贾": 0.2, "夏": 0.2, "韦": 0.2, "付": 0.2, "方": 0.2, "白": 0.2, "邹": 0.2, "孟": 0.2,
    "熊": 0.2, "秦": 0.2, "邱": 0.2, "江": 0.2, "尹": 0.2, "薛": 0.2, "闫": 0.2, "段": 0.2, "雷": 0.2, "侯": 0.2,
    "龙": 0.2, "史": 0.2, "陶": 0.1, "黎": 0.1, "贺": 0.1, "顾": 0.1, "毛": 0.1, "郝": 0.1, "龚": 0.1, "邵": 0.1,
    "万": 0.1, "钱": 0.1, "严": 0.1, "覃": 0.1, "武": 0.1, "戴": 0.1, "莫": 0.1, "孔": 0.1, "向": 0.1, "汤": 0.1,
    "欧阳": 0.05, "司马": 0.01, "诸葛": 0.01, "上官": 0.01,
}

# ranked by popularity: rank 1 gets the largest Zipf weight
MALE_SINGLE = list("伟勇军磊涛斌强鹏杰浩超明刚平辉健波宇华俊飞鑫亮林龙峰")
FEMALE_SINGLE = list("芳娜敏静丽艳娟霞燕玲婷丹萍红琳雪倩颖洁慧莉欣妍琴梅")
MALE_DOUBLE = "建华 建国 志强 志明 俊杰 子轩 浩然 宇轩 文博 梓豪 家豪 国强 海涛 晓东 建军 永强 春华 宇航 嘉豪 振华".split()
FEMALE_DOUBLE = "秀英 桂英 秀兰 玉兰 丽娟 晓燕 雅婷 欣怡 梓涵 子涵 诗涵 雨欣 思琪 婉婷 美玲 淑珍 海燕 晓丽 嘉怡 雨涵".split()
MALE_POOL = list("子宇浩俊文志建国家明天永伟嘉晨博睿泽轩豪杰辉鹏然航凯鑫峰斌海东晓振锦昊铭霖瑞")
FEMALE_POOL = list("雨欣梓思诗佳雅婷怡涵琪萱梦晓丽静慧敏芳颖玉秀美艳淑春晶雪悦可妍琳嘉瑶蕊紫")

_TONE_MARKS = {"\u0300", "\u0301", "\u0304", "\u030c"}
# characters that only serve as homophone or typo replacements (never drawn for a true name)
_EXTRA = (
    "威玮薇维卫为方纳娜民闵晶靖菁利立力燕岩雁捷结鹃韬滔鸣名朝潮侠苹凭钢纲瑛莹桦骅晖惠健剑鉴雯闻鸿虹宏霖铃苓凌亭庭"
    "廷茜谦单旦洪芸耘君钧永咏蕾垒昊皓语羽骏峻菲斐靓新馨隆锋枫章彰旺理礼柳留承臣辰沉杭琦其奇旭煦亦毅艺怡宜仪"
    "梓紫子姿资欣心芯星兴杏东冬栋振镇震锦金瑾晋佳家加嘉甲思斯丝诗施师雅亚娅"
)


def generate_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """One name per person; ``male`` is a boolean array."""
    n = len(male)
    sn = np.array(list(SURNAMES), dtype=object)[weighted(rng, list(SURNAMES.values()), n)]
    given = np.empty(n, dtype=object)
    kind = rng.choice(3, size=n, p=[0.2, 0.15, 0.65])  # single classic, double classic, free combination
    for is_male, single, double, pool in ((True, MALE_SINGLE, MALE_DOUBLE, MALE_POOL),
                                          (False, FEMALE_SINGLE, FEMALE_DOUBLE, FEMALE_POOL)):
        sel = male == is_male
        k = int(sel.sum())
        s = np.array(single, dtype=object)[weighted(rng, zipf_weights(len(single), 0.8), k)]
        d = np.array(double, dtype=object)[weighted(rng, zipf_weights(len(double), 0.9), k)]
        p = np.array(pool, dtype=object)
        free = cat(p[rng.integers(0, len(p), k)], p[rng.integers(0, len(p), k)])
        kk = kind[sel]
        given[sel] = np.where(kk == 0, s, np.where(kk == 1, d, free))
    return cat(sn, given)


def toneless(ch: str) -> str | None:
    """The first reading of a character without its tone mark (伟 → wei), from pypinyin's character table
    (its phrase dictionaries are not needed for single characters and cost 50 MB)."""
    from pypinyin.pinyin_dict import pinyin_dict

    reading = pinyin_dict.get(ord(ch))
    if not reading:
        return None
    decomposed = unicodedata.normalize("NFD", reading.split(",")[0])
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


@functools.lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """Character → other characters read the same (tone ignored), among name characters."""
    chars = sorted(set("".join(SURNAMES)) | set(MALE_SINGLE + FEMALE_SINGLE + MALE_POOL + FEMALE_POOL)
                   | set("".join(MALE_DOUBLE + FEMALE_DOUBLE)) | set(_EXTRA))
    by_sound: dict[str, list[str]] = {}
    for ch in chars:
        sound = toneless(ch)
        if sound:
            by_sound.setdefault(sound, []).append(ch)
    return {ch: [o for o in group if o != ch] for group in by_sound.values() for ch in group if len(group) > 1}


@functools.lru_cache(maxsize=1)
def _s2t():  # noqa: ANN202 - opencc converter
    import opencc

    return opencc.OpenCC("s2t")


def homophone(name: str, r: int) -> str | None:
    """``name`` with one given-name character swapped for one read the same (张伟 → 张威); None if none."""
    table = _homophones()
    spots = [i for i, ch in enumerate(name) if i > 0 and ch in table]
    if not spots:
        return None
    i = spots[r % len(spots)]
    options = table[name[i]]
    return name[:i] + options[(r // 7) % len(options)] + name[i + 1:]


def typo(name: str, r: int) -> str:
    """One given-name character replaced by another name character (a keying error)."""
    pool = MALE_POOL + FEMALE_POOL
    i = 1 + r % max(1, len(name) - 1) if len(name) > 1 else 0
    new = pool[(r // 13) % len(pool)]
    if new == name[i]:
        new = pool[(r // 13 + 1) % len(pool)]
    return name[:i] + new + name[i + 1:]


def traditional(name: str) -> str | None:
    """The name in traditional characters (張偉), or None when it reads the same."""
    out = _s2t().convert(name)
    return out if out != name else None


def spaced(name: str, r: int) -> str:
    """A space inside the name (王 芳), or a full-width one, as typed into some systems."""
    sep = " " if r % 3 else "\u3000"
    return name[0] + sep + name[1:] if len(name) > 1 else name + " "
