"""Golden tables of one entity type from records, scored pairs, the previous state and stewards' decisions.

``build_golden`` chains clustering → stable IDs → survivorship and returns the DESIGN.md tables
(warehouse/schema.py is the contract):
- ``golden``: one row per golden ID ever issued: ``golden_id``, the canonical fields, ``status`` (active |
  merged | retired), ``merged_into``, ``source_count``, ``provenance`` (field → resource, record_key, batch_id).
  Merged and retired rows keep their last values and have ``source_count`` 0.
- ``xref``: ``entity, resource, record_key, batch_id, golden_id, match_probability``: every record once.
- ``changes``: ``release, golden_id, entity, change, fields, related_id``: new, updated (fields), merged
  (related_id = survivor), split (related_id = the ID it split from), retired.
Plus the redirect table, the disagreements for the correction loop, the cut edges, and the ``GoldenState``
the next run takes as ``previous`` (saved by :func:`save_state` under ``<home>/resolve/<entity>/``).

Inputs: ``records`` (pyarrow Table: ``_resource, _record_key, _batch_id, _delivered_at``, canonical fields,
``record_uid`` = ``<resource>|<record_key>``, added when absent), ``pairs`` (``record_uid_l, record_uid_r,
match_probability``, optional ``is_decisive``), ``decisions`` (``record_uid_l, record_uid_r, decision``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.canonical import CANONICAL_FIELDS
from entity_resolution import state_files
from entity_resolution.clustering import PairCodes, cluster_records, encode_pairs
from entity_resolution.scope import config_digest
from entity_resolution.stable_ids import REGISTRY_SCHEMA, XREF_STATE_SCHEMA, assign_ids
from entity_resolution.survivorship import survive
from zhiwang import duck
from zhiwang.errors import UserError

if TYPE_CHECKING:
    from catalog.models import Catalog
    from entity_resolution.scope import Scope
    from warehouse.release import Rebuilt
    from zhiwang.settings import Settings

CHANGES_SCHEMA = pa.schema([
    ("release", pa.int64()), ("golden_id", pa.string()), ("entity", pa.string()), ("change", pa.string()),
    ("fields", pa.list_(pa.string())), ("related_id", pa.string()),
])
XREF_SCHEMA = pa.schema([
    ("entity", pa.string()), ("resource", pa.string()), ("record_key", pa.string()), ("batch_id", pa.string()),
    ("golden_id", pa.string()), ("match_probability", pa.float64()),
])


@dataclass
class GoldenState:
    """What the next run needs: the ID registry, record → ID, and the golden rows to diff against; for an
    incremental resolve (entity_resolution/scope.py) also what it carries over unchanged."""

    entity: str
    release: int
    registry: pa.Table
    xref: pa.Table
    """record_uid, golden_id; as saved by a resolve also match_probability and the record's signature."""
    golden: pa.Table
    disagreements: pa.Table | None = None
    decisions: pa.Table | None = None
    """The stewards' decisions this state was resolved with."""
    config: str | None = None
    """scope.config_digest of the survivorship configuration it was resolved with."""


@dataclass
class GoldenResult:
    golden: pa.Table
    xref: pa.Table
    changes: pa.Table
    redirects: pa.Table
    state: GoldenState
    disagreements: pa.Table
    cut_edges: pa.Table
    stats: dict[str, Any] = field(default_factory=dict)
    rebuilt: Rebuilt | None = None
    """After an incremental resolve: the golden IDs it rebuilt and their rows in the previous state (every
    other golden row is carried over as it was), for the publish to diff only those; None after a full one."""


def with_record_uid(records: pa.Table) -> pa.Table:
    """Add ``record_uid = <_resource>|<_record_key>`` when the records do not carry it."""
    if "record_uid" in records.column_names:
        return records
    return records.append_column("record_uid", pc.binary_join_element_wise(records["_resource"], records["_record_key"], "|"))


