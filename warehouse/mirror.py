"""Per-district mirrors: the golden rows located in a district, fields masked by sharing class.

A value's sharing class is that of the catalog field spec that fed it (the resource named in the row's
provenance for that field); without provenance, the most restrictive class among the resources mapping
the field. ``none`` never leaves: a field no resource may share is not in the mirror at all, and a value
whose own class is ``none`` is null. ``conditional`` values are masked (440304********1234) unless the
district is cleared for conditional sharing. Provenance itself stays in the city library.

Each mirror table is upserted on golden_id (small change data feed); ``mirrors/<d>/_releases/N.json``
records which table versions make up release N and is written last, so the sharing server never serves
a half-built mirror.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.canonical import CANONICAL_FIELDS
from warehouse.layout import mirror_key, mirror_registry_key
from warehouse.schema import ENTITY_TABLES
from warehouse.storage import storage_for, write_json_once
from zhiwang.errors import UserError
from zhiwang.settings import Settings

if TYPE_CHECKING:
    from catalog.models import Catalog

MIRROR_TABLES: tuple[str, ...] = (*ENTITY_TABLES, "release")
_RANK = {"unconditional": 0, "conditional": 1, "none": 2}
RELEASE_SCHEMA = pa.schema([
    pa.field("release", pa.int64(), nullable=False), pa.field("table_name", pa.string(), nullable=False),
    pa.field("version", pa.int64()), pa.field("rows", pa.int64()), pa.field("published_at", pa.string()),
])
"""The mirror's ``release`` table: per release and shared table, its mirror version and row count."""


def field_classes(catalog: Catalog, entity: str, field: str) -> tuple[dict[str, str], str]:
    """(resource id → sharing class of the spec mapping ``field``, fallback = most restrictive of them or none)."""
    classes = {}
    for resource in catalog.resources_for(entity):
        spec = resource.canonical_fields().get(field)
        if spec is not None:
            classes[resource.id] = resource.field_sharing(spec)
    fallback = max(classes.values(), key=_RANK.__getitem__) if classes else "none"
    return classes, fallback


def mask_strings(values: pa.Array) -> pa.Array:
    """Vectorised quality.quarantine.mask_value: 6 head and 4 tail characters kept, the middle starred."""
    values = values.cast(pa.string())
    length = pc.utf8_length(values)
    long_mask = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(values, 0, 6), pc.binary_repeat("*", pc.max_element_wise(pc.subtract(length, 10), 0)),
        pc.utf8_slice_codeunits(values, -4), "")
    mid_mask = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(values, 0, 1), pc.binary_repeat("*", pc.max_element_wise(pc.subtract(length, 2), 0)),
        pc.utf8_slice_codeunits(values, -1), "")
    short_mask = pc.binary_repeat("*", length)
    return pc.if_else(pc.greater(length, 10), long_mask, pc.if_else(pc.greater(length, 2), mid_mask, short_mask))


def mirror_schema(catalog: Catalog, entity: str, golden: pa.Schema) -> pa.Schema:
    """The golden schema without provenance and without fields no resource may share."""
    keep = []
    for f in golden:
        if f.name == "provenance":
            continue
        if f.name in CANONICAL_FIELDS[entity] and f.name != "district_code":
            classes, _ = field_classes(catalog, entity, f.name)
            if not classes or all(c == "none" for c in classes.values()):
                continue
        keep.append(f)
    return pa.schema(keep)


def value_ranks(catalog: Catalog, entity: str, table: pa.Table) -> dict[str, np.ndarray]:
    """Per canonical field: the sharing class of each row's value (0 unconditional, 1 conditional, 2 none),
    from the resource its provenance names, else the field's fallback. Vectorised over the flattened
    provenance map: one pass per field instead of a map lookup per row."""
    n = table.num_rows
    provenance = table.column("provenance").combine_chunks()
    # as list<struct<key, value>> (list kernels take no maps); offsets index the unsliced keys/items
    as_list = pa.ListArray.from_arrays(provenance.offsets, pa.StructArray.from_arrays(
        [provenance.keys, provenance.items], names=["key", "value"]))
    entries = pc.list_flatten(as_list)
    parents = pc.list_parent_indices(as_list).to_numpy()
    keys = entries.field("key")
    resources = entries.field("value").field("resource")
    out = {}
    for name in CANONICAL_FIELDS[entity]:
        classes, fallback = field_classes(catalog, entity, name)
        ranks = np.full(n, _RANK[fallback], dtype=np.int8)
        selected = pc.fill_null(pc.equal(keys, name), False).to_numpy(zero_copy_only=False)
        if selected.any() and classes:
            # index -1 (a resource the catalog no longer maps this field from) takes the fallback
            lookup = np.array([_RANK[c] for c in classes.values()] + [_RANK[fallback]], dtype=np.int8)
            index = pc.fill_null(pc.index_in(resources.filter(selected), value_set=pa.array(list(classes))), -1)
            ranks[parents[selected]] = lookup[index.to_numpy(zero_copy_only=False)]
        out[name] = ranks
    return out


