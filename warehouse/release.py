"""Publishing golden library releases: all tables commit, then the registry records release N.

The resolver calls :func:`publish_release`. Each table is upserted on its key (warehouse/schema.py KEYS)
so a release rewrites only files holding changed rows and the change data feed holds only those rows.
Rows are compared by hash against the previous release's row-hash digest (warehouse/rowhash.py), so the
previous release is read back only when that digest is missing or to derive ``changes``. A
crash at any point leaves release N-1 current: Delta commits made before the registry file appears are
not part of any release and are simply superseded by the next publish.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from warehouse.layout import golden_key, publish_lock
from warehouse.registry import (
    Release,
    TableVersion,
    current_release,
    data_files,
    get_release,
    hash_files,
    read_table,
    record_release,
)
from warehouse.schema import ENTITY_TABLES, GOLDEN_TABLES, KEYS, conform
from zhiwang.errors import UserError
from zhiwang.settings import Settings

if TYPE_CHECKING:
    from catalog.models import Catalog

_checkpoint_hook: Callable[[str], None] | None = None
"""Tests set this to fail or stall a publish at a named step (see CRASH_POINTS)."""

CRASH_POINTS: tuple[str, ...] = (
    "start", "validated",
    *(f"{when}:{name}" for name in GOLDEN_TABLES for when in ("before_write", "after_write")),
    "hashed", "before_record",
)


def _checkpoint(step: str) -> None:
    if _checkpoint_hook is not None:
        _checkpoint_hook(step)


def publish_release(settings: Settings, catalog: Catalog, tables: dict[str, pa.Table], *, note: str = "",
                    build_mirrors: bool = True) -> Release:
    """Publish ``tables`` (keys: person, legal_entity, building, xref, links and optionally changes) as the
    next release, then (by default) rebuild every district's mirror from it.

    ``changes`` may be omitted: it is then derived by comparing with the current release. Raises UserError
    for a table that does not match warehouse/schema.py.
    """
    missing = [name for name in GOLDEN_TABLES if name != "changes" and name not in tables]
    unknown = [name for name in tables if name not in GOLDEN_TABLES]
    if missing or unknown:
        raise UserError(f"publish_release: missing tables {missing or '-'}, unknown tables {unknown or '-'}; "
                        f"hand over {', '.join(GOLDEN_TABLES)} (changes optional).")
    release, conformed, deltas = _publish(settings, dict(tables), note=note, rollback_of=None)
    if build_mirrors:
        from warehouse.mirror import build_mirrors as build

        build(settings, catalog, release.number, golden={name: conformed[name] for name in ENTITY_TABLES},
              changed={name: deltas[name] for name in ENTITY_TABLES if name in deltas} if deltas else None)
    return release


def rollback(settings: Settings, catalog: Catalog, number: int, *, build_mirrors: bool = True) -> Release:
    """Make release ``number``'s content current again as a new release; no history is removed."""
    target = get_release(settings, number)
    tables = {name: read_table(settings, name, target.number) for name in GOLDEN_TABLES if name != "changes"}
    release, _, _ = _publish(settings, tables, note=f"rollback to release {number}", rollback_of=number)
    if build_mirrors:
        from warehouse.mirror import build_mirrors as build

        build(settings, catalog, release.number)
    return release


