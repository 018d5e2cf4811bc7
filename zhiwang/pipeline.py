"""The whole chain once, in order: ingest → (resolve → publish → mirrors as those stages land).

Each stage is a plain function the CLI and the Airflow tasks both call.
"""

from __future__ import annotations

from collections.abc import Callable
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
        keys = ("rows_read", "rows_staged", "rows_quarantined")
        return {k: sum(getattr(d, k) for d in self.deliveries) for k in keys}


def ingest_all(settings: Settings, catalog: Catalog, resource_ids: list[str] | None = None,
               on_delivery: Callable[[DeliveryRecord], None] | None = None) -> list[DeliveryRecord]:
    from connectors.runner import ingest_resource

    ids = resource_ids or sorted(catalog.resources)
    for rid in ids:
        catalog.resource(rid)  # unknown ids fail before anything is ingested
    records: list[DeliveryRecord] = []
    for rid in ids:
        records += ingest_resource(rid, settings=settings, catalog=catalog, on_delivery=on_delivery)
    return records


def run_all(settings: Settings, catalog: Catalog, on_delivery: Callable[[DeliveryRecord], None] | None = None) -> RunSummary:
    import time

    summary = RunSummary()
    start = time.perf_counter()
    summary.deliveries = ingest_all(settings, catalog, on_delivery=on_delivery)
    summary.stages["ingest"] = time.perf_counter() - start
    outcome = resolve_and_publish(settings, catalog)
    summary.stages.update(outcome.timings)
    summary.extra["release"] = outcome.release
    summary.extra["entities"] = outcome.counts
    return summary


def resolve_and_publish(settings: Settings, catalog: Catalog):  # noqa: ANN201 - ResolveOutcome
    """Resolve → survive → links → publish a release → district mirrors."""
    from entity_resolution.pipeline import resolve_and_publish as run

    return run(settings, catalog)
