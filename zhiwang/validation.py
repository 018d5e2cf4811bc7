"""Whole-catalog validation: the catalog's own rules plus what the connector and quality packages know
(connector options, validator names). Used by `zhiwang catalog validate` and before every run."""

from __future__ import annotations

from pathlib import Path

from catalog.loader import CatalogLoad, load_catalog_lenient
from catalog.models import Catalog
from zhiwang.errors import Problem, ProblemsError


def validate_catalog(directory: str | Path | None = None) -> tuple[CatalogLoad, list[Problem]]:
    load = load_catalog_lenient(directory)
    problems = list(load.problems)
    from connectors.registry import validate_source

    for rid, resource in load.resources.items():
        where = load.resource_files.get(rid, rid)
        problems.extend(validate_source(resource, where))
        problems.extend(_check_problems(resource, where))
    return load, problems


def _check_problems(resource, where: str) -> list[Problem]:  # noqa: ANN001 - Resource
    try:
        from quality.checks import validate_check_refs
    except ImportError:  # quality package not built yet
        return []
    return validate_check_refs(resource, where)


def load_valid_catalog(directory: str | Path | None = None) -> Catalog:
    """The catalog, or a :class:`ProblemsError` listing every problem with file and key."""
    load, problems = validate_catalog(directory)
    if problems:
        raise ProblemsError(
            f"The catalog at {load.directory} has {len(problems)} problem(s); fix them and run "
            "`zhiwang catalog validate` again:",
            problems,
        )
    return load.catalog()
