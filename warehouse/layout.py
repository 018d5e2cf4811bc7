"""Where the warehouse keeps things below its root, and the small file primitives it builds on.

The root is the data home unless ``ZHIWANG_WAREHOUSE_URI`` names another (warehouse/storage.py); below it:

golden/<table>/                 Delta tables of the golden library
golden/_registry/releases/N.json  one immutable record per release (the commit point of a publish)
golden/_registry/rowhash/<table>/<version>.parquet  key and row hash per row of that Delta version
                                (derived, may be missing: it only spares the next publish a re-read)
golden/_registry/.lock          serialises publishers (local root; see storage.publish_lock)
mirrors/<district>/<table>/     Delta tables of a district's mirror
mirrors/<district>/_releases/N.json  which mirror table versions make up release N
security/                       token hashes, the per-home secret, the audit log (always in the data home)

The ``*_key`` functions give these places as keys for :class:`warehouse.storage.Storage`; the Path
functions give them in the data home (the default, local layout).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zhiwang.settings import Settings

DELTA_CONFIG = {
    "delta.enableChangeDataFeed": "true",
    # Releases are immutable and time travel must reach every release: never expire log entries or files.
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.deletedFileRetentionDuration": "interval 36500 days",
}


REGISTRY_KEY = "golden/_registry/releases"
ROWHASH_KEY = "golden/_registry/rowhash"
"""``<table>/<delta version>.parquet``: key columns and row hash of that version (warehouse/rowhash.py)."""


def golden_key(table: str) -> str:
    return f"golden/{table}"


def mirror_key(district: str, table: str) -> str:
    return f"mirrors/{district}/{table}"


def mirror_registry_key(district: str) -> str:
    return f"mirrors/{district}/_releases"


def golden_table(settings: Settings, table: str) -> Path:
    return settings.golden / table


def registry_dir(settings: Settings) -> Path:
    return settings.golden / "_registry" / "releases"


def mirror_dir(settings: Settings, district: str) -> Path:
    return settings.mirrors / district


def mirror_table(settings: Settings, district: str, table: str) -> Path:
    return settings.mirrors / district / table


def mirror_registry_dir(settings: Settings, district: str) -> Path:
    return settings.mirrors / district / "_releases"


def write_json_once(path: Path, payload: Any) -> None:
    """Write ``path`` atomically and exclusively: the file appears whole or not at all, and an existing
    file is never replaced (``os.link`` fails if the target exists, unlike ``rename``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    os.chmod(path, 0o444)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def numbered_json(directory: Path) -> dict[int, Path]:
    """N → path of every complete ``N.json`` in ``directory`` (temporary files are ignored)."""
    if not directory.is_dir():
        return {}
    out: dict[int, Path] = {}
    for path in directory.glob("*.json"):
        if path.stem.isdigit():
            out[int(path.stem)] = path
    return dict(sorted(out.items()))


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """An advisory lock file: one publisher (or backup) at a time; released by the OS if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish_lock(settings: Settings) -> contextlib.AbstractContextManager[None]:
    from warehouse.storage import publish_lock as lock

    return lock(settings)


def sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
