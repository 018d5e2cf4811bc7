"""Load and validate a catalog directory, collecting every problem before reporting.

Layout: ``resources/*.yaml`` (one resource each), ``departments.yaml``, ``districts.yaml``,
``core_fields.yaml``. Every problem carries the file and the key path (``fields[3].type``), so a steward can
go straight to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from catalog.canonical import CANONICAL_FIELDS, ENTITY_TYPES, allowed_types
from catalog.models import Catalog, Department, District, Resource
from zhiwang.errors import Problem, ProblemsError

# libyaml's loader is ~10× faster than the pure-Python one; Airflow re-reads the catalog at every DAG parse.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class CatalogLoad:
    """What a lenient load found: the parts that parsed, and every problem."""

    directory: Path
    resources: dict[str, Resource] = field(default_factory=dict)
    resource_files: dict[str, str] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    districts: dict[str, District] = field(default_factory=dict)
    core_fields: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def catalog(self) -> Catalog:
        return Catalog(
            directory=str(self.directory),
            resources=self.resources,
            departments=self.departments,
            districts=self.districts,
            core_fields=self.core_fields,
            resource_files=self.resource_files,
        )


def default_catalog_dir() -> Path:
    from zhiwang.settings import get_settings

    return get_settings().catalog_dir


def load_catalog(directory: str | Path | None = None) -> Catalog:
    """Load a catalog; raise :class:`ProblemsError` listing every problem if there is any."""
    result = load_catalog_lenient(directory)
    if result.problems:
        raise ProblemsError(
            f"The catalog at {result.directory} has {len(result.problems)} problem(s); "
            "fix them and run `zhiwang catalog validate` again:",
            result.problems,
        )
    return result.catalog()


def load_catalog_lenient(directory: str | Path | None = None) -> CatalogLoad:
    """Load what can be loaded; never raise for the catalog's content, only collect problems."""
    root = Path(directory or os.environ.get("ZHIWANG_CATALOG") or default_catalog_dir()).resolve()
    load = CatalogLoad(directory=root)
    if not root.is_dir():
        load.problems.append(Problem(str(root), "the catalog directory does not exist (set ZHIWANG_CATALOG or --catalog)"))
        return load

    load.departments = _load_mapping(load, root / "departments.yaml", Department)
    load.districts = _load_mapping(load, root / "districts.yaml", District)
    for code in load.districts:
        if not (len(code) == 6 and code.isdigit()):
            load.problems.append(Problem(_rel(root, root / "districts.yaml"), f"{code!r}: a district key must be its 6-digit GB/T 2260 code, quoted"))

    resource_dir = root / "resources"
    files = sorted(resource_dir.glob("*.yaml")) + sorted(resource_dir.glob("*.yml"))
    if not files:
        load.problems.append(Problem(_rel(root, resource_dir), "no resource files (*.yaml) found"))
    for path in files:
        _load_resource(load, root, path)

    load.core_fields = _load_core_fields(load, root / "core_fields.yaml")
    return load


