"""Options of the ``file_drop`` connector, as written under ``source:`` in a catalog resource."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from connectors.base import FileFormat, SourceConfig

Encoding = Literal["auto", "utf-8", "utf-8-sig", "gb18030", "gbk"]
_DELIMITER_WORDS = {"\\t": "\t", "tab": "\t"}


class FileDropConfig(SourceConfig):
    """Files a department drops into ``inbox/<resource>/``; each file is one delivery."""

    connector: Literal["file_drop"] = "file_drop"
    pattern: str | list[str] = "*"
    """Glob(s) on the file name, case-insensitive, e.g. ``"*.csv"`` or ``["人口*.xlsx", "人口*.csv"]``.
    Files that match none stay in the inbox untouched."""
    encoding: Encoding = "auto"
    """Text encoding of CSV, TSV and JSON files. ``auto`` tells UTF-8 (with or without BOM) from GB18030/GBK."""
    format: FileFormat | None = None
    """Read every file as this format instead of going by its extension (e.g. CSV exports named ``.dat``)."""
    delimiter: str | None = None
    """Field separator of CSV files (one character; ``tab`` or ``\\t`` for a tab). Default: sniffed from the
    header line (comma, tab, semicolon or pipe)."""
    sheet: str | int | None = None
    """Excel sheet to read, by name or by position counted from 0. Default: the first sheet."""

    @field_validator("pattern")
    @classmethod
    def _patterns_are_names(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("pattern is an empty list: give at least one glob such as '*.csv'")
        for item in items:
            if not item or "/" in item or "\\" in item:
                raise ValueError(f"pattern {item!r} must be a non-empty glob on the file name, without folders")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _DELIMITER_WORDS.get(value.lower(), value)
        if len(value) != 1 or value in "\r\n\"":
            raise ValueError(f"delimiter {value!r} must be one character such as ',' or ';' (write tab for a tab)")
        return value

    @model_validator(mode="after")
    def _options_fit_format(self) -> FileDropConfig:
        if self.format in ("xlsx", "parquet", "json", "jsonl") and self.delimiter is not None:
            raise ValueError(f"delimiter is only for CSV/TSV files, but format is {self.format!r}")
        if self.format not in (None, "xlsx") and self.sheet is not None:
            raise ValueError(f"sheet is only for Excel files, but format is {self.format!r}")
        return self

    def patterns(self) -> list[str]:
        return [self.pattern] if isinstance(self.pattern, str) else list(self.pattern)
