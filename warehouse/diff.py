"""Differences between two versions of golden tables, computed in DuckDB over Arrow tables.

``row_delta`` finds the rows a publish must insert, update or delete (so a release touches only what
changed and the change data feed stays small) by comparing ``row_hashes``, one 64-bit hash per row, on
the key; ``entity_changes`` classifies golden IDs as new, updated (which fields), merged, split or retired,
given just the rows that differ; ``release_diff`` applies it to two releases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from catalog.canonical import CANONICAL_FIELDS
from warehouse.schema import ENTITY_TABLES, SCHEMAS
from zhiwang import duck
from zhiwang.settings import Settings

CHANGE_COLUMNS = ("golden_id", "entity", "change", "fields", "related_id")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def comparable(table: pa.Table) -> pa.Table:
    """``table`` with map columns replaced by one canonical string per row. DuckDB takes seconds per 100k
    rows to import an Arrow map; the string carries the same information and compares in milliseconds."""
    import pyarrow.compute as pc

    for index, field in enumerate(table.schema):
        if not pa.types.is_map(field.type):
            continue
        column = table.column(index).combine_chunks()
        items = column.items
        parts = [column.keys.cast(pa.string())]
        if pa.types.is_struct(items.type):
            parts += [items.field(i).cast(pa.string()) for i in range(items.type.num_fields)]
        else:
            parts.append(items.cast(pa.string()))
        parts = [pc.fill_null(p, "\x00") for p in parts]
        entries = pc.binary_join_element_wise(*parts, "\x1f")
        # offsets index the unsliced keys/items, which is what ``entries`` was built from
        rows = pc.binary_join(pa.ListArray.from_arrays(column.offsets, entries), "\x1e")
        rows = pc.if_else(column.is_null(), pa.scalar(None, pa.string()), rows)
        table = table.set_column(index, field.name, rows)
    return table


def row_hashes(table: pa.Table, keys: tuple[str, ...], con: Any = None) -> np.ndarray:
    """A 64-bit hash per row of ``table`` over every column not in ``keys`` (uint64, in row order).

    Rows that differ in any such column get different hashes except with probability about 2^-64 per
    changed row; equal rows always hash alike. Scalars are hashed by DuckDB in one pass; a map column is
    hashed entry by entry on its flattened children (DuckDB imports an Arrow map slowly) and the entry
    hashes summed per row with their position mixed in, so entry order, null and empty maps all count.
    """
    non_keys = [c for c in table.column_names if c not in keys]
    maps = [c for c in non_keys if pa.types.is_map(table.schema.field(c).type)]
    scalars = [c for c in non_keys if c not in maps]
    n = table.num_rows
    out = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return out
    own = con is None
    con = duck.connect() if own else con
    try:
        if scalars:
            con.register("s_tbl", table.select(scalars))
            cols = ", ".join(_q(c) for c in scalars)
            out = con.sql(f"SELECT hash({cols}) AS h FROM s_tbl").to_arrow_table().column(0).to_numpy().astype(np.uint64)
            con.unregister("s_tbl")
        for index, name in enumerate(maps):
            out = _mix(out, _map_hashes(con, table.column(name).combine_chunks()), index + 1)
    finally:
        if own:
            con.close()
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MULT = np.uint64(0xBF58476D1CE4E5B9)


def _mix(acc: np.ndarray, value: np.ndarray, salt: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (acc ^ ((value + np.uint64(salt) * _GOLDEN) * _MULT)) * _MULT + _GOLDEN


def _map_hashes(con: Any, column: pa.Array) -> np.ndarray:
    """Per row of a map array: the sum of its entries' hashes (each mixed with its position), offset for null."""
    offsets = column.offsets.to_numpy().astype(np.int64)
    # offsets index the unsliced keys/items: hash just the entries this (possibly sliced) array spans
    first, length = int(offsets[0]), int(offsets[-1] - offsets[0])
    offsets = offsets - first
    items = column.items.slice(first, length)
    parts = {"k": column.keys.slice(first, length).cast(pa.string())}
    if pa.types.is_struct(items.type):
        parts.update({f"v{i}": items.field(i).cast(pa.string()) for i in range(items.type.num_fields)})
    else:
        parts["v"] = items.cast(pa.string())
    con.register("m_tbl", pa.table(parts))
    cols = ", ".join(parts)
    entry = con.sql(f"SELECT hash({cols}) AS h FROM m_tbl").to_arrow_table().column(0).to_numpy().astype(np.uint64)
    con.unregister("m_tbl")
    counts = np.diff(offsets)
    position = (np.arange(length, dtype=np.int64) - np.repeat(offsets[:-1], counts)).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (entry ^ (position * _GOLDEN)) * _MULT
        cumulative = np.concatenate([np.zeros(1, np.uint64), np.cumsum(mixed, dtype=np.uint64)])
        rows = cumulative[offsets[1:]] - cumulative[offsets[:-1]] + counts.astype(np.uint64) * _GOLDEN
    if column.null_count:
        rows[column.is_null().to_numpy(zero_copy_only=False)] = np.uint64(0x5BD1E995)
    return rows


