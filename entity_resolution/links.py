"""Links between golden entities: who lives in which building, where a firm sits, who represents it, who
works there.

``build_links(person_golden, legal_entity_golden, building_golden)`` reads the active rows of the three
golden tables (``golden_id``, canonical fields, ``status``) and returns ``LINK_SCHEMA`` rows:

- ``resides_in`` person → building: the ``building_key`` of ``residence_address`` equals the building's;
- ``located_at`` legal entity → building: the same for the registered and the business address;
- ``legal_rep_of`` person → legal entity: ``legal_rep_id_number`` = the person's ``id_number`` (valid numbers
  only, via ``id_number``); a firm without one falls back to the representative's name when exactly one
  active person of that name lives in the firm's district (via ``name``);
- ``employed_by`` person → legal entity: ``employer_uscc`` = ``uscc`` (valid codes, via ``uscc``), else the
  ``company_key`` of ``employer_name`` (via ``name``).

A key shared by several targets (two buildings parsed to one key, two firms with one name) links nothing:
a wrong link is worse than a missing one. The joins run in DuckDB; standardizing runs once per distinct
value, so 1M persons take well under a minute.

The persons' keys (:func:`person_view`) are most of the work, and each depends on that person's golden row
alone: after an incremental resolve, :func:`updated_person_view` takes the last release's keys and makes
them again only for the golden rows the resolve rebuilt.
"""

from __future__ import annotations

import re

import pyarrow as pa

from zhiwang import duck

LINK_TYPES = ("resides_in", "located_at", "legal_rep_of", "employed_by")
LINK_SCHEMA = pa.schema([("link_type", pa.string()), ("from_id", pa.string()), ("to_id", pa.string()),
                         ("via", pa.string())])


def _active(table: pa.Table, what: str, needed: tuple[str, ...]) -> pa.Table:
    """Active rows with every ``needed`` column (absent canonical fields count as empty)."""
    import pyarrow.compute as pc

    from zhiwang.errors import UserError

    missing = [c for c in ("golden_id", "status") if c not in table.column_names]
    if missing:
        raise UserError(f"the {what} golden table has no {', '.join(missing)} column "
                        f"(columns: {', '.join(table.column_names)}): pass the golden table build_golden wrote")
    # only the columns links read: filtering a city's golden table whole would copy its provenance maps
    table = table.select(list(dict.fromkeys(["golden_id", *(c for c in needed if c in table.column_names)])))\
        .filter(pc.equal(table["status"], "active"))
    for name in needed:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), pa.string()))
    return table


def _text(table: pa.Table, name: str) -> pa.Array:
    return table[name].combine_chunks().cast(pa.string())


# A flat's room at the end of an address (…A座1203室, …2栋902): the building key does not use it, and
# dropping it first leaves one distinct address per building instead of one per flat, so a million
# residents parse in well under a second instead of a minute.
_ROOM = re.compile(r"(?:[0-9０-９]{2,5}[A-Za-zＡ-Ｚ]?(?:室|房|号房)"
                   r"|(?:(?<=栋)|(?<=幢)|(?<=座)|(?<=#)|(?<=＃)|(?<=元)|(?<=层)|(?<=楼))[0-9０-９]{2,5})$")


def without_room(address: str | None) -> str | None:
    return None if address is None else _ROOM.sub("", address.strip())


# The same for a whole column in Arrow (RE2, no Python per value: a million residents in a fraction of a
# second). RE2 has no lookbehind, so the marker before a bare room is captured and put back with \1; the two
# alternatives cannot both match one text (one ends in 室/房, the other in a digit), so the span removed is
# the one _ROOM removes.
_ROOM_RE2 = (r"(?:[0-9０-９]{2,5}[A-Za-zＡ-Ｚ]?(?:室|房|号房)|(栋|幢|座|#|＃|元|层|楼)[0-9０-９]{2,5})$")
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
"""The characters ``str.strip()`` removes (``str.isspace()`` is true for them), for ``pc.utf8_trim``."""