def mask_table(catalog: Catalog, entity: str, table: pa.Table, cleared: list[str],
               ranks: dict[str, np.ndarray] | None = None) -> pa.Table:
    """``table``'s rows with every canonical field masked as the district's clearance requires
    (``ranks``: :func:`value_ranks` of ``table``, computed when not given)."""
    schema = mirror_schema(catalog, entity, table.schema)
    ranks = ranks if ranks is not None else value_ranks(catalog, entity, table)
    columns = []
    for field in schema:
        column = table.column(field.name).combine_chunks()
        if field.name in CANONICAL_FIELDS[entity] and field.name != "district_code":
            column = _mask_column(column, ranks[field.name], "conditional" in cleared)
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _mask_column(column: pa.Array, rank: np.ndarray, conditional_cleared: bool) -> pa.Array:
    hidden = rank == _RANK["none"]
    masked = (rank == _RANK["conditional"]) & (not conditional_cleared)
    if masked.any():
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.if_else(pa.array(masked), mask_strings(column), column)
        else:  # a date or number cannot carry stars: a masked one is withheld
            hidden = hidden | masked
    if hidden.any():
        column = pc.if_else(pa.array(hidden), pa.nulls(len(column), column.type), column)
    return column


def mirror_release(settings: Settings, district: str, number: int | None = None) -> dict[str, Any] | None:
    """The recorded mirror release ``number`` (default: latest) of ``district``, or None."""
    storage = storage_for(settings)
    keys = storage.numbered_json(mirror_registry_key(district))
    if not keys:
        return None
    n = max(keys) if number is None else number
    return json.loads(storage.read_bytes(keys[n])) if n in keys else None


def masking_fingerprint(catalog: Catalog, code: str) -> str:
    """A digest of everything masking district ``code``'s mirror depends on besides the golden rows: its
    clearance and each canonical field's sharing classes. Mirrors are brought up to date incrementally only
    while it is unchanged."""
    import hashlib

    spec = {"cleared": "conditional" in catalog.districts[code].cleared,
            "fields": {entity: {name: field_classes(catalog, entity, name) for name in CANONICAL_FIELDS[entity]}
                       for entity in ENTITY_TABLES}}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def build_mirrors(settings: Settings, catalog: Catalog, release: int | None = None,
                  districts: list[str] | None = None, golden: dict[str, pa.Table] | None = None,
                  changed: dict[str, pa.Table] | None = None) -> dict[str, dict[str, Any]]:
    """Build (or bring up to date) each district's mirror from golden release ``release`` (default: current).
    ``golden``: the release's entity tables when the caller (the publisher) still holds them; ``changed``:
    per entity, the rows that differ from the release before (warehouse.diff.row_delta: new rows and, with
    ``_op`` D, deleted ones).

    A mirror at an earlier release whose masking is unchanged is brought up to date incrementally: only
    the golden IDs that changed since (``changed``, or else the golden tables' change data feed) are read,
    masked and merged, and a table with none keeps its version. Otherwise the mirror is rebuilt in full."""
    from warehouse.diff import row_hashes
    from warehouse.registry import get_release, read_table
    from zhiwang import duck

    rel = get_release(settings, release)
    codes = districts or list(catalog.districts)
    unknown = [c for c in codes if c not in catalog.districts]
    if unknown:
        raise UserError(f"Unknown district(s) {unknown}: districts.yaml in {catalog.directory} lists {', '.join(catalog.districts)}.")
    pending = [code for code in codes if mirror_release(settings, code, rel.number) is None]
    bases = {code: _incremental_base(settings, catalog, code, rel.number) for code in pending}
    full = [code for code in pending if bases[code] is None]
    views: dict[tuple[str, bool], pa.Table] = {}
    if full:
        wanted = pa.array(full, pa.string())
        for entity in ENTITY_TABLES:
            rows = golden[entity] if golden and entity in golden else read_table(settings, entity, rel.number)
            rows = rows.filter(pc.is_in(rows.column("district_code"), wanted))
            ranks = value_ranks(catalog, entity, rows)
            # masking depends on the district only through its clearance: mask once per clearance, then split
            for cleared in {"conditional" in catalog.districts[c].cleared for c in full}:
                views[entity, cleared] = mask_table(catalog, entity, rows, _clearance(cleared), ranks)
    updates: dict[int, dict[str, tuple[pa.Array, dict[bool, tuple[pa.Table, np.ndarray]]]]] = {}
    con = duck.connect() if any(b is not None for b in bases.values()) else None
    try:
        for base in sorted({b["release"] for b in bases.values() if b is not None}):
            in_process = changed is not None and base == rel.number - 1 and all(e in changed for e in ENTITY_TABLES)
            clearances = {"conditional" in catalog.districts[c].cleared for c, b in bases.items() if b and b["release"] == base}
            updates[base] = {}
            for entity in ENTITY_TABLES:
                keys, rows = (_changed_rows(changed[entity]) if in_process
                              else _changed_since(settings, entity, base, rel.number))
                ranks = value_ranks(catalog, entity, rows)
                masked = {c: mask_table(catalog, entity, rows, _clearance(c), ranks) for c in clearances}
                # hashed once per clearance, not once per district: each district diffs its slice of them
                updates[base][entity] = (keys, {c: (view, row_hashes(view, ("golden_id",), con)) for c, view in masked.items()})
        results = {}
        for code in codes:
            done = mirror_release(settings, code, rel.number)
            if done is None:
                base = bases.get(code)
                done = _build_one(settings, catalog, code, rel.number, views, updates[base["release"]] if base else None,
                                  base, con)
            results[code] = done
    finally:
        if con is not None:
            con.close()
    return results


