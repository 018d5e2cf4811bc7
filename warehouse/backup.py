"""Backup and restore of the warehouse state: golden library, mirrors, and security (tokens, secret, audit).

Data and log files are immutable once written, so a backup taken under the publish lock is a consistent
copy: the release registry and mirror records it contains point only at files it also contains. A
manifest lists every file with its sha256; restore checks it before copying anything into the home.
Both work on a local warehouse only: with ``ZHIWANG_WAREHOUSE_URI`` on an object store they stop with a
ConfigError (the store's own versioning or replication is the backup there).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from warehouse.layout import exclusive_lock, publish_lock, sha256_file
from zhiwang.errors import ConfigError, UserError
from zhiwang.settings import Settings

PARTS = ("golden", "mirrors", "security")
MANIFEST = "zhiwang-backup.json"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp") and p.name != ".lock")


def _require_home_warehouse(settings: Settings, root: Path) -> None:
    if root != settings.home:
        raise ConfigError(f"Backup copies the data home {settings.home}, but ZHIWANG_WAREHOUSE_URI puts the warehouse "
                          f"in {root}; back that directory up with golden/ and mirrors/ in it, or unset the variable.")


def create_backup(settings: Settings, dest: Path) -> dict[str, Any]:
    """Copy the warehouse state into the new directory ``dest`` and write its manifest."""
    from warehouse.registry import list_releases
    from warehouse.storage import storage_for

    _require_home_warehouse(settings, storage_for(settings).require_local("`zhiwang backup create`"))
    if dest.exists() and any(dest.iterdir()):
        raise UserError(f"Backup destination {dest} is not empty; choose a new directory.")
    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": 1, "files": {}}
    # The publish lock keeps registry and tables consistent; the audit log's own lock keeps a request being
    # logged by a running server from leaving half a line in the copy.
    with publish_lock(settings), exclusive_lock(settings.security / "audit.jsonl"):
        manifest["releases"] = [r.number for r in list_releases(settings)]
        for part in PARTS:
            source = settings.home / part
            if not source.exists():
                continue
            for path in _files(source):
                rel = path.relative_to(settings.home)
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                manifest["files"][str(rel)] = sha256_file(target)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return {"dest": str(dest), "files": len(manifest["files"]), "releases": manifest["releases"]}


def restore_backup(settings: Settings, source: Path, force: bool = False) -> dict[str, Any]:
    """Check the backup at ``source`` against its manifest, then copy it into the home."""
    from warehouse.storage import storage_for

    _require_home_warehouse(settings, storage_for(settings).require_local("`zhiwang backup restore`"))
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"{source} is not a zhiwang backup: {MANIFEST} is missing.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    bad = [rel for rel, digest in manifest["files"].items()
           if not (source / rel).is_file() or sha256_file(source / rel) != digest]
    if bad:
        raise UserError(f"Backup {source} is damaged: {len(bad)} file(s) missing or changed, e.g. {bad[0]}. Nothing was restored.")
    existing = [p for p in PARTS if (settings.home / p).exists() and any((settings.home / p).iterdir())]
    if existing and not force:
        raise UserError(f"The home {settings.home} already holds {', '.join(existing)}; restore into an empty home or pass --force.")
    for part in existing:
        shutil.rmtree(settings.home / part)
    for rel in manifest["files"]:
        target = settings.home / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    return {"home": str(settings.home), "files": len(manifest["files"]), "releases": manifest["releases"]}
