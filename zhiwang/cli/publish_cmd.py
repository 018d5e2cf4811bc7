"""zhiwang publish: publish the resolver's hand-over in ``<home>/resolved/`` as the next golden release.

The resolver leaves one Parquet file (or folder of Parquet files) per table: ``resolved/person.parquet``,
``legal_entity``, ``building``, ``xref``, ``links`` and optionally ``changes`` (see warehouse/schema.py);
the same tables passed in memory to ``warehouse.release.publish_release`` have the same effect.
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
    ) -> None:
        """Publish <home>/resolved/ as golden release N (atomic), then rebuild the district mirrors."""
        from warehouse.release import publish_release
        from zhiwang.validation import load_valid_catalog

        settings = settings_from(home, catalog)
        release = publish_release(settings, load_valid_catalog(settings.catalog_dir), read_resolved(settings.home / "resolved"),
                                  note=note, build_mirrors=mirrors)
        if json_out:
            print_json(release.summary())
            return
        counts = ", ".join(f"{n} {t.rows}" for n, t in release.tables.items())
        console.print(f"[green]Published release {release.number}[/] ({counts}).", highlight=False)