def _clearance(cleared: bool) -> list[str]:
    return ["unconditional", "conditional"] if cleared else ["unconditional"]


def _incremental_base(settings: Settings, catalog: Catalog, code: str, number: int) -> dict[str, Any] | None:
    """District ``code``'s latest mirror record if ``number`` can be built on it incrementally, else None:
    an earlier release, the same masking, and every mirror table still at the version it recorded (a
    crashed build may have committed since)."""
    from deltalake import DeltaTable

    record = mirror_release(settings, code)
    if record is None or record["release"] >= number or record.get("masking") != masking_fingerprint(catalog, code):
        return None
    storage = storage_for(settings)
    for entity in ENTITY_TABLES:
        table = record["tables"].get(entity)
        uri = storage.uri(mirror_key(code, entity))
        if table is None or DeltaTable(uri, storage_options=storage.storage_options).version() != table["version"]:
            return None
    return record


def _changed_rows(delta: pa.Table) -> tuple[pa.Array, pa.Table]:
    """(every golden ID in a row delta, the new rows among them)."""
    ops = delta.column("_op")
    return delta.column("golden_id").combine_chunks(), delta.filter(pc.not_equal(ops, "D")).drop(["_op"])


def _changed_since(settings: Settings, entity: str, base: int, number: int) -> tuple[pa.Array, pa.Table]:
    """(golden IDs of ``entity`` touched by any commit after release ``base`` up to release ``number``, their
    rows in release ``number``), from the golden table's change data feed."""
    from deltalake import DeltaTable

    from warehouse.registry import dataset_at, get_release

    start, end = get_release(settings, base).tables[entity].version, get_release(settings, number).tables[entity].version
    feed = None
    if start == end:
        keys = pa.array([], pa.string())
    else:
        storage = storage_for(settings)
        dt = DeltaTable(storage.uri(f"golden/{entity}"), storage_options=storage.storage_options)
        feed = pa.table(dt.load_cdf(starting_version=start + 1, ending_version=end).read_all())
        keys = pc.unique(feed.column("golden_id").cast(pa.string()).combine_chunks())
    dataset = dataset_at(settings, entity, number)
    if len(keys) == 0:
        return keys, dataset.schema.empty_table()
    rows = _rows_from_feed(feed, dataset, keys)
    if rows is not None:
        return keys, rows
    wanted = pc.field("golden_id").isin(keys)
    # filtered after reading: merged files carry string_view statistics pyarrow cannot filter on in the scan
    parts = [batch.filter(wanted) for batch in dataset.to_batches()]
    return keys, pa.Table.from_batches([p for p in parts if p.num_rows], schema=dataset.schema)


