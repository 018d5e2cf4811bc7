"""Arrow schemas of the golden library's tables: the contract between the resolver and the warehouse.

Entity tables (``person``, ``legal_entity``, ``building``) hold one row per golden ID: ``golden_id``, the
entity's canonical fields (catalog/canonical.py), ``status`` (active | merged | retired), ``merged_into``,
``source_count`` and ``provenance`` (canonical field → where its value came from). ``district_code`` is a
canonical field of every entity and is what mirrors split on.
"""

from __future__ import annotations

import pyarrow as pa

from catalog.canonical import CANONICAL_FIELDS
from zhiwang.errors import UserError

ENTITY_TABLES: tuple[str, ...] = ("person", "legal_entity", "building")
GOLDEN_TABLES: tuple[str, ...] = (*ENTITY_TABLES, "xref", "links", "changes")
STATUSES: tuple[str, ...] = ("active", "merged", "retired")
CHANGE_KINDS: tuple[str, ...] = ("new", "updated", "merged", "split", "retired")
LINK_RELATIONS: tuple[str, ...] = ("resides_in", "located_at", "legal_rep_of", "employed_by")

PROVENANCE_ENTRY = pa.struct([("resource", pa.string()), ("record_key", pa.string()), ("batch_id", pa.string())])
PROVENANCE_TYPE = pa.map_(pa.string(), PROVENANCE_ENTRY)
"""canonical field name → {resource, record_key, batch_id} of the source record its value came from."""

# Canonical fields that are not strings; every other canonical field is a string.
_FIELD_TYPES: dict[str, pa.DataType] = {
    "birth_date": pa.date32(), "established_date": pa.date32(),
    "lon": pa.float64(), "lat": pa.float64(), "floors": pa.int32(),
}


def canonical_type(field: str) -> pa.DataType:
    return _FIELD_TYPES.get(field, pa.string())


def entity_schema(entity: str) -> pa.Schema:
    fields = [pa.field("golden_id", pa.string(), nullable=False)]
    fields += [pa.field(name, canonical_type(name)) for name in CANONICAL_FIELDS[entity]]
    fields += [
        pa.field("status", pa.string(), nullable=False), pa.field("merged_into", pa.string()),
        pa.field("source_count", pa.int32()), pa.field("provenance", PROVENANCE_TYPE),
    ]
    return pa.schema(fields)


SCHEMAS: dict[str, pa.Schema] = {entity: entity_schema(entity) for entity in ENTITY_TABLES}
SCHEMAS["xref"] = pa.schema([
    pa.field("entity", pa.string(), nullable=False), pa.field("resource", pa.string(), nullable=False),
    pa.field("record_key", pa.string(), nullable=False), pa.field("batch_id", pa.string()),
    pa.field("golden_id", pa.string(), nullable=False), pa.field("match_probability", pa.float64()),
])
SCHEMAS["links"] = pa.schema([
    pa.field("relation", pa.string(), nullable=False), pa.field("from_id", pa.string(), nullable=False),
    pa.field("to_id", pa.string(), nullable=False),
])
SCHEMAS["changes"] = pa.schema([
    pa.field("release", pa.int64(), nullable=False), pa.field("golden_id", pa.string(), nullable=False),
    pa.field("entity", pa.string(), nullable=False), pa.field("change", pa.string(), nullable=False),
    pa.field("fields", pa.list_(pa.string())), pa.field("related_id", pa.string()),
])

KEYS: dict[str, tuple[str, ...]] = {
    "person": ("golden_id",), "legal_entity": ("golden_id",), "building": ("golden_id",),
    "xref": ("entity", "resource", "record_key"), "links": ("relation", "from_id", "to_id"),
    "changes": ("release", "golden_id", "change"),
}
"""Columns identifying a row: publishing upserts on them, so a release only touches rows that changed."""

_CLOSED_VOCAB: dict[tuple[str, str], tuple[str, ...]] = {
    **{(entity, "status"): STATUSES for entity in ENTITY_TABLES},
    ("changes", "change"): CHANGE_KINDS, ("links", "relation"): LINK_RELATIONS,
    ("xref", "entity"): ENTITY_TABLES, ("changes", "entity"): ENTITY_TABLES,
}


def conform(name: str, table: pa.Table, *, release: int | None = None) -> pa.Table:
    """Check one table handed to publish against its schema and return it cast to exactly that schema.

    Raises UserError naming the table and column for a missing or unknown column, an uncastable type, a
    null in a required column, a value outside a closed vocabulary, or a duplicate key.
    """
    import pyarrow.compute as pc

    schema = SCHEMAS[name]
    if name == "changes" and release is not None:
        # the release number is the warehouse's to assign: whatever the resolver guessed is replaced
        numbers = pa.array([release] * table.num_rows, pa.int64())
        if "release" in table.column_names:
            table = table.set_column(table.column_names.index("release"), "release", numbers)
        else:
            table = table.append_column("release", numbers)
    missing = [f.name for f in schema if f.name not in table.column_names]
    extra = [c for c in table.column_names if c not in schema.names]
    if missing or extra:
        raise UserError(
            f"golden table {name!r}: missing columns {missing or '-'}, unknown columns {extra or '-'}. "
            f"Expected exactly: {', '.join(schema.names)} (see warehouse/schema.py)."
        )
    columns = []
    for field in schema:
        column = table.column(field.name)
        try:
            column = column.cast(field.type) if column.type != field.type else column
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise UserError(
                f"golden table {name!r}, column {field.name!r}: cannot convert {column.type} to {field.type} "
                f"({exc}). Hand over values of type {field.type}."
            ) from None
        if not field.nullable and column.null_count:
            raise UserError(f"golden table {name!r}, column {field.name!r}: {column.null_count} null value(s) in a required column.")
        vocab = _CLOSED_VOCAB.get((name, field.name))
        if vocab is not None:
            bad = pc.unique(pc.filter(column, pc.invert(pc.is_in(column, pa.array(vocab))))).to_pylist()
            if bad:
                raise UserError(f"golden table {name!r}, column {field.name!r}: values {bad[:5]} are not one of {', '.join(vocab)}.")
        columns.append(column)
    out = pa.Table.from_arrays(columns, schema=schema)
    _check_unique(name, out)
    return out


def _check_unique(name: str, table: pa.Table) -> None:
    keys = list(KEYS[name])
    if table.num_rows == 0:
        return
    from zhiwang import duck

    con = duck.connect()  # DuckDB counts distinct keys in a third of the time of Arrow's group_by
    try:
        con.register("t", table.select(keys))
        cols = ", ".join('"' + k.replace('"', '""') + '"' for k in keys)
        if con.sql(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM t)").fetchall()[0][0] == table.num_rows:
            return
    finally:
        con.close()
    counts = table.group_by(keys).aggregate([([], "count_all")])  # only to name a duplicate
    dup = counts.filter(counts.column("count_all").to_numpy() > 1)
    if dup.num_rows:
        from quality.quarantine import mask_value

        # a record key may be an ID number: never print it whole
        example = {k: mask_value(dup.column(k)[0].as_py()) if k == "record_key" else dup.column(k)[0].as_py() for k in keys}
        raise UserError(
            f"golden table {name!r}: {dup.num_rows} duplicate key(s) on ({', '.join(keys)}), e.g. {example}. "
            "Each key must appear once per release."
        )


def empty_table(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()
