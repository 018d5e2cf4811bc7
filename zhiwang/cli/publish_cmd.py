"""zhiwang publish: resolve the staged records and publish the next golden release (then the mirrors).

``--from DIR`` publishes golden tables prepared elsewhere instead: one Parquet file (or folder of Parquet
files) per table, ``person``, ``legal_entity``, ``building``, ``xref``, ``links`` and optionally
``changes`` (see warehouse/schema.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhiwang.cli.common import CatalogOption, HomeOption, JsonOption, console, print_json, settings_from, user_errors
from zhiwang.errors import UserError


def read_resolved(folder: Path) -> dict[str, object]:
    import pyarrow.parquet as pq

    from warehouse.schema import GOLDEN_TABLES

    tables = {}
    for name in GOLDEN_TABLES:
        candidates = [folder / f"{name}.parquet", folder / name]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            if name == "changes":
                continue
            raise UserError(f"{folder}: no {name}.parquet (or {name}/ folder). Run entity resolution first, "
                            "which leaves person, legal_entity, building, xref and links there.")
        tables[name] = pq.read_table(found)
    return tables


def register(app: typer.Typer) -> None:
    @app.command("publish")
    @user_errors
    def publish(
        home: HomeOption = None, catalog: CatalogOption = None, json_out: JsonOption = False,
        note: Annotated[str, typer.Option(help="Free text kept with the release.")] = "",
        mirrors: Annotated[bool, typer.Option("--mirrors/--no-mirrors", help="Rebuild every district's mirror.")] = True,
        source: Annotated[Path | None, typer.Option("--from", help="Publish golden tables from this folder instead of resolving.")] = None,
    ) -> None:
        """Resolve the staged records and publish golden release N (atomic), then rebuild the district mirrors."""
        from warehouse.registry import get_release
        from warehouse.release import publish_release
        from zhiwang.validation import load_valid_catalog

        settings = settings_from(home, catalog)
        cat = load_valid_catalog(settings.catalog_dir)
        if source is not None:
            release = publish_release(settings, cat, read_resolved(source), note=note, build_mirrors=mirrors)
        else:
            from entity_resolution.pipeline import resolve_and_publish

            release = get_release(settings, resolve_and_publish(settings, cat, build_mirrors=mirrors, note=note).release)
        if json_out:
            print_json(release.summary())
            return
        counts = ", ".join(f"{n} {t.rows}" for n, t in release.tables.items())
        console.print(f"[green]Published release {release.number}[/] ({counts}).", highlight=False)
