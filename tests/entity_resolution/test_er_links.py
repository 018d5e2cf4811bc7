"""Links between golden entities on small hand-made golden tables."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.links import LINK_SCHEMA, build_links
from zhiwang.errors import UserError

ID_A, ID_B = "110101199003076616", "11010119900307661X"  # A is valid; B has a wrong check character
USCC = "91440300MA5MG3YLX1"


def _table(rows: list[dict]) -> pa.Table:
    columns = sorted({k for r in rows for k in r})
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})


def _golden():
    persons = _table([
        {"golden_id": "P1", "status": "active", "name": "张伟", "id_number": ID_A, "district_code": "440305",
         "residence_address": "深圳市南山区科苑路15号科兴科学园A座1203室", "employer_uscc": USCC.lower()},
        {"golden_id": "P2", "status": "active", "name": "李娜", "id_number": None, "district_code": "440304",
         # no district in the address: the person's district_code fills it
         "residence_address": "福华路61号南岭新村2栋902", "employer_name": "深圳市鹏程物流有限公司"},
        {"golden_id": "P3", "status": "active", "name": "王芳", "district_code": "440305",
         "residence_address": "南山区科苑路15号科兴科学园B座", "employer_name": "同名贸易有限公司"},
        {"golden_id": "P4", "status": "active", "name": "王芳", "district_code": "440305"},  # a namesake
        {"golden_id": "P5", "status": "merged", "name": "张伟", "id_number": ID_A, "district_code": "440305",
         "residence_address": "深圳市南山区科苑路15号科兴科学园A座1203室", "employer_uscc": USCC},
    ])
    firms = _table([
        {"golden_id": "E1", "status": "active", "name": "深圳市华强电子科技有限公司", "uscc": USCC,
         "legal_rep_name": "张伟", "legal_rep_id_number": ID_A, "district_code": "440305",
         "registered_address": "深圳市南山区科苑路15号科兴科学园A座2501室",
         "business_address": "深圳市福田区福华路61号南岭新村2栋101室"},
        {"golden_id": "E2", "status": "active", "name": "鹏程物流有限公司", "legal_rep_name": "李娜",
         "legal_rep_id_number": ID_B, "district_code": "440304"},  # invalid number: the name decides
        {"golden_id": "E3", "status": "active", "name": "同名贸易有限公司", "legal_rep_name": "王芳",
         "district_code": "440305"},  # two 王芳 in 440305: no representative link
        {"golden_id": "E4", "status": "active", "name": "深圳市同名贸易有限公司", "district_code": "440306"},
        {"golden_id": "E5", "status": "retired", "name": "深圳市鹏程物流有限公司"},
    ])
    buildings = _table([
        {"golden_id": "B1", "status": "active", "address": "科苑路15号科兴科学园A栋", "district_code": "440305"},
        {"golden_id": "B2", "status": "active", "address": "深圳市福田区福华路61号南岭新村2栋"},
        # two buildings parsed to one key: neither gets residents
        {"golden_id": "B3", "status": "active", "address": "深圳市南山区科苑路15号科兴科学园B座"},
        {"golden_id": "B4", "status": "active", "address": "南山区科苑路十五号科兴科学园B幢"},
    ])
    return persons, firms, buildings


def test_links_of_every_type():
    links = build_links(*_golden())
    assert links.schema == LINK_SCHEMA
    assert sorted(links.to_pylist(), key=lambda r: tuple(r.values())) == sorted([
        {"link_type": "employed_by", "from_id": "P1", "to_id": "E1", "via": "uscc"},
        # 深圳市鹏程物流有限公司 and 鹏程物流有限公司 share a company key; the retired E5 does not count
        {"link_type": "employed_by", "from_id": "P2", "to_id": "E2", "via": "name"},
        {"link_type": "legal_rep_of", "from_id": "P1", "to_id": "E1", "via": "id_number"},
        {"link_type": "legal_rep_of", "from_id": "P2", "to_id": "E2", "via": "name"},
        {"link_type": "located_at", "from_id": "E1", "to_id": "B1", "via": "building_key"},
        {"link_type": "located_at", "from_id": "E1", "to_id": "B2", "via": "building_key"},
        {"link_type": "resides_in", "from_id": "P1", "to_id": "B1", "via": "building_key"},
        {"link_type": "resides_in", "from_id": "P2", "to_id": "B2", "via": "building_key"},
    ], key=lambda r: tuple(r.values()))
    # P3's employer name matches two firms' keys (E3 and E4): no link rather than a guess


def _same(a: pa.Table, b: pa.Table) -> bool:
    return a.sort_by("golden_id").equals(b.sort_by("golden_id"))


def test_person_view_updated_for_rebuilt_rows_only():
    from entity_resolution.links import person_view, updated_person_view

    persons, firms, buildings = _golden()
    previous = person_view(persons)
    rows = persons.to_pylist()
    # the resolve rebuilt P2 (moved), P3 (merged into P4) and made P6; P1, P4 and P5 were carried over
    rows[1]["residence_address"] = "深圳市南山区科苑路15号科兴科学园A座808室"
    rows[2]["status"] = "merged"
    rows.append({**rows[0], "golden_id": "P6", "name": "赵六", "id_number": None, "employer_uscc": None})
    now = _table(rows)
    rebuilt = pa.array(["P2", "P3", "P6"])
    updated = updated_person_view(previous, now, rebuilt)
    assert updated is not None and _same(updated, person_view(now))
    assert build_links(now, firms, buildings, persons=updated).equals(build_links(now, firms, buildings))
    # a carried-over person the previous view lacks (a view of another golden table): made afresh instead
    assert updated_person_view(previous.filter(pa.array([r != "P1" for r in previous["golden_id"].to_pylist()])),
                               now, rebuilt) is None
    # a person the hint does not name but whose row changed is not the carried row: the counts catch a drop
    rows[0]["status"] = "retired"
    assert updated_person_view(previous, _table(rows), rebuilt) is None


def test_empty_and_minimal_tables():
    empty = pa.table({"golden_id": pa.array([], pa.string()), "status": pa.array([], pa.string())})
    links = build_links(empty, empty, empty)
    assert links.num_rows == 0 and links.schema == LINK_SCHEMA


def test_missing_status_is_a_user_error():
    persons, firms, buildings = _golden()
    with pytest.raises(UserError, match="building golden table has no status column"):
        build_links(persons, firms, buildings.drop_columns(["status"]))


@pytest.mark.parametrize("address", [
    "深圳市南山区科苑路15号科兴科学园A座1203室", "南山区科苑路十五号科兴科学园A幢1203", "科兴科学园A座１２０３房",
    "深南大道6008号", "深南大道6008号特区报业大厦", "碧海花园3-2-501", "华强北路1002室", "福华路61号南岭新村2栋902",
    "福田区XX大厦12层1201", "南山区科技园88栋",
])
def test_dropping_the_room_keeps_the_building_key(address):
    from entity_resolution.links import without_room
    from entity_resolution.standardize import building_key

    assert building_key(without_room(address)) == building_key(address)


def test_without_room_drops_only_a_trailing_room():
    from entity_resolution.links import without_room

    assert without_room("科兴科学园A座1203室") == without_room("科兴科学园A座1203") == "科兴科学园A座"
    assert without_room("深南大道6008号") == "深南大道6008号" and without_room(None) is None


ROOM_CASES = [
    "科兴科学园A座1203室", "科兴科学园A座１２０３房", "科兴科学园A座1203Ａ号房", "福华路61号南岭新村2栋902",
    "南岭新村2幢902", "碧海花园3#1201", "碧海花园3＃1201", "2单元501", "12层1201", "3楼1201", "深南大道6008号",
    "华强北路1002室", "栋1234567室", "栋1234567", "A座123456", "1203室1203室", "  A座1203室 \u3000", "A座1203\n",
    "\x1cA座1203\x85", "", "   ", "12", "栋12", "#12", "号房", "A座12b室", "A座12345678室", "楼１２３４５",
]


@pytest.mark.parametrize("address", ROOM_CASES)
def test_without_rooms_is_without_room_for_a_column(address):
    from entity_resolution.links import without_room, without_rooms

    assert without_rooms(pa.array([address, None], pa.string())).to_pylist() == [without_room(address), None]


def test_whitespace_is_what_strip_removes():
    from entity_resolution.links import WHITESPACE

    assert set(WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789０１２３A Ｂb室房号栋幢座#＃元层楼单 \t\u3000\x85", max_size=14), max_size=20))
def test_without_rooms_agrees_on_any_text(addresses):
    from entity_resolution.links import without_room, without_rooms

    assert without_rooms(pa.array(addresses, pa.string())).to_pylist() == [without_room(a) for a in addresses]