def row_delta(new: pa.Table, old: pa.Table | None, keys: tuple[str, ...], new_hashes: np.ndarray | None = None,
              old_hashes: np.ndarray | None = None, *, old_digest: pa.Table | None = None, con: Any = None) -> pa.Table:
    """Rows of ``new`` that are inserted (``_op`` I) or changed (U), and rows of ``old`` gone from ``new`` (D).

    Rows are compared by :func:`row_hashes` (given when the caller has them), so DuckDB joins only the key
    columns and one integer per row whatever the width of the table. Instead of ``old``, ``old_digest``
    (its key columns and row hashes, warehouse/rowhash.py) may be given: deleted rows then carry only their
    key, every other column null, unless ``old`` is given too (its rows are then looked up by key).
    ``con``: a DuckDB connection to work on (a caller diffing many small tables saves opening one each time,
    25 ms apiece); one of its own otherwise."""
    from warehouse.rowhash import HASH_COLUMN

    key_schema = pa.schema([new.schema.field(k) for k in keys])
    own = con is None
    con = duck.connect() if own else con
    try:
        new_hashes = row_hashes(new, keys, con) if new_hashes is None else new_hashes
        if old_digest is not None:
            old_keys = old_digest.select(list(keys)).cast(key_schema)
            old_hashes = old_digest.column(HASH_COLUMN).to_numpy()
        else:
            if old is None:
                raise ValueError("row_delta: give the old table or its digest")
            old_hashes = row_hashes(old.select(new.column_names).cast(new.schema), keys, con) if old_hashes is None else old_hashes
            old_keys = old.select(list(keys))
        if old is not None:
            old = old.select(new.column_names).cast(new.schema)
        on = " AND ".join(f"n.{_q(k)} = o.{_q(k)}" for k in keys)
        # DuckDB only finds which rows differ (by position); the rows themselves are taken from the Arrow tables.
        sql = f"""
            SELECT n._pos AS pos, CASE WHEN o._pos IS NULL THEN 'I' ELSE 'U' END AS op
            FROM n_tbl AS n LEFT JOIN o_tbl AS o ON {on} WHERE o._pos IS NULL OR n._h <> o._h
            UNION ALL
            SELECT o._pos, 'D' FROM o_tbl AS o WHERE NOT EXISTS (SELECT 1 FROM n_tbl AS n WHERE {on})
            ORDER BY CASE op WHEN 'D' THEN 1 ELSE 0 END, pos
        """
        con.register("n_tbl", new.select(list(keys)).append_column("_pos", pa.array(np.arange(new.num_rows)))
                     .append_column("_h", pa.array(new_hashes, pa.uint64())))
        con.register("o_tbl", old_keys.append_column("_pos", pa.array(np.arange(old_keys.num_rows)))
                     .append_column("_h", pa.array(old_hashes, pa.uint64())))
        found = con.sql(sql).to_arrow_table()
        ops = found.column("op").to_pylist()
        positions = found.column("pos")
        n_deleted = ops.count("D")
        gone = positions.slice(len(ops) - n_deleted)
        if old is not None and old_digest is not None and n_deleted:
            # digest positions are not the positions of ``old`` as read back: find the deleted rows by key
            con.register("g_tbl", old_keys.take(gone))
            con.register("r_tbl", old.select(list(keys)).append_column("_pos", pa.array(np.arange(old.num_rows))))
            rows = con.sql(f"SELECT o._pos FROM r_tbl AS o JOIN g_tbl AS n ON {on} ORDER BY 1").to_arrow_table()
            gone = rows.column(0)
    finally:
        if own:
            con.close()
        else:
            for name in ("n_tbl", "o_tbl", "g_tbl", "r_tbl"):
                con.unregister(name)
    upserts = new.take(positions.slice(0, len(ops) - n_deleted))
    if old is not None:
        deletes = old.take(gone)
    else:  # key-only rows: their other columns are null, so the delta's schema lets every non-key column be
        loose = pa.schema([f if f.name in keys else f.with_nullable(True) for f in new.schema])
        taken = old_keys.take(gone)
        deletes = pa.Table.from_arrays([taken.column(f.name) if f.name in keys else pa.nulls(len(gone), f.type)
                                        for f in loose], schema=loose)
        upserts = upserts.cast(loose)
    op_column = pa.array(ops[: len(ops) - n_deleted] + ["D"] * n_deleted, pa.string())
    return pa.concat_tables([upserts, deletes]).append_column("_op", op_column)