def without_rooms(addresses: pa.Array) -> pa.Array:
    """:func:`without_room` over a string column, value for value (nulls stay null)."""
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim(addresses, characters=WHITESPACE)
    return pc.replace_substring_regex(trimmed, pattern=_ROOM_RE2, replacement=r"\1", max_replacements=1)


def _keys(addresses: pa.Array, districts: pa.Array) -> pa.Array:
    """Building keys; a district-less address takes the row's district code (as the models do)."""
    import pyarrow.compute as pc

    from entity_resolution import standardize as s

    rooms_dropped = without_rooms(addresses)
    keys = s.parse_addresses(rooms_dropped, columns=["building_key"]).column("building_key").combine_chunks()
    starts_bare = pc.fill_null(pc.starts_with(keys, "|"), False)
    filled = pc.binary_join_element_wise(districts, keys, "")
    return pc.if_else(pc.and_(starts_bare, pc.is_valid(districts)), filled, keys)


def person_view(persons: pa.Table) -> pa.Table:
    """The active persons' link keys (golden ID, matching forms of ID number, name, employer, the building key
    of the residence), one row per active golden person."""
    from entity_resolution import standardize as s

    p = _active(persons, "person", ("name", "id_number", "residence_address", "district_code", "employer_uscc",
                                    "employer_name"))
    district = _text(p, "district_code")
    return pa.table({
        "golden_id": _text(p, "golden_id"),
        "id_number": s.id_numbers_for_matching(_text(p, "id_number")),
        "name": s.normalize_names(_text(p, "name")),
        "district_code": district,
        "building_key": _keys(_text(p, "residence_address"), district),
        "employer_uscc": s.usccs_for_matching(_text(p, "employer_uscc")),
        "employer_key": s.company_keys(_text(p, "employer_name")),
    })


def _firm_view(firms: pa.Table) -> pa.Table:
    from entity_resolution import standardize as s

    f = _active(firms, "legal entity", ("name", "uscc", "legal_rep_name", "legal_rep_id_number",
                                        "registered_address", "business_address", "district_code"))
    district = _text(f, "district_code")
    return pa.table({
        "golden_id": _text(f, "golden_id"),
        "uscc": s.usccs_for_matching(_text(f, "uscc")),
        "name_key": s.company_keys(_text(f, "name")),
        "rep_id": s.id_numbers_for_matching(_text(f, "legal_rep_id_number")),
        "rep_name": s.normalize_names(_text(f, "legal_rep_name")),
        "district_code": district,
        "registered_key": _keys(_text(f, "registered_address"), district),
        "business_key": _keys(_text(f, "business_address"), district),
    })


def _building_view(buildings: pa.Table) -> pa.Table:
    b = _active(buildings, "building", ("address", "district_code"))
    return pa.table({"golden_id": _text(b, "golden_id"),
                     "building_key": _keys(_text(b, "address"), _text(b, "district_code"))})


