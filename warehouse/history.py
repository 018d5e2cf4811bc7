"""Looking up one golden record: as of a release, and its values over all releases with provenance."""

from __future__ import annotations

from typing import Any

from catalog.canonical import GOLDEN_ID_PREFIX
from warehouse.registry import dataset_at, get_release, list_releases
from zhiwang.errors import UserError
from zhiwang.settings import Settings

_BY_PREFIX = {prefix: entity for entity, prefix in GOLDEN_ID_PREFIX.items()}


def entity_of(golden_id: str) -> str:
    entity = _BY_PREFIX.get(golden_id[:1])
    if entity is None:
        raise UserError(f"{golden_id!r} is not a golden ID: golden IDs start with P (person), E (legal entity) or B (building).")
    return entity


def _row_at(settings: Settings, entity: str, golden_id: str, release: int) -> dict[str, Any] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    # Filtered after reading, not in the scan: files a Delta merge rewrote carry string_view statistics,
    # on which pyarrow's scan-time filter fails.
    dataset = dataset_at(settings, entity, release)
    parts = [b.filter(pc.equal(b.column("golden_id"), golden_id)) for b in dataset.to_batches()]
    rows = pa.Table.from_batches([p for p in parts if p.num_rows], schema=dataset.schema)
    if rows.num_rows == 0:
        return None
    row = rows.slice(0, 1).to_pylist()[0]
    row["provenance"] = dict(row["provenance"] or [])
    return row


def show(settings: Settings, golden_id: str, release: int | None = None) -> dict[str, Any]:
    """The golden record ``golden_id`` as release ``release`` (default: current) has it."""
    entity = entity_of(golden_id)
    rel = get_release(settings, release)
    row = _row_at(settings, entity, golden_id, rel.number)
    if row is None:
        raise UserError(f"No {entity} {golden_id} in release {rel.number}. `zhiwang golden history {golden_id}` shows "
                        "whether it existed in another release.")
    return {"release": rel.number, "entity": entity, "record": row}


def history(settings: Settings, golden_id: str) -> list[dict[str, Any]]:
    """One entry per release in which ``golden_id`` appeared, changed or disappeared: the fields that
    changed, each with its new value and provenance (resource, record key, delivery)."""
    entity = entity_of(golden_id)
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    cache: dict[int, dict[str, Any] | None] = {}
    for rel in list_releases(settings):
        version = rel.tables[entity].version
        if version not in cache:  # releases that did not touch the table share its version
            cache[version] = _row_at(settings, entity, golden_id, rel.number)
        row = cache[version]
        if row == previous:
            continue
        if row is None:
            out.append({"release": rel.number, "created_at": rel.created_at, "event": "absent", "changes": {}})
        else:
            fields = [k for k in row if k not in ("golden_id", "provenance") and (previous is None or previous.get(k) != row[k])]
            changes = {k: {"value": row[k], "provenance": row["provenance"].get(k)} for k in fields}
            event = "appeared" if previous is None else "changed"
            out.append({"release": rel.number, "created_at": rel.created_at, "event": event, "status": row["status"], "changes": changes})
        previous = row
    if not out:
        raise UserError(f"{golden_id} is in no release of the golden library.")
    return out
