"""The release registry: which Delta version of each golden table makes up release N.

A release is one JSON file ``golden/_registry/releases/N.json`` below the warehouse root, written whole
and exclusively (locally: tmp file, fsync, hard link; on an object store: a conditional put). Its
appearance is the commit point of a publish; the current release is the highest N present. Readers
resolve every table through a release, never through the Delta table's latest version, so they see
release N or N+1 and never a mix (a crashed publish may leave Delta commits no release points to).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.layout import REGISTRY_KEY, golden_key
from warehouse.storage import Storage, storage_for
from zhiwang.errors import UserError
from zhiwang.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable


@dataclass(frozen=True)
class TableVersion:
    version: int
    rows: int
    files: dict[str, str] = field(default_factory=dict)
    """data file path (relative to the table) → sha256 of its bytes."""


@dataclass(frozen=True)
class Release:
    number: int
    created_at: str
    tables: dict[str, TableVersion]
    note: str = ""
    rollback_of: int | None = None
    """Set when this release re-publishes an older one (``release rollback``)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Release:
        tables = {name: TableVersion(**tv) for name, tv in data["tables"].items()}
        return Release(number=data["number"], created_at=data["created_at"], tables=tables,
                       note=data.get("note", ""), rollback_of=data.get("rollback_of"))

    def summary(self) -> dict[str, Any]:
        """The release without per-file hashes, for listings."""
        return {"release": self.number, "created_at": self.created_at, "note": self.note, "rollback_of": self.rollback_of,
                "tables": {n: {"version": t.version, "rows": t.rows, "files": len(t.files)} for n, t in self.tables.items()}}


def _load(storage: Storage, key: str) -> Release:
    import json

    return Release.from_json(json.loads(storage.read_bytes(key)))


def list_releases(settings: Settings) -> list[Release]:
    storage = storage_for(settings)
    return [_load(storage, key) for key in storage.numbered_json(REGISTRY_KEY).values()]


def current_release(settings: Settings) -> Release | None:
    storage = storage_for(settings)
    keys = storage.numbered_json(REGISTRY_KEY)
    return _load(storage, keys[max(keys)]) if keys else None


def get_release(settings: Settings, number: int | None = None) -> Release:
    """Release ``number``, or the current one; a UserError says which releases exist."""
    storage = storage_for(settings)
    keys = storage.numbered_json(REGISTRY_KEY)
    if not keys:
        raise UserError(f"No golden release under {storage.uri(REGISTRY_KEY)} yet. Run `zhiwang publish` first.")
    if number is None:
        return _load(storage, keys[max(keys)])
    if number not in keys:
        raise UserError(f"No release {number} in {storage.uri(REGISTRY_KEY)}; releases are {min(keys)}..{max(keys)}.")
    return _load(storage, keys[number])


def record_release(settings: Settings, release: Release) -> str:
    """Write release ``release``'s record: the commit point of a publish. Returns its URI."""
    storage = storage_for(settings)
    key = f"{REGISTRY_KEY}/{release.number}.json"
    try:
        # no separate existence check: the exclusive write is the check, also against a publisher elsewhere
        storage.put_json_once(key, release.to_json())
    except FileExistsError:
        raise UserError(f"Release {release.number} already exists at {storage.uri(key)}: releases are immutable. "
                        "If another publisher recorded it meanwhile, publish again on top of it.") from None
    return storage.uri(key)


def table_at(settings: Settings, table: str, release: int | None = None) -> DeltaTable:
    """The Delta table ``table`` exactly as release ``release`` (default: current) recorded it."""
    from deltalake import DeltaTable

    rel = get_release(settings, release)
    if table not in rel.tables:
        raise UserError(f"Release {rel.number} has no table {table!r}; it has {', '.join(rel.tables)}.")
    storage = storage_for(settings)
    return DeltaTable(storage.uri(golden_key(table)), version=rel.tables[table].version,
                      storage_options=storage.storage_options)


def read_table(settings: Settings, table: str, release: int | None = None, filter: Any = None,
               columns: list[str] | None = None) -> pa.Table:
    return dataset_at(settings, table, release).to_table(filter=filter, columns=columns)


def dataset_at(settings: Settings, table: str, release: int | None = None) -> Any:
    """A pyarrow dataset of ``table`` at ``release``, typed with our schema: files rewritten by a Delta merge
    carry string_view columns, on which pyarrow cannot evaluate filters."""
    from warehouse.schema import SCHEMAS

    return table_at(settings, table, release).to_pyarrow_dataset(schema=SCHEMAS.get(table))


def data_files(dt: DeltaTable) -> list[str]:
    """Paths (relative to the table) of the data files in ``dt``'s loaded version."""
    import pyarrow as pa

    return pa.table(dt.get_add_actions(flatten=True)).column("path").to_pylist()


def hash_files(storage: Storage, table_key: str, files: list[str], known: dict[str, str]) -> dict[str, str]:
    """sha256 per data file; files already hashed by an earlier release are immutable, so reuse those."""
    return {name: known.get(name) or storage.sha256(f"{table_key}/{name}") for name in sorted(files)}


def verify_release(settings: Settings, number: int | None = None) -> list[str]:
    """Problems found re-hashing a release's data files (empty list = intact)."""
    from deltalake import DeltaTable

    rel = get_release(settings, number)
    storage = storage_for(settings)
    problems = []
    for name, tv in rel.tables.items():
        key = golden_key(name)
        listed = set(data_files(DeltaTable(storage.uri(key), version=tv.version, storage_options=storage.storage_options)))
        if listed != set(tv.files):
            problems.append(f"{name} v{tv.version}: Delta lists {len(listed)} files, release {rel.number} recorded {len(tv.files)}")
        for file, digest in tv.files.items():
            target = f"{key}/{file}"
            if not storage.exists(target):
                problems.append(f"{name}: {file} is missing")
            elif storage.sha256(target) != digest:
                problems.append(f"{name}: {file} changed (sha256 differs from release {rel.number})")
    return problems
