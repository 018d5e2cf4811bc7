"""The quality gate: one staged delivery in, accepted rows (+ warnings) and quarantined rows (+ reasons) out.

Order: delivery-level checks (required columns present and typed as the catalog says; otherwise the
delivery is rejected whole), the row-count drop check (a collapse holds the delivery for a steward), then
the resource's GE suite on the frame. Errors quarantine the row with every failed check named; warnings
keep it, add to ``_warnings`` and null an invalid canonical value (the delivered value stays in ``src_``).
Rows staging found unchanged since their record's last accepted delivery (``connectors.snapshot``) are not in
the mapped file, only counted: record-key uniqueness still sees them, since staging hands over the keys repeated
in the whole delivery. Reconciliation: rows in the mapped file = accepted + quarantined by the gate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.models import Catalog, Resource
from quality.checks import PlannedCheck
from quality.quarantine import QuarantineWriter, Reason, mask_value
from zhiwang.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "decimal": pa.float64(), "date": pa.date32(),
               "timestamp": pa.timestamp("us"), "boolean": pa.bool_()}


@dataclass
class GateResult:
    status: Literal["staged", "rejected", "held"]
    rows_accepted: int
    rows_quarantined: int
    """Rows the gate quarantined (staging's own quarantines are counted by the runner)."""
    rows_warned: int
    message: str | None
    """For rejected/held: what, where (file, column), how to fix, or the release command."""
    accepted_path: Path | None
    rows_unchanged: int = 0
    """Rows equal to their record's accepted row of an earlier delivery: neither validated nor staged again."""


def release_command(batch_id: str) -> str:
    return f"zhiwang quality release {batch_id}"


def run_gate(*, resource: Resource, catalog: Catalog, settings: Settings, batch_id: str, source_name: str,
             mapped_path: Path, quarantine: QuarantineWriter, previous_rows: int | None,
             accepted_path: Path, rows_unchanged: int = 0, duplicates: pa.Array | None = None) -> GateResult:
    """Validate one mapped delivery; see the module docstring. ``rows_unchanged``: rows of the delivery left
    out of the mapped file as equal to their record's accepted row of an earlier delivery; ``duplicates``: the
    record keys repeated in the whole delivery (None: judged from the mapped file)."""
    schema = pq.read_schema(mapped_path)
    problems = schema_problems(resource, schema)
    if problems:
        message = (f"{source_name} (batch {batch_id}) is rejected whole, nothing from it is accepted: "
                   + "; ".join(problems) + ". Fix the file and deliver it again.")
        _feedback(resource, catalog, settings, batch_id, source_name, quarantine, None, message)
        return GateResult("rejected", 0, 0, 0, message, None)

    # staging's quarantines and unchanged rows count too
    rows_read = pq.ParquetFile(mapped_path).metadata.num_rows + len(quarantine) + rows_unchanged
    if previous_rows and (previous_rows - rows_read) / previous_rows > resource.quality.hold_on_row_drop:
        drop = (previous_rows - rows_read) / previous_rows
        message = (f"{source_name} (batch {batch_id}) has {rows_read} rows, {drop:.0%} fewer than the previous delivery's "
                   f"{previous_rows} (limit {resource.quality.hold_on_row_drop:.0%}): held for a steward, nothing accepted yet. "
                   f"If the drop is genuine run `{release_command(batch_id)}`; otherwise ask {resource.provider} for the full file.")
        return GateResult("held", 0, 0, 0, message, None)

    return apply_suite(resource=resource, catalog=catalog, settings=settings, batch_id=batch_id,
                       source_name=source_name, mapped_path=mapped_path, quarantine=quarantine, accepted_path=accepted_path,
                       rows_unchanged=rows_unchanged, duplicates=duplicates)


def schema_problems(resource: Resource, schema: pa.Schema) -> list[str]:
    """Delivery-level expectations: required and record-key columns present, canonical columns typed."""
    out = []
    names = set(schema.names)
    if "_record_key" not in names:
        out.append(f"record key column(s) {'、'.join(resource.record_key)} missing")
    for spec in resource.fields:
        column = spec.maps_to or f"src_{spec.column}"
        if column not in names:
            if spec.required or spec.column in resource.record_key:
                out.append(f"required column {spec.column!r} is missing (add the column {spec.column} to the file)")
            continue
        expected = ARROW_TYPES[spec.type] if spec.maps_to else pa.string()
        actual = schema.field(column).type
        if actual != expected and not (pa.types.is_null(actual)):
            out.append(f"column {spec.column!r} has type {actual}, the catalog says {spec.type}")
    return out


def reference_date(mapped_path: Path) -> dt.date:
    """The delivery's date: bounds like "not after the delivery" use it, so a rerun judges alike."""
    import pyarrow.compute as pc

    if "_delivered_at" in pq.read_schema(mapped_path).names:
        latest = pc.max(pq.read_table(mapped_path, columns=["_delivered_at"])["_delivered_at"]).as_py()
        if latest is not None:
            return latest.date() if isinstance(latest, dt.datetime) else latest
    return dt.date.today()


def duplicate_keys(mapped_path: Path) -> pa.Array:
    """Record keys that occur more than once in the whole delivery (one column read, not the rows)."""
    import pyarrow.compute as pc

    keys = pq.read_table(mapped_path, columns=["_record_key"])
    counts = keys.group_by("_record_key").aggregate([("_record_key", "count")])
    return counts.filter(pc.greater(counts["_record_key_count"], 1))["_record_key"].combine_chunks()


def _frame(table: pa.Table, columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    # dates as datetime64 so GE and our metrics compare them vectorised; strings as pandas' Arrow-backed
    # ``str`` (not object): GE tests every column for nulls and slices it once per expectation, which on
    # object columns is a Python loop (py-spy: a quarter of the gate's GE time)
    text = pd.StringDtype("pyarrow", na_value=float("nan"))
    return table.select(columns).to_pandas(date_as_object=False, types_mapper={pa.string(): text}.get)


CHUNK_ROWS = 500_000
"""Rows validated at a time: memory stays flat however large the delivery is."""


def apply_suite(*, resource: Resource, catalog: Catalog, settings: Settings, batch_id: str, source_name: str,
                mapped_path: Path, quarantine: QuarantineWriter, accepted_path: Path, rows_unchanged: int = 0,
                duplicates: pa.Array | None = None) -> GateResult:
    """Validate the delivery chunk by chunk; record-key uniqueness is judged over the whole delivery (the keys
    repeated in it are ``duplicates`` when staging found them, else those of the mapped file; see ``run_gate``)."""
    import pyarrow.compute as pc

    from quality.suite import suite_for, validate_frame

    reference = reference_date(mapped_path)
    source = pq.ParquetFile(mapped_path)
    columns = set(source.schema_arrow.names)
    # uniqueness cannot be judged inside one chunk: the suite runs without it, duplicates are found up front
    suite, plan = suite_for(resource, reference, columns)
    unique_check = next((i for i, c in enumerate(plan) if c.check == "duplicate_record_key"), None)
    if unique_check is None:
        duplicates = pa.array([], pa.string())
    elif duplicates is None:
        duplicates = duplicate_keys(mapped_path)
    if unique_check is not None:
        suite, plan = suite_for(resource, reference, columns, skip=("duplicate_record_key",))
    needed = sorted({c for check in plan for c in (check.target, check.pair) if c})
    accepted_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = accepted_path.with_suffix(".parquet.partial")
    writer = pq.ParquetWriter(tmp, source.schema_arrow)
    rows_accepted = rows_quarantined = rows_warned = 0
    flagged: list[pa.Table] = []
    try:
        for batch in source.iter_batches(batch_size=CHUNK_ROWS):
            table = pa.Table.from_batches([batch])
            failures = validate_frame(suite, plan, _frame(table, needed)).failures if table.num_rows and plan else {}
            errors, warnings, nulls = _per_row(table, plan, failures, reference)
            if len(duplicates):
                _add_duplicates(table, duplicates, resource, errors)
            error_rows = sorted(errors)
            if error_rows:
                _quarantine(table, error_rows, errors, warnings, quarantine)
            accepted = _accepted(table, set(error_rows), warnings, nulls)
            writer.write_table(accepted.cast(source.schema_arrow))
            rows_accepted += accepted.num_rows
            rows_quarantined += len(error_rows)
            warned = _warned_mask(accepted)
            rows_warned += int(pc.sum(warned).as_py() or 0)
            flagged.append(accepted.filter(warned))
    finally:
        writer.close()
    os.replace(tmp, accepted_path)  # readers see the whole file or the previous one, never half
    warned_rows = pa.concat_tables(flagged) if flagged else None
    _feedback(resource, catalog, settings, batch_id, source_name, quarantine, warned_rows, None, rows_accepted,
              rows_unchanged)
    return GateResult("staged", rows_accepted, rows_quarantined, rows_warned, None, accepted_path, rows_unchanged)


def _add_duplicates(table: pa.Table, duplicates: pa.Array, resource: Resource, errors: dict[int, list[Reason]]) -> None:
    import pyarrow.compute as pc

    from quality.rowcheck import explain

    hit = pc.fill_null(pc.is_in(table["_record_key"], value_set=duplicates), False)
    column = "、".join(resource.record_key)
    for pos in pc.indices_nonzero(hit).to_pylist():
        key = table["_record_key"][pos].as_py()
        errors.setdefault(pos, []).append(Reason("duplicate_record_key", column,
                                                 explain("duplicate_record_key", key, {}, None, column), key, "error"))


def _per_row(table: pa.Table, plan: list[PlannedCheck], failures: dict[int, list[int]], reference: dt.date,
             ) -> tuple[dict[int, list[Reason]], dict[int, list[Reason]], dict[str, set[int]]]:
    from quality.rowcheck import explain

    errors: dict[int, list[Reason]] = {}
    warnings: dict[int, list[Reason]] = {}
    nulls: dict[str, set[int]] = {}
    for index, positions in sorted(failures.items()):
        check = plan[index]
        if not positions:
            continue
        idx = pa.array(positions, pa.int64())
        judged = table[check.target].take(idx).to_pylist()
        shown_col = check.source if check.source in table.schema.names else check.target
        shown = table[shown_col].take(idx).to_pylist()
        for pos, value, raw in zip(positions, judged, shown, strict=True):
            text = None if raw is None else (mask_value(raw) if check.masked else str(raw)[:60])
            reason = Reason(check.check, check.column, explain(check.check, value, check.params, reference, check.column),
                            text, check.severity)
            (errors if check.severity == "error" else warnings).setdefault(pos, []).append(reason)
            if check.severity != "error" and check.nulls:
                nulls.setdefault(check.nulls, set()).add(pos)
    return errors, warnings, nulls


def _quarantine(table: pa.Table, rows: list[int], errors: dict[int, list[Reason]], warnings: dict[int, list[Reason]],
                quarantine: QuarantineWriter) -> None:
    src_cols = [c for c in table.schema.names if c.startswith("src_")]
    picked = table.take(pa.array(rows, pa.int64())).select(["_row_number", "_record_key", *src_cols]).to_pylist()
    for pos, row in zip(rows, picked, strict=True):
        number, key = row.pop("_row_number"), row.pop("_record_key")
        quarantine.add(number, key, errors[pos] + warnings.get(pos, []), row)


def _accepted(table: pa.Table, dropped: set[int], warnings: dict[int, list[Reason]], nulls: dict[str, set[int]]) -> pa.Table:
    import numpy as np
    import pyarrow.compute as pc

    n = table.num_rows
    for column, positions in nulls.items():
        mask = np.zeros(n, dtype=bool)
        mask[list(positions)] = True
        col = table[column]
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pc.if_else(pa.array(mask), pa.nulls(n, col.type), col))
    if warnings:
        current = table["_warnings"].to_pylist() if "_warnings" in table.schema.names else [None] * n
        for pos, reasons in warnings.items():
            items = json.loads(current[pos]) if current[pos] else []
            items.extend({"check": r.check, "column": r.column, "message": r.message, "value": r.value,
                          "severity": r.severity} for r in reasons)
            current[pos] = json.dumps(items, ensure_ascii=False)
        values = pa.array(current, pa.string())
        if "_warnings" in table.schema.names:
            table = table.set_column(table.schema.get_field_index("_warnings"), "_warnings", values)
        else:
            table = table.append_column("_warnings", values)
    if dropped:
        keep = np.ones(n, dtype=bool)
        keep[list(dropped)] = False
        table = table.filter(pa.array(keep))
    return table


def _warned_mask(table: pa.Table) -> pa.Array:
    import pyarrow.compute as pc

    if "_warnings" not in table.schema.names or not table.num_rows:
        return pa.array([False] * table.num_rows, pa.bool_())
    return pc.fill_null(pc.and_(pc.is_valid(table["_warnings"]), pc.not_equal(table["_warnings"], "[]")), False)


def _feedback(resource: Resource, catalog: Catalog, settings: Settings, batch_id: str, source_name: str,
              quarantine: QuarantineWriter, accepted: pa.Table | None, rejection: str | None,
              accepted_rows: int | None = None, unchanged_rows: int = 0) -> None:
    from quality.feedback import write_feedback

    write_feedback(settings=settings, resource=resource, catalog=catalog, batch_id=batch_id, source_name=source_name,
                   quarantined=quarantine.entries(), accepted=accepted, rejection=rejection, accepted_rows=accepted_rows,
                   unchanged_rows=unchanged_rows)
