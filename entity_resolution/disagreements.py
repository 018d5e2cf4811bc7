"""Which disagreements with the authoritative source are worth a department's time.

Survivorship reports every value that differs from the authoritative one; most differ only in how they are
written (性别 "1" vs "男", "+86-152…" vs "152…", 幢 vs 栋, full-width digits). Those are not errors the
provider must correct, so only values that still differ after standardization go back to the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

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
        return _text(value) if parsed is None else parsed.unit_key or parsed.building_key or _text(value)

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


ADDRESS_FIELDS = ("residence_address", "hukou_address", "registered_address", "business_address", "address")


def material_mask(fields: pa.Array, authoritative: pa.Array, other: pa.Array) -> np.ndarray:
    """:func:`material` for every row (a city's release has hundreds of thousands of disagreements): each
    distinct value is normalized once, addresses in one vectorized parse."""
    fields_np = np.asarray(fields.to_pylist(), dtype=object)
    left, right = _texts(authoritative), _texts(other)
    out = np.zeros(len(fields_np), dtype=bool)
    for field in set(fields_np.tolist()):
        rows = np.flatnonzero(fields_np == field)
        a, b = left[rows], right[rows]
        if field in ("lon", "lat"):
            out[rows] = [material(field, x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
            continue
        distinct = sorted({v for v in (*a.tolist(), *b.tolist()) if v is not None})
        normalized = dict(zip(distinct, _normalize_many(field, distinct), strict=True))
        normalized[None] = _safe(_normalizers().get(field, _text), None)
        out[rows] = [normalized[x] != normalized[y] for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    return out


def _texts(values: pa.Array) -> np.ndarray:
    """Values as trimmed text (None for empty), as :func:`material` sees them."""
    return np.asarray([_text(v) for v in values.cast(pa.string()).to_pylist()], dtype=object)


def _normalize_many(field: str, values: list[str]) -> list[Any]:
    if field in ADDRESS_FIELDS:
        from entity_resolution import standardize as s

        parsed = s.parse_addresses(pa.array(values, pa.string()), columns=["building_key", "unit_key"])
        return [u or b or v for u, b, v in zip(parsed.column("unit_key").to_pylist(),
                                               parsed.column("building_key").to_pylist(), values, strict=True)]
    normalize = _normalizers().get(field, _text)
    return [_safe(normalize, v) for v in values]


def _safe(normalize: Callable[[Any], Any], value: Any) -> Any:
    """The normalized value; the text itself when the normalizer cannot read it (as :func:`material` falls back)."""
    try:
        return normalize(value)
    except (TypeError, ValueError):
        return ("unreadable", _text(value))
