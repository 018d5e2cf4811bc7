"""``zhiwang quality release BATCH_ID``: a steward accepts a held delivery after all.

The gate runs again on the delivery's mapped file without the row-drop check; the staging quarantine of
the delivery is taken back first, so the rewritten quarantine file holds staging's and the gate's rows, and
the ledger's counts reconcile: rows_read = rows_staged + rows_quarantined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.models import Catalog
from quality.gate import GateResult, apply_suite, schema_problems
from quality.quarantine import QuarantineWriter
from zhiwang.errors import UserError
from zhiwang.settings import Settings


def mapped_path(settings: Settings, resource_id: str, batch_id: str) -> Path:
    """Where the runner keeps a held delivery's mapped file (``connectors.runner`` writes it there)."""
    from connectors.snapshot import mapped_file

    return mapped_file(settings.staging, resource_id, batch_id)


def accepted_path(settings: Settings, resource_id: str, batch_id: str) -> Path:
    from connectors.snapshot import staged_file

    return staged_file(settings.staging, resource_id, batch_id)


def release(settings: Settings, catalog: Catalog, batch_id: str, steward: str | None = None) -> tuple[Any, GateResult]:
    """Release a held delivery; returns the updated ledger record and the gate's result."""
    import pyarrow.parquet as pq

    from connectors.state import StateStore

    state = StateStore(settings.state_db)
    rec = state.delivery(batch_id)
    if rec is None:
        held = ", ".join(d.batch_id for d in state.deliveries(status="held")) or "none"
        raise UserError(f"No delivery {batch_id!r} in the ledger {settings.state_db}. Held deliveries: {held}.")
    if rec.status != "held":
        raise UserError(f"Delivery {batch_id} (file {rec.file}) is {rec.status}, not held: only a held delivery can be "
                        "released. See `zhiwang quality scorecard` for the deliveries' states.")
    resource = catalog.resource(rec.resource)
    source = mapped_path(settings, resource.id, batch_id)
    if not source.exists():
        raise UserError(f"The held delivery {batch_id} (file {rec.file}) has no mapped file at {source}; ingest the "
                        f"file again with `zhiwang ingest {resource.id}` after removing it from the ledger.")
    problems = schema_problems(resource, pq.read_schema(source))
    if problems:  # the catalog changed since the hold
        raise UserError(f"Cannot release {batch_id} (file {rec.file}): " + "; ".join(problems))

    quarantine = QuarantineWriter(settings.quarantine, resource.id, batch_id)
    quarantine.load_existing()  # staging's quarantined rows of this delivery
    result = apply_suite(resource=resource, catalog=catalog, settings=settings, batch_id=batch_id,
                         source_name=rec.file, mapped_path=source, quarantine=quarantine,
                         accepted_path=accepted_path(settings, resource.id, batch_id))
    quarantine.write()
    rec.rows_staged = result.rows_accepted
    rec.rows_quarantined = len(quarantine)
    rec.rows_warned = result.rows_warned
    rec.status = result.status
    rec.staged_path = str(result.accepted_path) if result.accepted_path else None
    who = f" by {steward}" if steward else ""
    notes = [n for n in (rec.message or "").split("; ") if n and "held for a steward" not in n]
    rec.message = "; ".join([f"released{who} despite the row-count drop", *notes])
    if rec.rows_read != rec.rows_staged + rec.rows_quarantined:
        raise AssertionError(f"row counts do not reconcile for {batch_id} after release: read {rec.rows_read}, "
                             f"staged {rec.rows_staged}, quarantined {rec.rows_quarantined}")
    state.record(rec)
    source.unlink(missing_ok=True)
    return rec, result
