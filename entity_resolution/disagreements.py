"""Which disagreements with the authoritative source are worth a department's time.

Survivorship reports every value that differs from the authoritative one; most differ only in how they are
written (性别 "1" vs "男", "+86-152…" vs "152…", 幢 vs 栋, full-width digits). Those are not errors the
provider must correct, so only values that still differ after standardization go back to the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

_NEAR_DEGREES = 0.0005
"""Coordinates closer than this (about 50 m) describe the same building."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


@lru_cache(maxsize=1)
def _normalizers() -> dict[str, Callable[[Any], Any]]:
    from entity_resolution import standardize as s
    from quality.validators import enums

    def address(value: Any) -> Any:
        parsed = s.parse_address(_text(value))
        return parsed.unit_key or parsed.building_key or _text(value)

    def identifier(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda v: func(v) or (_text(v) or "").upper() or None

    return {
        "name": s.normalize_name, "legal_rep_name": s.normalize_name, "employer_name": s.company_key,
        "gender": enums.normalize_gender,
        "id_number": identifier(s.id_number_for_matching), "legal_rep_id_number": identifier(s.id_number_for_matching),
        "uscc": identifier(s.uscc_for_matching), "employer_uscc": identifier(s.uscc_for_matching),
        "phone": lambda v: s.phone_for_matching(v) or _text(v),
        "residence_address": address, "hukou_address": address, "registered_address": address,
        "business_address": address, "address": address,
        "birth_date": s.parse_date, "established_date": s.parse_date,
    }


def material(field: str, authoritative: Any, other: Any) -> bool:
    """True when the two values still differ once both are standardized."""
    if field in ("lon", "lat"):
        try:
            return abs(float(authoritative) - float(other)) > _NEAR_DEGREES
        except (TypeError, ValueError):
            return _text(authoritative) != _text(other)
    normalize = _normalizers().get(field, _text)
    try:
        return normalize(authoritative) != normalize(other)
    except (TypeError, ValueError):
        return _text(authoritative) != _text(other)