def build_golden(entity: str, records: pa.Table, pairs: pa.Table, previous: GoldenState | None,
                 decisions: pa.Table | None, catalog: Catalog | None, *, release: int, threshold: float = 0.9,
                 con: duckdb.DuckDBPyConnection | None = None, encoded: PairCodes | None = None,
                 scope: pa.Array | None = None) -> GoldenResult:
    """Resolve one entity type into its golden tables; see the module docstring. ``encoded``: the records'
    uids and pairs as :func:`entity_resolution.clustering.encode_pairs` gives them, when the caller has it.
    ``scope``: when ``records`` are only the affected part of the entity's records, the previous golden IDs
    they can touch (see :func:`resolve_entity`); the golden table then holds their rows and the inactive ones,
    and the caller adds the rows carried over."""
    if entity not in ("person", "legal_entity", "building"):
        raise UserError(f"build_golden: entity = {entity!r} is not one of person, legal_entity, building.")
    if previous is not None and previous.entity != entity:
        raise UserError(f"build_golden({entity}): the previous state is for {previous.entity!r}; pass that entity's state.")
    if previous is not None and release <= previous.release:
        raise UserError(f"build_golden({entity}): release {release} must come after the previous state's release "
                        f"{previous.release}; pass the number of the release being built.")
    for name, table, needed in (("records", records, ("_resource", "_record_key", "_batch_id", "_delivered_at")),
                                ("pairs", pairs, ("record_uid_l", "record_uid_r", "match_probability"))):
        if missing := [c for c in needed if c not in table.column_names]:
            raise UserError(f"build_golden({entity}): {name} lack column(s) {missing}; see entity_resolution/golden.py "
                            "for the expected inputs.")
    stats: dict[str, Any] = {}
    clock = time.perf_counter()
    records = with_record_uid(records)
    own = con is None
    con = con or duck.connect()
    try:
        if previous is not None:
            _check_state(previous, con)
        clustered = cluster_records(records.select(["record_uid"]), pairs, threshold=threshold, decisions=decisions,
                                    encoded=encoded)
        stats["cluster_s"], clock = time.perf_counter() - clock, time.perf_counter()
        ids = assign_ids(entity, clustered.clusters, previous.xref if previous else None,
                         previous.registry if previous else None, release=release, con=con, scope=scope)
        stats["ids_s"], clock = time.perf_counter() - clock, time.perf_counter()
        authority, providers = survivorship_config(entity, catalog)
        surv = survive(entity, records, ids.assignment, authority, providers=providers, con=con)
        stats["survive_s"], clock = time.perf_counter() - clock, time.perf_counter()
        golden = _golden_rows(entity, surv.values, ids.registry, previous.golden if previous else None, con)
        xref, state_xref = _xref(entity, records, ids.assignment, clustered.clusters, con)
        changes = _changes(entity, release, ids.events, golden, previous, con)
        stats["assemble_s"] = time.perf_counter() - clock
    finally:
        if own:
            con.close()
    stats.update(clustered.stats, golden_active=surv.values.num_rows, golden_rows=golden.num_rows)
    state = GoldenState(entity=entity, release=release, registry=ids.registry, xref=state_xref, golden=golden,
                        disagreements=surv.disagreements, decisions=decisions,
                        config=config_digest(authority, providers, threshold))
    return GoldenResult(golden=golden, xref=xref, changes=changes, redirects=ids.redirects, state=state,
                        disagreements=surv.disagreements, cut_edges=clustered.cut_edges, stats=stats)


