"""Survivorship: the golden value of each canonical field, with where it came from.

Inputs:
- ``records`` (pyarrow Table): one row per accepted source record: ``record_uid``, ``_resource``,
  ``_record_key``, ``_batch_id``, ``_delivered_at`` (timestamp) and the entity's canonical fields (a field
  no resource delivers may be absent: it stays null).
- ``assignment`` (pyarrow Table): ``record_uid, golden_id`` (from stable_ids).
- ``authority``: canonical field → resource ids in order of authority (``catalog.authority(entity, field)``,
  i.e. core_fields.yaml).

Per golden ID and field the candidates are the records' non-null (and non-blank) values, ranked by
1. authority: position in the field's list; resources not listed rank after all listed ones;
2. the most recent ``_delivered_at``;
3. the most frequent value among the candidates;
4. the value's text, then the record_uid (so the outcome never depends on row order).
The winner's ``resource, record_key, batch_id`` becomes the field's provenance.

``district_code``, when no record has one, is derived from a ``grid_code`` that starts with a 6-digit
division code (网格编码 are assigned under the district's GB/T 2260 code); its provenance is the grid code's.

Disagreements: on core fields (those with an authority list), every record of another resource whose value
differs from the winning value of a listed resource, for that department's correction loop (一数一源).
All of it runs as DuckDB aggregations, not per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from catalog.canonical import CANONICAL_FIELDS

PROVENANCE_ENTRY = pa.struct([("resource", pa.string()), ("record_key", pa.string()), ("batch_id", pa.string())])
PROVENANCE_TYPE = pa.map_(pa.string(), PROVENANCE_ENTRY)
DISAGREEMENTS_SCHEMA = pa.schema([
    ("golden_id", pa.string()), ("field", pa.string()),
    ("authoritative_resource", pa.string()), ("authoritative_record_key", pa.string()), ("authoritative_value", pa.string()),
    ("resource", pa.string()), ("provider", pa.string()), ("record_key", pa.string()), ("batch_id", pa.string()),
    ("value", pa.string()),
])
REQUIRED_COLUMNS = ("record_uid", "_resource", "_record_key", "_batch_id", "_delivered_at")


@dataclass
class SurvivorshipResult:
    values: pa.Table
    """golden_id, every canonical field of the entity, source_count (int32), provenance (PROVENANCE_TYPE)."""
    disagreements: pa.Table
    """DISAGREEMENTS_SCHEMA: one row per (golden_id, core field, disagreeing record)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def survive(entity: str, records: pa.Table, assignment: pa.Table, authority: dict[str, list[str]], *,
            providers: dict[str, str] | None = None, con: duckdb.DuckDBPyConnection | None = None) -> SurvivorshipResult:
    """Pick each golden ID's value per canonical field; see the module docstring for the order."""
    from zhiwang.errors import UserError

    missing = [c for c in REQUIRED_COLUMNS if c not in records.column_names]
    if missing:
        raise UserError(f"survive({entity}): the records lack provenance column(s) {missing}; they come from staging "
                        "(connectors/staging.py) plus record_uid = <resource>|<record_key>.")
    fields = CANONICAL_FIELDS[entity]
    present = [f for f in fields if f in records.column_names]
    own = con is None
    con = con or duckdb.connect()
    try:
        con.register("s_recs", records.select([*REQUIRED_COLUMNS, *present]))
        con.register("s_asg", assignment.select(["record_uid", "golden_id"]))
        con.register("s_prov", pa.table({"resource": list((providers or {}).keys()), "provider": list((providers or {}).values())},
                                        schema=pa.schema([("resource", pa.string()), ("provider", pa.string())])))
        blank = {f for f in present if pa.types.is_string(records.schema.field(f).type)
                 or pa.types.is_large_string(records.schema.field(f).type)}
        cols = ", ".join(f"NULLIF(trim(r.{_q(f)}), '') AS {_q(f)}" if f in blank else f"r.{_q(f)}" for f in present)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE s_base AS
            SELECT a.golden_id, r.record_uid, r._resource, r._record_key, r._batch_id, r._delivered_at{', ' + cols if cols else ''}
            FROM s_recs r JOIN s_asg a USING (record_uid)""")
        for f in present:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_q('w_' + f)} AS {_winner_sql(f, authority.get(f, []))}")
        values = con.sql(_assemble_sql(fields, present)).to_arrow_table()
        disagreements = _disagreements(con, [f for f in present if authority.get(f)], authority)
        for f in present:
            con.execute(f"DROP TABLE {_q('w_' + f)}")
        con.execute("DROP TABLE s_base")
    finally:
        for name in ("s_recs", "s_asg", "s_prov"):
            con.unregister(name)
        if own:
            con.close()
    values = values.set_column(values.schema.get_field_index("provenance"), "provenance",
                               values.column("provenance").cast(PROVENANCE_TYPE))
    return SurvivorshipResult(values=values, disagreements=disagreements.cast(DISAGREEMENTS_SCHEMA))


def _rank_sql(listed: list[str]) -> str:
    if not listed:
        return "0"
    whens = " ".join(f"WHEN {_lit(r)} THEN {i}" for i, r in enumerate(listed))
    return f"CASE _resource {whens} ELSE {len(listed)} END"


def _winner_sql(field: str, listed: list[str]) -> str:
    """Two hash aggregations instead of window sorts (5x faster at 1M records): the best record per
    (golden_id, value) by authority, recency, record_uid; then the best value per golden_id, frequency
    entering at its place in the order. The same winner as ranking all candidates at once."""
    f, rank = _q(field), _rank_sql(listed)
    recency = "coalesce(-epoch_us(_delivered_at), 9223372036854775807)"  # missing delivery time ranks last
    return f"""
        WITH per_value AS (
            SELECT golden_id, {f} AS value, count(*) AS freq,
                   arg_min({{'resource': _resource, 'record_key': _record_key, 'batch_id': _batch_id, 'uid': record_uid,
                             'auth': {rank}, 'recency': {recency}}},
                           {{'auth': {rank}, 'recency': {recency}, 'uid': record_uid}}) AS best
            FROM s_base WHERE {f} IS NOT NULL GROUP BY 1, 2),
        winner AS (
            SELECT golden_id, arg_min({{'value': value, 'best': best}},
                                      {{'auth': best.auth, 'recency': best.recency, 'freq': -freq,
                                        'text': CAST(value AS VARCHAR), 'uid': best.uid}}) AS w
            FROM per_value GROUP BY 1)
        SELECT golden_id, w.value AS value, w.best.resource AS resource, w.best.record_key AS record_key,
               w.best.batch_id AS batch_id, w.best.auth AS auth
        FROM winner"""


def _assemble_sql(fields: tuple[str, ...], present: list[str]) -> str:
    selects, joins, entries = [], [], []
    for i, f in enumerate(present):
        joins.append(f"LEFT JOIN {_q('w_' + f)} AS t{i} USING (golden_id)")
        selects.append(f"t{i}.value AS {_q(f)}")
        entries.append(f"CASE WHEN t{i}.resource IS NOT NULL THEN {{'key': {_lit(f)}, 'value': "
                       f"{{'resource': t{i}.resource, 'record_key': t{i}.record_key, 'batch_id': t{i}.batch_id}}}} END")
    by_field = {f: s for f, s in zip(present, selects, strict=True)}
    if "district_code" in fields and "grid_code" in by_field:
        # derive the district from a division-coded grid code when no source delivered one
        g = present.index("grid_code")
        derived = f"CASE WHEN regexp_full_match(left(t{g}.value, 6), '[0-9]{{6}}') THEN left(t{g}.value, 6) END"
        from_grid = (f"WHEN ({derived}) IS NOT NULL THEN {{'key': 'district_code', 'value': {{'resource': t{g}.resource, "
                     f"'record_key': t{g}.record_key, 'batch_id': t{g}.batch_id}}}} END")
        if "district_code" in by_field:
            d = present.index("district_code")
            by_field["district_code"] = f"coalesce(t{d}.value, {derived}) AS district_code"
            entries[d] = entries[d].removesuffix(" END") + " " + from_grid
        else:
            by_field["district_code"] = f"{derived} AS district_code"
            entries.append("CASE " + from_grid)
    columns = [by_field.get(f, f"CAST(NULL AS VARCHAR) AS {_q(f)}") for f in fields]
    provenance = (f"map_from_entries(list_filter([{', '.join(entries)}], lambda e: e IS NOT NULL))" if entries
                  else "map_from_entries([])")
    return f"""
        WITH ids AS (SELECT golden_id, count(*)::INTEGER AS source_count FROM s_base GROUP BY 1)
        SELECT ids.golden_id, {', '.join(columns)}, ids.source_count, {provenance} AS provenance
        FROM ids {' '.join(joins)} ORDER BY ids.golden_id"""


def _disagreements(con: duckdb.DuckDBPyConnection, core: list[str], authority: dict[str, list[str]]) -> pa.Table:
    if not core:
        return DISAGREEMENTS_SCHEMA.empty_table()
    parts = []
    for f in core:
        q = _q(f)
        parts.append(f"""
            SELECT b.golden_id, {_lit(f)} AS field, w.resource, w.record_key, CAST(w.value AS VARCHAR),
                   b._resource, p.provider, b._record_key, b._batch_id, CAST(b.{q} AS VARCHAR)
            FROM s_base b JOIN {_q('w_' + f)} w USING (golden_id) LEFT JOIN s_prov p ON p.resource = b._resource
            WHERE w.auth < {len(authority[f])} AND b.{q} IS NOT NULL AND b._resource <> w.resource
              AND CAST(b.{q} AS VARCHAR) <> CAST(w.value AS VARCHAR)""")
    out = con.sql(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 6, 8").to_arrow_table()
    return out.rename_columns(DISAGREEMENTS_SCHEMA.names)
