"""Canonical fields per entity type (DESIGN.md). Entity-resolution models work on these, never on
department column names, so onboarding a resource needs no retraining."""

from __future__ import annotations

from typing import Literal

EntityType = Literal["person", "legal_entity", "building"]
ENTITY_TYPES: tuple[EntityType, ...] = ("person", "legal_entity", "building")

CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "person": (
        "name", "id_number", "gender", "birth_date", "ethnicity", "phone", "residence_address",
        "hukou_address", "district_code", "grid_code", "employer_name", "employer_uscc",
    ),
    "legal_entity": (
        "name", "uscc", "legal_rep_name", "legal_rep_id_number", "registered_address", "business_address",
        "established_date", "industry_code", "phone", "district_code",
    ),
    "building": (
        "building_code", "address", "district_code", "street", "community", "grid_code", "lon", "lat", "floors",
    ),
    "none": (),
}

GOLDEN_ID_PREFIX: dict[str, str] = {"person": "P", "legal_entity": "E", "building": "B"}

# The catalog types a canonical field may be delivered as; every other canonical field is text. Keeping
# these fixed is what lets records of many resources stack into one table per entity.
CANONICAL_TYPES: dict[str, tuple[str, ...]] = {
    "birth_date": ("date", "timestamp"),
    "established_date": ("date", "timestamp"),
    "lon": ("decimal",),
    "lat": ("decimal",),
    "floors": ("integer",),
}


def allowed_types(canonical_field: str) -> tuple[str, ...]:
    return CANONICAL_TYPES.get(canonical_field, ("string",))
