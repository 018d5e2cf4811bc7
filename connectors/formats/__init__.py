"""Streaming readers for delivered files: every value comes out as text, exactly as delivered.

``read_batches(landed)`` yields ``pa.RecordBatch``es whose columns are all ``pa.string()``: ID numbers keep
their leading zeros, ``0755-1234`` stays a phone number and dates stay text until staging types them against
the catalog. Empty cells are null. Header names lose surrounding whitespace and a BOM. Every batch of one
file has the same schema (JSON files with varying keys get the union of all keys), and at least one batch
(possibly empty) is yielded, so a header-only delivery still shows its columns.

A file that cannot be read raises :class:`UnreadableFileError` naming the file, the line or row where known,
what is wrong and how to fix it. Rows are never dropped silently: one ragged CSV row fails the delivery.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, get_args

from connectors.base import FileFormat, Landed
from connectors.formats.common import (
    EXTENSIONS,
    SUPPORTED,
    UnreadableFileError,
    detect_encoding,
    detect_format,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["EXTENSIONS", "SUPPORTED", "UnreadableFileError", "detect_encoding", "detect_format", "read_batches"]


def read_batches(landed: Landed, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
    """Stream a landed file as all-string record batches of at most ``batch_rows`` rows.

    A missing, empty or unsupported file raises at the call; problems inside the file raise while iterating,
    at the latest after the last batch (ragged CSV rows are all counted first, then reported together).
    """
    fmt = landed.format
    if fmt not in get_args(FileFormat):
        raise UnreadableFileError(f"{landed.source_name}: unsupported format {fmt!r}; supported: {SUPPORTED}.")
    if not landed.path.is_file():
        raise UnreadableFileError(f"{landed.source_name}: the landed file {landed.path} is missing.")
    if landed.path.stat().st_size == 0:
        raise UnreadableFileError(
            f"{landed.source_name}: empty file (0 bytes). Export the data again and check that the upload finished."
        )
    if fmt in ("csv", "tsv"):
        from connectors.formats.csv_reader import read_csv

        return read_csv(landed, batch_rows)
    if fmt == "xlsx":
        from connectors.formats.xlsx_reader import read_xlsx

        return read_xlsx(landed, batch_rows)
    if fmt in ("json", "jsonl"):
        from connectors.formats.json_reader import read_json

        return read_json(landed, batch_rows)
    from connectors.formats.parquet_reader import read_parquet

    return read_parquet(landed, batch_rows)
