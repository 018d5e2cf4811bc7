"""An example third-party zhiwang connector: generates a few greeting records.

It is registered only through its entry point (``example`` in the ``zhiwang.connectors`` group); the
registry imports this module on first use of the name, so it never calls ``register_connector`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field

from connectors.base import PullConnector, SourceConfig, Window


class ExampleSourceConfig(SourceConfig):
    connector: Literal["example"] = "example"
    rows: int = Field(default=3, ge=0)
    """How many records to generate."""
    greeting: str = "你好"
    """Text put in every record's greeting column."""


class ExampleConnector(PullConnector[ExampleSourceConfig]):
    config_class = ExampleSourceConfig

    def read(self, window: Window) -> Iterator[pa.RecordBatch]:
        ids = [f"{i:04d}" for i in range(1, self.config.rows + 1)]
        yield pa.RecordBatch.from_pydict(
            {"id": ids, "greeting": [f"{self.config.greeting} {i}" for i in ids]},
            schema=pa.schema([("id", pa.string()), ("greeting", pa.string())]),
        )
