"""The ``zhiwang`` command. Each command group lives in its own module and is registered here."""

from __future__ import annotations

import os

import typer

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

app = typer.Typer(
    name="zhiwang",
    help="织网 zhiwang: data exchange and master data for a city's public information resource library.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from zhiwang.cli import (
        airflow_cmd,
        audit_cmd,
        backup_cmd,
        bench_cmd,
        catalog_cmd,
        demo_cmd,
        golden_cmd,
        ingest_cmd,
        mirror_cmd,
        publish_cmd,
        quality_cmd,
        quarantine_cmd,
        release_cmd,
        review_cmd,
    )

    app.add_typer(catalog_cmd.app, name="catalog")
    ingest_cmd.register(app)  # ingest, run
    app.add_typer(quality_cmd.app, name="quality")
    app.add_typer(quarantine_cmd.app, name="quarantine")
    app.add_typer(review_cmd.app, name="review")
    publish_cmd.register(app)  # publish
    app.add_typer(release_cmd.app, name="release")
    app.add_typer(golden_cmd.app, name="golden")
    app.add_typer(mirror_cmd.app, name="mirror")
    app.add_typer(audit_cmd.app, name="audit")
    app.add_typer(backup_cmd.app, name="backup")
    app.add_typer(demo_cmd.app, name="demo")
    app.add_typer(airflow_cmd.app, name="airflow")
    bench_cmd.register(app)  # bench


_register()
