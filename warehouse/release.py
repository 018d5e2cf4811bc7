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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Rebuilt:
    """What an incremental resolve tells the publish about one entity table: only the rows of ``golden_ids``
    may differ from release ``since``; every other row is that release's row, carried over as it was.
    ``before``: release ``since``'s rows of those IDs (as handed to its publish; fewer when some are new)."""

    since: int
    golden_ids: pa.Array
    before: pa.Table


@dataclass(frozen=True)
class Published:
    """A release just published, with what its publish computed on the way."""

    release: Release
    tables: dict[str, pa.Table]
    """The tables as published (conformed to warehouse/schema.py)."""
    deltas: dict[str, pa.Table]
    """Per table, its row delta against the release before (warehouse.diff.row_delta; empty at the first)."""

    def build_mirrors(self, settings: Settings, catalog: Catalog) -> None:
        """Every district's mirror of this release, from the tables and deltas at hand (nothing read back)."""
        from warehouse.mirror import build_mirrors as build

        build(settings, catalog, self.release.number, golden={name: self.tables[name] for name in ENTITY_TABLES},
              changed={name: self.deltas[name] for name in ENTITY_TABLES if name in self.deltas} if self.deltas else None)


def publish_release(settings: Settings, catalog: Catalog, tables: dict[str, pa.Table], *, note: str = "",
                    build_mirrors: bool = True, rebuilt: dict[str, Rebuilt] | None = None) -> Release:
    """Publish ``tables`` (keys: person, legal_entity, building, xref, links and optionally changes) as the
    next release, then (by default) rebuild every district's mirror from it.

    ``changes`` may be omitted: it is then derived by comparing with the current release. ``rebuilt``: per
    entity table, the rows an incremental resolve may have changed (see :class:`Rebuilt`); the table is then
    diffed on those rows only, a million-row table in a fraction of a second instead of seconds. A hint made
    on another release than the current one is ignored. Raises UserError for a table that does not match
    warehouse/schema.py.
    """
    published = publish(settings, tables, note=note, rebuilt=rebuilt)
    if build_mirrors:
        published.build_mirrors(settings, catalog)
    return published.release


def publish(settings: Settings, tables: dict[str, pa.Table], *, note: str = "",
            rebuilt: dict[str, Rebuilt] | None = None) -> Published:
    """:func:`publish_release` without the mirrors: a caller that builds them later (after other work in
    the same process) keeps the :class:`Published` result for it."""
    missing = [name for name in GOLDEN_TABLES if name != "changes" and name not in tables]
    unknown = [name for name in tables if name not in GOLDEN_TABLES]
    if missing or unknown:
        raise UserError(f"publish_release: missing tables {missing or '-'}, unknown tables {unknown or '-'}; "
                        f"hand over {', '.join(GOLDEN_TABLES)} (changes optional).")
    release, conformed, deltas = _publish(settings, dict(tables), note=note, rollback_of=None, rebuilt=rebuilt)
    return Published(release, conformed, deltas)


def rollback(settings: Settings, catalog: Catalog, number: int, *, build_mirrors: bool = True) -> Release:
    """Make release ``number``'s content current again as a new release; no history is removed."""
    target = get_release(settings, number)
    tables = {name: read_table(settings, name, target.number) for name in GOLDEN_TABLES if name != "changes"}
    release, _, _ = _publish(settings, tables, note=f"rollback to release {number}", rollback_of=number)
    if build_mirrors:
        from warehouse.mirror import build_mirrors as build

        build(settings, catalog, release.number)
    return release


def _publish(settings: Settings, tables: dict[str, pa.Table], *, note: str, rollback_of: int | None,
             rebuilt: dict[str, Rebuilt] | None = None) -> tuple[Release, dict[str, pa.Table], dict[str, pa.Table]]:
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
        hints = {n: h for n, h in (rebuilt or {}).items()
                 if previous is not None and h.since == previous.number and n in previous.tables and not derive}
        # One diff per table against release N-1, on row hashes: it drives both the derived changes and the
        # upserts (which recompute only if a crashed publish committed on top of N-1 meanwhile). Release N-1
        # is read back only where its digest is missing, or to classify changed entities (derived changes).
        # Each publish leaves a digest (keys + row hashes) the next one diffs against. The first publish
        # hashes only the tables without map columns (a million-person table's provenance maps take seconds
        # to hash; its next publish gets the resolve's hint instead, or reads it back).
        old: dict[str, pa.Table] = {}
        deltas: dict[str, pa.Table] = {}
        digests: dict[str, pa.Table] = {}
        for n in DIGESTED:
            if previous is None or n not in previous.tables:
                if not any(pa.types.is_map(f.type) for f in conformed[n].schema):
                    digests[n] = make_digest(conformed[n], KEYS[n], row_hashes(conformed[n], KEYS[n]))
                continue
            digest = read_digest(storage, n, previous.tables[n].version, KEYS[n])
            if n in hints:
                deltas[n], digests[n] = _hinted_delta(n, conformed[n], hints[n], digest)
                if digests[n] is None:
                    del digests[n]
                continue
            hashes = row_hashes(conformed[n], KEYS[n])
            if digest is None or (derive and n in (*ENTITY_TABLES, "xref")):
                old[n] = read_table(settings, n, previous.number)
            deltas[n] = row_delta(conformed[n], old.get(n), KEYS[n], hashes, old_digest=digest)
            digests[n] = make_digest(conformed[n], KEYS[n], hashes)
        if derive:
            from warehouse.diff import derive_changes

            conformed["changes"] = conform("changes", derive_changes(conformed, old or None, deltas), release=number)
        _checkpoint("validated")
        versions: dict[str, int] = {}
        for name in GOLDEN_TABLES:
            _checkpoint(f"before_write:{name}")
            known = (previous.tables[name].version, old.get(name)) if previous and name in deltas else None
            versions[name] = _write_table(settings, name, conformed[name], number, known, deltas.get(name))
            if name in digests:
                _save_digest(storage, name, versions[name], digests[name])
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


def _hinted_delta(name: str, table: pa.Table, hint: Rebuilt, digest: pa.Table | None) -> tuple[pa.Table, pa.Table | None]:
    """The row delta of ``table`` against release ``hint.since``, comparing only the rows ``hint`` names (the
    others are that release's rows), and the new digest patched from ``digest`` (None without one)."""
    import pyarrow.compute as pc

    from warehouse.diff import row_delta, row_hashes
    from warehouse.rowhash import make_digest

    key = KEYS[name][0]
    ids = hint.golden_ids.cast(table.schema.field(key).type)
    # filtered in table order: the delta lists its rows in the order a whole-table diff gives
    rows = table.filter(pc.is_in(table.column(key), value_set=ids))
    hashes = row_hashes(rows, KEYS[name])
    delta = row_delta(rows, conform(name, hint.before), KEYS[name], hashes)
    if digest is None:
        return delta, None
    kept = digest.filter(pc.invert(pc.is_in(digest.column(key), value_set=ids)))
    return delta, pa.concat_tables([kept, make_digest(rows, KEYS[name], hashes).cast(digest.schema)])


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
