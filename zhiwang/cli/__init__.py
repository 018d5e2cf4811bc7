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
    from zhiwang.cli import catalog_cmd, ingest_cmd

    app.add_typer(catalog_cmd.app, name="catalog")
    ingest_cmd.register(app)


_register()
