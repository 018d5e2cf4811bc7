"""The ``sql`` connector: tables or queries from PostgreSQL and MariaDB/MySQL, incremental by a cursor column."""

from connectors.sql.config import SqlSourceConfig, resolve_url
from connectors.sql.connector import SqlConnector

__all__ = ["SqlConnector", "SqlSourceConfig", "resolve_url"]
