"""Identifiers for matching: the valid canonical form, or None.

Checksums live in ``quality.validators`` (GB 11643 ``cn_id``, GB 32100 ``uscc``); this module only decides
what matching sees. An invalid identifier becomes None here so that it cannot make two people look alike
(a mistyped ID that collides with someone else's would be a decisive false match); the value as delivered
stays in the staging and golden tables, where survivorship and the quality reports still use it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from entity_resolution.standardize._text import nfkc
from entity_resolution.standardize._vector import Column, _is_series, map_unique_array, python_values
from quality.validators import cn_id, uscc

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def id_number_for_matching(value: object) -> str | None:
    """A citizen ID number as 18 characters with an uppercase X, 15-digit legacy numbers upgraded; None when
    the check character, the birth date or the length is wrong."""
    if value is None:
        return None
    # cn_id.clean already folds full-width digits, Ｘ/ｘ and every kind of space
    return cn_id.normalize(str(value))


def id_number_as_delivered(value: object) -> str | None:
    """Spaces, full-width digits and a lowercase x removed, nothing else: what the department sent."""
    if value is None:
        return None
    return cn_id.clean(nfkc(str(value))) or None


def id_number_birth_date(value: object) -> dt.date | None:
    """The birth date a valid ID number encodes (for records that lack a birth-date column)."""
    number = id_number_for_matching(value)
    return None if number is None else cn_id.birth_date(number)


def id_number_gender(value: object) -> str | None:
    """男 / 女 from a valid ID number."""
    number = id_number_for_matching(value)
    return None if number is None else cn_id.gender(number)


def uscc_for_matching(value: object) -> str | None:
    """An 18-character unified social credit code with correct check characters, uppercase; else None."""
    if value is None:
        return None
    return uscc.normalize(nfkc(str(value)))


# ---- column forms -----------------------------------------------------------------------------------------

def id_numbers_for_matching(values: Column) -> Column:
    """:func:`id_number_for_matching` over a column, checked with NumPy (``cn_id.normalize_array``)."""
    return map_unique_array(values, cn_id.normalize_array, id_number_for_matching, "string")


def usccs_for_matching(values: Column) -> Column:
    """:func:`uscc_for_matching` over a column, checked with NumPy (``uscc.normalize_array``)."""
    return map_unique_array(values, usccs_array, uscc_for_matching, "string")


def usccs_array(values: pa.Array) -> pa.Array:
    """:func:`uscc_for_matching` over a string array (the distinct values of a column)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # NFKC changes only non-ASCII text, and a plain code is ASCII: fold the rest one by one first
    ascii_ = pc.fill_null(pc.string_is_ascii(values), True).to_numpy(zero_copy_only=False)
    if not ascii_.all():
        values = pa.array([v if a or v is None else nfkc(v) for v, a in zip(values.to_pylist(), ascii_, strict=True)],
                          pa.string())
    return uscc.normalize_array(values)


def id_number_birth_dates(values: Column) -> Column:
    """:func:`id_number_birth_date` over a column."""
    return map_unique_array(values, lambda v: cn_id.birth_date_array(cn_id.normalize_array(v)), id_number_birth_date,
                            "date32")


def id_numbers_and_birth_dates(values: Column) -> tuple[Column, Column]:
    """``(id_numbers_for_matching(values), id_number_birth_dates(values))``, checking each distinct value once."""
    import pandas as pd
    import pyarrow as pa

    if not _is_series(values):
        return id_numbers_for_matching(values), id_number_birth_dates(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    try:
        distinct = pa.array(uniques.tolist(), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: the scalar functions handle anything
        return id_numbers_for_matching(values), id_number_birth_dates(values)
    numbers = cn_id.normalize_array(distinct)
    return _taken(numbers, codes, values), _taken(cn_id.birth_date_array(numbers), codes, values)


def _taken(distinct: pa.Array, codes: Any, like: pd.Series) -> pd.Series:
    import numpy as np
    import pandas as pd

    outputs = np.array([*python_values(distinct), None], dtype=object)  # code -1 (a null) takes the trailing None
    return pd.Series(outputs[codes], index=like.index, name=like.name, dtype=object)
