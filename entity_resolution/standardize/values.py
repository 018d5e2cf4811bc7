"""Canonical values as the golden library shows them: one way of writing each fact.

Departments write the same fact differently (性别 "1" or "男", "+86 139-…" or "139…", 15-digit IDs, 張偉).
Before survivorship every canonical field is rewritten into its standard form, so the golden value, the
"most frequent value" rule and the disagreements sent back to departments compare facts, not spellings.
A value the standardizer cannot read is kept as delivered (trimmed), never dropped: an invalid ID number
stays visible to the steward exactly as the department wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from entity_resolution.standardize._vector import map_unique, map_unique_array


def _rules() -> dict[str, Callable[[Any], Any]]:
    from entity_resolution.standardize.companies import normalize_company_name
    from entity_resolution.standardize.identifiers import id_number_for_matching, uscc_for_matching
    from entity_resolution.standardize.names import normalize_name
    from entity_resolution.standardize.phones import phone_for_matching
    from quality.validators.enums import normalize_gender

    return {
        "name@person": normalize_name, "legal_rep_name": normalize_name,
        "name@legal_entity": normalize_company_name, "employer_name": normalize_company_name,
        "gender": normalize_gender, "phone": phone_for_matching,
        "id_number": id_number_for_matching, "legal_rep_id_number": id_number_for_matching,
        "uscc": uscc_for_matching, "employer_uscc": uscc_for_matching,
    }


def _array_rules() -> dict[str, Callable[[pa.Array], pa.Array]]:
    """Vectorised forms of some rules (same answers as the scalar rule, see quality/validators/_arrays.py)."""
    from entity_resolution.standardize.identifiers import usccs_array
    from entity_resolution.standardize.phones import phones_array
    from quality.validators import cn_id

    return {"id_number": cn_id.normalize_array, "legal_rep_id_number": cn_id.normalize_array,
            "uscc": usccs_array, "employer_uscc": usccs_array, "phone": phones_array}


def standardize_values(entity: str, table: pa.Table) -> pa.Table:
    """``table`` with each canonical text field in its standard form (unreadable values kept as delivered)."""
    rules, array_rules = _rules(), _array_rules()
    for name in table.column_names:
        rule = rules.get(f"{name}@{entity}") or rules.get(name)
        if rule is None or not pa.types.is_string(table.schema.field(name).type):
            continue
        raw = table.column(name).combine_chunks()
        trimmed = pc.utf8_trim_whitespace(raw)
        array_rule = array_rules.get(f"{name}@{entity}") or array_rules.get(name)
        if array_rule is not None:
            standard = map_unique_array(trimmed, array_rule, rule, pa.string())
        else:
            standard = map_unique(trimmed, rule, pa.string())
        table = table.set_column(table.schema.get_field_index(name), name, pc.coalesce(standard, trimmed))
    return table
