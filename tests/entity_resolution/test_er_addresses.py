"""Address parsing: components, canonical building tokens and keys that survive surface variation."""

from __future__ import annotations

import opencc
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize.addresses import building_key, parse_address, parse_addresses, unit_key
from tests.entity_resolution.er_strategies import cn_digits, cn_number, fullwidth

_S2T = opencc.OpenCC("s2t")

DISTRICTS = {"罗湖": "440303", "福田": "440304", "南山": "440305", "宝安": "440306", "龙岗": "440307",
             "盐田": "440308", "龙华": "440309", "坪山": "440310", "光明": "440311"}
STREETS = {"罗湖": ["东门", "清水河"], "福田": ["华强北", "福田"], "南山": ["粤海", "南山"], "宝安": ["西乡"],
           "龙岗": ["布吉", "龙岗"], "盐田": ["沙头角"], "龙华": ["民治"], "坪山": ["坑梓"], "光明": ["公明"]}
COMMUNITIES = ["科技园", "民乐", "桃源", "高新"]
ROADS = [("科苑路", "科苑路"), ("深南大道", "深南大道"), ("高新南一道", "高新南1道"), ("建设二路", "建设2路"),
         ("东门步行街", "东门步行街"), ("桂庙路", "桂庙路"), ("白石巷", "白石巷")]
ESTATES = ["科兴科学园", "碧海花园", "特区报业大厦", "四季花城", "华润城", "百花园", "万科城", "桃源村", "金地名苑"]


@st.composite
def addresses(draw):
    """A generated address as components plus one random surface rendering of it."""
    district = draw(st.sampled_from(sorted(DISTRICTS)))
    road = draw(st.none() | st.sampled_from(ROADS))
    estate = draw(st.sampled_from(ESTATES) if road is None else st.none() | st.sampled_from(ESTATES))
    building = draw(st.none() | st.integers(1, 40) | st.sampled_from("ABCDEF"))
    unit = draw(st.none() | st.integers(1, 9))
    room = draw(st.none() | st.integers(1, 32).flatmap(lambda f: st.integers(1, 12).map(lambda n: f * 100 + n)))
    if building is None and unit is None:
        room = None  # a bare trailing number is a road number, not a room (see parse_address)
    parts = {
        "district": district, "street": draw(st.none() | st.sampled_from(STREETS[district])),
        "community": draw(st.none() | st.sampled_from(COMMUNITIES)), "road": road,
        "number": draw(st.integers(1, 9999)) if road else None, "estate": estate, "building": building,
        "unit": unit, "room": room,
    }
    return parts, render(parts, draw)


