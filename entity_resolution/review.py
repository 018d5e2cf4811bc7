"""Steward review: uncertain pairs go to a queue; stewards decide match / no-match; decisions apply on every run.

Persisted in SQLite at ``<home>/review/review.sqlite`` (``settings.review``):
- ``queue``: one row per pair ever queued: ``pair_id`` (stable: a hash of entity and the two record_uids),
  ``entity, record_uid_l, record_uid_r, match_probability``, both records' key fields as JSON (stored as
  delivered inside the data home; masked whenever shown), ``status`` open | decided | stale.
- ``decisions``: ``pair_id`` → ``decision`` (match | no-match), ``note``, ``decided_at``. The latest decision
  for a pair wins; :func:`decisions_table` hands them to clustering.

Inputs of :func:`enqueue_uncertain`: Splink's scored pairs (``record_uid_l, record_uid_r, match_probability``,
optional ``is_decisive``) and the records (``record_uid`` plus canonical fields) as pyarrow Tables.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from quality.quarantine import mask_value
from zhiwang import duck
from zhiwang.errors import UserError
from zhiwang.settings import Settings

Decision = Literal["match", "no-match"]
DECISIONS: tuple[str, ...] = ("match", "no-match")
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("name", "id_number", "gender", "birth_date", "phone", "residence_address"),
    "legal_entity": ("name", "uscc", "legal_rep_name", "registered_address", "phone"),
    "building": ("building_code", "address", "street", "community", "lon", "lat"),
}
# Identifiers of residents: never shown whole (record keys may be ID numbers too).
MASKED = frozenset({"id_number", "legal_rep_id_number", "phone", "record_key"})
DECISIONS_SCHEMA = pa.schema([("record_uid_l", pa.string()), ("record_uid_r", pa.string()), ("decision", pa.string())])

_DDL = """
CREATE TABLE IF NOT EXISTS queue (
    pair_id TEXT PRIMARY KEY, entity TEXT NOT NULL, record_uid_l TEXT NOT NULL, record_uid_r TEXT NOT NULL,
    match_probability REAL, left_json TEXT, right_json TEXT, status TEXT NOT NULL DEFAULT 'open');
