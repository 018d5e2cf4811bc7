"""What every reader shares: the error, format and encoding detection, header-name cleaning."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import FileFormat, Landed
from zhiwang.errors import UserError

if TYPE_CHECKING:
    import pyarrow as pa

EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
}
SUPPORTED = "CSV (.csv/.txt), TSV (.tsv), Excel (.xlsx), JSON (.json), JSON Lines (.jsonl/.ndjson), Parquet (.parquet)"
SAMPLE_BYTES = 4 << 20
PYTHON_BATCH_ROWS = 10_000
"""Readers that build rows as Python objects (XLSX, JSON) cut batches this small: 100k rows of Python
strings cost ~150 MB (measured), 10k rows stay near 15 MB."""
_CHUNK = 1 << 20
_NON_ASCII = re.compile(rb"[\x80-\xff]")


class UnreadableFileError(UserError):
    """A delivered file cannot be read as the format it claims; the message says where and how to fix it."""


def detect_format(filename: str) -> FileFormat | None:
    """The format a file name's extension announces (case-insensitive), or None when unsupported."""
    return EXTENSIONS.get(Path(filename).suffix.lower())


def detect_encoding(path: Path | str) -> str:
    """``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` or ``gb18030`` (which includes GBK and GB2312).

    The ASCII prefix of a file says nothing about its encoding, so it is skipped and the decision is taken
    on up to ``SAMPLE_BYTES`` from the first non-ASCII byte: a UTF-8 file whose Chinese starts late is UTF-8.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                return "utf-8"  # pure ASCII reads the same in every supported encoding
            if b"\x00" in chunk:
                raise UnreadableFileError(
                    f"{path.name}: contains NUL bytes, so it is not a text file in UTF-8 or GB18030 (is it UTF-16 "
                    "without a byte-order mark, or a binary file with the wrong extension?). Save it as "
                    "'CSV UTF-8' and deliver it again."
                )
            found = _NON_ASCII.search(chunk)
            if found:
                break
        sample = chunk[found.start():]
        sample += fh.read(max(0, SAMPLE_BYTES - len(sample)))
        at_end = not fh.read(1)
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False: a multibyte character cut at the sample's edge is not an error
            codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=at_end)
            return encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(
        f"{path.name}: the text is neither UTF-8 nor GB18030/GBK. Save it as 'CSV UTF-8' (Excel: 另存为 → "
        "CSV UTF-8) and deliver it again, or set source.encoding in the catalog if you know the encoding."
    )


def text_encoding(landed: Landed) -> str:
    """The encoding to decode a landed text file with: the configured one, else detected."""
    enc = (landed.encoding or "auto").lower()
    if enc == "auto":
        return detect_encoding(landed.path)
    return "gb18030" if enc in ("gbk", "gb2312") else enc  # GB18030 decodes GBK bytes identically


def clean_names(names: list[str], source: str, where: str = "the header") -> list[str]:
    """Header names without surrounding whitespace or BOM; duplicates are an error (which one would win?)."""
    cleaned = [str(n).replace("\ufeff", "").strip() for n in names]
    seen: dict[str, int] = {}
    for pos, name in enumerate(cleaned, start=1):
        if not name:
            continue
        if name in seen:
            raise UnreadableFileError(
                f"{source}: duplicate column name {name!r} in {where} (columns {seen[name]} and {pos}). "
                "Rename one of them so every column has its own name, and deliver the file again."
            )
        seen[name] = pos
    return cleaned


def string_batch(names: list[str], columns: list[list[str | None]]) -> pa.RecordBatch:
    """A record batch of string columns from Python lists (the XLSX and JSON readers build rows in Python)."""
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([pa.array(col, pa.string()) for col in columns], names=names)


def sliced(batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Cut a batch into pieces of at most ``batch_rows`` rows (zero-copy slices)."""
    if batch.num_rows <= batch_rows:
        yield batch
        return
    for start in range(0, batch.num_rows, batch_rows):
        yield batch.slice(start, batch_rows)