def survivorship_config(entity: str, catalog: Catalog | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Authority per canonical field and provider per resource: what survivorship reads from the catalog."""
    authority = {f: catalog.authority(entity, f) for f in CANONICAL_FIELDS[entity]} if catalog else {}
    providers = {rid: r.provider for rid, r in catalog.resources.items()} if catalog else {}
    return authority, providers


def _check_state(previous: GoldenState, con: duckdb.DuckDBPyConnection) -> None:
    con.register("chk_x", previous.xref)
    con.register("chk_r", previous.registry)
    bad = con.sql("""SELECT count(*) FROM chk_x x LEFT JOIN chk_r r USING (golden_id)
                         WHERE r.status IS DISTINCT FROM 'active'""").fetchall()[0][0]
    con.unregister("chk_x")
    con.unregister("chk_r")
    if bad:
        raise UserError(f"previous {previous.entity} state (release {previous.release}): {bad} xref row(s) point at golden "
                        "IDs that are not active in the registry. The saved state is inconsistent; restore it from "
                        "the last release's backup before resolving again.")


# Canonical fields that are not strings (mirrors warehouse/schema.py; a test keeps the two equal).
FIELD_TYPES: dict[str, pa.DataType] = {
    "birth_date": pa.date32(), "established_date": pa.date32(), "lon": pa.float64(), "lat": pa.float64(), "floors": pa.int32(),
}


def _typed(entity: str, values: pa.Table) -> pa.Table:
    """Golden values in the canonical types, so the golden table's schema never depends on a delivery."""
    for f in CANONICAL_FIELDS[entity]:
        target = FIELD_TYPES.get(f, pa.string())
        column = values[f]
        if column.type != target:
            try:
                column = column.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise UserError(f"{entity} field {f!r}: golden values of type {column.type} do not convert to {target} "
                                f"({exc}); fix the field's type in the catalog (catalog/resources/*.yaml).") from None
            values = values.set_column(values.schema.get_field_index(f), f, column)
    return values


def _golden_rows(entity: str, values: pa.Table, registry: pa.Table, prev_golden: pa.Table | None,
                 con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Active rows from survivorship; merged/retired rows keep their previous values with the registry's status."""
    fields = CANONICAL_FIELDS[entity]
    active = _typed(entity, values.select(["golden_id", *fields]))
    active = active.append_column("status", pa.array(["active"] * values.num_rows, pa.string()))
    active = active.append_column("merged_into", pa.nulls(values.num_rows, pa.string()))
    active = active.append_column("source_count", values["source_count"]).append_column("provenance", values["provenance"])
    inactive_ids = registry.filter(pc.not_equal(registry["status"], "active")).select(["golden_id", "status", "merged_into"])
    if inactive_ids.num_rows == 0:
        return active
    con.register("g_inact", inactive_ids)
    if prev_golden is not None:  # only the inactive rows: DuckDB imports a city's provenance maps slowly
        prev_golden = prev_golden.filter(pc.is_in(prev_golden["golden_id"], value_set=inactive_ids["golden_id"]))
    con.register("g_prev", (prev_golden if prev_golden is not None else active.schema.empty_table()).cast(active.schema))
    cols = ", ".join(f'p."{f}"' for f in fields)
    inactive = con.sql(f"""
        SELECT i.golden_id, {cols}, i.status, i.merged_into, 0::INTEGER AS source_count, p.provenance
        FROM g_inact i LEFT JOIN g_prev p USING (golden_id) ORDER BY 1""").to_arrow_table()
    con.unregister("g_inact")
    con.unregister("g_prev")
    return pa.concat_tables([active, inactive.cast(active.schema)])


def _xref(entity: str, records: pa.Table, assignment: pa.Table, clusters: pa.Table,
          con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
    """The published xref and the state's (record_uid, golden_id, match_probability and, when the records
    carry ``_signature`` (scope.signatures), signature), row for row."""
    signature = ", r._signature AS signature" if "_signature" in records.column_names else ""
    con.register("x_r", records.select(["record_uid", "_resource", "_record_key", "_batch_id",
                                        *(["_signature"] if signature else [])]))
    con.register("x_a", assignment)
    con.register("x_c", clusters.select(["record_uid", "match_probability"]))
    wide = con.sql(f"""
        SELECT '{entity}' AS entity, r._resource AS resource, r._record_key AS record_key, r._batch_id AS batch_id,
               a.golden_id, c.match_probability, r.record_uid{signature}
        FROM x_r r JOIN x_a a USING (record_uid) JOIN x_c c USING (record_uid)""").to_arrow_table()
    for name in ("x_r", "x_a", "x_c"):
        con.unregister(name)
    xref = wide.select(XREF_SCHEMA.names).cast(XREF_SCHEMA)
    # the contract: every accepted record exactly once (a lost or doubled record would corrupt the library)
    if xref.num_rows != records.num_rows or xref["golden_id"].null_count:
        raise AssertionError(f"xref has {xref.num_rows} rows for {records.num_rows} {entity} records")
    return xref, wide.select(["record_uid", "golden_id", "match_probability", *(["signature"] if signature else [])])


def _changes(entity: str, release: int, events: pa.Table, golden: pa.Table, previous: GoldenState | None,
             con: duckdb.DuckDBPyConnection) -> pa.Table:
    con.register("c_ev", events)
    parts = [con.sql(f"""SELECT {int(release)} AS release, golden_id, '{entity}' AS entity, change,
                                    CAST(NULL AS VARCHAR[]) AS fields, related_id FROM c_ev""").to_arrow_table()]
    con.unregister("c_ev")
    if previous is not None:
        parts.append(_updated(entity, release, golden, previous.golden))
    return pa.concat_tables([p.cast(CHANGES_SCHEMA) for p in parts]).sort_by([("golden_id", "ascending"), ("change", "ascending")])


def _updated(entity: str, release: int, values: pa.Table, previous_golden: pa.Table) -> pa.Table:
    """``updated`` changes: golden IDs active before and now (``status``) whose value of some canonical field
    differs (as text, null distinct from any value), with those fields in canonical order. Compared one field
    at a time on rows aligned by golden_id: a join of both golden tables would hold two copies of a city's
    golden rows."""
    fields = CANONICAL_FIELDS[entity]
    if values.num_rows == 0:  # an incremental resolve that affected nothing (pyarrow 23 crashes filtering
        return CHANGES_SCHEMA.empty_table()  # the chunked arrays of an empty table below)
    old = previous_golden  # not filtered to its active rows: that would copy every column, provenance too
    where = pc.index_in(values["golden_id"], value_set=old["golden_id"].combine_chunks())
    both = pc.and_(pc.is_valid(where), pc.equal(values["status"], "active"))
    both = pc.and_(both, pc.fill_null(pc.equal(old["status"].take(pc.fill_null(where, 0)), "active"), False))
    new_rows, old_rows = pc.indices_nonzero(both), where.filter(both)
    differs = np.zeros((len(new_rows), len(fields)), dtype=bool)
    for i, f in enumerate(fields):
        a = _as_text(values[f].take(new_rows)) if f in values.column_names else pa.nulls(len(new_rows), pa.string())
        b = _as_text(old[f].take(old_rows)) if f in old.column_names else pa.nulls(len(new_rows), pa.string())
        same = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        differs[:, i] = np.logical_not(pc.fill_null(same, False).to_numpy(zero_copy_only=False))
    changed = np.flatnonzero(differs.any(axis=1))
    hits = differs[changed]
    offsets = np.concatenate([[0], np.cumsum(hits.sum(axis=1))]).astype(np.int32)
    names = pa.array(fields, pa.string()).take(pa.array(np.nonzero(hits)[1]))
    n = len(changed)
    return pa.table({
        "release": pa.array(np.full(n, release, np.int64)),
        "golden_id": values["golden_id"].take(new_rows).take(pa.array(changed)),
        "entity": pa.array([entity] * n, pa.string()), "change": pa.array(["updated"] * n, pa.string()),
        "fields": pa.ListArray.from_arrays(pa.array(offsets), names),
        "related_id": pa.nulls(n, pa.string()),
    })


def _as_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def resolve_entity(settings: Settings, catalog: Catalog | None, entity: str, records: pa.Table, pairs: pa.Table, *,
                   release: int, threshold: float = 0.9, review_band: tuple[float, float] = (0.5, 0.9),
                   identifier_constraints: bool = False, encoded: PairCodes | None = None,
                   fingerprints: pa.ChunkedArray | pa.Array | None = None,
                   pairs_release: int | None = None) -> GoldenResult:
    """The resolve stage for one entity as the pipeline runs it: previous state and stewards' decisions in,
    golden tables out, this run's uncertain pairs queued for review. Save ``result.state`` with
    :func:`save_state` only once the release is published, so a failed publish does not advance the IDs.

    ``identifier_constraints``: add the no-match decisions the data proves (constraints.py) after the
    stewards' own. ``fingerprints`` (incremental.fingerprints of the records) and ``pairs_release`` (the
    release whose pairs ``pairs`` were derived from by incremental matching; None when scored afresh) let it
    resolve only the records the delivery can affect and carry the other golden rows over (scope.py)."""
    from entity_resolution import scope as sc
    from entity_resolution.constraints import identifier_conflicts
    from entity_resolution.disagreements import with_material
    from entity_resolution.review import decisions_table, enqueue_uncertain

    records = with_record_uid(records)
    previous = load_state(state_dir(settings, entity))
    decisions = decisions_table(settings, entity)
    encoded = encoded if encoded is not None else encode_pairs(records.column("record_uid"), pairs)
    if fingerprints is not None:
        records = records.append_column("_signature", sc.signatures(records, fingerprints))
    plan = None
    if (fingerprints is not None and previous is not None and pairs_release == previous.release
            and previous.config == config_digest(*survivorship_config(entity, catalog), threshold)):
        plan = sc.plan(records, records.column("_signature"), encoded, pairs, previous, decisions, threshold=threshold)
    part, part_pairs, part_encoded = records, pairs, encoded
    if plan is not None:
        part = records.filter(pa.array(plan.affected))
        known = (encoded.left >= 0) & (encoded.right >= 0)
        inside = known & plan.affected[np.where(known, encoded.left, 0)] & plan.affected[np.where(known, encoded.right, 0)]
        part_pairs = pairs.filter(pa.array(inside))
        part_encoded = encode_pairs(part.column("record_uid"), part_pairs)
    rules = decisions
    constraints = identifier_conflicts(entity, part, part_pairs, threshold=threshold, encoded=part_encoded) \
        if identifier_constraints else None
    if constraints is not None and constraints.num_rows:  # stewards' decisions first: theirs win a conflict
        rules = pa.concat_tables([decisions, constraints.select(decisions.column_names).cast(decisions.schema)])
    result = build_golden(entity, part, part_pairs, previous, rules, catalog, release=release, threshold=threshold,
                          encoded=part_encoded, scope=plan.golden_ids if plan is not None else None)
    result.state.decisions = decisions  # the stewards' own: the constraints are derived again each run
    result.disagreements = result.state.disagreements = with_material(result.disagreements)
    if plan is not None:
        _carry_over(entity, result, previous, plan, records)
    result.stats.update(identifier_conflicts=constraints.num_rows if constraints is not None else 0,
                        resolved_records=part.num_rows, resolve_mode="incremental" if plan is not None else "full")
    result.stats["review_open"] = enqueue_uncertain(settings, entity, pairs, records,
                                                    lower=review_band[0], upper=review_band[1])
    return result


def _carry_over(entity: str, result: GoldenResult, previous: GoldenState, plan: Scope, records: pa.Table) -> None:
    """Complete ``result``, resolved over the affected records only, with the previous state's rows of every
    golden ID the run could not change (their records, pairs and decisions are the same: scope.py)."""
    old = previous.golden
    keep = pc.and_(pc.equal(old.column("status"), "active"),
                   pc.invert(pc.is_in(old.column("golden_id"), value_set=plan.golden_ids)))
    carried = old.filter(pc.fill_null(keep, False)).cast(result.golden.schema)
    from warehouse.release import Rebuilt

    rebuilt = result.golden.column("golden_id").combine_chunks()
    result.rebuilt = Rebuilt(since=previous.release, golden_ids=rebuilt,
                             before=old.filter(pc.is_in(old.column("golden_id"), value_set=rebuilt)))
    result.golden = pa.concat_tables([result.golden, carried])
    result.state.golden = result.golden
    # xref rows of the unaffected records: their golden ID and probability as the previous state has them
    unaffected = pa.array(~plan.affected)
    rest = records.select(["record_uid", "_resource", "_record_key", "_batch_id", "_signature"]).filter(unaffected)
    where = pa.array(plan.previous_row).filter(unaffected)  # plan() found each of them unchanged in that state
    golden_id = previous.xref.column("golden_id").take(where)
    probability = previous.xref.column("match_probability").take(where)
    xref = pa.table({"entity": pa.array([entity] * rest.num_rows, pa.string()), "resource": rest.column("_resource"),
                     "record_key": rest.column("_record_key"), "batch_id": rest.column("_batch_id"),
                     "golden_id": golden_id, "match_probability": probability}).cast(XREF_SCHEMA)
    result.xref = pa.concat_tables([result.xref, xref])
    carried_x = pa.table({"record_uid": rest.column("record_uid"), "golden_id": golden_id,
                          "match_probability": probability, "signature": rest.column("_signature")})
    result.state.xref = pa.concat_tables([result.state.xref, carried_x.cast(result.state.xref.schema)])
    if result.xref.num_rows != records.num_rows:
        raise AssertionError(f"xref has {result.xref.num_rows} rows for {records.num_rows} {entity} records")
    # the correction loop lists every disagreement of the release, in the order a full resolve gives
    before = previous.disagreements
    kept = before.filter(pc.invert(pc.is_in(before.column("golden_id"), value_set=plan.golden_ids)))
    result.disagreements = pa.concat_tables([result.disagreements, kept.cast(result.disagreements.schema)]).sort_by(
        [("golden_id", "ascending"), ("field", "ascending"), ("resource", "ascending"), ("record_key", "ascending")])
    result.state.disagreements = result.disagreements
    result.stats.update(golden_active=pc.sum(pc.equal(result.golden.column("status"), "active")).as_py() or 0,
                        golden_rows=result.golden.num_rows)


# -- persisted state -------------------------------------------------------------------------------------


def state_dir(settings: Settings, entity: str) -> Path:
    return settings.home / "resolve" / entity


def save_state(directory: Path, state: GoldenState, *, written: dict[str, Path] | None = None) -> None:
    """Write the state atomically: a crash leaves the previous state whole. ``written``: tables of the state
    the caller has already written to Parquet (golden, disagreements), hard-linked instead of written again
    (a city's golden rows take seconds to write)."""
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("registry", "xref", "golden", "disagreements", "decisions"):
        table = getattr(state, name)
        if table is None:
            continue
        if written and name in written:
            try:
                os.link(written[name], state_files.path(tmp, name))
                continue
            except OSError:  # another file system, or no hard links: write it
                pass
        state_files.write(table, tmp, name)
    (tmp / "state.json").write_text(json.dumps({"entity": state.entity, "release": state.release, "config": state.config}))
    replace_dir(tmp, directory)


def promote_state(settings: Settings, entity: str, pending: Path) -> None:
    """After the release is recorded: the pending state (written whole by :func:`save_state`) becomes the
    entity's state. Moved, not read and written again: a city's golden rows take seconds to (de)serialize."""
    if (pending / "state.json").exists():
        state_dir(settings, entity).parent.mkdir(parents=True, exist_ok=True)
        replace_dir(pending, state_dir(settings, entity))


def replace_dir(tmp: Path, directory: Path) -> None:
    """Swap a fully written ``tmp`` folder in for ``directory``: readers find the old one or the new one."""
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def load_state(directory: Path) -> GoldenState | None:
    """The saved state, or None before the first run."""
    meta = directory / "state.json"
    if not meta.exists():
        return None
    info = json.loads(meta.read_text())
    xref = state_files.read(directory, "xref")
    optional = {n: state_files.read(directory, n) if state_files.exists(directory, n) else None
                for n in ("disagreements", "decisions")}
    return GoldenState(entity=info["entity"], release=int(info["release"]),
                       registry=state_files.read(directory, "registry").cast(REGISTRY_SCHEMA),
                       # states saved before signatures hold the two columns only (then the next resolve is full)
                       xref=xref.cast(pa.schema([*XREF_STATE_SCHEMA, *(f for f in xref.schema
                                                                      if f.name not in XREF_STATE_SCHEMA.names)])),
                       golden=state_files.read(directory, "golden"), config=info.get("config"), **optional)
