"""The golden library (versioned Delta tables), per-district mirrors, the Delta Sharing server and client.

The resolver hands over its tables with::

    from warehouse import publish_release
    release = publish_release(settings, catalog, {"person": ..., "legal_entity": ..., "building": ...,
                                                  "xref": ..., "links": ..., "changes": ...}, note="")

(pyarrow Tables whose columns are those of ``warehouse.schema.SCHEMAS``; ``changes`` may be omitted and is
then derived). It publishes release N atomically and rebuilds every district's mirror. Readers resolve
tables through the registry: ``warehouse.registry.read_table(settings, "person", release=None)``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_mirrors", "publish_release", "read_table", "rollback"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package must stay cheap (DAG parsing, CLI start-up); deltalake loads on use.
    if name in ("publish_release", "rollback"):
        from warehouse import release

        return getattr(release, name)
    if name == "read_table":
        from warehouse.registry import read_table

        return read_table
    if name == "build_mirrors":
        from warehouse.mirror import build_mirrors

        return build_mirrors
    raise AttributeError(f"module 'warehouse' has no attribute {name!r}")