def _publish(settings: Settings, tables: dict[str, pa.Table], *, note: str,
             rollback_of: int | None) -> tuple[Release, dict[str, pa.Table], dict[str, pa.Table]]:
    """Publish ``tables`` as the next release; also return them conformed and, per table, its row delta
    against the previous release (empty when there was none)."""
    from warehouse.diff import row_delta, row_hashes
    from warehouse.rowhash import make_digest, read_digest
    from warehouse.storage import storage_for

    storage = storage_for(settings)
    with publish_lock(settings):
        _checkpoint("start")
        previous = current_release(settings)
        number = previous.number + 1 if previous else 1
        conformed = {name: conform(name, table, release=number) for name, table in tables.items()}
        derive = "changes" not in conformed
        # Hashed only when there is a release to diff against: the first publish of a city stays a plain
        # write, and each later one leaves the digest the next one diffs against.
        hashes = {n: row_hashes(conformed[n], KEYS[n]) for n in DIGESTED if previous and n in previous.tables}
        # One diff per table against release N-1, on row hashes: it drives both the derived changes and the
        # upserts (which recompute only if a crashed publish committed on top of N-1 meanwhile). Release N-1
        # is read back only where its digest is missing, or to classify changed entities (derived changes).
        old: dict[str, pa.Table] = {}
        deltas: dict[str, pa.Table] = {}
        for n in DIGESTED:
            if previous is None or n not in previous.tables:
                continue
            digest = read_digest(storage, n, previous.tables[n].version, KEYS[n])
            if digest is None or (derive and n in (*ENTITY_TABLES, "xref")):
                old[n] = read_table(settings, n, previous.number)
            deltas[n] = row_delta(conformed[n], old.get(n), KEYS[n], hashes[n], old_digest=digest)
        if derive:
            from warehouse.diff import derive_changes

            conformed["changes"] = conform("changes", derive_changes(conformed, old or None, deltas), release=number)
        _checkpoint("validated")
        versions: dict[str, int] = {}
        for name in GOLDEN_TABLES:
            _checkpoint(f"before_write:{name}")
            known = (previous.tables[name].version, old.get(name)) if previous and name in deltas else None
            versions[name] = _write_table(settings, name, conformed[name], number, known, deltas.get(name))
            if name in hashes:
                _save_digest(storage, name, versions[name], make_digest(conformed[name], KEYS[name], hashes[name]))
            _checkpoint(f"after_write:{name}")
        table_versions = _describe_versions(settings, versions, previous)
        _checkpoint("hashed")
        release = Release(number=number, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                          tables=table_versions, note=note, rollback_of=rollback_of)
        _checkpoint("before_record")
        record_release(settings, release)  # the commit point
        _checkpoint("recorded")  # a crash from here on leaves release N complete and current
        return release, conformed, deltas


DIGESTED: tuple[str, ...] = (*ENTITY_TABLES, "xref", "links")
"""Tables published whole, whose versions get a row-hash digest (``changes`` is written per release)."""


def _save_digest(storage: Any, name: str, version: int, digest: pa.Table) -> None:
    from warehouse.rowhash import write_digest

    try:
        write_digest(storage, name, version, digest)
    except OSError:
        pass  # derived data: without it the next publish reads the table back instead


def _write_table(settings: Settings, name: str, table: pa.Table, number: int, known: tuple[int, pa.Table | None] | None,
                 delta: pa.Table | None = None) -> int:
    """Make the Delta table hold exactly ``table`` (for ``changes``: this release's rows) and return its version."""
    import pyarrow.compute as pc

    from warehouse.delta_io import upsert_table
    from warehouse.storage import storage_for

    storage = storage_for(settings)
    scope = pc.field("release") == number if name == "changes" else None
    return upsert_table(storage.uri(golden_key(name)), table, KEYS[name], {"zhiwang.release": str(number)}, scope, known,
                        storage_options=storage.storage_options, delta=delta,
                        method="delete_append")


def _describe_versions(settings: Settings, versions: dict[str, int], previous: Release | None) -> dict[str, TableVersion]:
    from deltalake import DeltaTable

    from warehouse.storage import storage_for

    storage = storage_for(settings)
    out = {}
    for name, version in versions.items():
        key = golden_key(name)
        dt = DeltaTable(storage.uri(key), version=version, storage_options=storage.storage_options)
        known = previous.tables[name].files if previous and name in previous.tables else {}
        out[name] = TableVersion(version=version, rows=dt.count(), files=hash_files(storage, key, data_files(dt), known))
    return out
