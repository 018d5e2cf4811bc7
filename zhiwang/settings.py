"""Where zhiwang keeps its state and finds its catalog.

``ZHIWANG_HOME`` (default ``./var`` under the repository) holds all state; ``ZHIWANG_CATALOG`` (default: the
city's catalog shipped in the ``catalog`` package) holds ``resources/*.yaml``, ``departments.yaml``,
``districts.yaml`` and ``core_fields.yaml``. ``ZHIWANG_WAREHOUSE_URI`` (default: the data home) is where the
golden library's and mirrors' Delta tables live, e.g. ``s3://bucket/prefix`` (see warehouse/storage.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = REPO_ROOT / "var"
DEFAULT_CATALOG = REPO_ROOT / "catalog"


@dataclass(frozen=True)
class Settings:
    """Resolved locations. Build with :func:`get_settings`; pass it down instead of re-reading the env."""

    home: Path
    catalog_dir: Path
    warehouse_uri: str | None = None
    """Root of the golden library and mirrors (``s3://bucket/prefix`` or a directory); None = ``home``.
    Parsed and checked by ``warehouse.storage.parse_location``."""

    # -- the data home's layout (DESIGN.md "Data home") -------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def feedback(self) -> Path:
        return self.home / "feedback"

    @property
    def golden(self) -> Path:
        return self.home / "golden"

    @property
    def mirrors(self) -> Path:
        return self.home / "mirrors"

    @property
    def quality_docs(self) -> Path:
        return self.home / "quality" / "docs"

    @property
    def review(self) -> Path:
        return self.home / "review"

    @property
    def security(self) -> Path:
        return self.home / "security"

    @property
    def demo(self) -> Path:
        """Ground truth of the generated demo city (never read by the pipeline itself)."""
        return self.home / "demo"

    @property
    def state_db(self) -> Path:
        """SQLite file with the delivery ledger and connector watermarks."""
        return self.home / "state.sqlite"

    def inbox_for(self, resource_id: str) -> Path:
        return self.inbox / resource_id


def get_settings(home: str | Path | None = None, catalog: str | Path | None = None,
                 warehouse_uri: str | None = None) -> Settings:
    """Resolve settings: explicit argument, then environment variable, then the default."""
    home_path = Path(home or os.environ.get("ZHIWANG_HOME") or DEFAULT_HOME).expanduser().resolve()
    catalog_path = Path(catalog or os.environ.get("ZHIWANG_CATALOG") or DEFAULT_CATALOG).expanduser().resolve()
    warehouse = warehouse_uri or os.environ.get("ZHIWANG_WAREHOUSE_URI") or None
    return Settings(home=home_path, catalog_dir=catalog_path, warehouse_uri=warehouse)


def worker_count(variable: str, automatic: Callable[[], int]) -> int:
    """The number of processes environment variable ``variable`` asks for: a whole number ≥ 1, or ``auto`` /
    unset for ``automatic()`` (what the stage judges worth it on this machine)."""
    from zhiwang.errors import ConfigError

    value = os.environ.get(variable, "").strip().lower()
    if value in ("", "auto"):
        return automatic()
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{variable}={value!r}: set it to a whole number of processes (1 = only this process, "
                          "one thing after the other) or to auto (one per CPU where it pays)")
    return int(value)
