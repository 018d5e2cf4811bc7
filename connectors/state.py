"""The delivery ledger and connector state, in ``<home>/state.sqlite``.

SQLite (not DuckDB) because Airflow runs ingest tasks of different resources in parallel processes and
SQLite lets them write one file safely; every write is its own short transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    batch_id TEXT PRIMARY KEY,
    resource TEXT NOT NULL,
    provider TEXT,
    file TEXT,
    sha256 TEXT,
    landed_path TEXT,
    staged_path TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_staged INTEGER NOT NULL DEFAULT 0,
    rows_quarantined INTEGER NOT NULL DEFAULT 0,
    rows_warned INTEGER NOT NULL DEFAULT 0,
    rows_unchanged INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    message TEXT,
    delivered_at TEXT,
    ingested_at TEXT,
    landed_meta TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_resource ON deliveries(resource, ingested_at);
CREATE INDEX IF NOT EXISTS deliveries_sha ON deliveries(resource, sha256);
CREATE TABLE IF NOT EXISTS connector_state (
    resource TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
"""

_ADDED_COLUMNS = {"rows_unchanged": "INTEGER NOT NULL DEFAULT 0"}

# Statuses a delivery can end in. "staged" and "held" count as ingested for duplicate detection.
STATUSES = ("staged", "skipped", "rejected", "held")


@dataclass
class DeliveryRecord:
    """One line of reconciliation: rows_read = rows_staged + rows_quarantined + rows_unchanged (+ rows_held
    while a steward decides on a held delivery); a rejected delivery is set aside whole and counts zero rows.
    rows_unchanged: rows equal to their record's accepted row of an earlier delivery (connectors/snapshot.py),
    counted but not validated or staged again."""

    resource: str
    batch_id: str
    file: str
    rows_read: int
    rows_staged: int
    rows_quarantined: int
    status: str
    message: str | None = None
    provider: str | None = None
    sha256: str | None = None
    landed_path: str | None = None
    staged_path: str | None = None
    rows_warned: int = 0
    delivered_at: str | None = None
    ingested_at: str | None = None
    landed_meta: str | None = None
    """JSON: format, encoding and reader options of the landed file (to resume after a crash)."""
    rows_unchanged: int = 0

    def public(self) -> dict[str, Any]:
        """The fields `zhiwang ingest --json` prints."""
        out: dict[str, Any] = {
            "resource": self.resource, "batch_id": self.batch_id, "file": self.file,
            "rows_read": self.rows_read, "rows_staged": self.rows_staged,
            "rows_quarantined": self.rows_quarantined, "rows_unchanged": self.rows_unchanged, "status": self.status,
        }
        if self.status == "held":  # waiting for a steward: neither staged nor quarantined yet
            out["rows_held"] = self.rows_held
        if self.rows_warned:
            out["rows_warned"] = self.rows_warned
        if self.message:
            out["message"] = self.message
        return out

    @property
    def rows_held(self) -> int:
        return self.rows_read - self.rows_staged - self.rows_quarantined - self.rows_unchanged if self.status == "held" else 0


class StateStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)
            have = {r["name"] for r in con.execute("PRAGMA table_info(deliveries)")}
            for column, decl in _ADDED_COLUMNS.items():  # ledgers written before the column existed
                if column not in have:
                    con.execute(f"ALTER TABLE deliveries ADD COLUMN {column} {decl}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=60)
        con.row_factory = sqlite3.Row
        try:
            with con:
                yield con
        finally:
            con.close()

    # -- deliveries ---------------------------------------------------------------------------------------
    def seen_sha256(self, resource: str, sha256: str) -> DeliveryRecord | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT * FROM deliveries WHERE resource = ? AND sha256 = ? AND status IN ('staged', 'held') "
                "ORDER BY ingested_at LIMIT 1",
                (resource, sha256),
            ).fetchone()
        return _record(row) if row else None

    def record(self, rec: DeliveryRecord) -> None:
        data = asdict(rec)
        cols = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        with self._connect() as con:
            con.execute(f"INSERT OR REPLACE INTO deliveries ({cols}) VALUES ({marks})", tuple(data.values()))

    def deliveries(self, resource: str | None = None, status: str | None = None) -> list[DeliveryRecord]:
        sql, args = "SELECT * FROM deliveries WHERE 1=1", []
        if resource:
            sql += " AND resource = ?"
            args.append(resource)
        if status:
            sql += " AND status = ?"
            args.append(status)
        with self._connect() as con:
            # ingested_at has whole seconds: within one second the order of writing (rowid) decides, so two
            # deliveries of a resource ingested back to back stay in the order they were staged
            rows = con.execute(sql + " ORDER BY ingested_at, rowid", args).fetchall()
        return [_record(r) for r in rows]

    def delivery(self, batch_id: str) -> DeliveryRecord | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM deliveries WHERE batch_id = ?", (batch_id,)).fetchone()
        return _record(row) if row else None

    # -- connector state (watermarks) ------------------------------------------------------------------------
    def connector_state(self, resource: str) -> dict[str, Any]:
        with self._connect() as con:
            row = con.execute("SELECT state FROM connector_state WHERE resource = ?", (resource,)).fetchone()
        return json.loads(row["state"]) if row else {}

    def set_connector_state(self, resource: str, state: dict[str, Any]) -> None:
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO connector_state (resource, state) VALUES (?, ?)",
                (resource, json.dumps(state, ensure_ascii=False, default=str)),
            )


def _record(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(**{k: row[k] for k in row.keys()})