def entity_changes(entity: str, new: pa.Table, old: pa.Table, new_xref: pa.Table | None = None,
                   old_xref: pa.Table | None = None, active_ids: pa.Array | None = None) -> pa.Table:
    """One row per golden ID that differs between ``old`` and ``new``: golden_id, entity, change, fields, related_id.

    ``new`` and ``old`` may be just the rows that differ (see :func:`derive_changes`); a split is then
    recognised through ``active_ids``, the golden IDs active in the whole new table (default: those of ``new``).
    """
    import pyarrow.compute as pc

    compared = [c for c in (*CANONICAL_FIELDS[entity], "status", "merged_into", "source_count", "provenance") if c in new.column_names]
    field_list = ", ".join(f"CASE WHEN n.{_q(c)} IS DISTINCT FROM o.{_q(c)} THEN '{c}' END" for c in compared)
    sql = f"""
        WITH both_sides AS (
            SELECT n.golden_id, n.status AS new_status, o.status AS old_status, n.merged_into,
                   list_filter([{field_list}], lambda x: x IS NOT NULL) AS fields
            FROM n_tbl AS n JOIN o_tbl AS o ON n.golden_id = o.golden_id
        ),
        split_from AS (
            SELECT nx.golden_id, min(ox.golden_id) AS source_id
            FROM nx_tbl AS nx JOIN ox_tbl AS ox USING (entity, resource, record_key)
            WHERE nx.golden_id <> ox.golden_id AND nx.entity = '{entity}'
              AND ox.golden_id IN (SELECT golden_id FROM a_tbl)
            GROUP BY nx.golden_id
        )
        SELECT n.golden_id, CASE WHEN s.source_id IS NULL THEN 'new' ELSE 'split' END AS change,
               NULL::VARCHAR[] AS fields, s.source_id AS related_id
        FROM n_tbl AS n LEFT JOIN split_from AS s USING (golden_id)
        WHERE NOT EXISTS (SELECT 1 FROM o_tbl AS o WHERE o.golden_id = n.golden_id)
        UNION ALL
        SELECT golden_id,
               CASE WHEN new_status = 'merged' AND old_status <> 'merged' THEN 'merged'
                    WHEN new_status = 'retired' AND old_status <> 'retired' THEN 'retired'
                    ELSE 'updated' END,
               fields, CASE WHEN new_status = 'merged' THEN merged_into END
        FROM both_sides WHERE len(fields) > 0
        UNION ALL
        SELECT o.golden_id, 'retired', NULL::VARCHAR[], NULL
        FROM o_tbl AS o WHERE NOT EXISTS (SELECT 1 FROM n_tbl AS n WHERE n.golden_id = o.golden_id)
        ORDER BY 1
    """
    empty_xref = SCHEMAS["xref"].empty_table()
    con = duck.connect()
    try:
        con.register("n_tbl", comparable(new))
        con.register("o_tbl", comparable(old))
        con.register("nx_tbl", new_xref if new_xref is not None else empty_xref)
        con.register("ox_tbl", old_xref if old_xref is not None else empty_xref)
        if active_ids is None:
            active_ids = new.filter(pc.equal(new.column("status"), "active")).column("golden_id")
        con.register("a_tbl", pa.table({"golden_id": active_ids}))
        out = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    n = out.num_rows
    return pa.table({
        "golden_id": out.column("golden_id").cast(pa.string()), "entity": pa.array([entity] * n, pa.string()),
        "change": out.column("change").cast(pa.string()), "fields": out.column("fields").cast(pa.list_(pa.string())),
        "related_id": out.column("related_id").cast(pa.string()),
    })


