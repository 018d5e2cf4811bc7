"""DuckDB connections for pipeline work: bounded memory, spilling into a folder we choose.

An in-memory DuckDB database spills to ``./.tmp`` of whatever directory the process runs in, and may take 80%
of the machine's memory. Pipeline stages run beside other stages (and Airflow) on one machine, so their
connections get a memory limit and spill under the system temp folder instead; both can be set:

- ``ZHIWANG_DUCKDB_MEMORY_LIMIT`` (default ``4GB``): DuckDB's ``memory_limit`` per connection;
- ``ZHIWANG_DUCKDB_TEMP`` (default ``<system temp>/zhiwang-duckdb``): where it spills.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY_LIMIT = "4GB"


def spill_dir() -> Path:
    return Path(os.environ.get("ZHIWANG_DUCKDB_TEMP") or Path(tempfile.gettempdir()) / "zhiwang-duckdb")


def connect(database: str = ":memory:", *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with zhiwang's memory limit and spill folder (see the module docstring)."""
    import duckdb

    folder = spill_dir()
    folder.mkdir(parents=True, exist_ok=True)
    limit = memory_limit or os.environ.get("ZHIWANG_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    return duckdb.connect(database, config={"memory_limit": limit, "temp_directory": str(folder)})
