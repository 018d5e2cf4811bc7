"""Helpers for the array forms of the validators: fixed-width ASCII values as a ``(n, width)`` uint8 matrix.

The array forms vectorise only values in the plain form (ASCII, the exact length, no spaces); every other
value goes through the scalar function, so both forms give the same answer for every input by construction
of the split, and the property tests check the vectorised part against the scalar one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def as_string_array(values: Any) -> pa.Array:
    """``values`` (pyarrow array or chunked array, or a sequence of str / None) as one ``pa.string()`` array."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.string(), from_pandas=True)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise TypeError(f"need a string array, got {values.type}: cast the column to string first")
    return values


def plain_mask(values: pa.Array, pattern: str) -> np.ndarray:
    """Boolean mask of the non-null values that match the RE2 ``pattern`` (anchor it with ^…$)."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(zero_copy_only=False)


def char_matrix(values: pa.Array, width: int) -> np.ndarray:
    """The bytes of ``values`` as an ``(n, width)`` uint8 matrix; every value must be non-null ASCII of exactly
    ``width`` characters (select them with :func:`plain_mask` first). A copy: callers may modify it."""
    import numpy as np

    n = len(values)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset: values.offset + n + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    if len(data) != n * width:
        raise ValueError(f"char_matrix needs values of exactly {width} bytes")
    return data.reshape(n, width).copy()


def strings_from_matrix(matrix: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Rows of an ``(n, width)`` uint8 matrix as a string array, null where ``valid`` is False."""
    import numpy as np
    import pyarrow as pa

    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix).tobytes()),
                                       bitmap)


def digits_value(matrix: np.ndarray) -> np.ndarray:
    """Each row of ASCII digits read as one base-10 integer (int64)."""
    import numpy as np

    out = np.zeros(len(matrix), dtype=np.int64)
    for col in range(matrix.shape[1]):
        out = out * 10 + (matrix[:, col].astype(np.int64) - 48)
    return out


def real_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ok, days since 1970-01-01): ok where ``datetime.date(year, month, day)`` exists (year 1-9999)."""
    import numpy as np

    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    in_month = (month >= 1) & (month <= 12)
    limit = month_days[np.where(in_month, month, 0)] + (leap & (month == 2))
    ok = (year >= 1) & (year <= 9999) & in_month & (day >= 1) & (day <= limit)
    y, m, d = np.where(ok, year, 1970), np.where(ok, month, 1), np.where(ok, day, 1)
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    days = (months.astype("datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(np.int64) + d - 1
    return ok, days


def merged(n: int, out_type: pa.DataType, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """One array of length ``n`` from pieces computed for index subsets; rows no piece covers are null."""
    import numpy as np
    import pyarrow as pa

    covered = np.zeros(n, dtype=bool)
    for idx, _ in parts:
        covered[idx] = True
    rest = np.flatnonzero(~covered)
    order = np.concatenate([idx for idx, _ in parts] + [rest]).astype(np.int64)
    pieces = [arr.cast(out_type) for _, arr in parts] + [pa.nulls(len(rest), out_type)]
    combined = pa.concat_arrays(pieces)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n, dtype=np.int64)
    return combined.take(pa.array(inverse))


def scalar_part(values: pa.Array, idx: np.ndarray, fn: Callable[[str], Any], out_type: pa.DataType) -> pa.Array:
    """``fn`` over the values at ``idx`` (the ones the vectorised path does not cover), one by one."""
    import pyarrow as pa

    return pa.array([fn(v) for v in values.take(pa.array(idx, pa.int64())).to_pylist()], type=out_type)
