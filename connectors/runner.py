"""Ingest: connector → landing → staging → quality gate, one delivery at a time, every row accounted for.

Per delivery the ledger (``state.sqlite``) records rows_read = rows_staged + rows_quarantined + rows_unchanged
(+ rows held for a steward); rows unchanged since their record's last accepted delivery are not validated or
staged again (``connectors/snapshot.py``). A delivery is first recorded as ``landed``; if the process dies before it is staged, the
next ingest of the resource picks the landed file up again, so nothing is lost and nothing ingested twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from catalog.models import Catalog, Resource
from connectors import snapshot
from connectors.base import ConnectorContext, Delivery, Landed, Window
from connectors.formats import UnreadableFileError
from connectors.registry import get_connector_class, parse_source
from connectors.staging import DeliveryRejected, MapResult, map_delivery
from connectors.state import DeliveryRecord, StateStore
from quality.quarantine import QuarantineWriter
from zhiwang.settings import Settings, get_settings

OnDelivery = Callable[[DeliveryRecord], None]


def ingest_resource(resource_id: str, window_start: datetime | None = None, window_end: datetime | None = None, *,
                    settings: Settings | None = None, catalog: Catalog | None = None,
                    on_delivery: OnDelivery | None = None) -> list[DeliveryRecord]:
    """Ingest every delivery waiting for ``resource_id`` in the window; return one record per delivery."""
    settings = settings or get_settings()
    if catalog is None:
        from zhiwang.validation import load_valid_catalog

        catalog = load_valid_catalog(settings.catalog_dir)
    resource = catalog.resource(resource_id)
    state = StateStore(settings.state_db)
    records: list[DeliveryRecord] = []

    def done(rec: DeliveryRecord) -> None:
        records.append(rec)
        if on_delivery:
            on_delivery(rec)

    for pending in state.deliveries(resource.id, status="landed"):  # resume what a crash left behind
        landed = _landed_from_record(pending)
        if landed is not None:
            done(_stage(resource, catalog, settings, state, landed, pending.batch_id, None))
        else:  # never leave a delivery silently half-done: say it is gone and how to recover
            pending.status = "rejected"
            pending.message = (f"the landed copy {pending.landed_path} disappeared before staging; nothing from "
                               f"{pending.file} was staged. Ask {resource.provider} to deliver the file again.")
            state.record(pending)
            done(pending)

    context = ConnectorContext(resource=resource, settings=settings, state=state)
    connector_cls = get_connector_class(resource.source.connector)
    connector = connector_cls(parse_source(resource), context)
    for delivery in connector.deliveries(Window(window_start, window_end)):
        done(_ingest_delivery(resource, catalog, settings, state, delivery))
    return records


def _ingest_delivery(resource: Resource, catalog: Catalog, settings: Settings, state: StateStore,
                     delivery: Delivery) -> DeliveryRecord:
    fingerprint = delivery.fingerprint()
    if fingerprint and (earlier := state.seen_sha256(resource.id, fingerprint)):
        return _skip(resource, state, delivery, fingerprint, earlier)
    try:
        landed = delivery.land(settings.landing / resource.id, uuid.uuid4().hex[:12])
    except UnreadableFileError as exc:  # refused before landing (symlink, unsupported type): already set aside
        delivery.reject(None, str(exc))
        rec = DeliveryRecord(
            resource=resource.id, provider=resource.provider, batch_id=f"{resource.id}-refused-{uuid.uuid4().hex[:8]}",
            file=delivery.source_name, sha256=fingerprint, rows_read=0, rows_staged=0, rows_quarantined=0,
            status="rejected", message=str(exc), ingested_at=_now(),
        )
        state.record(rec)
        return rec
    if fingerprint is None and (earlier := state.seen_sha256(resource.id, landed.sha256)):
        # a pull that brought nothing new lands as the same bytes as before
        return _skip(resource, state, delivery, landed.sha256, earlier)
    batch_id = f"{resource.id}-{landed.sha256[:12]}"
    state.record(DeliveryRecord(
        resource=resource.id, provider=resource.provider, batch_id=batch_id, file=landed.source_name,
        sha256=landed.sha256, landed_path=str(landed.path), rows_read=0, rows_staged=0, rows_quarantined=0,
        status="landed", delivered_at=landed.delivered_at.isoformat(), ingested_at=_now(),
        landed_meta=_landed_meta(landed),
    ))
    return _stage(resource, catalog, settings, state, landed, batch_id, delivery)


def _skip(resource: Resource, state: StateStore, delivery: Delivery, sha: str, earlier: DeliveryRecord) -> DeliveryRecord:
    message = (f"already ingested as batch {earlier.batch_id} (file {earlier.file}, {earlier.ingested_at}); "
               "the identical file was not ingested again")
    delivery.skip(message)
    rec = DeliveryRecord(
        resource=resource.id, provider=resource.provider, batch_id=f"{earlier.batch_id}~dup{uuid.uuid4().hex[:6]}",
        file=delivery.source_name, sha256=sha, rows_read=0, rows_staged=0, rows_quarantined=0,
        status="skipped", message=message, ingested_at=_now(),
    )
    state.record(rec)
    return rec


def _stage(resource: Resource, catalog: Catalog, settings: Settings, state: StateStore, landed: Landed,
           batch_id: str, delivery: Delivery | None) -> DeliveryRecord:
    from quality.gate import GateResult, run_gate

    mapped_path = snapshot.mapped_file(settings.staging, resource.id, batch_id)
    accepted_path = snapshot.staged_file(settings.staging, resource.id, batch_id)
    rec = DeliveryRecord(
        resource=resource.id, provider=resource.provider, batch_id=batch_id, file=landed.source_name,
        sha256=landed.sha256, landed_path=str(landed.path), rows_read=0, rows_staged=0, rows_quarantined=0,
        status="rejected", delivered_at=landed.delivered_at.isoformat(), ingested_at=_now(),
        landed_meta=_landed_meta(landed),
    )
    previous = _previous_rows(state, resource.id, batch_id)
    staged_batches = [d.batch_id for d in state.deliveries(resource.id, status="staged") if d.batch_id != batch_id]
    index = snapshot.load_index(settings.staging, resource, staged_batches)
    held = [d.batch_id for d in state.deliveries(resource.id, status="held") if d.batch_id != batch_id]

    def map_and_gate(skip_from: snapshot.SnapshotIndex | None) -> tuple[QuarantineWriter, MapResult, GateResult]:
        quarantine = QuarantineWriter(settings.quarantine, resource.id, batch_id)
        with snapshot.DeliveryDiff(settings.staging, resource, skip_from, batch_id, held) as diff:
            mapped = map_delivery(resource, landed, batch_id, mapped_path, quarantine, diff)
        gate = run_gate(
            resource=resource, catalog=catalog, settings=settings, batch_id=batch_id, source_name=landed.source_name,
            mapped_path=mapped_path, quarantine=quarantine, previous_rows=previous, accepted_path=accepted_path,
            rows_unchanged=mapped.rows_unchanged, duplicates=mapped.duplicates,
        )
        return quarantine, mapped, gate

    try:
        quarantine, mapped, gate = map_and_gate(index if snapshot.diff_enabled() else None)
        if gate.status == "held" and mapped.rows_unchanged:
            # a held delivery waits for `zhiwang quality release`, which judges its mapped file whole: map it
            # again without skipping (rare: a collapse in row count, so reading twice is acceptable)
            quarantine, mapped, gate = map_and_gate(None)
    except (UnreadableFileError, DeliveryRejected) as exc:
        return _reject_whole(resource, catalog, settings, state, landed, delivery, rec, str(exc), mapped_path)

    if gate.status == "rejected":
        return _reject_whole(resource, catalog, settings, state, landed, delivery, rec,
                             gate.message or "rejected by the quality gate", mapped_path)
    quarantine.write()
    rec.rows_read = mapped.rows_read
    rec.rows_quarantined = len(quarantine)
    rec.rows_staged = gate.rows_accepted
    rec.rows_unchanged = gate.rows_unchanged
    rec.rows_warned = gate.rows_warned
    rec.status = gate.status
    rec.staged_path = str(gate.accepted_path) if gate.accepted_path else None
    notes = list(mapped.notes) + ([gate.message] if gate.message else []) + ([index.note] if index.note else [])
    if gate.rows_unchanged:
        notes.append(f"{gate.rows_unchanged} row(s) unchanged since the last delivery: accepted then, not validated "
                     "or staged again")
    rec.message = "; ".join(notes) or None
    _check_reconciled(rec, mapped.rows_mapped, gate.rows_quarantined)
    if gate.status == "staged" and gate.accepted_path is not None:
        # before the ledger says "staged": a crash in between leaves an index naming a batch the ledger does
        # not count as staged, which the next delivery notices and ignores
        snapshot.update_index(settings.staging, resource, batch_id, index, mapped.hashes, gate.accepted_path,
                              [e["_record_key"] for e in quarantine.entries()], staged_batches)
        mapped_path.unlink(missing_ok=True)  # a held delivery keeps it for `zhiwang quality release`
    state.record(rec)
    if delivery is not None:
        delivery.acknowledge()
    return rec


def _reject_whole(resource: Resource, catalog: Catalog, settings: Settings, state: StateStore, landed: Landed,
                  delivery: Delivery | None, rec: DeliveryRecord, message: str, mapped_path: Path) -> DeliveryRecord:
    """Nothing of a rejected delivery is staged or quarantined row by row: the whole file goes back to the
    department (``inbox/<resource>/_rejected/`` with the reason, and a feedback file), and counts are zero."""
    from quality.feedback import write_rejection_feedback

    mapped_path.unlink(missing_ok=True)
    (settings.quarantine / resource.id / f"{rec.batch_id}.parquet").unlink(missing_ok=True)
    rec.message = message
    rec.rows_read = rec.rows_staged = rec.rows_quarantined = 0
    write_rejection_feedback(settings=settings, resource=resource, catalog=catalog, batch_id=rec.batch_id,
                             source_name=landed.source_name, message=message)
    state.record(rec)
    if delivery is not None:
        delivery.reject(landed, message)
    return rec


def _check_reconciled(rec: DeliveryRecord, rows_mapped: int, gate_quarantined: int) -> None:
    """rows_read = staged + quarantined + unchanged (+ held): a mismatch is a bug, never something to hide."""
    held = rows_mapped - gate_quarantined if rec.status == "held" else 0
    if rec.rows_read != rec.rows_staged + rec.rows_quarantined + rec.rows_unchanged + held:
        raise AssertionError(
            f"row counts do not reconcile for {rec.batch_id}: read {rec.rows_read}, staged {rec.rows_staged}, "
            f"quarantined {rec.rows_quarantined}, unchanged {rec.rows_unchanged}, held {held}"
        )


def _previous_rows(state: StateStore, resource_id: str, batch_id: str) -> int | None:
    earlier = [d for d in state.deliveries(resource_id, status="staged") if d.batch_id != batch_id]
    return earlier[-1].rows_read if earlier else None


def _landed_meta(landed: Landed) -> str:
    return json.dumps({"format": landed.format, "encoding": landed.encoding, "options": landed.options}, ensure_ascii=False)


def _landed_from_record(rec: DeliveryRecord) -> Landed | None:
    if not rec.landed_path or not Path(rec.landed_path).exists():
        return None
    meta = json.loads(rec.landed_meta or "{}")
    return Landed(
        path=Path(rec.landed_path), sha256=rec.sha256 or "", format=meta.get("format", "csv"),
        source_name=rec.file, delivered_at=datetime.fromisoformat(rec.delivered_at or _now()),
        encoding=meta.get("encoding"), options=meta.get("options") or {},
    )


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")
