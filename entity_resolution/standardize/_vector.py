"""Apply a scalar standardizer to a whole column, once per distinct value.

Delivered columns repeat a lot (birth dates, districts, common names, the same address for a household), so
mapping the distinct values and taking them back by index is much faster than a per-row Python loop, and it
keeps one definition of each rule: the scalar function is the specification, the column form only reuses it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pyarrow loads on first use: importing a standardizer stays cheap
    import pyarrow as pa

T = TypeVar("T")

Column = Any
"""A ``pa.Array``, ``pa.ChunkedArray``, ``pd.Series`` or any iterable of values."""


def _as_arrow(values: Column) -> pa.Array:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        return values
    if hasattr(values, "tolist"):
        values = values.tolist()
    return pa.array(list(values), from_pandas=True)


def _mapped_arrow(values: pa.Array, fn: Callable[[Any], T], out_type: pa.DataType | str | None) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(out_type, str):
        out_type = getattr(pa, out_type)()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    encoded = pc.dictionary_encode(values)
    # to_pylist gives Python str / int / date objects, the types the scalar functions were written for
    outputs = [fn(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(outputs, type=out_type).take(encoded.indices)


def python_values(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """``array.to_pylist()``; for text through NumPy, which is several times faster and gives the same
    str / None values."""
    import pyarrow as pa

    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.to_numpy(zero_copy_only=False).tolist()
    return array.to_pylist()


def _is_series(values: Column) -> bool:
    pd = sys.modules.get("pandas")  # a Series can only exist if pandas was imported
    return pd is not None and isinstance(values, pd.Series)


def map_unique(values: Column, fn: Callable[[Any], T], out_type: pa.DataType | str | None = None) -> Column:
    """``fn`` over every element of ``values``, computed once per distinct value; nulls stay null.

    Returns the same kind of column it was given: a pyarrow array for pyarrow input (chunked input comes
    back as one chunk), a Series with the same index for pandas input, a list otherwise. ``out_type`` is a
    pyarrow type or the name of one (``"string"``, ``"date32"``).
    """
    import pyarrow as pa

    if _is_series(values):
        import numpy as np
        import pandas as pd

        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # filled one by one: np.array() of a list would unpack outputs that are tuples or lists
        outputs = np.empty(len(uniques) + 1, dtype=object)  # code -1 (a null) takes the trailing None
        for i, v in enumerate(uniques.tolist()):
            outputs[i] = fn(v)
        return pd.Series(outputs[codes], index=values.index, name=values.name, dtype=object)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _mapped_arrow(_as_arrow(values), fn, out_type)
    return _mapped_arrow(_as_arrow(values), fn, out_type).to_pylist()


def map_unique_struct(values: Column, fn: Callable[[Any], dict[str, Any] | None], out_type: pa.StructType) -> pa.Array:
    """Like :func:`map_unique` for a function returning several fields: always a pyarrow struct array."""
    return _mapped_arrow(_as_arrow(values), fn, out_type)


def map_unique_array(values: Column, array_fn: Callable[[pa.Array], pa.Array], scalar_fn: Callable[[Any], T],
                     out_type: pa.DataType | str) -> Column:
    """Like :func:`map_unique`, with a vectorised ``array_fn`` (string array of the distinct values → array of
    ``out_type``) that gives the same answers as ``scalar_fn``; columns that are not text (numbers, mixed
    objects) go through ``scalar_fn`` one distinct value at a time, exactly as :func:`map_unique` would."""
    import pyarrow as pa

    if isinstance(out_type, str):
        out_type = getattr(pa, out_type)()
    if _is_series(values):
        import numpy as np
        import pandas as pd

        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        try:
            distinct = pa.array(uniques.tolist(), type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: the scalar function handles anything
            return map_unique(values, scalar_fn, out_type)
        outputs = np.array([*python_values(array_fn(distinct)), None], dtype=object)
        return pd.Series(outputs[codes], index=values.index, name=values.name, dtype=object)
    arrow = _as_arrow(values)
    if pa.types.is_dictionary(arrow.type):
        arrow = arrow.cast(arrow.type.value_type)
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type) or pa.types.is_null(arrow.type)):
        return map_unique(values, scalar_fn, out_type)
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(arrow.cast(pa.string()))
    result = array_fn(encoded.dictionary).cast(out_type).take(encoded.indices)
    return result if isinstance(values, pa.Array | pa.ChunkedArray) else result.to_pylist()