CREATE TABLE IF NOT EXISTS decisions (
    pair_id TEXT PRIMARY KEY REFERENCES queue(pair_id), decision TEXT NOT NULL, note TEXT, decided_at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ReviewItem:
    pair_id: str
    entity: str
    record_uid_l: str
    record_uid_r: str
    match_probability: float | None
    left: dict[str, Any]
    right: dict[str, Any]
    status: str
    decision: str | None = None
    note: str | None = None

    def masked(self) -> dict[str, Any]:
        """For display: identifiers masked (mask_value), everything else as stored."""
        return {"pair_id": self.pair_id, "entity": self.entity, "match_probability": self.match_probability,
                "status": self.status, "decision": self.decision, "note": self.note,
                "left": _mask(self.left), "right": _mask(self.right)}


def _mask(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (mask_value(v) if k in MASKED else v) for k, v in fields.items()}


def pair_id(entity: str, uid_a: str, uid_b: str) -> str:
    """Stable id of an unordered pair, the same on every run."""
    lo, hi = sorted((uid_a, uid_b))
    return "rv" + hashlib.sha256(f"{entity}|{lo}|{hi}".encode()).hexdigest()[:12]


def review_db(settings: Settings) -> Path:
    return settings.review / "review.sqlite"


@contextmanager
def _connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = review_db(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript(_DDL)
        with con:
            yield con
    finally:
        con.close()


def enqueue_uncertain(settings: Settings, entity: str, pairs: pa.Table, records: pa.Table, *,
                      lower: float, upper: float) -> int:
    """Queue the pairs with ``lower <= match_probability < upper`` (decisive pairs excluded). The entity's open
    queue becomes exactly this run's band (pairs no longer uncertain turn ``stale``); decided pairs keep their
    decision. Returns the number of open pairs."""

    if not 0.0 <= lower < upper <= 1.0:
        raise UserError(f"review band lower = {lower}, upper = {upper}: need 0 <= lower < upper <= 1.")
    fields = [f for f in KEY_FIELDS[entity] if f in records.column_names]
    con = duck.connect()
    try:
        con.register("p", pairs)
        con.register("r", records.select(["record_uid", "_resource", "_record_key", *fields]))
        decisive = "AND NOT coalesce(p.is_decisive, false)" if "is_decisive" in pairs.column_names else ""
        band = con.sql(f"""
            SELECT p.record_uid_l, p.record_uid_r, p.match_probability FROM p
            WHERE p.match_probability >= ? AND p.match_probability < ? {decisive}""", params=[lower, upper]).to_arrow_table()
        con.register("band", band)
        uids = ", ".join(["_resource AS resource", "_record_key AS record_key", *[f'"{f}"' for f in fields]])
        snap = {row["record_uid"]: {k: v for k, v in row.items() if k != "record_uid"} for row in con.sql(f"""
            SELECT record_uid, {uids} FROM r WHERE record_uid IN (SELECT record_uid_l FROM band UNION SELECT record_uid_r FROM band)
            """).to_arrow_table().to_pylist()}
    finally:
        con.close()
    rows = []
    for item in band.to_pylist():
        left, right = sorted((item["record_uid_l"], item["record_uid_r"]))
        rows.append((pair_id(entity, left, right), entity, left, right, item["match_probability"],
                     json.dumps(snap.get(left, {}), ensure_ascii=False, default=str),
                     json.dumps(snap.get(right, {}), ensure_ascii=False, default=str)))
    with _connect(settings) as db:
        db.execute("UPDATE queue SET status = 'stale' WHERE entity = ? AND status = 'open'", [entity])
        db.executemany("""
            INSERT INTO queue (pair_id, entity, record_uid_l, record_uid_r, match_probability, left_json, right_json, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'open')
            ON CONFLICT (pair_id) DO UPDATE SET match_probability = excluded.match_probability,
                left_json = excluded.left_json, right_json = excluded.right_json,
                status = CASE WHEN queue.status = 'decided' THEN 'decided' ELSE 'open' END""", rows)
        return db.execute("SELECT count(*) FROM queue WHERE entity = ? AND status = 'open'", [entity]).fetchone()[0]


def list_pairs(settings: Settings, entity: str | None = None, *, include_decided: bool = False) -> list[ReviewItem]:
    """Open pairs (and decided ones with ``include_decided``), most uncertain first."""
    if not review_db(settings).exists():  # listing never creates the queue
        return []
    statuses = ("open", "decided") if include_decided else ("open",)
    with _connect(settings) as db:
        rows = db.execute(f"""
            SELECT q.pair_id, q.entity, q.record_uid_l, q.record_uid_r, q.match_probability, q.left_json, q.right_json,
                   q.status, d.decision, d.note
            FROM queue q LEFT JOIN decisions d USING (pair_id)
            WHERE q.status IN ({', '.join('?' * len(statuses))}) AND (? IS NULL OR q.entity = ?)
            ORDER BY abs(coalesce(q.match_probability, 0.5) - 0.5), q.pair_id""", [*statuses, entity, entity]).fetchall()
    return [ReviewItem(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}"), json.loads(r[6] or "{}"), r[7], r[8], r[9])
            for r in rows]


def decide(settings: Settings, pair: str, decision: str, note: str | None = None, *,
           now: datetime | None = None) -> ReviewItem:
    """Record a steward's decision on a queued pair; the latest decision for a pair wins."""
    if decision not in DECISIONS:
        raise UserError(f"decision {decision!r} is not one of: {', '.join(DECISIONS)}.")
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with _connect(settings) as db:
        if db.execute("SELECT 1 FROM queue WHERE pair_id = ?", [pair]).fetchone() is None:
            raise UserError(f"No review pair {pair!r} in {review_db(settings)}. "
                            "Run `zhiwang review list` to see the open pairs and copy the pair id from there.")
        db.execute("""INSERT INTO decisions (pair_id, decision, note, decided_at) VALUES (?, ?, ?, ?)
                      ON CONFLICT (pair_id) DO UPDATE SET decision = excluded.decision, note = excluded.note,
                      decided_at = excluded.decided_at""", [pair, decision, note, when])
        db.execute("UPDATE queue SET status = 'decided' WHERE pair_id = ?", [pair])
    return next(i for i in list_pairs(settings, include_decided=True) if i.pair_id == pair)


def decisions_table(settings: Settings, entity: str) -> pa.Table:
    """Every decision for ``entity`` as ``record_uid_l, record_uid_r, decision`` (clustering's input)."""
    if not review_db(settings).exists():
        return DECISIONS_SCHEMA.empty_table()
    with _connect(settings) as db:
        rows = db.execute("""SELECT q.record_uid_l, q.record_uid_r, d.decision FROM decisions d JOIN queue q USING (pair_id)
                             WHERE q.entity = ? ORDER BY q.pair_id""", [entity]).fetchall()
    return pa.table({"record_uid_l": [r[0] for r in rows], "record_uid_r": [r[1] for r in rows],
                     "decision": [r[2] for r in rows]}, schema=DECISIONS_SCHEMA)