def _rows_from_feed(feed: pa.Table, dataset: Any, keys: pa.Array) -> pa.Table | None:
    """The rows of ``keys`` in ``dataset`` (a golden table at the release built), in the dataset's order,
    taken from ``feed``, its change data feed since the base release: each key's last insert or update
    post-image is its row now. Reading a million rows with their provenance maps to keep 4% of them costs
    seconds; this reads the golden IDs only. None when the feed and the table disagree on which keys are
    present (the caller then filters the table)."""
    import numpy as np

    ids = dataset.to_table(columns=["golden_id"]).column("golden_id").combine_chunks()
    present = ids.filter(pc.is_in(ids, value_set=keys))
    kinds = feed.column("_change_type").cast(pa.string())
    versions = feed.column("_commit_version").cast(pa.int64())
    golden_ids = feed.column("golden_id").cast(pa.string())
    # within a commit an update's post-image outranks its pre-image, a later commit every earlier one
    rank = pc.add(pc.multiply(versions, 2), pc.cast(pc.equal(kinds, "update_postimage"), pa.int64()))
    order = pc.sort_indices(pa.table({"golden_id": golden_ids, "rank": rank}),
                            sort_keys=[("golden_id", "ascending"), ("rank", "descending")])
    sorted_ids = golden_ids.take(order).combine_chunks()
    first = np.ones(len(sorted_ids), dtype=bool)
    if len(sorted_ids) > 1:
        first[1:] = pc.not_equal(sorted_ids.slice(1), sorted_ids.slice(0, len(sorted_ids) - 1)).to_numpy(zero_copy_only=False)
    last = order.filter(pa.array(first))  # per key, the feed row of its last change
    alive = pc.is_in(kinds.take(last), value_set=pa.array(["insert", "update_postimage"]))
    live = last.filter(alive)
    live_ids = golden_ids.take(live)
    # each side holds a key once: equal sets when equally many and each present key has a live row
    if len(live_ids) != len(present) or (pc.sum(pc.invert(pc.is_in(present, value_set=live_ids))).as_py() or 0):
        return None
    at = pc.index_in(present, value_set=live_ids)
    return feed.select(dataset.schema.names).cast(dataset.schema).take(live.take(at))


def _build_one(settings: Settings, catalog: Catalog, code: str, number: int, views: dict[tuple[str, bool], pa.Table],
               updates: dict[str, tuple[pa.Array, dict[bool, tuple[pa.Table, np.ndarray]]]] | None,
               base: dict[str, Any] | None, con: Any = None) -> dict[str, Any]:
    from deltalake import DeltaTable

    from warehouse.delta_io import upsert_keyed, upsert_table

    storage = storage_for(settings)
    opts = storage.storage_options
    meta = {"zhiwang.release": str(number), "zhiwang.district": code}
    cleared = list(catalog.districts[code].cleared)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    tables: dict[str, dict[str, int]] = {}
    for entity in ENTITY_TABLES:
        uri = storage.uri(mirror_key(code, entity))
        if updates is not None and base is not None:
            keys, masked_by_clearance = updates[entity]
            if len(keys) == 0:
                tables[entity] = dict(base["tables"][entity])
                continue
            view, hashes = masked_by_clearance["conditional" in cleared]
            mine = pc.fill_null(pc.equal(view.column("district_code"), code), False)
            masked = view.filter(mine)
            # only the changed golden IDs are compared (and may be deleted, e.g. moved to another district);
            # the same diff and merge as upsert_table with that scope (tests/warehouse/test_mirror.py pins it)
            version, _ = upsert_keyed(uri, masked, "golden_id", meta, keys, hashes[mine.to_numpy(zero_copy_only=False)],
                                      con, storage_options=opts)
            rows = DeltaTable(uri, version=version, storage_options=opts).count()
        else:
            view = views[entity, "conditional" in cleared]
            masked = view.filter(pc.equal(view.column("district_code"), code))
            version = upsert_table(uri, masked, ("golden_id",), meta, storage_options=opts)
            rows = masked.num_rows
        tables[entity] = {"version": version, "rows": rows}
    release_uri = storage.uri(mirror_key(code, "release"))
    known, delta = None, None
    if DeltaTable.is_deltatable(release_uri, storage_options=opts):
        release_dt = DeltaTable(release_uri, storage_options=opts)
        stored = release_dt.to_pyarrow_table()
        known = (release_dt.version(), stored)
        history = stored.filter(pc.not_equal(stored.column("release"), number)).cast(RELEASE_SCHEMA)
    else:
        history = RELEASE_SCHEMA.empty_table()
    new_rows = pa.table({"release": [number] * len(tables), "table_name": list(tables),
                         "version": [t["version"] for t in tables.values()], "rows": [t["rows"] for t in tables.values()],
                         "published_at": [now] * len(tables)}, schema=RELEASE_SCHEMA)
    if known is not None and history.num_rows == known[1].num_rows:
        # nothing of release ``number`` stored yet (no crashed build of it): the diff is just the appended
        # rows, as row_delta finds them, without a DuckDB database per district
        delta = new_rows.append_column("_op", pa.array(["I"] * new_rows.num_rows, pa.string()))
    version = upsert_table(release_uri, pa.concat_tables([history, new_rows]), ("release", "table_name"), meta,
                           known=known, storage_options=opts, delta=delta)
    tables["release"] = {"version": version, "rows": history.num_rows + new_rows.num_rows}
    record = {"release": number, "district": code, "created_at": now, "cleared": cleared, "tables": tables,
              "masking": masking_fingerprint(catalog, code)}
    write_json_once(settings, f"{mirror_registry_key(code)}/{number}.json", record)
    return record