# -- pieces ----------------------------------------------------------------------------------------------


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read_yaml(load: CatalogLoad, path: Path) -> Any:
    where = _rel(load.directory, path)
    if not path.is_file():
        load.problems.append(Problem(where, "file is missing"))
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except UnicodeDecodeError:
        load.problems.append(Problem(where, "is not UTF-8 text; save the file as UTF-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        load.problems.append(Problem(where, f"is not valid YAML{at}: {getattr(exc, 'problem', exc)}"))
    return None


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(error: dict[str, Any], model_fields: list[str] | None = None) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = f" (allowed keys: {', '.join(model_fields)})" if model_fields else ""
        return f"unknown key{allowed}"
    if kind == "missing":
        return "is required but missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"= {value!r} is not one of: {expected.replace(chr(39), '').replace(' or ', ', ')}"
    message = error["msg"].removeprefix("Value error, ")
    if isinstance(value, (str, int, float, bool)):
        return f"= {value!r}: {message}"
    return message


def _pydantic_problems(where: str, exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        fields = _fields_at(model, loc) if error["type"] == "extra_forbidden" else None
        path = _key_path(loc)
        key = f"{prefix}.{path}" if prefix and path else (prefix or path)
        problems.append(Problem(f"{where}: {key}" if key else where, _describe(error, fields)))
    return problems


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The allowed keys of the model that holds ``loc[-1]``, for 'unknown key' messages."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return None
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return None
    return list(getattr(current, "model_fields", {}))


def _load_mapping(load: CatalogLoad, path: Path, model: type[BaseModel]) -> dict[str, Any]:
    data = _read_yaml(load, path)
    where = _rel(load.directory, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        load.problems.append(Problem(where, "must be a mapping of code → entry"))
        return {}
    out: dict[str, Any] = {}
    for code, entry in data.items():
        try:
            out[str(code)] = model.model_validate(entry)
        except ValidationError as exc:
            load.problems.extend(_pydantic_problems(where, exc, model, prefix=str(code)))
    return out


def _load_resource(load: CatalogLoad, root: Path, path: Path) -> None:
    where = _rel(root, path)
    data = _read_yaml(load, path)
    if data is None:
        return
    if not isinstance(data, dict):
        load.problems.append(Problem(where, "must be a mapping describing one resource"))
        return
    # Cross-reference rules run on the raw mapping, so they are reported even when the model has other errors.
    load.problems.extend(_semantic_problems(load, where, data))
    try:
        resource = Resource.model_validate(data)
    except ValidationError as exc:
        load.problems.extend(p for p in _pydantic_problems(where, exc, Resource) if "sharing_" not in p.message)
        return
    if resource.id in load.resources:
        other = load.resource_files[resource.id]
        load.problems.append(Problem(f"{where}: id", f"= {resource.id!r} is already used by {other}; ids must be unique"))
        return
    load.resources[resource.id] = resource
    load.resource_files[resource.id] = where


def _semantic_problems(load: CatalogLoad, where: str, data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    provider = data.get("provider")
    if isinstance(provider, str) and load.departments and provider not in load.departments:
        known = ", ".join(sorted(load.departments))
        problems.append(Problem(f"{where}: provider", f"= {provider!r} is not a department in departments.yaml (known: {known})"))
    sharing = data.get("sharing")
    if sharing == "conditional" and not data.get("sharing_condition"):
        problems.append(Problem(where, "sharing is conditional but sharing_condition is missing: say who may use it and for what"))
    if sharing == "none" and not data.get("sharing_reason"):
        problems.append(Problem(where, "sharing is none but sharing_reason is missing: cite the law or rule that forbids sharing"))
    entity = data.get("entity")
    allowed = CANONICAL_FIELDS.get(entity) if isinstance(entity, str) else None
    fields = data.get("fields") if isinstance(data.get("fields"), list) else []
    columns: dict[str, int] = {}
    targets: dict[str, int] = {}
    for i, spec in enumerate(fields):
        if not isinstance(spec, dict):
            continue
        column, target = spec.get("column"), spec.get("maps_to")
        if isinstance(column, str):
            if column in columns:
                problems.append(Problem(f"{where}: fields[{i}].column", f"= {column!r} is listed twice (also fields[{columns[column]}])"))
            columns.setdefault(column, i)
        if not isinstance(target, str) or allowed is None:
            continue
        if target not in allowed:
            hint = f"one of: {', '.join(allowed)}" if allowed else "nothing: entity none has no canonical fields"
            problems.append(Problem(f"{where}: fields[{i}].maps_to", f"= {target!r} is not a canonical {entity} field; expected {hint}"))
        elif spec.get("type", "string") not in allowed_types(target):
            problems.append(Problem(f"{where}: fields[{i}].type", f"= {spec.get('type', 'string')!r} cannot feed {target}; use type: {' or '.join(allowed_types(target))}"))
        if target in targets:
            problems.append(Problem(f"{where}: fields[{i}].maps_to", f"= {target!r} is already fed by fields[{targets[target]}]; map each canonical field once"))
        targets.setdefault(target, i)
    keys = data.get("record_key")
    if isinstance(keys, list) and fields:
        for i, key in enumerate(keys):
            if key not in columns:
                problems.append(Problem(f"{where}: record_key[{i}]", f"= {key!r} is not a column in fields; add it to fields or fix the name"))
    return problems


def _load_core_fields(load: CatalogLoad, path: Path) -> dict[str, dict[str, list[str]]]:
    data = _read_yaml(load, path)
    where = _rel(load.directory, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        load.problems.append(Problem(where, "must map entity → canonical field → [resource ids in order of authority]"))
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for entity, table in data.items():
        if entity not in ENTITY_TYPES:
            load.problems.append(Problem(f"{where}: {entity}", f"is not an entity type; expected one of: {', '.join(ENTITY_TYPES)}"))
            continue
        if not isinstance(table, dict):
            load.problems.append(Problem(f"{where}: {entity}", "must map canonical field → [resource ids]"))
            continue
        out[entity] = {}
        for fname, ids in table.items():
            key = f"{where}: {entity}.{fname}"
            if fname not in CANONICAL_FIELDS[entity]:
                load.problems.append(Problem(key, f"is not a canonical {entity} field; expected one of: {', '.join(CANONICAL_FIELDS[entity])}"))
                continue
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                load.problems.append(Problem(key, "must be a list of resource ids"))
                continue
            for j, rid in enumerate(ids):
                res = load.resources.get(rid)
                if res is None:
                    load.problems.append(Problem(f"{key}[{j}]", f"= {rid!r} is not a resource in resources/"))
                elif res.entity != entity:
                    load.problems.append(Problem(f"{key}[{j}]", f"= {rid!r} describes {res.entity}, not {entity}"))
                elif fname not in res.canonical_fields():
                    load.problems.append(Problem(f"{key}[{j}]", f"= {rid!r} has no field mapped to {fname}"))
            out[entity][fname] = list(ids)
    return out