def render(p, draw) -> str:
    chinese = draw(st.booleans())
    num = (lambda n: cn_number(n)) if chinese else str
    out = [draw(st.sampled_from(["", "广东省", "广东"]))]
    city = draw(st.sampled_from(["深圳市", "深圳", ""]))
    # A street names its district, so an address with a street may leave the district out.
    if not (p["street"] and city != "深圳" and draw(st.booleans())):
        out += [city, p["district"] + ("区" if city != "深圳" or draw(st.booleans()) else "")]
    else:
        out.append(city)
    if p["street"]:
        out.append(p["street"] + draw(st.sampled_from(["街道", "街道办事处", "街道办"])))
    if p["community"]:
        out.append(p["community"] + draw(st.sampled_from(["社区", "社区居委会", "社区工作站"])))
    if p["road"]:
        out += [p["road"][0], num(p["number"]) + "号"]
    if p["estate"]:
        out.append(p["estate"] + draw(st.sampled_from(["", "小区"])) if p["estate"] in ("碧海花园", "金地名苑") else p["estate"])
    if isinstance(p["building"], str):
        out.append(p["building"] + draw(st.sampled_from(["座", "栋", "幢", "#"])))
    elif p["building"] is not None:
        marker = draw(st.sampled_from(["栋", "幢", "座", "#", "#楼", "号楼"]))
        out.append(("第" if marker in ("栋", "幢") and draw(st.booleans()) else "") + num(p["building"]) + marker)
    if p["unit"] is not None:
        out.append(num(p["unit"]) + "单元")
    if p["room"] is not None:
        if draw(st.booleans()):
            out.append(num(p["room"] // 100) + draw(st.sampled_from(["楼", "层"])))
        out.append((cn_digits(p["room"]) if chinese else str(p["room"])) + draw(st.sampled_from(["室", "房", "号", ""])))
    text = draw(st.sampled_from(["", " ", "\u3000"])).join(x for x in out if x)
    if draw(st.booleans()):
        text = fullwidth(text)
    if draw(st.booleans()):
        text = _S2T.convert(text)
    return text


def expected_building(b) -> str | None:
    return None if b is None else f"{b}座" if isinstance(b, str) else f"{b}栋"


@settings(deadline=None, max_examples=300)
@given(addresses())
def test_every_rendering_parses_to_its_components(case):
    p, text = case
    got = parse_address(text)
    assert got is not None, text
    assert (got.district, got.district_code, got.city, got.province) == (
        p["district"] + "区", DISTRICTS[p["district"]], "深圳市", "广东省"), text
    assert got.street == (p["street"] + "街道" if p["street"] else None), text
    assert got.community == (p["community"] + "社区" if p["community"] else None), text
    assert got.road == (p["road"][1] if p["road"] else None), text
    assert got.number == (str(p["number"]) if p["number"] else None), text
    assert got.estate == p["estate"], text
    assert got.building == expected_building(p["building"]), text
    assert got.unit == (f"{p['unit']}单元" if p["unit"] is not None else None), text
    assert got.room == (str(p["room"]) if p["room"] is not None else None), text


@settings(deadline=None, max_examples=150)
@given(st.data())
def test_two_renderings_of_one_address_share_keys(data):
    p, first = data.draw(addresses())
    second = render(p, data.draw)
    assert building_key(first) == building_key(second) is not None, (first, second)
    assert unit_key(first) == unit_key(second), (first, second)
    assert (unit_key(first) is None) == (p["room"] is None)


@pytest.mark.parametrize(("a", "b"), [
    ("南山区科苑路15号科兴科学园A栋1203", "南山区科苑路15号科兴科学园B栋1203"),
    ("宝安区碧海花园3栋2单元501", "宝安区碧海花园3栋2单元502"),
    ("宝安区碧海花园3栋2单元501", "福田区碧海花园3栋2单元501"),
])
def test_different_places_have_different_keys(a, b):
    assert unit_key(a) != unit_key(b)


def test_examples():
    a = parse_address("广东省深圳市南山区粤海街道科技园社区科苑路15号科兴科学园A栋12楼1203室")
    assert a.as_dict() == {
        "province": "广东省", "city": "深圳市", "district": "南山区", "district_code": "440305",
        "street": "粤海街道", "community": "科技园社区", "road": "科苑路", "number": "15", "estate": "科兴科学园",
        "building": "A座", "unit": None, "floor": "12", "room": "1203",
        "building_key": "440305|科苑路|15|科兴科学园|A座", "unit_key": "440305|科苑路|15|科兴科学园|A座||1203",
    }
    assert parse_address("深圳市福田区深南大道6008号特区报业大厦").building_key == "440304|深南大道|6008|特区报业大厦|"
    assert parse_address("深圳市福田区深南大道6008号").room is None  # a road number is not a room
    assert unit_key("宝安区碧海花园3-2-501") == unit_key("宝安区碧海花园三栋二单元五〇一室")
    assert parse_address("南山区南山大道1001号").road == "南山大道"  # 南山 here names the road, not the district
    c = parse_address("深圳市南山街道南山大道1001号")  # the street places it in 南山区
    assert (c.district_code, c.street, c.road) == ("440305", "南山街道", "南山大道")
    b = parse_address("北京市海淀区中关村大街1号")
    assert (b.province, b.city, b.district, b.district_code, b.road) == ("北京市", "北京市", "海淀区", None, "中关村大街")
    assert parse_address("不详") is None and parse_address(None) is None
    assert building_key("南山区") is None  # nothing below the district: no building


def test_column_form():
    values = pa.array(["宝安区碧海花园3栋2单元501", None, "宝安区碧海花园3栋2单元501", "不详"])
    parsed = parse_addresses(values)
    assert parsed.column_names[-2:] == ["building_key", "unit_key"]
    assert parsed.column("district_code").to_pylist() == ["440306", None, "440306", None]
    assert parsed.column("unit_key").to_pylist() == ["440306|||碧海花园|3栋|2单元|501", None,
                                                   "440306|||碧海花园|3栋|2单元|501", None]
