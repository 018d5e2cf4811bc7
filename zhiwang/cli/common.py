"""What every command shares: --home/--catalog options, plain-words errors, JSON output, progress bars."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zhiwang.errors import UserError
from zhiwang.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="ZHIWANG_HOME", help="Data home (default ./var in the repository).", show_default=False),
]
CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", envvar="ZHIWANG_CATALOG", help="Catalog directory (default: the city's catalog).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def settings_from(home: Path | None, catalog: Path | None) -> Settings:
    return get_settings(home, catalog)


def user_errors(func: F) -> F:
    """Turn a user's mistake into one paragraph on stderr and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def print_json(obj: Any) -> None:
    """One JSON value per line on stdout (Chinese kept readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def progress_bar(items: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr (hidden for --json or when stderr is not a terminal)."""
    if not enabled or not err_console.is_terminal:
        yield from items
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
