"""Quarantine: rows that cannot be accepted, each with every reason, kept per delivery.

``quarantine/<resource>/<batch_id>.parquet`` holds one row per quarantined input row: provenance
(``_resource, _batch_id, _row_number, _record_key``), ``reasons`` (a list of check / column / message /
masked value / severity) and the source columns as delivered (``src_*``), so the providing department can
fix and redeliver. Written atomically; a rerun of the same delivery replaces the file.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REASON_TYPE = pa.struct([
    ("check", pa.string()), ("column", pa.string()), ("message", pa.string()),
    ("value", pa.string()), ("severity", pa.string()),
])


@dataclass(frozen=True)
class Reason:
    check: str
    """Which rule failed: record_key, required, parse, cn_id_number, duplicate_record_key, …"""
    column: str | None
    """The department's column name."""
    message: str
    """Plain words for the department: what is wrong and how to fix it."""
    value: str | None = None
    """The offending value, identifiers masked (never a full ID number)."""
    severity: str = "error"


def mask_value(value: Any, keep_head: int = 6, keep_tail: int = 4) -> str | None:
    """Mask the middle of an identifier-like value: 440304********1234. Short values keep their ends."""
    if value is None:
        return None
    text = str(value)
    if len(text) <= keep_head + keep_tail:
        if len(text) <= 2:
            return "*" * len(text)
        return text[0] + "*" * (len(text) - 2) + text[-1]
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[-keep_tail:]


def quarantine_path(quarantine_dir: Path, resource_id: str, batch_id: str) -> Path:
    return quarantine_dir / resource_id / f"{batch_id}.parquet"


class QuarantineWriter:
    """Collects quarantined rows of one delivery and writes them in one atomic file."""

    def __init__(self, quarantine_dir: Path, resource_id: str, batch_id: str):
        self.path = quarantine_path(quarantine_dir, resource_id, batch_id)
        self.resource_id = resource_id
        self.batch_id = batch_id
        self._rows: list[dict[str, Any]] = []
        self._by_row: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row_number: int, record_key: str | None, reasons: list[Reason], source: dict[str, Any]) -> None:
        """Quarantine a row; a row quarantined twice (staging, then quality) keeps one entry, all reasons."""
        existing = self._by_row.get(row_number)
        if existing is not None:
            existing["reasons"].extend(asdict(r) for r in reasons)
            return
        entry = {
            "_resource": self.resource_id, "_batch_id": self.batch_id, "_row_number": row_number,
            "_record_key": record_key, "reasons": [asdict(r) for r in reasons],
            **{f"src_{k}" if not k.startswith("src_") else k: (None if v is None else str(v)) for k, v in source.items()},
        }
        self._rows.append(entry)
        self._by_row[row_number] = entry

    def row_numbers(self) -> set[int]:
        return set(self._by_row)

    def entries(self) -> list[dict[str, Any]]:
        """The quarantined rows so far (provenance, ``reasons`` as dicts, ``src_*`` values), by row number."""
        return sorted(self._rows, key=lambda r: r["_row_number"])

    def load_existing(self) -> int:
        """Take back the rows of this delivery's file already written (e.g. staging's, before a release);
        returns how many."""
        if not self.path.exists():
            return 0
        for row in pq.read_table(self.path).to_pylist():
            source = {k: v for k, v in row.items() if k.startswith("src_")}
            reasons = [Reason(**r) for r in row["reasons"] or []]
            self.add(row["_row_number"], row["_record_key"], reasons, source)
        return len(self._rows)

    def write(self) -> Path | None:
        """Write the file (replacing a previous one for the same delivery); no rows = no file."""
        if self.path.exists():
            self.path.unlink()
        if not self._rows:
            return None
        columns = sorted({k for r in self._rows for k in r if k.startswith("src_")})
        table = pa.table({
            "_resource": pa.array([r["_resource"] for r in self._rows], pa.string()),
            "_batch_id": pa.array([r["_batch_id"] for r in self._rows], pa.string()),
            "_row_number": pa.array([r["_row_number"] for r in self._rows], pa.int64()),
            "_record_key": pa.array([r["_record_key"] for r in self._rows], pa.string()),
            "reasons": pa.array([r["reasons"] for r in self._rows], pa.list_(REASON_TYPE)),
            **{c: pa.array([r.get(c) for r in self._rows], pa.string()) for c in columns},
        })
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".parquet.partial")
        pq.write_table(table.sort_by("_row_number"), tmp)
        os.replace(tmp, self.path)
        return self.path
