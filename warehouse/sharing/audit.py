"""Append-only audit log of every sharing request, hash-chained.

``security/audit.jsonl`` holds one compact JSON object per line; each carries ``prev`` (the previous
entry's hash, 64 zeros for the first) and ``hash`` = sha256 of the entry without ``hash``. The head
(``security/audit.head``: count and last hash) catches a truncated tail. ``verify`` re-derives everything;
one changed byte anywhere breaks either the JSON, the line's canonical form, a hash or the chain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_thread_lock = threading.Lock()


def _canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry).encode("utf-8")).hexdigest()


class AuditLog:
    def __init__(self, security_dir: Path):
        self.path = security_dir / "audit.jsonl"
        self.head = security_dir / "audit.head"

    def append(self, **fields: Any) -> dict[str, Any]:
        """Record one event (district, method, path, status, …); safe across threads and processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _thread_lock, open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                count, prev = self._read_head()
                entry = {"seq": count + 1, "time": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields, "prev": prev}
                entry["hash"] = _hash(entry)
                handle.write(_canonical(entry) + "\n")
                handle.flush()
                tmp = self.head.with_suffix(".tmp")
                tmp.write_text(json.dumps({"count": count + 1, "hash": entry["hash"]}), encoding="utf-8")
                tmp.replace(self.head)
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return entry

    def _read_head(self) -> tuple[int, str]:
        if not self.head.exists():
            return 0, GENESIS
        data = json.loads(self.head.read_text(encoding="utf-8"))
        return int(data["count"]), str(data["hash"])

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]


def verify(security_dir: Path) -> tuple[bool, list[str], int]:
    """(intact?, problems, number of entries) for the audit log under ``security_dir``."""
    log = AuditLog(security_dir)
    problems: list[str] = []
    prev, count = GENESIS, 0
    raw = log.path.read_bytes() if log.path.exists() else b""
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        if not line_bytes:
            continue
        count += 1
        try:
            line = line_bytes.decode("utf-8")
            entry = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"line {number}: not valid JSON ({exc})")
            prev = "?"
            continue
        stored = entry.pop("hash", None)
        if line != _canonical({**entry, "hash": stored}):
            problems.append(f"line {number}: not in canonical form (edited by hand?)")
        if stored != _hash(entry):
            problems.append(f"line {number}: hash does not match its content")
        if entry.get("prev") != prev and prev != "?":
            problems.append(f"line {number}: chain broken (prev does not match line {number - 1}'s hash)")
        if entry.get("seq") != count:
            problems.append(f"line {number}: seq {entry.get('seq')} where {count} was expected")
        prev = stored or "?"
    if log.head.exists():
        head_count, head_hash = log._read_head()
        if (head_count, head_hash) != (count, prev):
            problems.append(f"head records {head_count} entries ending {head_hash[:12]}…, the log has {count} ending {prev[:12]}… (truncated or appended by hand)")
    elif count:
        problems.append(f"{log.head} is missing")
    return not problems, problems, count
