"""Connector registry: built-ins by name, third parties through the ``zhiwang.connectors`` entry-point group.

Built-ins are imported on first use, so parsing DAGs or loading the catalog stays cheap.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from zhiwang.errors import ConfigError, Problem

if TYPE_CHECKING:
    from catalog.models import Resource
    from connectors.base import Connector

ENTRY_POINT_GROUP = "zhiwang.connectors"
BUILTINS = {
    "file_drop": "connectors.file_drop",
    "sql": "connectors.sql",
    "http": "connectors.http",
}

_REGISTRY: dict[str, type[Connector[Any]]] = {}
_plugins_loaded = False

T = TypeVar("T", bound="type[Connector[Any]]")


def register_connector(name: str):  # noqa: ANN201 - decorator
    """Register a connector class under ``name``; a second class under the same name is refused."""

    def wrap(cls: T) -> T:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not cls:
            raise ConfigError(
                f"Connector name {name!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
                f"{cls.__module__}.{cls.__qualname__} must use another name."
            )
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        obj = ep.load()  # importing the module registers it; the entry point may also name the class
        if isinstance(obj, type) and ep.name not in _REGISTRY:
            register_connector(ep.name)(obj)


def available() -> list[str]:
    _load_plugins()
    return sorted(set(BUILTINS) | set(_REGISTRY))


def get_connector_class(name: str) -> type[Connector[Any]]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in BUILTINS:
        importlib.import_module(BUILTINS[name])
    if name not in _REGISTRY:
        _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"No connector named {name!r}. Available: {', '.join(available())}. A third-party connector must be "
            f"installed and registered in the {ENTRY_POINT_GROUP!r} entry-point group."
        ) from None


def parse_source(resource: Resource) -> Any:
    """The resource's ``source:`` block as its connector's typed config (raises on problems)."""
    problems = validate_source(resource)
    if problems:
        raise ConfigError("; ".join(str(p) for p in problems))
    cls = get_connector_class(resource.source.connector)
    return cls.config_class.model_validate(resource.source.options())


def validate_source(resource: Resource, where: str | None = None) -> list[Problem]:
    """Problems with a resource's ``source:`` block, each located as ``<file>: source.<key>``."""
    from catalog.loader import _pydantic_problems

    where = where or f"resource {resource.id}"
    try:
        cls = get_connector_class(resource.source.connector)
    except ConfigError as exc:
        return [Problem(f"{where}: source.connector", f"= {resource.source.connector!r}: {exc}")]
    try:
        cls.config_class.model_validate(resource.source.options())
    except ValidationError as exc:
        return _pydantic_problems(where, exc, cls.config_class, prefix="source")
    return []
