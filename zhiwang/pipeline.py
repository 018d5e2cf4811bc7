"""The whole chain once, in order: ingest → (resolve → publish → mirrors as those stages land).

Each stage is a plain function the CLI and the Airflow tasks both call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from catalog.models import Catalog
from connectors.state import DeliveryRecord
from zhiwang.settings import Settings


@dataclass
class RunSummary:
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    """Stage name → wall seconds."""
    extra: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "rows_staged", "rows_quarantined", "rows_unchanged")
        return {k: sum(getattr(d, k) for d in self.deliveries) for k in keys}


Progress = Callable[[list[str]], Iterable[str]]
"""Wraps the resource ids being ingested, e.g. in a progress bar."""


def ingest_all(settings: Settings, catalog: Catalog, resource_ids: list[str] | None = None,
               on_delivery: Callable[[DeliveryRecord], None] | None = None,
               progress: Progress | None = None) -> list[DeliveryRecord]:
    from connectors.runner import ingest_resource

    ids = resource_ids or sorted(catalog.resources)
    for rid in ids:
        catalog.resource(rid)  # unknown ids fail before anything is ingested
    records: list[DeliveryRecord] = []
    for rid in progress(ids) if progress else ids:
        records += ingest_resource(rid, settings=settings, catalog=catalog, on_delivery=on_delivery)
    return records


def run_all(settings: Settings, catalog: Catalog, on_delivery: Callable[[DeliveryRecord], None] | None = None,
            progress: Progress | None = None) -> RunSummary:
    from zhiwang.metering import stage

    summary = RunSummary()
    with stage("ingest") as ingest:
        summary.deliveries = ingest_all(settings, catalog, on_delivery=on_delivery, progress=progress)
        ingest.rows = summary.totals()["rows_read"]
    summary.stages["ingest"] = ingest.seconds
    from warehouse.registry import current_release

    current = current_release(settings)
    if current is not None and not any(d.status == "staged" and d.rows_staged for d in summary.deliveries):
        # nothing new was accepted: the current release still holds (`zhiwang publish` forces a new one)
        summary.extra["release"] = None
        summary.extra["unchanged_release"] = current.number
        return summary
    outcome = resolve_and_publish(settings, catalog)
    summary.stages.update(outcome.timings)
    summary.extra["release"] = outcome.release
    summary.extra["entities"] = outcome.counts
    return summary


def resolve_and_publish(settings: Settings, catalog: Catalog):  # noqa: ANN201 - ResolveOutcome
    """Resolve → survive → links → publish a release → district mirrors."""
    from entity_resolution.pipeline import resolve_and_publish as run

    return run(settings, catalog)


def run_through_airflow(settings: Settings, catalog: Catalog, delivery: int) -> RunSummary:
    """The same chain, run by the Airflow DAGs (dag.test in a child process); the summary is read back from
    the ledger and the release registry."""
    import time

    from connectors.state import StateStore
    from warehouse.registry import current_release
    from zhiwang.airflow_support.chain import run_chain

    before = {d.batch_id for d in StateStore(settings.state_db).deliveries()}
    start = time.perf_counter()
    result = run_chain(settings, f"2026-{8 + delivery:02d}-02")
    summary = RunSummary()
    summary.stages["airflow"] = time.perf_counter() - start
    summary.deliveries = [d for d in StateStore(settings.state_db).deliveries() if d.batch_id not in before]
    failed = {dag: state for dag, state in result["dags"].items() if state != "success"}
    if failed:
        from zhiwang.errors import ZhiwangError

        raise ZhiwangError(f"Airflow DAG runs did not succeed: {failed}; see {settings.home / 'airflow' / 'logs'}")
    release = current_release(settings)
    if not result.get("staged") and release is not None:
        summary.extra["release"] = None
        summary.extra["unchanged_release"] = release.number
        summary.extra["dags"] = result["dags"]
        return summary
    summary.extra["release"] = release.number if release else None
    summary.extra["entities"] = _release_counts(settings, release.number) if release else {}
    summary.extra["dags"] = result["dags"]
    return summary


def _release_counts(settings: Settings, number: int) -> dict[str, Any]:
    import pyarrow.compute as pc

    from warehouse.registry import read_table

    counts: dict[str, Any] = {}
    for entity in ("person", "legal_entity", "building"):
        table = read_table(settings, entity, number)
        counts[entity] = {"golden_active": int(pc.sum(pc.equal(table.column("status"), "active")).as_py() or 0)}
    counts["links"] = read_table(settings, "links", number).num_rows
    # the correction loop's files of this release (one CSV per provider, header line excluded)
    files = settings.feedback.glob(f"*/disagreements_release{number}.csv")
    counts["disagreements"] = sum(max(0, len(f.read_text(encoding="utf-8-sig").splitlines()) - 1) for f in files)
    return counts
