"""The resolve stage: accepted source records → Splink pairs → clusters with stable golden IDs → golden
records by survivorship → links → one golden library release (and the district mirrors built from it).

Per entity type, a model module under ``entity_resolution/models/`` provides the standardization and the
saved Splink model (entity_resolution/incremental.py scores new and changed records with it); models work on
canonical fields only, so a new resource needs no retraining. The resolve state (ID registry, xref) is saved only after the release is
recorded, so a failed publish never advances golden IDs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog.canonical import ENTITY_TYPES
from entity_resolution import incremental, state_files
from entity_resolution.backends import PAIRS_SCHEMA
from entity_resolution.sources import load_source_records
from zhiwang.metering import stage

if TYPE_CHECKING:
    from catalog.models import Catalog
    from entity_resolution.golden import GoldenResult
    from warehouse.release import Published, Rebuilt
    from zhiwang.settings import Settings

CLUSTER_THRESHOLD = 0.9
"""Pairs at or above this probability join a cluster; the band below it goes to steward review."""


@dataclass
class ResolveOutcome:
    release: int | None
    results: dict[str, GoldenResult] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def next_release(settings: Settings) -> int:
    """The number the next publish will get (resolution stamps its changes with it)."""
    from warehouse.registry import current_release

    current = current_release(settings)
    return (current.number if current else 0) + 1


def pending_dir(settings: Settings, release: int, entity: str) -> Path:
    return settings.home / "resolve" / "_pending" / f"release_{release}" / entity


PENDING_TABLES = ("golden", "xref", "changes", "disagreements")
"""What the resolve stage of an entity hands the publish stage (and, after an incremental resolve, the rows it
rebuilt: ``rebuilt_ids`` and ``rebuilt_before``, see :class:`warehouse.release.Rebuilt`)."""


@dataclass
class Resolved:
    """One entity's resolve result as the publish stage takes it."""

    tables: dict[str, pa.Table]
    """PENDING_TABLES by name."""
    rebuilt: Rebuilt | None = None


def resolve_entity_stage(settings: Settings, catalog: Catalog, entity: str, release: int) -> dict[str, Any]:
    """Resolve one entity type for ``release`` and keep the result under ``resolve/_pending`` for the
    publish stage (an Airflow task per entity runs this; reruns overwrite the same pending result)."""
    return _resolve_entity_stage(settings, catalog, entity, release)[0]


