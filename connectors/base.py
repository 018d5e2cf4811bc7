"""The one small interface every connector implements.

A connector turns a catalog ``source:`` block (parsed into its typed ``SourceConfig``) into *deliveries*:
one dropped file, or one pull from a database or API. The runner lands each delivery as an immutable file
with its sha256, then stages it. Pull connectors (sql, http) only implement :meth:`PullConnector.read`;
the landing of their record batches into Parquet is shared.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pyarrow as pa

    from catalog.models import Resource
    from connectors.state import StateStore
    from zhiwang.settings import Settings

FileFormat = Literal["csv", "tsv", "xlsx", "json", "jsonl", "parquet"]


class SourceConfig(BaseModel):
    """Base of every connector's options model; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: str


@dataclass(frozen=True)
class Window:
    """The data interval a run covers (Airflow's data_interval_start/end). Connectors never read the clock."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass
class ConnectorContext:
    resource: Resource
    settings: Settings
    state: StateStore


@dataclass(frozen=True)
class Landed:
    """An immutable copy of one delivery under ``landing/<resource>/``."""

    path: Path
    sha256: str
    format: FileFormat
    source_name: str
    """What the user knows the delivery by: the dropped file's name, or a description of the pull."""
    delivered_at: datetime
    encoding: str | None = None
    """Text encoding when known ("auto" lets the reader detect it)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Reader options from the catalog (delimiter, sheet, …)."""


class Delivery(ABC):
    """One unit of arrival. The runner calls :meth:`fingerprint`, then :meth:`land` (or :meth:`skip` when
    the fingerprint was already ingested), and after staging either :meth:`acknowledge` or :meth:`reject`."""

    source_name: str

    @abstractmethod
    def fingerprint(self) -> str | None:
        """sha256 of the delivery if known before landing (a file), else None (a pull)."""

    @abstractmethod
    def land(self, landing_dir: Path, batch_hint: str) -> Landed:
        """Move or write the delivery into ``landing_dir`` atomically and return the landed copy."""

    def skip(self, message: str) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """The delivery was seen before: tidy up so it is not offered again."""

    def acknowledge(self) -> None:  # noqa: B027 - optional hook
        """Staging succeeded: advance watermarks, clean the inbox."""

    def reject(self, landed: Landed | None, message: str) -> None:  # noqa: B027 - optional hook
        """The delivery cannot be read: put it where its provider will see it, with the reason."""


C = TypeVar("C", bound=SourceConfig)


class Connector(ABC, Generic[C]):
    """A connector kind. Subclasses set ``name`` and ``config_class`` and are registered with
    :func:`connectors.registry.register_connector`."""

    name: ClassVar[str]
    config_class: ClassVar[type[SourceConfig]]

    def __init__(self, config: C, context: ConnectorContext):
        self.config = config
        self.context = context

    @abstractmethod
    def deliveries(self, window: Window) -> Iterator[Delivery]:
        """The deliveries available for this window, oldest first."""


class PullConnector(Connector[C]):
    """A connector that pulls record batches (database, API). One pull = one delivery landed as Parquet."""

    @abstractmethod
    def read(self, window: Window) -> Iterator[pa.RecordBatch]:
        """Stream the records of this pull. Record what the next pull needs in :meth:`pending_state`."""

    def pending_state(self) -> dict[str, Any] | None:
        """State to persist once the pull is staged (e.g. the new watermark); None = nothing."""
        return None

    def describe(self, window: Window) -> str:
        return f"{self.name} pull for {self.context.resource.id}"

    def deliveries(self, window: Window) -> Iterator[Delivery]:
        yield PulledDelivery(self, window)


class PulledDelivery(Delivery):
    """Lands a pull's record batches into one Parquet file, hashing it as it goes."""

    def __init__(self, connector: PullConnector[Any], window: Window):
        self.connector = connector
        self.window = window
        self.source_name = connector.describe(window)
        self.rows = 0

    def fingerprint(self) -> str | None:
        return None

    def land(self, landing_dir: Path, batch_hint: str) -> Landed:
        import pyarrow as pa
        import pyarrow.parquet as pq

        landing_dir.mkdir(parents=True, exist_ok=True)
        tmp = landing_dir / f".{batch_hint}.parquet.partial"
        writer: pq.ParquetWriter | None = None
        schema: pa.Schema | None = None
        try:
            for batch in self.connector.read(self.window):
                batch = _all_strings(batch)
                if writer is None:
                    schema = batch.schema
                    writer = pq.ParquetWriter(tmp, schema)
                elif batch.schema != schema:
                    batch = _conform(batch, schema)
                writer.write_batch(batch)
                self.rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # an empty pull still lands, so counts reconcile to zero
            pq.write_table(pa.table({}), tmp)
        digest = sha256_file(tmp)
        final = landing_dir / f"{digest[:16]}.parquet"
        os.replace(tmp, final)
        return Landed(
            path=final, sha256=digest, format="parquet", source_name=self.source_name,
            delivered_at=self.window.end or datetime.fromtimestamp(final.stat().st_mtime),
        )

    def acknowledge(self) -> None:  # noqa: B027 - optional hook
        state = self.connector.pending_state()
        if state is not None:
            self.connector.context.state.set_connector_state(self.connector.context.resource.id, state)


def _all_strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Deliveries are staged from text as delivered: leading zeros and odd formats survive until typing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for col in batch.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            arrays.append(col.cast(pa.string()))
        elif pa.types.is_null(col.type):
            arrays.append(pa.nulls(len(col), pa.string()))
        elif pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            arrays.append(pc.cast(col, pa.string()))
        else:
            arrays.append(pc.cast(col, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    cols = {name: batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, pa.string()) for name in schema.names}
    return pa.RecordBatch.from_arrays(list(cols.values()), names=list(cols))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
