"""The resource catalog (政务信息资源目录): typed model and loader."""

from catalog.canonical import CANONICAL_FIELDS, ENTITY_TYPES
from catalog.loader import CatalogLoad, load_catalog, load_catalog_lenient
from catalog.models import Catalog, CheckRef, Department, District, FieldSpec, Resource, SourceSpec

__all__ = [
    "CANONICAL_FIELDS", "ENTITY_TYPES", "Catalog", "CatalogLoad", "CheckRef", "Department", "District",
    "FieldSpec", "Resource", "SourceSpec", "load_catalog", "load_catalog_lenient",
]
