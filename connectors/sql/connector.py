"""The ``sql`` connector: stream a table or query from PostgreSQL or MariaDB/MySQL into record batches.

Rows come through a server-side cursor (psycopg 3 named cursor, PyMySQL ``SSCursor``), ``batch_rows`` at a
time, so a pull of millions of rows never sits in memory. Incremental pulls read rows whose ``cursor_field``
is greater than the last staged watermark; the new watermark is saved only once the pull is staged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorContext, PullConnector, Window
from connectors.registry import register_connector
from connectors.sql.config import SqlSourceConfig, describe_url, resolve_url
from zhiwang.errors import ConfigError, RetriableError, UserError

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy as sa


@register_connector("sql")
class SqlConnector(PullConnector[SqlSourceConfig]):
    config_class = SqlSourceConfig

    def __init__(self, config: SqlSourceConfig, context: ConnectorContext):
        super().__init__(config, context)
        self._watermark: Any = None
        self._max_seen: Any = None

    # -- what the runner sees --------------------------------------------------------------------------
    def describe(self, window: Window) -> str:
        what = f"table {self.config.table}" if self.config.table else "query"
        since = self._stored_watermark()
        suffix = f" where {self.config.cursor_field} > {since}" if since is not None else ""
        return f"sql pull of {what} from {describe_url(resolve_url(self.config.conn_id))}{suffix}"

    def pending_state(self) -> dict[str, Any] | None:
        if self._max_seen is None:
            return None if self._watermark is None else {"watermark": self._watermark}
        return {"watermark": _json_value(self._max_seen)}

    def read(self, window: Window) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import sqlalchemy as sa

        url = resolve_url(self.config.conn_id)
        where = describe_url(url)
        self._watermark = self._stored_watermark()
        self._max_seen = None
        statement = self._statement(window)
        try:
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        except (ImportError, sa.exc.ArgumentError) as exc:  # a dialect or driver that is not installed
            raise ConfigError(f"source.conn_id = {self.config.conn_id!r} needs a database driver that is not installed: {exc}") from None
        try:
            try:
                conn = engine.connect()
            except sa.exc.DBAPIError as exc:
                raise RetriableError(f"Cannot connect to {where} for resource {self.context.resource.id}: {_reason(exc)}") from None
            with conn:
                streaming = conn.execution_options(stream_results=True, yield_per=self.config.batch_rows)
                try:
                    result = streaming.execute(statement)
                    columns = list(result.keys())
                    cursor_at = _column_index(columns, self.config.cursor_field)
                    if self.config.cursor_field and cursor_at is None:
                        raise ConfigError(
                            f"source.cursor_field = {self.config.cursor_field!r} is not a column of the pull from {where}; "
                            f"columns are: {', '.join(columns)}."
                        )
                    emitted = False
                    for rows in result.partitions():
                        if cursor_at is not None:
                            self._track(row[cursor_at] for row in rows)
                        emitted = True
                        yield _batch(columns, rows)
                    if not emitted:  # an empty pull still lands its columns, so staging can check them
                        yield pa.RecordBatch.from_pydict({c: pa.array([], pa.string()) for c in columns})
                except sa.exc.DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise RetriableError(f"Lost the connection to {where} during the pull: {_reason(exc)}") from None
                    raise UserError(
                        f"Resource {self.context.resource.id}: {where} refused the pull of "
                        f"{'table ' + self.config.table if self.config.table else 'the query'}: {_reason(exc)}. "
                        "Check source.table / source.query and the column names in the catalog."
                    ) from None
        finally:
            engine.dispose()

    # -- helpers -----------------------------------------------------------------------------------------
    def _stored_watermark(self) -> Any:
        if not self.config.cursor_field:
            return None
        stored = self.context.state.connector_state(self.context.resource.id).get("watermark")
        return stored if stored is not None else self.config.initial_cursor

    def _statement(self, window: Window) -> sa.Executable:
        import sqlalchemy as sa

        cfg = self.config
        conditions: list[Any] = []
        if cfg.cursor_field and self._watermark is not None:
            # NullType binds render without a cast, so the database compares the text with its own column type
            conditions.append(sa.column(cfg.cursor_field) > sa.bindparam("watermark", self._watermark, type_=sa.types.NullType()))
        if cfg.window_field and window.start is not None:
            start = _in_zone(window.start, cfg.window_timezone)
            conditions.append(sa.column(cfg.window_field) >= sa.bindparam("window_start", start, type_=sa.types.NullType()))
        if cfg.window_field and window.end is not None:
            end = _in_zone(window.end, cfg.window_timezone)
            conditions.append(sa.column(cfg.window_field) < sa.bindparam("window_end", end, type_=sa.types.NullType()))
        if cfg.query is not None:
            # colons escaped: a literal like '10:00' in the query is text, not a bind parameter
            query = sa.text(cfg.query.strip().rstrip(";").replace(":", "\\:"))
            if not conditions and not cfg.cursor_field:
                return query
            source: Any = query.columns().subquery("zw_pull")
        else:
            schema, _, name = cfg.table.rpartition(".")  # type: ignore[union-attr] - validator: table or query
            source = sa.table(name, schema=schema or None)
        stmt = sa.select(sa.text("*")).select_from(source).where(*conditions)
        if cfg.cursor_field:
            stmt = stmt.order_by(sa.column(cfg.cursor_field))
        return stmt

    def _track(self, values: Iterator[Any]) -> None:
        for value in values:
            if value is not None and (self._max_seen is None or value > self._max_seen):
                self._max_seen = value


def _in_zone(moment: datetime, zone: str | None) -> datetime:
    """The window bound as the column's naive local time, when the column's zone is known."""
    if zone is None or moment.tzinfo is None:
        return moment
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _column_index(columns: list[str], name: str | None) -> int | None:
    """Where the cursor column is in the result; case-insensitive as a fallback (MySQL keeps the query's case)."""
    if name is None:
        return None
    if name in columns:
        return columns.index(name)
    folded = [c.casefold() for c in columns]
    return folded.index(name.casefold()) if name.casefold() in folded else None


def _batch(columns: list[str], rows: list[Any]) -> pa.RecordBatch:
    import pyarrow as pa

    data = {name: pa.array([_text(row[i]) for row in rows], pa.string()) for i, name in enumerate(columns)}
    return pa.RecordBatch.from_pydict(data)


def _text(value: Any) -> str | None:
    """A database value as delivered text: ISO dates, exact decimals, JSON for structured values."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, timedelta):  # PyMySQL returns TIME columns as timedelta: print them as the server does
        seconds = int(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


def _json_value(value: Any) -> Any:
    """A watermark the state store can keep and the database can compare against next time."""
    return value if isinstance(value, bool | int | float) else _text(value)


def _reason(exc: Exception) -> str:
    """The driver's own message, first line only (SQLAlchemy appends the SQL and a help link)."""
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
