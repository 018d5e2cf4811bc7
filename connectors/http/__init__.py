"""The ``http`` connector: JSON APIs paged by page number, offset or cursor, with retries and backoff."""

from connectors.http.config import HttpSourceConfig
from connectors.http.connector import HttpConnector

__all__ = ["HttpConnector", "HttpSourceConfig"]
