"""Parquet files, row group by row group, every column cast to text.

Timestamps without a fraction of a second read ``YYYY-MM-DD HH:MM:SS`` (like the XLSX reader); nested columns (lists,
structs, maps) become JSON text; binary columns must hold UTF-8 text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from connectors.base import Landed
from connectors.formats.common import UnreadableFileError, clean_names

if TYPE_CHECKING:
    import pyarrow as pa


def read_parquet(landed: Landed, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(landed.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableFileError(
            f"{landed.source_name}: not a valid Parquet file ({str(exc)[:120]}). Is the upload complete, and is it "
            "really Parquet? Export it again and deliver it again."
        ) from None
    names = clean_names(list(pf.schema_arrow.names), landed.source_name, where="the Parquet schema")
    if any(not n for n in names):
        raise UnreadableFileError(f"{landed.source_name}: a column has an empty name. Name it and deliver again.")
    yielded = False
    try:
        for batch in pf.iter_batches(batch_size=batch_rows):
            arrays = [to_text(col, landed, name) for col, name in zip(batch.columns, names, strict=True)]
            yielded = True
            yield pa.RecordBatch.from_arrays(arrays, names=names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnreadableFileError(
            f"{landed.source_name}: the Parquet data is damaged ({str(exc)[:120]}). Export it again and deliver it again."
        ) from None
    finally:
        pf.close()
    if not yielded:
        yield pa.RecordBatch.from_arrays([pa.array([], pa.string()) for _ in names], names=names)


def to_text(col: pa.Array, landed: Landed, name: str) -> pa.Array:
    """One column as strings: values as a person would write them, nulls kept, empty text becomes null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    if pa.types.is_dictionary(t):
        col, t = col.dictionary_decode(), t.value_type
    if pa.types.is_nested(t):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in col.to_pylist()],
                        pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            col = col.cast(pa.string())
        except pa.ArrowInvalid:
            raise UnreadableFileError(
                f"{landed.source_name}: column {name!r} holds binary data that is not UTF-8 text. Write it as text."
            ) from None
    text = pc.cast(col, pa.string())
    if pa.types.is_timestamp(t) or pa.types.is_time(t):
        # an all-zero fraction (".000000") goes, so the text matches what the other formats give
        text = pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