def _resolve_entity_stage(settings: Settings, catalog: Catalog, entity: str,
                          release: int) -> tuple[dict[str, Any], Resolved]:
    """:func:`resolve_entity_stage`, also returning the pending result as written (a caller publishing in the
    same process need not read it back)."""
    from entity_resolution.golden import resolve_entity, save_state

    folder = pending_dir(settings, release, entity)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _release_memory()  # what earlier stages of this process freed
    with stage(f"{entity}:load") as load:
        records = load_source_records(settings, catalog, entity)
        load.rows = records.num_rows
    with stage(f"{entity}:match", rows=records.num_rows) as match:
        matched = incremental.score(settings, entity, records) if records.num_rows >= 2 else None
        pairs = matched.pairs if matched is not None else PAIRS_SCHEMA.empty_table()
        mode, rescored = (matched.mode, matched.rescored) if matched is not None else ("none", 0)
        fingerprints = matched.fingerprints if matched is not None else None
        pairs_release = matched.cache_release if matched is not None and matched.mode == "incremental" else None
        encoded = matched.encoded if matched is not None else None
        if matched is not None:  # the matching rows are kept for the next run, not needed for this one
            incremental.save_pending(tmp / "match", matched, entity, release)
        del matched
        _release_memory()
    with stage(f"{entity}:cluster+survive", rows=records.num_rows) as survive:
        result = resolve_entity(settings, catalog, entity, records, pairs, release=release,
                                threshold=CLUSTER_THRESHOLD, identifier_constraints=True, fingerprints=fingerprints,
                                pairs_release=pairs_release, encoded=encoded)
        del fingerprints, encoded
    with stage(f"{entity}:charts") as charts:
        if records.num_rows >= 2:
            from entity_resolution.charts import write_charts

            write_charts(settings, entity, records)
    with stage(f"{entity}:save") as saving:
        for name in PENDING_TABLES:
            state_files.write(getattr(result, name), tmp, name)
        if result.rebuilt is not None:
            state_files.write(pa.table({"golden_id": result.rebuilt.golden_ids}), tmp, "rebuilt_ids")
            state_files.write(result.rebuilt.before, tmp, "rebuilt_before")
        same = {n: state_files.path(tmp, n) for n in ("golden", "disagreements")
                if getattr(result.state, n) is getattr(result, n)}  # the state keeps them: linked, not written twice
        save_state(tmp / "state", result.state, written=same)
    info = {
        "entity": entity, "release": release, "records": records.num_rows, "pairs": pairs.num_rows,
        "golden_active": _active(result.golden), "review_open": result.stats.get("review_open", 0),
        "match_mode": mode, "rescored": rescored, "identifier_conflicts": result.stats["identifier_conflicts"],
        "resolve_mode": result.stats["resolve_mode"], "resolved_records": result.stats["resolved_records"],
        "rebuilt_since": result.rebuilt.since if result.rebuilt is not None else None,
        "timings": {"load": load.seconds, "match": match.seconds, "cluster+survive": survive.seconds,
                    "charts": charts.seconds, "save": saving.seconds},
    }
    (tmp / "info.json").write_text(json.dumps(info), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return info, Resolved({name: getattr(result, name) for name in PENDING_TABLES}, result.rebuilt)


def _read_pending(settings: Settings, release: int, entity: str) -> Resolved:
    from warehouse.release import Rebuilt

    folder = pending_dir(settings, release, entity)
    since = json.loads((folder / "info.json").read_text(encoding="utf-8")).get("rebuilt_since")
    rebuilt = None
    if since is not None:
        rebuilt = Rebuilt(since=int(since), golden_ids=state_files.read(folder, "rebuilt_ids").column(0).combine_chunks(),
                          before=state_files.read(folder, "rebuilt_before"))
    return Resolved({n: state_files.read(folder, n) for n in PENDING_TABLES}, rebuilt)


def publish_stage(settings: Settings, catalog: Catalog, release: int, *, note: str = "",
                  resolved: dict[str, Resolved] | None = None) -> dict[str, Any]:
    """Links, then publish the pending results of every entity as ``release``; promote the resolve state.
    ``resolved``: the pending results per entity as this process's resolve stages returned them (read from
    ``resolve/_pending`` otherwise: at a million persons that read takes seconds)."""
    return _publish_stage(settings, catalog, release, note=note, resolved=resolved)[0]


def _publish_stage(settings: Settings, catalog: Catalog, release: int, *, note: str,
                   resolved: dict[str, Resolved] | None) -> tuple[dict[str, Any], Published | None]:
    """:func:`publish_stage`, also returning what the publish computed (None for a retry after the commit),
    from which this process builds the mirrors without reading the release back."""
    from entity_resolution.golden import promote_state
    from entity_resolution.links import build_links, person_view
    from warehouse.release import publish
    from zhiwang.errors import UserError

    missing = [e for e in ENTITY_TYPES if not (pending_dir(settings, release, e) / "info.json").exists()]
    if len(missing) == len(ENTITY_TYPES) and next_release(settings) > release:
        # a retry after this release was published (its pending results are removed only after the commit)
        return {"release": release, "links": None, "disagreements": None, "timings": {}, "already_published": True}, None
    if missing:
        raise UserError(f"Cannot publish release {release}: entity types {', '.join(missing)} were not resolved "
                        f"for it. Run the resolve stage first (zhiwang run).")
    if next_release(settings) != release:
        raise UserError(f"Release {release} is stale: release {next_release(settings) - 1} was published meanwhile. "
                        "Resolve again (zhiwang run) to build the next release.")
    with stage("links") as linking:
        results = {e: (resolved or {}).get(e) or _read_pending(settings, release, e) for e in ENTITY_TYPES}
        parts = {e: results[e].tables for e in ENTITY_TYPES}
        golden = {e: parts[e]["golden"] for e in ENTITY_TYPES}
        persons = _kept_person_view(settings, golden["person"], results["person"].rebuilt)
        if persons is None:
            persons = person_view(golden["person"])
        links = build_links(golden["person"], golden["legal_entity"], golden["building"], persons=persons)
        linking.rows = links.num_rows
    with stage("publish") as publishing:
        tables = {
            **golden,
            "xref": pa.concat_tables([parts[e]["xref"] for e in ENTITY_TYPES]),
            "links": pa.table({"relation": links.column("link_type"), "from_id": links.column("from_id"),
                               "to_id": links.column("to_id")}),
            "changes": pa.concat_tables([parts[e]["changes"] for e in ENTITY_TYPES]),
        }
        publishing.rows = tables["xref"].num_rows
        published = publish(settings, tables, note=note,
                            rebuilt={e: r.rebuilt for e, r in results.items() if r.rebuilt is not None})
        for entity in ENTITY_TYPES:  # only now: a failed publish must not advance golden IDs
            promote_state(settings, entity, pending_dir(settings, release, entity) / "state")
            incremental.promote(settings, entity, pending_dir(settings, release, entity) / "match")
        disagreements = _write_disagreements(settings, published.release.number,
                                             {e: parts[e]["disagreements"] for e in ENTITY_TYPES})
        _keep_person_view(settings, published.release.number, persons)
    shutil.rmtree(settings.home / "resolve" / "_pending" / f"release_{release}", ignore_errors=True)
    return {"release": published.release.number, "links": links.num_rows, "disagreements": disagreements,
            "timings": {"links": linking.seconds, "publish": publishing.seconds}}, published


def _person_view_dir(settings: Settings) -> Path:
    return settings.home / "resolve" / "_links"


def _kept_person_view(settings: Settings, persons: pa.Table, rebuilt: Rebuilt | None) -> pa.Table | None:
    """The persons' link keys, made again only for the rebuilt golden rows when the view kept at the last
    publish belongs to the release the resolve started from (None: make it afresh)."""
    from entity_resolution.links import updated_person_view

    folder = _person_view_dir(settings)
    if rebuilt is None:
        return None
    try:
        kept = json.loads((folder / "person_view.json").read_text(encoding="utf-8"))
        if kept.get("release") != rebuilt.since or kept.get("code") != _person_view_code():
            return None
        previous = state_files.read(folder, "person_view")
    except (OSError, ValueError, pa.ArrowException):
        return None  # missing or unreadable: made afresh
    return updated_person_view(previous, persons, rebuilt.golden_ids)


def _person_view_code() -> str:
    """A digest of the code that makes the person link keys: keys made by other code are made afresh."""
    import hashlib

    from entity_resolution import links
    from entity_resolution.sources import code_version

    return hashlib.sha256(code_version().encode() + Path(links.__file__).read_bytes()).hexdigest()[:16]


def _keep_person_view(settings: Settings, release: int, persons: pa.Table) -> None:
    """Keep release ``release``'s person link keys for the next publish (derived data: losing them only
    costs the next publish their remaking)."""
    from entity_resolution.golden import replace_dir

    folder = _person_view_dir(settings)
    tmp = folder.with_name(folder.name + ".partial")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        state_files.write(persons, tmp, "person_view")
        (tmp / "person_view.json").write_text(json.dumps({"release": release, "code": _person_view_code()}),
                                              encoding="utf-8")
        replace_dir(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_and_publish(settings: Settings, catalog: Catalog, *, build_mirrors: bool = True,
                        note: str = "") -> ResolveOutcome:
    """Resolve every entity type and publish the result as the next golden library release."""
    release = next_release(settings)
    outcome = ResolveOutcome(release=None)
    resolved = {}
    for entity in ENTITY_TYPES:
        info, resolved[entity] = _resolve_entity_stage(settings, catalog, entity, release)
        outcome.counts[entity] = {k: info[k] for k in ("records", "pairs", "golden_active", "review_open",
                                                       "match_mode", "rescored", "resolve_mode", "resolved_records")}
        outcome.timings.update({f"{entity}:{k}": v for k, v in info["timings"].items()})
    info, published = _publish_stage(settings, catalog, release, note=note, resolved=resolved)
    del resolved
    outcome.release = info["release"]
    outcome.counts["links"] = info["links"]
    outcome.counts["disagreements"] = info["disagreements"]
    outcome.timings.update(info["timings"])
    if build_mirrors:
        from warehouse.mirror import build_mirrors as build

        with stage("mirrors") as mirroring:
            if published is not None:  # the tables and deltas at hand: the mirrors read nothing back
                published.build_mirrors(settings, catalog)
            else:
                build(settings, catalog, outcome.release)
        outcome.timings["mirrors"] = mirroring.seconds
    return outcome


def _release_memory() -> None:
    """Hand freed Arrow buffers back to the OS between stages: the allocator keeps them for reuse otherwise,
    and at a million persons the next stage's peak stacks on top of the last one's."""
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()


def _active(golden: pa.Table) -> int:
    import pyarrow.compute as pc

    return pc.sum(pc.equal(golden.column("status"), "active")).as_py() or 0


def _write_disagreements(settings: Settings, release: int, tables: dict[str, pa.Table]) -> int:
    """The correction loop: values that still differ from the authoritative source once both are
    standardized go back to their provider (formatting differences are not errors to correct)."""
    import csv
    import io

    import numpy as np
    import pyarrow.compute as pc

    headers = {"golden_id": "主数据编码", "field": "字段", "authoritative_resource": "权威来源",
               "authoritative_value": "权威值", "resource": "本部门资源", "record_key": "记录标识", "value": "本部门值"}
    from entity_resolution.disagreements import csv_lines, text_column, with_material

    # provider → (entity, its material rows from that provider), in the order the rows come; a provider's
    # file lists them in that order. Arrow builds the lines (csv_lines writes what csv.writer would): no
    # Python step per row but the masking of identifier values.
    by_provider: dict[str, list[tuple[str, pa.Table]]] = {}
    for entity, table in tables.items():
        if not table.num_rows:
            continue
        # judged by the resolve stage already; with_material judges tables handed over without the verdicts
        kept = table.filter(pc.fill_null(with_material(table).column("material"), False))
        if not kept.num_rows:
            continue
        if "provider" in kept.column_names:
            encoded = pc.dictionary_encode(kept.column("provider").combine_chunks(), null_encoding="encode")
            # the dictionary lists values as they first come, so names do too; null and "" are unknown
            keys = [v or "unknown" for v in encoded.dictionary.to_pylist()]
            names = list(dict.fromkeys(keys))
            row_keys = np.array([names.index(k) for k in keys], dtype=np.int64)[
                encoded.indices.to_numpy(zero_copy_only=False)]
        else:
            names, row_keys = ["unknown"], np.zeros(kept.num_rows, dtype=np.int64)
        for key, name in enumerate(names):
            by_provider.setdefault(name, []).append((entity, kept.take(np.flatnonzero(row_keys == key))))
    note = "与权威来源不一致，请核实后更正 / differs from the authoritative source: check and correct"
    for provider, parts in by_provider.items():
        folder = settings.feedback / provider
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"disagreements_release{release}.csv"
        tmp = path.with_suffix(".csv.partial")
        with open(tmp, "wb") as fh:
            header = io.StringIO()
            csv.writer(header).writerow(["实体", *headers.values(), "说明"])
            fh.write(header.getvalue().encode("utf-8-sig"))  # the BOM, then the header
            for entity, rows in parts:
                columns = []
                for k in headers:
                    column, is_text = text_column(rows, k)
                    if k.endswith("value") and is_text:  # only text is masked (a number is no identifier)
                        column = _mask_if_identifier(rows.column("field"), column)
                    columns.append(column)
                fh.write(csv_lines([entity, *columns, note]))
        os.replace(tmp, path)
    return sum(rows.num_rows for parts in by_provider.values() for _, rows in parts)


def _mask_if_identifier(fields: pa.ChunkedArray, values: pa.Array) -> pa.Array:
    """``values`` (text) with the text of identifier fields masked (440304********1234), row for row."""
    import pyarrow.compute as pc

    from warehouse.mirror import mask_strings

    identifier = pc.is_in(fields.cast(pa.string()), value_set=pa.array(["id_number", "legal_rep_id_number", "phone"]))
    rows = pc.and_(pc.fill_null(identifier, False), values.is_valid())
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if not pc.any(rows).as_py():
        return values
    return pc.replace_with_mask(values, rows, mask_strings(values.filter(rows)))
