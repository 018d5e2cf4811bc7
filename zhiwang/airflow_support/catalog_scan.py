"""What the DAG files need from the catalog, read at parse time: the good resources and the broken entries.

Airflow attributes import errors per DAG *file*, and an exception in a file loses every DAG it would have
made. So the catalog is read leniently: each resource whose own YAML file is sound becomes a DAG, and every
problem (file and key) is collected for one separate DAG file to raise (see ``dags/zhiwang_catalog_check.py``).
The same rules as ``zhiwang catalog validate`` apply, so the UI and the CLI never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog.models import Catalog, Resource
    from zhiwang.errors import Problem, ProblemsError


@dataclass
class CatalogScan:
    """The catalog as the DAG folder sees it."""

    directory: Path
    resources: dict[str, Resource] = field(default_factory=dict)
    """Resources with no problem in their own file: each gets an ingest DAG."""
    resource_files: dict[str, str] = field(default_factory=dict)
    catalog: Catalog | None = None
    """The catalog restricted to the sound resources: what a task hands to the pipeline."""
    problems: list[Problem] = field(default_factory=list)
    """Every problem in the catalog, each naming its file and key."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Resource id → its YAML file, for resources left out because of a problem in that file."""

    def describe_problems(self) -> str:
        """One message for the import error: every problem with its file and key."""
        return str(self.error())

    def error(self) -> ProblemsError:
        from zhiwang.errors import ProblemsError

        return ProblemsError(
            f"The catalog at {self.directory} has {len(self.problems)} problem(s); fix them and run "
            "`zhiwang catalog validate`. The ingest DAGs of all other resources still load:",
            self.problems,
        )


def _belongs_to(problem_where: str, resource_file: str) -> bool:
    return problem_where == resource_file or problem_where.startswith(resource_file + ":")


_CACHE: dict[tuple[str, tuple[tuple[str, int, int], ...]], CatalogScan] = {}


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the catalog's files: any edit gives a new fingerprint."""
    files = sorted([*root.glob("*.yaml"), *root.glob("resources/*.yaml"), *root.glob("resources/*.yml")])
    stats = [(str(f), f.stat()) for f in files if f.is_file()]
    return tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats)


def scan_catalog(directory: str | Path | None = None) -> CatalogScan:
    """Read the catalog without raising for its content.

    A resource is kept when no problem points into its own YAML file. Problems elsewhere (departments.yaml,
    core_fields.yaml) are reported but do not hold back ingestion of sound resources. Several DAG files read
    the catalog in one parse: an unchanged catalog is read once per process.
    """
    from zhiwang.settings import get_settings

    root = get_settings(catalog=directory).catalog_dir  # the argument, else ZHIWANG_CATALOG, else the city's
    key = (str(root), _fingerprint(root))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _scan(root)
    return _CACHE[key]


def _scan(root: Path) -> CatalogScan:
    from zhiwang.validation import validate_catalog

    load, problems = validate_catalog(root)
    scan = CatalogScan(directory=load.directory, problems=problems)
    for rid, resource in load.resources.items():
        where = load.resource_files.get(rid, rid)
        if any(_belongs_to(p.where, where) for p in problems):
            scan.skipped[rid] = where
            continue
        scan.resources[rid] = resource
        scan.resource_files[rid] = where
    scan.catalog = load.catalog().model_copy(
        update={"resources": dict(scan.resources), "resource_files": dict(scan.resource_files)})
    return scan


def raise_for_problems(directory: str | Path | None = None) -> None:
    """Raise one :class:`ProblemsError` naming every problem's file and key, or return if there is none."""
    scan = scan_catalog(directory)
    if scan.problems:
        raise scan.error()
