"""Synthetic person records with ground truth, for training and testing the person model.

People live in households (flats), several share common names (张伟), and each person is delivered 1–4
times by departments that write the same facts differently: traditional characters, homophone and one-
character slips in names, 15-digit legacy or mistyped ID numbers, birth dates in many formats, phones with
+86 and dashes, addresses with 幢/座/#, Chinese numerals and full-width digits, people who moved or changed
phone. Columns are the canonical person fields as delivered (before standardization) plus ``true_id``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from entity_resolution.standardize._text import int_to_cn, int_to_cn_digits
from quality.validators import cn_id

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢单区解仇"
# Given-name characters in homophone groups (same toneless pinyin): the slips a pinyin input method makes.
HOMOPHONES = ["伟威玮薇", "明鸣铭", "小晓", "静婧靖", "丽莉俐", "军君均", "杰洁婕", "华桦骅", "芳方", "涛韬滔",
              "红虹鸿", "平萍苹", "林琳霖", "宇雨语羽", "晨辰", "佳嘉家", "欣新鑫昕", "文雯闻", "建健剑", "英莹颖",
              "勇永咏", "艳燕彦", "峰锋丰", "斌彬滨", "浩昊皓", "婷亭庭", "阳洋杨", "辉慧晖", "怡仪宜", "琪琦奇"]
GIVEN = "".join(HOMOPHONES) + "国强磊敏娟刚秀霞兰志梅春海波超龙"
DISTRICTS = {"440303": "罗湖区", "440304": "福田区", "440305": "南山区", "440306": "宝安区", "440307": "龙岗区",
             "440309": "龙华区"}
ESTATES = ["碧海花园", "四季花城", "华润城", "百花园", "万科城", "金地名苑", "桃源村", "翠竹苑", "莲花北村", "海滨广场",
           "星河丹堤", "中海半山", "荔景大厦", "东方明珠城", "阳光棕榈园", "龙城花园"]
TRADITIONAL = {"刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳", "孙": "孫", "马": "馬",
               "郑": "鄭", "谢": "謝", "许": "許", "韩": "韓", "冯": "馮", "邓": "鄧", "伟": "偉", "华": "華",
               "丽": "麗", "军": "軍", "杰": "傑", "红": "紅", "国": "國", "强": "強", "敏": "敏", "龙": "龍"}
_HOMOPHONE_OF = {c: group for group in HOMOPHONES for c in group}


ROADS = ["科苑路", "深南大道", "建设路", "桂庙路", "红荔路", "布吉路", "民治大道", "宝安大道", "滨河大道", "人民南路"]


def _flat(rng: random.Random) -> dict[str, Any]:
    code = rng.choice(list(DISTRICTS))
    on_road = rng.random() < 0.4
    return {"district_code": code, "road": rng.choice(ROADS) if on_road else None, "number": rng.randint(1, 3000),
            "estate": rng.choice(ESTATES) + f"{rng.randint(1, 9)}期" if not on_road or rng.random() < 0.7 else None,
            "building": rng.choice([rng.randint(1, 40), rng.choice("ABCDEF")]), "unit": rng.randint(1, 6),
            "room": rng.randint(1, 33) * 100 + rng.randint(1, 8)}


def render_address(flat: dict[str, Any], rng: random.Random) -> str:
    """One department's way of writing the flat; sometimes without the road, the estate or the flat."""
    chinese = rng.random() < 0.3
    num = int_to_cn if chinese else str
    parts = [rng.choice(["", "广东省", "广东"]) + rng.choice(["深圳市", ""]), DISTRICTS[flat["district_code"]]]
    estate, road = flat["estate"], flat["road"]
    if road and (estate is None or rng.random() > 0.2):
        parts.append(road + num(flat["number"]) + "号")
    if estate and (road is None or rng.random() > 0.2):
        parts.append(estate[:-2] + num(int(estate[-2])) + "期")
    b = flat["building"]
    parts.append(b + rng.choice("座栋幢") if isinstance(b, str) else num(b) + rng.choice(["栋", "幢", "#", "号楼", "座"]))
    if rng.random() > 0.1:
        parts.append(num(flat["unit"]) + "单元")
        parts.append((int_to_cn_digits(flat["room"]) if chinese else str(flat["room"])) + rng.choice(["室", "房", ""]))
    text = rng.choice(["", " "]).join(p for p in parts if p)
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９")) if rng.random() < 0.1 else text


def _name_variant(name: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return "".join(TRADITIONAL.get(c, c) for c in name)
    if r < 0.08:
        return name[0] + " " + name[1:]
    if r < 0.13:  # homophone slip in the given name
        i = rng.randrange(1, len(name))
        group = _HOMOPHONE_OF.get(name[i])
        if group and len(group) > 1:
            return name[:i] + rng.choice([c for c in group if c != name[i]]) + name[i + 1:]
    if r < 0.15:  # any other one-character slip
        i = rng.randrange(1, len(name))
        return name[:i] + rng.choice(GIVEN) + name[i + 1:]
    return name


def _id_variant(number: str, born: dt.date, rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.25:
        return None
    if r < 0.29 and born.year < 2000:
        return number[:6] + number[8:17]  # legacy 15-digit form
    if r < 0.32:
        i = rng.randrange(18)
        return number[:i] + str((int(number[i]) + 1) % 10 if number[i].isdigit() else 0) + number[i + 1:]
    return number.lower() if rng.random() < 0.5 else number


def _date_variant(born: dt.date, rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.22 and born.day <= 12 and born.day != born.month:
        born = dt.date(born.year, born.day, born.month)  # day and month swapped
    elif r < 0.235:
        born = born + dt.timedelta(days=rng.randint(40, 4000))  # another date typed in (registration, a child's)
    fmt = rng.choice(["{:%Y%m%d}", "{:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日"])
    return fmt.format(born, d=born)


def synthetic_people(n_people: int, seed: int) -> list[dict[str, Any]]:
    """About 2.1 records per person; ``true_id`` is the person, ``record_id`` unique per record."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    while len(people) < n_people:
        flat, surname = _flat(rng), rng.choice(SURNAMES)
        for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(80 * 365))
            body = flat["district_code"] + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
            given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
            people.append({"true_id": len(people), "name": (surname if rng.random() < 0.7 else rng.choice(SURNAMES)) + given,
                           "id_number": body + cn_id.check_char(body), "born": born, "flat": flat,
                           "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"})
    records = []
    for person in people[:n_people]:
        for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])):
            flat = _flat(rng) if rng.random() < 0.08 else person["flat"]  # moved since
            phone = person["phone"] if rng.random() > 0.1 else f"13{rng.randrange(10**9):09d}"
            records.append({
                "record_id": len(records), "true_id": person["true_id"],
                "name": _name_variant(person["name"], rng),
                "id_number": _id_variant(person["id_number"], person["born"], rng),
                "birth_date": _date_variant(person["born"], rng),
                "phone": None if rng.random() < 0.35 else rng.choice([phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"]),
                "residence_address": None if rng.random() < 0.15 else render_address(flat, rng),
            })
    return records