_SQL = """
WITH bkey AS (  -- building keys that name exactly one building
    SELECT building_key, any_value(golden_id) AS golden_id FROM b
    WHERE building_key IS NOT NULL GROUP BY building_key HAVING count(*) = 1),
person_id AS (
    SELECT id_number, any_value(golden_id) AS golden_id FROM p
    WHERE id_number IS NOT NULL GROUP BY id_number HAVING count(*) = 1),
person_name AS (  -- names that are unique within a district
    SELECT name, district_code, any_value(golden_id) AS golden_id FROM p
    WHERE name IS NOT NULL AND district_code IS NOT NULL GROUP BY name, district_code HAVING count(*) = 1),
firm_uscc AS (
    SELECT uscc, any_value(golden_id) AS golden_id FROM f WHERE uscc IS NOT NULL GROUP BY uscc HAVING count(*) = 1),
firm_name AS (
    SELECT name_key, any_value(golden_id) AS golden_id FROM f
    WHERE name_key IS NOT NULL GROUP BY name_key HAVING count(*) = 1),
rep_by_id AS (
    SELECT pi.golden_id AS from_id, f.golden_id AS to_id FROM f JOIN person_id pi ON f.rep_id = pi.id_number),
employer_by_uscc AS (
    SELECT p.golden_id AS from_id, fu.golden_id AS to_id FROM p JOIN firm_uscc fu ON p.employer_uscc = fu.uscc)
SELECT 'resides_in' AS link_type, p.golden_id AS from_id, bkey.golden_id AS to_id, 'building_key' AS via
    FROM p JOIN bkey USING (building_key)
UNION ALL
SELECT DISTINCT 'located_at', fk.golden_id, bkey.golden_id, 'building_key'
    FROM (SELECT golden_id, registered_key AS building_key FROM f  -- two equi-joins: IN (a, b) in the join
          UNION ALL SELECT golden_id, business_key FROM f) fk  -- condition is a nested loop over all pairs
    JOIN bkey USING (building_key)
UNION ALL
SELECT 'legal_rep_of', from_id, to_id, 'id_number' FROM rep_by_id
UNION ALL
SELECT 'legal_rep_of', pn.golden_id, f.golden_id, 'name'
    FROM f JOIN person_name pn ON f.rep_name = pn.name AND f.district_code = pn.district_code
    WHERE f.rep_id IS NULL  -- a valid number that matches no one is someone else, not a namesake
UNION ALL
SELECT 'employed_by', from_id, to_id, 'uscc' FROM employer_by_uscc
UNION ALL
SELECT 'employed_by', p.golden_id, fn.golden_id, 'name'
    FROM p JOIN firm_name fn ON p.employer_key = fn.name_key
    WHERE p.employer_uscc IS NULL OR p.employer_uscc NOT IN (SELECT uscc FROM firm_uscc)
ORDER BY link_type, from_id, to_id
"""


def updated_person_view(previous: pa.Table, persons: pa.Table, rebuilt: pa.Array) -> pa.Table | None:
    """:func:`person_view` of ``persons``, made from ``previous`` (the view of an earlier golden table) where
    only the rows of the golden IDs ``rebuilt`` can differ from that table; None when the rows kept from
    ``previous`` are not exactly the active persons outside ``rebuilt`` (then make the view afresh)."""
    import pyarrow.compute as pc

    ids = rebuilt.cast(pa.string())
    fresh = person_view(persons.filter(pc.is_in(persons.column("golden_id").cast(pa.string()), value_set=ids)))
    kept = previous.filter(pc.invert(pc.is_in(previous.column("golden_id"), value_set=ids)))
    # every active person outside ``rebuilt`` is one the previous view has (the resolve carried its row
    # over), so the counts agree exactly when the kept rows are those persons and no one else
    active = pc.sum(pc.equal(persons.column("status"), "active")).as_py() or 0
    if kept.num_rows + fresh.num_rows != active or kept.schema != fresh.schema:
        return None
    return pa.concat_tables([kept, fresh]).combine_chunks()


def build_links(person_golden: pa.Table, legal_entity_golden: pa.Table, building_golden: pa.Table, *,
                persons: pa.Table | None = None) -> pa.Table:
    """The links between active golden entities (``LINK_SCHEMA``), sorted by type, from, to. ``persons``:
    :func:`person_view` of ``person_golden`` when the caller has it."""

    views = {"p": person_view(person_golden) if persons is None else persons, "f": _firm_view(legal_entity_golden),
             "b": _building_view(building_golden)}
    con = duck.connect()  # its own connection: the views' short names cannot clash with a caller's tables
    try:
        for name, table in views.items():
            con.register(name, table)
        return con.sql(_SQL).to_arrow_table().cast(LINK_SCHEMA)
    finally:
        con.close()
