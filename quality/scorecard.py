"""Reading the outcome back: quarantine listings (with supersession), and the per-department scorecard.

Sources: the runner's delivery ledger (``connectors.state.StateStore``), the quarantine files, and the
accepted files' ``_warnings``. A quarantined row is *superseded* when a later delivery of the same resource
had a row with the same record key accepted: the department fixed it, so it no longer counts as open.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from quality.quarantine import quarantine_path
from zhiwang.settings import Settings

COUNTED = ("staged", "held", "rejected")
TREND = 5


def _ledger(settings: Settings) -> Any:
    from connectors.state import StateStore

    return StateStore(settings.state_db)


def ordered_deliveries(settings: Settings, resource_id: str | None = None) -> list[Any]:
    """Counted deliveries in the order they happened (ingested_at has seconds only: delivered_at breaks ties)."""
    items = [d for d in _ledger(settings).deliveries(resource_id) if d.status in COUNTED]
    return sorted(items, key=lambda d: (d.ingested_at or "", d.delivered_at or ""))


def _read(path: str | Path | None, columns: list[str]) -> list[dict[str, Any]]:
    if not path or not Path(path).exists():
        return []
    schema = pq.read_schema(path)
    return pq.read_table(path, columns=[c for c in columns if c in schema.names]).to_pylist()


def _accepted_keys(path: str | None) -> set[str]:
    if not path or not Path(path).exists() or "_record_key" not in pq.read_schema(path).names:
        return set()
    return set(pc.unique(pq.read_table(path, columns=["_record_key"])["_record_key"]).drop_null().to_pylist())


def quarantine_entries(settings: Settings, resource_id: str) -> list[dict[str, Any]]:
    """Every quarantined row of the resource, oldest delivery first, with ``status`` open or superseded."""
    deliveries = ordered_deliveries(settings, resource_id)
    accepted_in: dict[str, list[int]] = defaultdict(list)  # record key → deliveries (by position) accepting it
    for i, d in enumerate(deliveries):
        if d.status == "staged":
            for key in _accepted_keys(d.staged_path):
                accepted_in[key].append(i)
    out: list[dict[str, Any]] = []
    for i, d in enumerate(deliveries):
        path = quarantine_path(settings.quarantine, resource_id, d.batch_id)
        for row in _read(path, ["_batch_id", "_row_number", "_record_key", "reasons"]):
            key = row["_record_key"]
            later = next((j for j in accepted_in.get(key, []) if j > i), None) if key is not None else None
            out.append({
                "resource": resource_id, "batch_id": d.batch_id, "file": d.file, "row_number": row["_row_number"],
                "record_key": key, "status": "open" if later is None else "superseded",
                "superseded_by": None if later is None else deliveries[later].batch_id,
                "checks": sorted({r["check"] for r in row["reasons"]}), "reasons": row["reasons"],
            })
    return out


def _warning_counts(path: str | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in _read(path, ["_warnings"]):
        for item in json.loads(row["_warnings"] or "[]"):
            counts[item.get("check") or "?"] += 1
    return counts


def scorecard(settings: Settings, catalog: Any) -> list[dict[str, Any]]:
    """Per department: deliveries, rows, acceptance rate, errors and warnings by check, recent trend."""
    deliveries = ordered_deliveries(settings)
    by_provider: dict[str, list[Any]] = defaultdict(list)
    for d in deliveries:
        provider = d.provider or (catalog.resources[d.resource].provider if d.resource in catalog.resources else "?")
        by_provider[provider].append(d)
    cards = []
    for provider, items in sorted(by_provider.items()):
        errors: Counter[str] = Counter()
        warnings: Counter[str] = Counter()
        open_rows = superseded = 0
        for rid in sorted({d.resource for d in items}):
            for entry in quarantine_entries(settings, rid):
                errors.update(r["check"] for r in entry["reasons"] if r["severity"] == "error")
                warnings.update(r["check"] for r in entry["reasons"] if r["severity"] != "error")
                open_rows += entry["status"] == "open"
                superseded += entry["status"] == "superseded"
        for d in items:
            warnings.update(_warning_counts(d.staged_path) if d.status == "staged" else Counter())
        rows_read = sum(d.rows_read for d in items)
        # rows unchanged since their accepted earlier version stand accepted: the rate is the same whether a
        # redelivery was diffed or validated whole (ZHIWANG_SNAPSHOT_DIFF)
        rows_unchanged = sum(d.rows_unchanged for d in items)
        rows_accepted = sum(d.rows_staged for d in items) + rows_unchanged
        decided = sum(d.rows_read for d in items if d.status != "held")  # held rows await a steward: not judged yet
        dept = catalog.departments.get(provider)
        cards.append({
            "provider": provider, "name": dept.name if dept else provider,
            "resources": sorted({d.resource for d in items}),
            "deliveries": len(items), "by_status": dict(Counter(d.status for d in items)),
            "rows_read": rows_read, "rows_accepted": rows_accepted, "rows_unchanged": rows_unchanged,
            "rows_quarantined": sum(d.rows_quarantined for d in items), "rows_warned": sum(d.rows_warned for d in items),
            "acceptance_rate": round(rows_accepted / decided, 4) if decided else None,
            "rows_held": sum(d.rows_read for d in items if d.status == "held"),
            "errors_by_check": dict(errors.most_common()), "warnings_by_check": dict(warnings.most_common()),
            "quarantine_open": open_rows, "quarantine_superseded": superseded,
            "trend": [{"batch_id": d.batch_id, "resource": d.resource, "ingested_at": d.ingested_at, "status": d.status,
                       "acceptance_rate": round((d.rows_staged + d.rows_unchanged) / d.rows_read, 4) if d.rows_read else None}
                      for d in items[-TREND:]],
        })
    return cards