def derive_changes(new_tables: dict[str, pa.Table], old_tables: dict[str, pa.Table] | None,
                   deltas: dict[str, pa.Table] | None = None) -> pa.Table:
    """The ``changes`` table of a release computed from the data, for a resolver that hands none over.

    ``deltas``: per entity, :func:`row_delta` of the new table against ``old_tables``' when the caller has
    it; only those rows are then classified, so the cost follows the change rather than the tables."""
    import pyarrow.compute as pc

    parts = []
    for entity in ENTITY_TABLES:
        new = new_tables[entity]
        if not old_tables:  # the first release: every golden ID is new, nothing to compare
            ids = pc.take(new.column("golden_id"), pc.sort_indices(new.column("golden_id")))
            n = len(ids)
            parts.append(pa.table({"golden_id": ids, "entity": pa.array([entity] * n, pa.string()),
                                   "change": pa.array(["new"] * n, pa.string()), "fields": pa.nulls(n, pa.list_(pa.string())),
                                   "related_id": pa.nulls(n, pa.string())}))
            continue
        old = old_tables[entity]
        old_xref = old_tables["xref"] if old_tables else None
        new_xref = new_tables.get("xref")
        active = None
        delta = deltas.get(entity) if deltas and old_tables else None
        if delta is not None:
            ops = delta.column("_op")
            active = new.filter(pc.equal(new.column("status"), "active")).column("golden_id")
            inserted = delta.filter(pc.equal(ops, "I")).column("golden_id")
            updated = delta.filter(pc.equal(ops, "U")).column("golden_id")
            gone = delta.filter(pc.equal(ops, "D")).drop(["_op"])
            old = pa.concat_tables([old.filter(pc.is_in(old.column("golden_id"), value_set=updated.combine_chunks())), gone])
            new = delta.filter(pc.not_equal(ops, "D")).drop(["_op"])
            if new_xref is not None:  # a split is a new golden ID: only xref rows of new IDs can show one
                new_xref = new_xref.filter(pc.is_in(new_xref.column("golden_id"), value_set=inserted.combine_chunks()))
        parts.append(entity_changes(entity, new, old, new_xref, old_xref, active))
    return pa.concat_tables(parts)


def release_diff(settings: Settings, first: int, second: int, limit: int = 50) -> dict[str, Any]:
    """What changed from release ``first`` to ``second``: counts per entity and kind, and up to ``limit`` rows each."""
    from warehouse.registry import get_release, read_table

    get_release(settings, first), get_release(settings, second)  # both must exist (clear error otherwise)
    old_xref, new_xref = read_table(settings, "xref", first), read_table(settings, "xref", second)
    result: dict[str, Any] = {"from": first, "to": second, "entities": {}}
    for entity in ENTITY_TABLES:
        changes = entity_changes(entity, read_table(settings, entity, second), read_table(settings, entity, first),
                                 new_xref, old_xref)
        kinds = changes.column("change").to_pylist()
        counts = {kind: kinds.count(kind) for kind in ("new", "updated", "merged", "split", "retired")}
        result["entities"][entity] = {"counts": counts, "rows": changes.slice(0, limit).to_pylist(), "total": changes.num_rows}
    return result
