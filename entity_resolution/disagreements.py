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
    """:func:`material` for every row (a city's release has hundreds of thousands of disagreements).

    Rows whose two texts are equal are not material whatever the field (a normalizer gives one text one
    value), so only the rest are normalized: each distinct value once, and the addresses of every address
    field in one vectorized parse (residence and hukou addresses repeat each other)."""
    import pyarrow.compute as pc

    left, right = _texts(authoritative), _texts(other)
    differs = _differs(left, right)
    out = np.zeros(len(fields), dtype=bool)
    if not differs.any():
        return out
    encoded = pc.dictionary_encode(fields.cast(pa.string()), null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    normalizers = _normalizers()
    address_rows = []
    for code, field in enumerate(encoded.dictionary.to_pylist()):
        rows = np.flatnonzero((codes == code) & differs)
        if not len(rows):
            continue
        if field in ADDRESS_FIELDS:
            address_rows.append(rows)
        elif field in ("lon", "lat"):
            a, b = left.take(rows).to_pylist(), right.take(rows).to_pylist()
            out[rows] = [material(field, x, y) for x, y in zip(a, b, strict=True)]
        elif field in normalizers:
            out[rows] = _differ_normalized(normalizers[field], left.take(rows), right.take(rows))
        else:  # _text is the normalizer: the texts differ
            out[rows] = True
    if address_rows:
        rows = np.concatenate(address_rows)
        out[rows] = _differ_addresses(left.take(rows), right.take(rows))
    return out


def with_material(table: pa.Table) -> pa.Table:
    """Survivorship's disagreements with ``material`` (:func:`material_mask` of each row), judged once where
    they arise: an incremental resolve carries unchanged golden IDs' rows over with their verdicts, instead
    of every release parsing a city's disagreeing addresses again."""
    if "material" in table.column_names:
        return table
    columns = [table.column(c).combine_chunks() for c in ("field", "authoritative_value", "value")]
    mask = material_mask(*columns) if table.num_rows else np.zeros(0, dtype=bool)
    return table.append_column("material", pa.array(mask, pa.bool_()))


def _texts(values: pa.Array) -> pa.Array:
    """Values as trimmed text (null for empty), as :func:`material` sees them; the trim takes exactly the
    characters ``str.strip()`` takes."""
    import pyarrow.compute as pc

    from entity_resolution.links import WHITESPACE

    trimmed = pc.utf8_trim(values.cast(pa.string()), characters=WHITESPACE)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _differs(left: pa.Array, right: pa.Array) -> np.ndarray:
    """Row by row: the two texts differ (one of them null and the other not counts)."""
    import pyarrow.compute as pc

    both = pc.and_(left.is_valid(), right.is_valid())
    unequal = pc.if_else(both, pc.not_equal(left, right), pc.not_equal(left.is_valid(), right.is_valid()))
    return unequal.to_numpy(zero_copy_only=False)


def _value_ids(left: pa.Array, right: pa.Array,
               distinct_ids: Callable[[pa.Array], tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids of the normalized values of both sides (equal ids: equal normalized values), from
    ``distinct_ids``: the ids of the distinct texts given, and the id of null."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(pa.concat_arrays([left, right]))
    per_distinct, null_id = distinct_ids(encoded.dictionary)
    lookup = np.append(per_distinct.astype(np.int64), null_id)
    codes = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return lookup[codes[: len(left)]], lookup[codes[len(left):]]


def _differ_normalized(normalize: Callable[[Any], Any], left: pa.Array, right: pa.Array) -> np.ndarray:
    from entity_resolution.standardize._vector import python_values

    def distinct_ids(distinct: pa.Array) -> tuple[np.ndarray, int]:
        ids: dict[Any, int] = {}  # normalized value → id
        per_distinct = [ids.setdefault(_safe(normalize, v), len(ids)) for v in python_values(distinct)]
        return np.array(per_distinct, dtype=np.int64), ids.setdefault(_safe(normalize, None), len(ids))

    a, b = _value_ids(left, right, distinct_ids)
    return a != b


def _differ_addresses(left: pa.Array, right: pa.Array) -> np.ndarray:
    """The flat's key, else the building's, else the text itself (as ``material``'s address normalizer)."""
    import pyarrow.compute as pc

    from entity_resolution import standardize as s

    def distinct_ids(distinct: pa.Array) -> tuple[np.ndarray, int]:
        # as a dictionary array: parse_addresses takes its entries as the distinct values, without hashing
        # the texts again (they are distinct already)
        rows = pa.DictionaryArray.from_arrays(pa.array(np.arange(len(distinct), dtype=np.int32)), distinct)
        parsed = s.parse_addresses(rows, columns=["building_key", "unit_key"])
        keys = [pc.if_else(pc.equal(k, ""), pa.scalar(None, pa.string()), k)  # "" is falsy to `or` too
                for k in (parsed.column("unit_key").combine_chunks(), parsed.column("building_key").combine_chunks())]
        normalized = pc.coalesce(*keys, distinct)  # never null: the texts are not
        return pc.dictionary_encode(normalized).indices.to_numpy(zero_copy_only=False), -1  # null: itself

    a, b = _value_ids(left, right, distinct_ids)
    return a != b


def _safe(normalize: Callable[[Any], Any], value: Any) -> Any:
    """The normalized value; the text itself when the normalizer cannot read it (as :func:`material` falls back)."""
    try:
        return normalize(value)
    except (TypeError, ValueError):
        return ("unreadable", _text(value))


_CSV_SPECIAL = r'[,"\r\n]'
"""What makes csv.writer's excel dialect (QUOTE_MINIMAL) quote a field: the delimiter, the quote character
and the line terminator's characters."""
_CSV_SLICE = 100_000  # rows per Arrow join: a string array's offsets are 32-bit


def csv_lines(fields: list[str | pa.Array]) -> bytes:
    """UTF-8 lines, each ending in ``\\r\\n``, exactly as ``csv.writer`` (excel dialect) writes the rows
    whose columns are ``fields``: a str stands for the same value in every row, a text array (at least one)
    gives each row's own, null written as nothing. Built by Arrow, since csv.writer spent about 5 µs a row and
    a city's correction loop writes hundreds of thousands."""
    import csv
    import io

    import pyarrow.compute as pc

    arrays = [f for f in fields if not isinstance(f, str)]
    if not arrays or any(not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)
                              or pa.types.is_null(a.type)) for a in arrays):
        raise TypeError("csv_lines: pass at least one column as a text array, and every array as text "
                        f"(got {[str(a.type) for a in arrays]}); convert other values with str() first")

    def quoted(field: str | pa.Array) -> pa.Scalar | pa.Array:
        if isinstance(field, str):  # csv.writer's own quoting (two fields: a lone empty one is quoted)
            text = io.StringIO()
            csv.writer(text).writerow([field, ""])
            return pa.scalar(text.getvalue().removesuffix(",\r\n"), pa.string())
        field = field.cast(pa.string())
        wrapped = pc.binary_join_element_wise('"', pc.replace_substring(field, '"', '""'), '"', "")
        return pc.fill_null(pc.if_else(pc.match_substring_regex(field, _CSV_SPECIAL), wrapped, field), "")

    columns = [quoted(f) for f in fields]
    out = []
    for start in range(0, len(arrays[0]), _CSV_SLICE):
        part = [c if isinstance(c, pa.Scalar) else c.slice(start, _CSV_SLICE) for c in columns]
        lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*part, ","), "\r\n", "")
        # the lines are the string array's data, back to back
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
        out.append(lines.buffers()[2][int(offsets[0]): int(offsets[-1])].to_pybytes())
    return b"".join(out)


def text_column(table: pa.Table, name: str) -> tuple[pa.Array, bool]:
    """The column as the text csv.writer writes for it (``str`` of each value, null where empty or
    missing), and whether it was text already (values of other types are not identifiers to mask)."""
    from entity_resolution.standardize._vector import python_values

    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string()), False
    column = table.column(name).combine_chunks()
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string()), True
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string()), False
    return pa.array([None if v is None else str(v) for v in python_values(column)], pa.string()), False
